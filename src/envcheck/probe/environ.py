"""Environment variables that steer numerics, captured by allow-list.

The environment is never dumped: a variable enters the fingerprint only when
its name is listed here or belongs to a framework's own family, and never when
its name looks like a secret. Values are scrubbed of URL credentials and
token-shaped strings as well.
"""

from __future__ import annotations

import os

from ._common import is_secret_name, redact

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds at start-up; annotations are strings
    from typing import Dict, Mapping, Optional

# Recorded whether set or unset, so a fingerprint shows what was checked.
ALLOWED = (
    "TF_DETERMINISTIC_OPS", "TF_CUDNN_DETERMINISTIC", "NVIDIA_TF32_OVERRIDE",
    "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE", "XLA_FLAGS", "JAX_DEFAULT_MATMUL_PRECISION",
    "JAX_ENABLE_X64", "TF_ENABLE_ONEDNN_OPTS", "MKL_CBWR", "ONEDNN_DEFAULT_FPMATH_MODE",
    "NCCL_ALGO", "NCCL_PROTO", "NCCL_MAX_NCHANNELS", "CUBLAS_WORKSPACE_CONFIG",
    "OMP_NUM_THREADS", "MKL_NUM_THREADS", "MKL_DYNAMIC", "OMP_DYNAMIC",
    "KMP_DETERMINISTIC_REDUCTION", "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY",
    "TF_USE_CUDNN_AUTOTUNE", "TF_CUDNN_USE_FRONTEND", "HOROVOD_FUSION_THRESHOLD",
    "CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER", "PYTHONHASHSEED", "PYTORCH_CUDA_ALLOC_CONF",
    "TF_GPU_ALLOCATOR", "CUDA_LAUNCH_BLOCKING", "OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE",
)
# Families recorded when set: each framework's knobs share a prefix.
FAMILIES = (
    "NCCL_", "CUBLAS_", "CUDNN_", "TF_", "XLA_", "JAX_", "TORCH_", "PYTORCH_", "OMP_", "MKL_",
    "KMP_", "ONEDNN_", "DNNL_", "NVIDIA_", "OPENBLAS_", "HOROVOD_",
    "NPY_",  # NPY_DISABLE_CPU_FEATURES changes float32 sin/exp/log bits (numpy/numpy#23523)
)
# Terraform shares TensorFlow's ``TF_`` prefix; its variables (TF_VAR_* may hold
# secrets) say nothing about numerics.
NOT_FRAMEWORK = (
    "TF_VAR_", "TF_CLI_", "TF_LOG", "TF_INPUT", "TF_IN_AUTOMATION", "TF_WORKSPACE",
    "TF_DATA_DIR", "TF_PLUGIN_", "TF_REGISTRY_", "TF_TOKEN_", "TF_IGNORE", "TF_STATE_",
    "TF_APPEND_USER_AGENT", "TF_WARN_OUTPUT_ERRORS",
)
MAX_VALUE_LENGTH = 4096


def collect_env(environ: Optional[Mapping[str, str]] = None) -> Dict[str, Optional[str]]:
    source = os.environ if environ is None else environ
    captured: Dict[str, Optional[str]] = {name: None for name in ALLOWED}
    for name, value in source.items():
        if name not in captured and not name.startswith(FAMILIES):
            continue
        if is_secret_name(name) or name.startswith(NOT_FRAMEWORK):
            continue
        captured[name] = redact(value)[:MAX_VALUE_LENGTH]
    return dict(sorted(captured.items()))
