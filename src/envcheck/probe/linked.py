"""The CUDA, BLAS and OpenMP libraries each framework's own shared libraries resolve to.

The loader finds a library by the ``DT_NEEDED`` name: first in ``DT_RPATH``
(when there is no ``DT_RUNPATH``), then ``LD_LIBRARY_PATH``, then ``DT_RUNPATH``,
then the system directories. Conda builds point their run paths at
``$PREFIX/lib``, pip wheels at ``nvidia/*/lib`` or a bundled ``*.libs`` folder, so
the library a framework loads is often not the one on the system's loader path.
The file each name resolves to (after symbolic links: ``libcblas.so.3`` ->
``libmkl_rt.so.2``) is what is recorded; nothing is loaded.
"""

from __future__ import annotations

import os

from ._common import getenv, glob, isfile, listdir, realpath
from .elf import dynamic_entries, expand_origin
from .frameworks import TENSORFLOW_DISTS

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds at start-up; annotations are strings
    from typing import Dict, FrozenSet, List, Optional, Tuple

    from ._common import Errors, JSONDict

# What each library is, by the start of its name: only these can change numerics.
_KINDS = (
    ("libcudnn", "cudnn"), ("libcublas", "cublas"), ("libnccl", "nccl"),
    ("libcudart", "cudart"), ("libcufft", "cufft"), ("libcusolver", "cusolver"),
    ("libcusparse", "cusparse"), ("libcurand", "curand"), ("libnvrtc", "nvrtc"),
    ("libmkl", "blas"), ("libopenblas", "blas"), ("libscipy_openblas", "blas"),
    ("libcblas", "blas"), ("libblas", "blas"), ("liblapack", "blas"), ("libblis", "blas"),
    ("libgomp", "openmp"), ("libiomp", "openmp"), ("libomp", "openmp"),
)
# The framework libraries whose dependencies are read, relative to the package's location.
_FRAMEWORK_OBJECTS = {
    "torch": ("torch/lib/libtorch_cuda.so", "torch/lib/libtorch_cpu.so"),
    "tensorflow": ("tensorflow/libtensorflow_framework.so.2", "tensorflow/libtensorflow_cc.so.2"),
    "jax": ("jaxlib/xla_extension.so", "jaxlib/_jax.*.so", "jax_plugins/xla_cuda*/*.so"),
    "numpy": ("numpy/_core/_multiarray_umath.*.so", "numpy/core/_multiarray_umath.*.so"),
    "scipy": ("scipy/linalg/_fblas.*.so",),
}
_DISTRIBUTIONS: Dict[str, Tuple[str, ...]] = {
    "jax": ("jaxlib", "jax-cuda12-plugin", "jax-cuda13-plugin"), "tensorflow": TENSORFLOW_DISTS}
_MAX_DEPTH = 2  # the framework's library, and the libraries it bundles next to it


def library_kind(name: str) -> Optional[str]:
    for start, kind in _KINDS:
        if name.startswith(start):
            return kind
    return None


def _listing(directory: str, listings: Dict[str, FrozenSet[str]]) -> FrozenSet[str]:
    """The names in ``directory``, listed once per run: one noted path per directory,
    not one per library name looked for in it (the witness stays small)."""
    names = listings.get(directory)
    if names is None:
        try:
            names = frozenset(listdir(directory))
        except OSError:
            names = frozenset()
        listings[directory] = names
    return names


def _find(name: str, rpath: List[str], runpath: List[str], system: List[str],
          listings: Optional[Dict[str, FrozenSet[str]]] = None) -> Optional[Tuple[str, str]]:
    """(path, which search list found it) the way ld.so searches for a DT_NEEDED name."""
    listings = {} if listings is None else listings
    environment = [d for d in (getenv("LD_LIBRARY_PATH") or "").split(":") if d]
    order = ([] if runpath else [("rpath", d) for d in rpath]) \
        + [("LD_LIBRARY_PATH", d) for d in environment] \
        + [("runpath", d) for d in runpath] + [("system", d) for d in system]
    for via, directory in order:
        if os.sep not in name and name not in _listing(directory, listings):
            continue
        candidate = os.path.join(directory, name)
        if isfile(candidate):  # listed, yet a directory or a dangling link is no library
            return candidate, via
    return None


def _objects(framework: str, location: str) -> List[str]:
    found: List[str] = []
    for pattern in _FRAMEWORK_OBJECTS[framework]:
        found.extend(glob(os.path.join(location, pattern)))
    return found


def resolve_object(path: str, system: List[str], errors: Errors, framework: str,
                   libraries: Dict[str, JSONDict], depth: int = 0,
                   listings: Optional[Dict[str, FrozenSet[str]]] = None) -> None:
    """Add what ``path`` needs (and what the libraries beside it need) to ``libraries``."""
    listings = {} if listings is None else listings
    try:
        entries = dynamic_entries(path)
    except (OSError, ValueError) as exc:  # NotELF is a ValueError
        errors.add("cuda", "%s: %s: %s" % (framework, os.path.basename(path), exc))
        return
    rpath = [expand_origin(d, path) for d in entries["rpath"]]
    runpath = [expand_origin(d, path) for d in entries["runpath"]]
    for name in entries["needed"]:
        kind = library_kind(name)
        if name in libraries or kind is None:
            continue
        found = _find(name, rpath, runpath, system, listings)
        if found is None:
            libraries[name] = {"kind": kind, "file": None, "directory": None, "via": None}
            continue
        real = realpath(found[0])
        libraries[name] = {"kind": kind, "file": os.path.basename(real),
                           "directory": os.path.dirname(real), "via": found[1]}
        if depth + 1 < _MAX_DEPTH and found[1] in ("rpath", "runpath"):
            # A bundled library (libtorch_cuda -> libcudnn) may itself pull in others.
            resolve_object(real, system, errors, framework, libraries, depth + 1, listings)


def framework_libraries(packages: Dict[str, JSONDict], system: List[str],
                        errors: Errors) -> Dict[str, Dict[str, JSONDict]]:
    """framework -> DT_NEEDED name -> {kind, file, directory, via} for the frameworks present."""
    result: Dict[str, Dict[str, JSONDict]] = {}
    for framework in _FRAMEWORK_OBJECTS:
        distributions = _DISTRIBUTIONS.get(framework, (framework,))
        locations = sorted({str(packages[d]["location"]) for d in distributions
                            if d in packages and packages[d].get("location")})
        libraries: Dict[str, JSONDict] = {}
        listings: Dict[str, FrozenSet[str]] = {}
        for location in locations:
            for path in _objects(framework, location):
                resolve_object(path, system, errors, framework, libraries, 0, listings)
        if libraries:
            result[framework] = dict(sorted(libraries.items()))
    return result
