"""GPU canaries through torch, when a CUDA (or ROCm) device is there: a float32 matmul
whose bits show TF32, float16 ``bmm``, a cuDNN convolution; each runs twice like every
canary (run-to-run determinism). Written without a GPU to test on: see the README."""

from __future__ import annotations

from .cpu_numpy import K, M, N
from .cpu_torch import as_output, inputs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Tuple

    from .canary import Output


def available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def canaries(device_name: str = "cuda") -> List[Tuple[str, Callable[[], Output], Any]]:
    """The GPU canaries on ``device_name``; the tests run the same computations on the CPU
    where there is no GPU (their inputs, shapes and outputs, not a GPU's bits)."""
    import torch

    device = torch.device(device_name)
    a = inputs(torch, M * K, 1, torch.float32).reshape(M, K).to(device)
    b = inputs(torch, K * N, 2, torch.float32).reshape(K, N).to(device)
    left = inputs(torch, 8 * 129 * 131, 12, torch.float16).reshape(8, 129, 131).to(device)
    right = inputs(torch, 8 * 131 * 127, 13, torch.float16).reshape(8, 131, 127).to(device) / 64
    image = inputs(torch, 2 * 16 * 33 * 35, 9, torch.float32).reshape(2, 16, 33, 35).to(device)
    kernel = (inputs(torch, 24 * 16 * 3 * 3, 10, torch.float32).reshape(24, 16, 3, 3)
              / 64).to(device)

    def synced(compute: Callable[[], Any]) -> Callable[[], Output]:
        def run() -> Output:
            with torch.no_grad():
                result = compute()
            if device.type == "cuda":
                torch.cuda.synchronize()
            return as_output(result)
        return run

    return [
        ("torch.cuda.matmul_float32", synced(lambda: a @ b), None),
        ("torch.cuda.bmm_float16", synced(lambda: torch.bmm(left, right)), None),
        ("torch.cuda.conv2d_float32", synced(
            lambda: torch.nn.functional.conv2d(image, kernel, padding=1)), None),
    ]


def runtime() -> Dict[str, Any]:
    """Effective TF32 and the CUDA libraries torch loaded (versions it reports itself)."""
    import torch

    device = torch.device("cuda")
    # 1 + 2**-12 needs 13 mantissa bits; TF32 keeps 10, so under TF32 the product is 1.0.
    probe = torch.full((64, 64), 1 + 2 ** -12, device=device)
    product = (probe @ torch.eye(64, device=device))[0, 0].item()
    cudnn_version: Any = torch.backends.cudnn.version  # untyped in torch
    nccl = getattr(torch.cuda, "nccl", None)
    try:
        version = nccl.version() if nccl is not None else None
        nccl_version = ".".join(map(str, version)) if version is not None else None
    except (RuntimeError, AttributeError):
        nccl_version = None
    return {
        "devices": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())],
        "capability": ".".join(map(str, torch.cuda.get_device_capability(0))),
        "cuda_runtime": torch.version.cuda or torch.version.hip,
        "cudnn": cudnn_version(),
        "nccl": nccl_version,
        "tf32_matmul_effective": product == 1.0,
        "allow_tf32_matmul": bool(torch.backends.cuda.matmul.allow_tf32),
        "allow_tf32_cudnn": bool(torch.backends.cudnn.allow_tf32),
        "cudnn_deterministic": bool(torch.backends.cudnn.deterministic),
        "cudnn_benchmark": bool(torch.backends.cudnn.benchmark),
    }
