"""Conditions rules may depend on, computed from both fingerprints.

A difference's weight depends on where it happens: TF32 switches matter only
where a GPU of compute capability 8.0+ exists, NCCL only with several GPUs,
TensorFlow 2.9's oneDNN default only on x86 CPUs, and a framework's settings
only where that framework is installed on at least one side.

Conditions are values (``Condition``), not names: a rule refers to one by its
Python name, so a misspelt condition fails at import and under mypy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from fnmatch import fnmatchcase
from typing import NamedTuple

from packaging.version import Version

from ..probe.frameworks import TENSORFLOW_DISTS


class Sides:
    """Both fingerprints' documents; either may lack a section (a pip inspect report).

    The documents are read as ``object`` all the way down: a condition checks each
    value's type before it relies on it, whatever the document claimed.

    Facts about the two sides (is TensorFlow installed?) are computed once per diff and
    remembered here: a diff of 50,000 changes must not scan the packages 50,000 times.
    """

    __slots__ = ("_memo", "a", "b")

    def __init__(self, a: Mapping[str, object], b: Mapping[str, object]) -> None:
        self.a, self.b = a, b
        self._memo: dict[str, bool] = {}

    def __iter__(self) -> Iterator[Mapping[str, object]]:
        yield self.a
        yield self.b

    def fact(self, name: str, compute: Callable[[Sides], bool]) -> bool:
        if name not in self._memo:
            self._memo[name] = compute(self)
        return self._memo[name]


class Condition(NamedTuple):
    """A fact about both sides that decides whether a rule applies."""

    name: str
    holds: Callable[[Sides, object, object], bool]  # (sides, before, after) -> applies?
    absent: str  # why the rule does not apply where the condition fails


def _about_sides(name: str, fact: Callable[[Sides], bool], absent: str) -> Condition:
    """A condition on the two sides alone (not on the changed values): computed once."""
    return Condition(name, lambda sides, _before, _after: sides.fact(name, fact), absent)


def gpus_of(side: Mapping[str, object]) -> list[Mapping[str, object]]:
    gpus = side.get("gpus")
    return [g for g in gpus if isinstance(g, dict)] if isinstance(gpus, list) else []


def compute_capability(value: object) -> float | None:
    try:
        return float(str(value))
    except ValueError:
        return None


def ampere_gpus(side: Mapping[str, object]) -> list[Mapping[str, object]]:
    """GPUs of compute capability 8.0 or newer: where TF32 math exists."""
    return [g for g in gpus_of(side) if (compute_capability(g.get("compute_capability")) or 0)
            >= 8.0]


def _section(side: Mapping[str, object], name: str) -> Mapping[str, object]:
    value = side.get(name)
    return value if isinstance(value, dict) else {}


def _installed(sides: Sides, patterns: tuple[str, ...]) -> bool:
    """A package matching one of ``patterns`` is installed on either side."""
    return any(fnmatchcase(name, pattern) for side in sides
               for name in _section(side, "packages") for pattern in patterns)


def _framework_facts(sides: Sides) -> Iterator[Mapping[str, object]]:
    for side in sides:
        for facts in _section(side, "frameworks").values():
            if isinstance(facts, dict):
                yield facts


def _blas_mentions(sides: Sides, library: str) -> bool:
    return any(library in str(facts.get(field) or "").lower()
               for facts in _framework_facts(sides) for field in ("blas", "lapack"))


def _x86_side(side: Mapping[str, object]) -> bool:
    return str(_section(side, "cpu").get("architecture")).lower() in ("x86_64", "amd64")


def _x86(sides: Sides) -> bool:
    return any(_x86_side(side) for side in sides)


# conda packages of frameworks whose CUDA builds say so in the build string
# (conda-forge pytorch cuda126_mkl_py312..., defaults py3.11_cuda12.1_cudnn8.9.2_0,
# tensorflow cuda120py311..., jaxlib cuda12py312..., cupy).
_CONDA_FRAMEWORKS = ("pytorch", "pytorch-gpu", "libtorch", "tensorflow*", "jaxlib", "cupy*")


def _conda_cuda_build(sides: Sides) -> bool:
    return any("cuda" in str(record.get("build") or "").lower()
               for side in sides for name, record in _section(side, "conda").items()
               if isinstance(record, dict)
               and any(fnmatchcase(name, pattern) for pattern in _CONDA_FRAMEWORKS))


def _cuda_build(sides: Sides) -> bool:
    """A framework built for CUDA or ROCm (torch +cu121, jaxlib with a CUDA plugin, a conda
    pytorch built for CUDA)."""
    return any(facts.get("cuda") or facts.get("hip") or facts.get("plugins")
               for facts in _framework_facts(sides)) or _conda_cuda_build(sides)


def _crosses_tf_2_9(sides: Sides, before: object, after: object) -> bool:
    try:
        old, new = Version(str(before)), Version(str(after))
    except ValueError:  # InvalidVersion, or a number too long for int()
        return False
    return _x86(sides) and (old.release[:2] < (2, 9)) != (new.release[:2] < (2, 9))


def _crosses_cc_8(sides: Sides, before: object, after: object) -> bool:
    old, new = compute_capability(before), compute_capability(after)
    return old is not None and new is not None and (old >= 8.0) != (new >= 8.0)


def _present(what: str, patterns: tuple[str, ...],
             also: Callable[[Sides], bool] | None = None) -> Condition:
    """The condition "``what`` is installed on at least one side"."""
    return _about_sides(f"{what} installed",
                        lambda s: _installed(s, patterns) or (also is not None and also(s)),
                        f"no {what} on either side")


AMPERE_GPU = _about_sides(
    "a GPU of compute capability 8.0+", lambda s: any(ampere_gpus(x) for x in s),
    "TF32 switches matter only on GPUs of compute capability 8.0+; neither side has one")
MULTI_GPU = _about_sides(
    "more than one GPU", lambda s: any(len(gpus_of(x)) > 1 for x in s),
    "NCCL only matters with more than one GPU; neither side has one")
CPU_ONLY = _about_sides(
    "no GPU on either side", lambda s: not any(gpus_of(x) for x in s),
    "a GPU does the training math")
GPU_OR_CUDA_BUILD = _about_sides(
    "a GPU, or a framework built for CUDA",
    lambda s: any(gpus_of(x) for x in s) or _cuda_build(s)
    or _installed(s, ("jax-cuda*", "cupy*")),
    "no GPU and no CUDA build of a framework on either side")
CROSSES_TF_2_9 = Condition("crosses TensorFlow 2.9 on x86", _crosses_tf_2_9,
                           "does not cross TensorFlow 2.9 on an x86 CPU")
CROSSES_CC_8 = Condition("crosses compute capability 8.0", _crosses_cc_8,
                         "both GPUs are on the same side of compute capability 8.0")

TENSORFLOW = _present("TensorFlow", TENSORFLOW_DISTS,
                      lambda s: any("tensorflow" in _section(x, "frameworks") for x in s))
JAX = _present("JAX", ("jax", "jaxlib"))
XLA = _present("JAX or TensorFlow", ("jax", "jaxlib", *TENSORFLOW_DISTS))
TORCH = _present("PyTorch", ("torch",))
NUMPY = _present("NumPy", ("numpy",))


def _torch_mkl(sides: Sides) -> bool:
    """torch's x86 wheels link MKL statically (ATen/Config.h: AT_MKL_ENABLED); a fingerprint
    without that fact counts torch on x86 as MKL-backed."""
    for side in sides:
        torch = _section(_section(side, "frameworks"), "torch")
        if torch.get("mkl") or (torch and "mkl" not in torch and _x86_side(side)):
            return True
    return False


def _numpy_versions(sides: Sides) -> Iterator[str]:
    for side in sides:
        for section in ("packages", "frameworks"):
            numpy = _section(_section(side, section), "numpy")
            if numpy.get("version") is not None:
                yield str(numpy["version"])


def _numpy_reads_promotion_state(sides: Sides) -> bool:
    """NumPy 1.24 to 2.1 read ``NPY_PROMOTION_STATE``; 2.2 and later warn and ignore it
    (numpy/__init__.py), earlier releases never knew it. A version that cannot be read
    counts as one that reads it."""
    for text in _numpy_versions(sides):
        try:
            release = Version(text).release
        except ValueError:
            return True
        if (1, 24) <= release[:2] < (2, 2):
            return True
    return False


NUMPY_PROMOTION_STATE = _about_sides(
    "a NumPy that reads NPY_PROMOTION_STATE (1.24 to 2.1)", _numpy_reads_promotion_state,
    "only NumPy 1.24 to 2.1 read NPY_PROMOTION_STATE (2.2 and later ignore it); no such "
    "NumPy on either side")

MKL = _present("MKL-backed library", ("mkl", "mkl-*", "intel-openmp"),
               lambda s: _blas_mentions(s, "mkl") or _torch_mkl(s))
ONEDNN = _present("oneDNN-backed framework", ("torch", "onednn*", *TENSORFLOW_DISTS),
                  lambda s: any(facts.get("mkldnn") for facts in _framework_facts(s)))
OPENBLAS = _present("OpenBLAS", ("scipy-openblas*", "openblas*"),
                    lambda s: _blas_mentions(s, "openblas"))
HOROVOD = _present("Horovod", ("horovod",))

CONDITIONS: tuple[Condition, ...] = (
    AMPERE_GPU, MULTI_GPU, CPU_ONLY, GPU_OR_CUDA_BUILD, CROSSES_TF_2_9, CROSSES_CC_8,
    TENSORFLOW, JAX, XLA, TORCH, NUMPY, NUMPY_PROMOTION_STATE, MKL, ONEDNN, OPENBLAS, HOROVOD,
)
