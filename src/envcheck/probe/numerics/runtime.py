"""The runtime as loaded: which numeric libraries this process actually mapped, and how
the frameworks configured themselves, as opposed to what the files on disk say.

Runs in the canary child after the frameworks were imported (a library is mapped
only once its framework loads it).
"""

from __future__ import annotations

import os
import re

from .threads import mapped_libraries, openblas_handles

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional

# Shared libraries whose version or variant changes numerics.
_NUMERIC_LIBRARY = re.compile(
    r"^lib(openblas|scipy_openblas|mkl_|blas|cblas|lapack|flexiblas|blis|gomp|iomp|omp|"
    r"dnnl|mkldnn|cudnn|cublas|nccl|cudart|cufft|curand|cusolver|cusparse|m\.so|m-[0-9]|tbb|"
    r"xla|tpu|rocblas|miopen|rccl|hipblas)", re.IGNORECASE)
# libcudnn.so.9.1.0, or glibc's older naming, libm-2.31.so
_SO_VERSION = re.compile(r"\.so\.([0-9][0-9.]*)$|-([0-9][0-9.]*[0-9])\.so$")

# mkl_cbwr.h: the code branch MKL takes (MKL_CBWR and mkl_cbwr_get(MKL_CBWR_BRANCH)).
_CBWR_NAMES = {1: "OFF", 2: "AUTO", 3: "COMPATIBLE", 4: "SSE2", 6: "SSSE3", 7: "SSE4_1",
               8: "SSE4_2", 9: "AVX", 10: "AVX2", 11: "AVX512_MIC", 12: "AVX512",
               13: "AVX512_MIC_E1", 14: "AVX512_E1"}


def libraries() -> List[Dict[str, Any]]:
    """The numerics-relevant shared libraries mapped into this process, with versions read
    from their resolved file names (``libcudnn.so.9`` -> ``libcudnn.so.9.1.0``)."""
    found = []
    for path in mapped_libraries():
        name = os.path.basename(path)
        if not _NUMERIC_LIBRARY.match(name):
            continue
        real = os.path.realpath(path)
        match = _SO_VERSION.search(os.path.basename(real)) or _SO_VERSION.search(name)
        found.append({"name": name, "path": real,
                      "version": (match.group(1) or match.group(2)) if match else None})
    return found


def blas() -> List[Dict[str, Any]]:
    """Each BLAS and OpenMP library loaded, through threadpoolctl when it is installed."""
    import importlib

    try:
        threadpoolctl = importlib.import_module("threadpoolctl")
    except ImportError:
        return _openblas_without_threadpoolctl()
    pools = []
    for info in threadpoolctl.threadpool_info():
        entry = {"file": info.get("filepath"), "user_api": info.get("user_api"),
                 "api": info.get("internal_api"), "version": info.get("version"),
                 "num_threads": info.get("num_threads"),
                 "threading_layer": info.get("threading_layer"),
                 "core_type": info.get("architecture")}
        if info.get("internal_api") == "mkl":
            entry.update(_mkl_branch(str(info.get("filepath"))))
        pools.append(entry)
    return pools


def _openblas_without_threadpoolctl() -> List[Dict[str, Any]]:
    import ctypes

    pools = []
    for library, _, getter in openblas_handles():
        entry: Dict[str, Any] = {"file": library._name, "user_api": "blas", "api": "openblas",
                                 "num_threads": getter()}
        for field, names in (("core_type", ("openblas_get_corename",
                                            "openblas_get_corename64_",
                                            "scipy_openblas_get_corename64_")),
                             ("config", ("openblas_get_config", "openblas_get_config64_",
                                         "scipy_openblas_get_config64_"))):
            for name in names:
                function = getattr(library, name, None)
                if function is not None:
                    function.restype = ctypes.c_char_p
                    entry[field] = function().decode("utf-8", "replace")
                    break
        match = re.search(r"OpenBLAS ([0-9][0-9.]*)", entry.get("config") or "")
        entry["version"] = match.group(1).rstrip(".") if match else None
        pools.append(entry)
    return pools


def _mkl_branch(path: str) -> Dict[str, Any]:
    import ctypes

    try:
        library = ctypes.CDLL(path)
        branch = int(library.mkl_cbwr_get(1))  # MKL_CBWR_BRANCH
        auto = int(library.mkl_cbwr_get_auto_branch())
    except (OSError, AttributeError):
        return {}
    return {"cbwr": _CBWR_NAMES.get(branch, str(branch)),
            "code_path": _CBWR_NAMES.get(auto, str(auto))}


def numpy_runtime(np: Any) -> Dict[str, Any]:
    """numpy's SIMD: the baseline it was compiled for and the features it dispatches to here
    (``NPY_DISABLE_CPU_FEATURES`` removes some)."""
    import importlib

    try:
        umath = importlib.import_module("numpy._core._multiarray_umath")
    except ImportError:  # numpy 1.x
        umath = importlib.import_module("numpy.core._multiarray_umath")
    features = getattr(umath, "__cpu_features__", {})
    dispatch = list(getattr(umath, "__cpu_dispatch__", []))
    return {"version": np.__version__,
            "simd_baseline": list(getattr(umath, "__cpu_baseline__", [])),
            "simd_dispatched": [f for f in dispatch if features.get(f)]}


def torch_runtime(torch: Any) -> Dict[str, Any]:
    config = torch.__config__.show()

    def build_setting(name: str) -> Optional[str]:
        match = re.search(r"\b%s=([^,\s]+)" % name, config)
        return match.group(1) if match else None

    onednn = re.search(r"MKL-DNN v([0-9][0-9.]*)", config)
    capability = getattr(getattr(torch.backends, "cpu", None), "get_cpu_capability", None)
    facts: Dict[str, Any] = {
        "version": torch.__version__,
        "cpu_capability": capability() if capability else None,
        "num_threads": torch.get_num_threads(),
        "num_interop_threads": torch.get_num_interop_threads(),
        "blas": build_setting("BLAS_INFO"),
        "lapack": build_setting("LAPACK_INFO"),
        "onednn": onednn.group(1) if onednn else None,
        "onednn_enabled": bool(torch.backends.mkldnn.is_available()
                               and torch.backends.mkldnn.enabled),
        "float32_matmul_precision": torch.get_float32_matmul_precision(),
        "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
    }
    return facts


def tensorflow_runtime(tf: Any) -> Dict[str, Any]:
    facts: Dict[str, Any] = {"version": tf.__version__}
    import importlib

    try:
        util_port = importlib.import_module("tensorflow.python.util._pywrap_util_port")
        facts["onednn_enabled"] = bool(util_port.IsMklEnabled())
    except (ImportError, AttributeError):
        facts["onednn_enabled"] = None
    threading = tf.config.threading
    facts["intra_op_threads"] = threading.get_intra_op_parallelism_threads()
    facts["inter_op_threads"] = threading.get_inter_op_parallelism_threads()
    return facts


def jax_runtime(jax: Any) -> Dict[str, Any]:
    devices = jax.devices()
    return {"version": jax.__version__, "backend": jax.default_backend(),
            "devices": sorted({str(getattr(d, "device_kind", d.platform)) for d in devices}),
            "enable_x64": bool(getattr(jax.config, "jax_enable_x64", False)),
            "default_matmul_precision": getattr(jax.config, "jax_default_matmul_precision",
                                                None)}
