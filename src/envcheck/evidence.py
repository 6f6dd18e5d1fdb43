"""Measured evidence: compare two fingerprints' numeric canaries, bit for bit. Pure.

A rule says what a difference *may* do; a canary says what it *did*. Both go
into the report side by side: a canary that computed other bits is a change of
its own (judged by the catalog like every difference, so configuration applies),
runtime facts as loaded are compared like any section, and the ``Evidence``
summary says how many canaries agreed and which were not measured on both sides.
"""

from __future__ import annotations

import math
import os
import struct
from collections.abc import Iterator, Mapping
from fnmatch import fnmatchcase
from typing import Any

from .model.evidence import CanaryEvidence, Evidence

# dtype -> (struct format of the value, of the same bits as an integer, bits shifted off)
_BITS = {"float64": ("<d", "<Q", 0), "float32": ("<f", "<I", 0), "float16": ("<e", "<H", 0),
         "bfloat16": ("<f", "<I", 16)}
_WIDTH = {"float64": 64, "float32": 32, "float16": 16, "bfloat16": 16}

# What can make a canary of each framework compute other bits: paths of other changes
# in the same report (fnmatch). Listed as possible causes; ``envcheck explain`` tests them.
_CAUSES_ALL = ("cpu.flags.*", "cpu.usable_cores", "cpu.logical_cores", "cpu.vendor",
               "cpu.architecture", "env.OMP_*", "env.MKL_*", "env.KMP_*",
               "numerics.runtime.blas.*", "numerics.runtime.libraries.*",
               "numerics.settings.OMP_*", "numerics.settings.MKL_*", "numerics.loaded.*")
_CAUSES = {
    "numpy": ("packages.numpy*", "packages.scipy-openblas*", "frameworks.numpy.*",
              "env.OPENBLAS_*", "env.NPY_*", "numerics.settings.OPENBLAS_*",
              "numerics.settings.NPY_*", "numerics.runtime.numpy.*", "os.libc.*"),
    "torch": ("packages.torch", "frameworks.torch.*", "env.ATEN_*", "env.ONEDNN_*",
              "env.DNNL_*", "env.TORCH_*", "env.NVIDIA_TF32_OVERRIDE",
              "numerics.settings.ATEN_*", "numerics.settings.ONEDNN_*",
              "numerics.settings.DNNL_*", "numerics.runtime.torch.*", "numerics.runtime.gpu.*",
              "gpus.*", "packages.nvidia-*", "cuda.*"),
    "tensorflow": ("packages.tensorflow*", "frameworks.tensorflow.*", "env.TF_*",
                   "env.ONEDNN_*", "numerics.settings.TF_*", "numerics.settings.ONEDNN_*",
                   "numerics.runtime.tensorflow.*"),
    "jax": ("packages.jax*", "frameworks.jax.*", "env.XLA_FLAGS", "env.JAX_*",
            "numerics.settings.XLA_FLAGS", "numerics.settings.JAX_*",
            "numerics.runtime.jax.*"),
}
_BLAS_FIELDS = ("version", "num_threads", "core_type", "threading_layer", "cbwr", "code_path")


def _ordered(value: float, dtype: str) -> int | None:
    """The value's bits as an integer that counts up one per representable number."""
    value_format, int_format, shift = _BITS[dtype]
    if math.isnan(value):
        return None
    try:
        bits = struct.unpack(int_format, struct.pack(value_format, value))[0] >> shift
    except (OverflowError, struct.error):
        return None
    sign = 1 << (_WIDTH[dtype] - 1)
    ordered: int = -(bits & ~sign) if bits & sign else bits
    return ordered


def ulps(a: str, b: str, dtype: str) -> int | None:
    """How many representable ``dtype`` numbers lie between two exact hex floats."""
    if dtype not in _BITS:
        return None
    try:
        oa, ob = _ordered(float.fromhex(a), dtype), _ordered(float.fromhex(b), dtype)
    except (ValueError, TypeError):
        return None
    return None if oa is None or ob is None else abs(oa - ob)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def distance(a: Mapping[str, Any], b: Mapping[str, Any]) -> str:
    """'5 of 8 samples differ, by up to 3 ULP' for two records of one canary."""
    if a.get("dtype") != b.get("dtype") or a.get("shape") != b.get("shape"):
        return f"other output: {a.get('dtype')} {a.get('shape')} vs {b.get('dtype')} " \
               f"{b.get('shape')}"
    samples_b = {s.get("index"): s.get("value") for s in b.get("samples") or []
                 if isinstance(s, dict)}
    pairs = [(s.get("value"), samples_b.get(s.get("index"))) for s in a.get("samples") or []
             if isinstance(s, dict) and s.get("index") in samples_b]
    differing = [(x, y) for x, y in pairs if x != y]
    if not differing:
        return f"all {len(pairs)} samples equal; other bits elsewhere in the output"
    steps = [ulps(str(x), str(y), str(a.get("dtype"))) for x, y in differing]
    known = [s for s in steps if s is not None]
    far = f", by up to {max(known):,} ULP" if known else ""
    return f"{len(differing)} of {len(pairs)} samples differ{far}"


def compare(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> tuple[
        list[tuple[str, str, Any, Any, str]], Evidence | None]:
    """Differences (subject, kind, before, after, detail) and the evidence summary.

    None when neither side was measured: reports of unmeasured fingerprints stay as
    they were.
    """
    if a is None and b is None:
        return [], None
    if a is None or b is None:
        side = "b" if a is None else "a"
        return [], Evidence([], f"not compared: only {side} ran the canaries "
                                "(envcheck snapshot --numerics)")
    if a.get("version") != b.get("version"):
        return [], Evidence([], f"not compared: canary versions {a.get('version')} and "
                                f"{b.get('version')} compute different things")
    canaries_a, canaries_b = _dict(a.get("canaries")), _dict(b.get("canaries"))
    found: list[tuple[str, str, Any, Any, str]] = []
    evidence: list[CanaryEvidence] = []
    for name in sorted(set(canaries_a) | set(canaries_b)):
        ra, rb = _dict(canaries_a.get(name)), _dict(canaries_b.get(name))
        if not ra or not rb:
            evidence.append(CanaryEvidence(name, "not measured",
                                           f"only in {'b' if not ra else 'a'}"))
        elif ra.get("digest") == rb.get("digest"):
            evidence.append(CanaryEvidence(name, "identical", "bitwise identical"))
        else:
            detail = distance(ra, rb)
            evidence.append(CanaryEvidence(name, "differs", detail))
            found.append((f"canaries.{name}", "measured", str(ra.get("digest"))[:12],
                          str(rb.get("digest"))[:12], detail))
    found += _facts(a, b)
    return found, Evidence(evidence)


def runtime_facts(runtime: Mapping[str, Any]) -> dict[str, Any]:
    """The runtime as loaded, flattened to comparable facts (paths left out)."""
    facts: dict[str, Any] = {}
    for pool in runtime.get("blas") or []:
        if isinstance(pool, dict) and isinstance(pool.get("file"), str):
            name = os.path.basename(pool["file"])
            for field in _BLAS_FIELDS:
                if field in pool:
                    facts[f"blas.{name}.{field}"] = pool[field]
    for library in runtime.get("libraries") or []:
        if isinstance(library, dict) and isinstance(library.get("name"), str):
            facts[f"libraries.{library['name']}"] = library.get("version")
    for section, values in runtime.items():
        if section not in ("blas", "libraries") and isinstance(values, dict):
            for field, value in values.items():
                if field != "version":  # the packages section compares versions
                    facts[f"{section}.{field}"] = value
    return facts


def _facts(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[tuple[str, str, Any, Any, str]]:
    runtime_a, runtime_b = _dict(a.get("runtime")), _dict(b.get("runtime"))
    # A framework's runtime on one side only: its package change says it already.
    shared = {s for s in set(runtime_a) & set(runtime_b)} | {"blas", "libraries"}
    facts_a = runtime_facts({k: v for k, v in runtime_a.items() if k in shared})
    facts_b = runtime_facts({k: v for k, v in runtime_b.items() if k in shared})
    found = []
    for key in sorted(set(facts_a) | set(facts_b)):
        va, vb = facts_a.get(key), facts_b.get(key)
        if va != vb:
            kind = "added" if va is None else "removed" if vb is None else "changed"
            found.append((f"runtime.{key}", kind, va, vb, ""))
    settings_a, settings_b = _dict(a.get("settings")), _dict(b.get("settings"))
    for name in sorted(set(settings_a) | set(settings_b)):
        if settings_a.get(name) != settings_b.get(name):
            kind = "set" if settings_a.get(name) is None else \
                "unset" if settings_b.get(name) is None else "changed"
            found.append((f"settings.{name}", kind, settings_a.get(name),
                          settings_b.get(name), ""))
    return found


def causes(canary: str, paths: list[str]) -> list[str]:
    """The paths among ``paths`` (other changes of the report) that can change ``canary``."""
    framework = canary.split(".", 1)[0]
    patterns = _CAUSES_ALL + _CAUSES.get(framework, ())
    return [p for p in paths if any(fnmatchcase(p, pattern) for pattern in patterns)
            and not p.startswith("numerics.canaries.")]


# ---- the files on disk against the libraries loaded -------------------------------------

def _cudnn_text(version: Any) -> str | None:
    """cuDNN's integer version (8902, 90100) as major.minor.patch."""
    if isinstance(version, str) or version is None:
        return version
    number = int(version)
    major = number // 10000 if number >= 10000 else number // 1000
    rest = number - major * (10000 if number >= 10000 else 1000)
    return f"{major}.{rest // 100}.{rest % 100}"


def _release(version: Any, parts: int) -> str | None:
    return ".".join(str(version).split(".")[:parts]) if version else None


def static_and_loaded(document: Mapping[str, Any]) -> dict[str, tuple[Any, Any, str, int]]:
    """path -> (on disk, as loaded, what was loaded, version parts compared) for each library
    that both the static fingerprint (a framework's files) and the canaries' runtime describe;
    either side None where unknown."""
    frameworks = _dict(document.get("frameworks"))
    runtime = _dict(_dict(document.get("numerics")).get("runtime"))
    found: dict[str, tuple[Any, Any, str, int]] = {}
    for name in ("numpy", "scipy"):
        static = _dict(frameworks.get(name)).get("blas_version")
        pools = [p for p in runtime.get("blas") or [] if isinstance(p, dict)
                 and f"/{name}" in str(p.get("file")) and p.get("user_api") == "blas"]
        if pools or static:
            pool = pools[0] if pools else {}
            what = (f"{name}'s BLAS as loaded ({os.path.basename(str(pool['file']))})"
                    if pool else f"{name}'s BLAS as loaded")
            found[f"frameworks.{name}.blas_version"] = (static, pool.get("version"), what, 0)
    torch, gpu = _dict(frameworks.get("torch")), _dict(runtime.get("gpu"))
    for field, loaded in (("cudnn", _cudnn_text(gpu.get("cudnn"))),
                          ("cuda", gpu.get("cuda_runtime"))):
        if torch.get(field) or loaded:
            found[f"frameworks.torch.{field}"] = (torch.get(field), loaded,
                                                  f"the {field} torch loaded", 2)
    return found


def _same(a: Any, b: Any, parts: int) -> bool:
    return (_release(a, parts) == _release(b, parts)) if parts else a == b


def loaded_mismatches(document: Mapping[str, Any]) -> Iterator[tuple[str, Any, Any, str]]:
    """(path, on disk, loaded, what) wherever the static fingerprint and the library the
    process actually loaded disagree (another cuDNN on the loader path: pytorch/pytorch#78489)."""
    for path, (static, loaded, what, parts) in static_and_loaded(document).items():
        if static and loaded and not _same(static, loaded, parts):
            yield path, static, loaded, what


def loaded_differences(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[
        tuple[str, str, Any, Any, str]]:
    """What two fingerprints' files and loaded libraries say against each other, as
    differences (subject, kind, before, after, detail) of the ``numerics`` section:

    * ``loaded-differs``: the files match on both sides but the library actually loaded
      does not (another copy came first on one side's loader path);
    * ``files-differ``: the files differ but both sides loaded the same library (one
      side runs a library its files do not describe; the files' difference is not what runs).
    """
    found = []
    facts_a, facts_b = static_and_loaded(a), static_and_loaded(b)
    for path in sorted(set(facts_a) & set(facts_b)):
        static_a, loaded_a, _, parts = facts_a[path]
        static_b, loaded_b, what, _ = facts_b[path]
        if not (static_a and static_b and loaded_a and loaded_b):
            continue  # one side did not record it: nothing to weigh
        same_static, same_loaded = _same(static_a, static_b, parts), \
            _same(loaded_a, loaded_b, parts)
        if same_static and not same_loaded:
            found.append((f"loaded.{path}", "loaded-differs", loaded_a, loaded_b,
                          f"the files say {static_a} on both sides; {what}: "
                          f"{loaded_a} -> {loaded_b}"))
        elif same_loaded and not same_static:
            found.append((f"loaded.{path}", "files-differ", static_a, static_b,
                          f"the files say {static_a} -> {static_b}, but both sides loaded "
                          f"{loaded_a}"))
    return found
