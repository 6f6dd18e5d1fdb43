"""torch (CPU) canaries: matmul and ``Linear`` in float32 and bfloat16, ``conv2d``,
``softmax``, a long sum, and the ``manual_seed(0)`` stream."""

from __future__ import annotations

from .canary import Output
from .cpu_numpy import REDUCTION, K, M, N
from .generator import floats, np_floats
from .runtime import torch_runtime
from .threads import torch_limiter

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Tuple


def inputs(torch: Any, count: int, seed: int, dtype: Any) -> Any:
    """Generator floats as a float32 tensor first (correctly rounded from float64, as numpy
    rounds), then ``dtype``; the same bits with or without numpy installed."""
    try:
        import numpy as np
    except ImportError:
        tensor = torch.tensor(floats(count, seed), dtype=torch.float64).to(torch.float32)
    else:
        tensor = torch.from_numpy(np_floats(count, seed, np.float32))
    return tensor.to(dtype)


def as_output(tensor: Any) -> Output:
    import torch

    flat = tensor.detach().cpu().contiguous().reshape(-1)
    raw = flat.view(torch.uint8) if flat.numel() else flat
    try:
        data = raw.numpy().tobytes()
    except (ImportError, RuntimeError):  # torch without numpy
        data = bytes(raw.tolist())
    return Output(data, str(tensor.dtype).replace("torch.", ""),
                  list(tensor.shape), lambda i: float(flat[i].float().item()))


def canaries() -> List[Tuple[str, Callable[[], Output], Any]]:
    import torch

    one_thread = torch_limiter(torch)
    found: List[Tuple[str, Callable[[], Output], Any]] = []
    with torch.no_grad():
        for name, dtype in (("float32", torch.float32), ("bfloat16", torch.bfloat16)):
            a = inputs(torch, M * K, 1, dtype).reshape(M, K)
            b = inputs(torch, K * N, 2, dtype).reshape(K, N)
            weight = inputs(torch, N * K, 7, dtype).reshape(N, K)
            bias = inputs(torch, N, 8, dtype)
            found.append(("torch.matmul_" + name, _call(torch.matmul, a, b), one_thread))
            found.append(("torch.linear_" + name,
                          _call(torch.nn.functional.linear, a, weight, bias), one_thread))
        image = inputs(torch, 2 * 16 * 33 * 35, 9, torch.float32).reshape(2, 16, 33, 35)
        kernel = inputs(torch, 24 * 16 * 3 * 3, 10, torch.float32).reshape(24, 16, 3, 3) / 64
        found.append(("torch.conv2d_float32",
                      lambda: as_output(torch.nn.functional.conv2d(image, kernel, padding=1)),
                      one_thread))
        logits = inputs(torch, M * 1031, 11, torch.float32).reshape(M, 1031) / 512
        found.append(("torch.softmax_float32",
                      lambda: as_output(torch.softmax(logits, dim=-1)), one_thread))
        long = inputs(torch, REDUCTION, 3, torch.float32)
        found.append(("torch.sum_float32", lambda: as_output(long.sum()), one_thread))
    found.append(("torch.manual_seed_normal",
                  lambda: as_output(torch.randn(1000, generator=torch.Generator().manual_seed(0))),
                  None))
    return [(name, _no_grad(torch, compute), limiter) for name, compute, limiter in found]


def _call(function: Callable[..., Any], *args: Any) -> Callable[[], Output]:
    return lambda: as_output(function(*args))


def _no_grad(torch: Any, compute: Callable[[], Output]) -> Callable[[], Output]:
    def run() -> Output:
        with torch.no_grad():
            return compute()

    return run


def runtime() -> Dict[str, Any]:
    import torch

    return torch_runtime(torch)
