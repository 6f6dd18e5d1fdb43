"""``envcheck explain BASE``: why does this machine compute other bits than BASE?

Reruns each canary whose digest differs from BASE's here, in a fresh child
process, with one candidate setting at a time changed to BASE's value, and names
the setting that makes this machine reproduce BASE's bits. Candidates come from
both sides' recorded settings, from the runtime as loaded (thread counts, the
OpenBLAS core type, numpy's dispatched SIMD features, ATen's CPU capability,
oneDNN in TensorFlow, TF32 on a GPU), and last from what BASE's CPU and cores
imply for every setting shared/drift-rules.md names as changing bits, even one
BASE never set or recorded: a machine with AVX2 runs oneDNN's and MKL's AVX2
code without ``ONEDNN_MAX_CPU_ISA`` or ``MKL_CBWR`` being set, and setting them
here is how this machine reproduces that. Each candidate reruns only the
canaries of a framework that reads it, and only where that framework is
installed here. Collection only: nothing here prints.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .errors import InputError
from .model.explanation import CanaryExplanation, Candidate, Explanation

Runner = Callable[..., dict[str, Any]]  # probe.numerics.run_child's shape


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _pools(runtime: Mapping[str, Any], api: str) -> list[dict[str, Any]]:
    return [p for p in runtime.get("blas") or [] if isinstance(p, dict) and p.get("api") == api]


# Which canaries each setting can change (the frameworks that read it), by name prefix.
READERS: dict[str, tuple[str, ...]] = {
    "OPENBLAS_NUM_THREADS": ("numpy.",), "OPENBLAS_CORETYPE": ("numpy.",),
    "NPY_DISABLE_CPU_FEATURES": ("numpy.",), "NPY_ENABLE_CPU_FEATURES": ("numpy.",),
    "OMP_NUM_THREADS": ("numpy.", "torch."), "MKL_NUM_THREADS": ("numpy.", "torch."),
    "MKL_CBWR": ("numpy.", "torch."), "MKL_ENABLE_INSTRUCTIONS": ("numpy.", "torch."),
    "MKL_DYNAMIC": ("numpy.", "torch."),
    "ONEDNN_MAX_CPU_ISA": ("torch.", "tensorflow."), "DNNL_MAX_CPU_ISA": ("torch.", "tensorflow."),
    "ONEDNN_DEFAULT_FPMATH_MODE": ("torch.", "tensorflow."), "ATEN_CPU_CAPABILITY": ("torch.",),
    "TF_ENABLE_ONEDNN_OPTS": ("tensorflow.",), "TF_NUM_INTRAOP_THREADS": ("tensorflow.",),
    "TF_NUM_INTEROP_THREADS": ("tensorflow.",), "TF_DETERMINISTIC_OPS": ("tensorflow.",),
    "XLA_FLAGS": ("jax.", "tensorflow."), "JAX_DEFAULT_MATMUL_PRECISION": ("jax.",),
    "JAX_ENABLE_X64": ("jax.",),
}

# ISA levels from the CPU flags a fingerprint records, lowest first, with each setting's
# spelling of that level (oneDNN, MKL's code branch, ATen, OpenBLAS's kernel for Intel).
_LEVELS = (  # (flags the level needs, ONEDNN_MAX_CPU_ISA, MKL_CBWR, ATEN, OPENBLAS_CORETYPE)
    ((), "SSE41", "SSE4_2", "default", "Nehalem"),
    (("avx",), "AVX", "AVX", "default", "Sandybridge"),
    (("avx2", "fma"), "AVX2", "AVX2", "avx2", "Haswell"),
    (("avx512f", "avx512bw", "avx512vl", "avx512dq"), "AVX512_CORE", "AVX512", "avx512",
     "SkylakeX"),
)


def _level(flags: Any) -> int | None:
    """The highest ISA level a CPU's recorded flags reach, or None when none are recorded."""
    if not isinstance(flags, list) or not flags:
        return None
    have = {str(flag) for flag in flags}
    reached = 0
    for index, (needs, *_names) in enumerate(_LEVELS):
        if all(flag in have for flag in needs):
            reached = index
    return reached


def _here_cpu() -> dict[str, Any]:
    from .probe.cpu import collect_cpu

    try:
        return collect_cpu()
    except (OSError, ValueError):
        return {}


def _threads(runtime: Mapping[str, Any]) -> set[str]:
    """Every thread count this side's runtime reports."""
    counts = {str(p.get("num_threads")) for p in runtime.get("blas") or []
              if isinstance(p, dict) and p.get("num_threads") is not None}
    torch = _dict(runtime.get("torch"))
    if torch.get("num_threads") is not None:
        counts.add(str(torch["num_threads"]))
    return counts


def implied(base_fingerprint: Mapping[str, Any], here_numerics: Mapping[str, Any],
            here_cpu: Mapping[str, Any]) -> list[Candidate]:
    """Settings BASE need not have set or recorded, at the value that makes this machine
    compute as BASE's CPU and cores would: its thread count and ISA level."""
    found: list[Candidate] = []
    runtime_here = _dict(here_numerics.get("runtime"))
    mkl_here = bool(_pools(runtime_here, "mkl")) or \
        _dict(runtime_here.get("torch")).get("blas") == "mkl"
    cores = _dict(base_fingerprint.get("cpu")).get("usable_cores")
    here_threads = _threads(runtime_here)
    # BASE's usable cores (the count its libraries start with); unknown, one thread.
    threads = str(cores) if isinstance(cores, int) and cores > 0 else "1"
    if here_threads and threads not in here_threads:
        found += [Candidate(setting, threads, implied=True) for setting in (
            "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
            *(("MKL_NUM_THREADS",) if mkl_here else ()), "TF_NUM_INTRAOP_THREADS")]
    base_level = _level(_dict(base_fingerprint.get("cpu")).get("flags"))
    here_level = _level(here_cpu.get("flags"))
    if here_level is not None and base_level is None:
        base_level = max(here_level - 1, 0)  # BASE's CPU unknown: the next level down
    if base_level is not None and here_level is not None and base_level < here_level:
        _, onednn, cbwr, aten, coretype = _LEVELS[base_level]
        found += [Candidate("ONEDNN_MAX_CPU_ISA", onednn, implied=True),
                  *([Candidate("MKL_CBWR", cbwr, implied=True)] if mkl_here else []),
                  Candidate("ATEN_CPU_CAPABILITY", aten, implied=True),
                  Candidate("OPENBLAS_CORETYPE", coretype, implied=True)]
        numpy_here = _dict(runtime_here.get("numpy"))
        # numpy's dispatch targets beyond what BASE's CPU has (X86_V4 and AVX512_* need
        # AVX-512, X86_V3 AVX2): disabled, numpy runs what BASE's CPU would.
        beyond = [f for f in numpy_here.get("simd_dispatched") or [] if isinstance(f, str) and (
            (base_level < 3 and ("AVX512" in f or f == "X86_V4"))
            or (base_level < 2 and f in ("X86_V3", "AVX2", "FMA3")))]
        if beyond:
            found.append(Candidate("NPY_DISABLE_CPU_FEATURES", " ".join(beyond), implied=True))
    # MKL's one code path for every CPU: what a BASE with MKL_CBWR=COMPATIBLE ran, or one
    # on another CPU (FastSurfer#892), unless BASE says it ran without it.
    if mkl_here and (
            "MKL_CBWR" not in _dict(_dict(base_fingerprint.get("numerics")).get("settings"))
            or (base_level is not None and here_level is not None and base_level != here_level)):
        found.append(Candidate("MKL_CBWR", "COMPATIBLE", implied=True))
    return found


def reads(setting: str, canary: str) -> bool:
    """Whether ``setting`` can change ``canary`` (a framework that reads it computes it);
    settings not in READERS are tried on every canary."""
    prefixes = READERS.get(setting)
    return prefixes is None or canary.startswith(prefixes)


def candidates(base: Mapping[str, Any], here: Mapping[str, Any]) -> list[Candidate]:
    """The settings to try, each at BASE's value: recorded settings that differ first, then
    settings derived from runtime facts that differ."""
    found: dict[str, Candidate] = {}
    settings_base, settings_here = _dict(base.get("settings")), _dict(here.get("settings"))
    for name in sorted(set(settings_base) | set(settings_here)):
        if settings_base.get(name) != settings_here.get(name):
            found[name] = Candidate(name, settings_base.get(name))
    runtime_base, runtime_here = _dict(base.get("runtime")), _dict(here.get("runtime"))

    def derive(setting: str, value: Any, other: Any) -> None:
        if value is not None and value != other and setting not in found:
            found[setting] = Candidate(setting, str(value))

    for api, setting in (("openblas", "OPENBLAS_NUM_THREADS"), ("mkl", "MKL_NUM_THREADS"),
                         ("openmp", "OMP_NUM_THREADS")):
        pools_base, pools_here = _pools(runtime_base, api), _pools(runtime_here, api)
        if pools_base and pools_here:
            derive(setting, pools_base[0].get("num_threads"), pools_here[0].get("num_threads"))
            if api == "openblas":
                derive("OPENBLAS_CORETYPE", pools_base[0].get("core_type"),
                       pools_here[0].get("core_type"))
    torch_base, torch_here = _dict(runtime_base.get("torch")), _dict(runtime_here.get("torch"))
    if torch_base and torch_here:
        derive("OMP_NUM_THREADS", torch_base.get("num_threads"), torch_here.get("num_threads"))
        capability = torch_base.get("cpu_capability")
        derive("ATEN_CPU_CAPABILITY", str(capability).lower() if capability else None,
               str(torch_here.get("cpu_capability")).lower())
    numpy_base, numpy_here = _dict(runtime_base.get("numpy")), _dict(runtime_here.get("numpy"))
    extra = [f for f in numpy_here.get("simd_dispatched") or []
             if f not in (numpy_base.get("simd_dispatched") or [])]
    if numpy_base and extra:
        derive("NPY_DISABLE_CPU_FEATURES", " ".join(extra), None)
    tf_base, tf_here = _dict(runtime_base.get("tensorflow")), _dict(runtime_here.get("tensorflow"))
    if tf_base and tf_here and tf_base.get("onednn_enabled") is not None:
        derive("TF_ENABLE_ONEDNN_OPTS", "1" if tf_base["onednn_enabled"] else "0",
               "1" if tf_here.get("onednn_enabled") else "0")
        derive("TF_NUM_INTRAOP_THREADS", tf_base.get("intra_op_threads"),
               tf_here.get("intra_op_threads"))
    gpu_base, gpu_here = _dict(runtime_base.get("gpu")), _dict(runtime_here.get("gpu"))
    if gpu_base and gpu_here and gpu_base.get("tf32_matmul_effective") is False:
        derive("NVIDIA_TF32_OVERRIDE", "0", "0" if not gpu_here.get("tf32_matmul_effective")
               else None)
    return list(found.values())


def explain(base: Mapping[str, Any], base_label: str, python: str, timeout: float,
            runner: Runner | None = None,
            here_cpu: Mapping[str, Any] | None = None) -> Explanation:
    """Measure here, then rerun what differs from BASE with one candidate setting at a time.

    ``base``: BASE's whole fingerprint (its ``cpu`` implies settings it never recorded);
    ``here_cpu``: this machine's ``cpu`` section (read here when not given)."""
    from .evidence import distance
    from .model import numerics_id

    if runner is None:
        from .probe.numerics import run_child

        runner = run_child
    base_numerics = base.get("numerics")
    if not isinstance(base_numerics, dict) or not _dict(base_numerics.get("canaries")):
        raise InputError(f"{base_label}: no numeric canaries recorded; take it with "
                         "envcheck snapshot --numerics")
    base_canaries = _dict(base_numerics.get("canaries"))
    here = runner(python, timeout, flags=False)
    here_canaries = _dict(here.get("canaries"))

    def same(name: str, measured: Mapping[str, Any]) -> bool:
        return _dict(measured.get(name)).get("digest") == _dict(base_canaries[name]).get("digest")

    shared = sorted(set(base_canaries) & set(here_canaries))
    differing = [name for name in shared if not same(name, here_canaries)]
    causes: dict[str, Candidate] = {}
    tried: list[Candidate] = []
    to_try = candidates(base_numerics, here) if differing else []
    if differing:
        # Implied by BASE's CPU and cores, unless BASE recorded a value of its own (that
        # value is a candidate above) or this machine already runs with that value.
        known = {(c.setting, c.value) for c in to_try}
        recorded, current = _dict(base_numerics.get("settings")), _dict(here.get("settings"))
        cpu = _here_cpu() if here_cpu is None else here_cpu
        to_try += [c for c in implied(base, here, cpu)
                   if (c.setting, c.value) not in known and recorded.get(c.setting) is None
                   and current.get(c.setting) != c.value]
    for candidate in to_try:
        open_names = [name for name in differing
                      if name not in causes and reads(candidate.setting, name)]
        if not open_names:
            continue
        tried.append(candidate)
        rerun = runner(python, timeout, env={candidate.setting: candidate.value},
                       only=open_names, flags=False)
        for name in open_names:
            if name in _dict(rerun.get("canaries")) and same(name, _dict(rerun["canaries"])):
                causes[name] = candidate
    explained = [CanaryExplanation(name, distance(_dict(here_canaries[name]),
                                                  _dict(base_canaries[name])), causes.get(name))
                 for name in differing]
    not_measured = sorted(set(base_canaries) ^ set(here_canaries))
    return Explanation(base_label, numerics_id(base_numerics), numerics_id(here), explained,
                       tried, len(shared) - len(differing), not_measured)

