"""``envcheck explain BASE``: why does this machine compute other bits than BASE?

Reruns each canary whose digest differs from BASE's here, in a fresh child
process, with one candidate setting at a time changed to BASE's value, and names
the setting that makes this machine reproduce BASE's bits. Candidates come from
both sides' recorded settings and from the runtime as loaded (thread counts, the
OpenBLAS core type, numpy's dispatched SIMD features, ATen's CPU capability,
oneDNN in TensorFlow, TF32 on a GPU). Collection only: nothing here prints.
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
            runner: Runner | None = None) -> Explanation:
    """Measure here, then rerun what differs from BASE with one candidate setting at a time."""
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
    for candidate in candidates(base_numerics, here) if differing else []:
        open_names = [name for name in differing if name not in causes]
        if not open_names:
            break
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

