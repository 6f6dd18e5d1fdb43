"""numpy canaries: BLAS GEMM on both sides of the blocking boundaries, a long reduction,
the SIMD float32 transcendental functions, and the ``default_rng(0)`` stream."""

from __future__ import annotations

from .canary import Output
from .generator import np_floats
from .runtime import numpy_runtime
from .threads import blas_limiter

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Tuple

# 257 x 263 by 263 x 251: primes just past the 256 that BLAS kernels block on, so
# full blocks and ragged edges both run.
M, K, N = 257, 263, 251
VECTOR = 100_000
REDUCTION = 1_000_003


def as_output(array: Any) -> Output:
    import numpy as np

    array = np.asarray(array)  # a 0-d result stays 0-d; tobytes() is in C order
    return Output(array.tobytes(), str(array.dtype), list(array.shape),
                  lambda i: float(array.flat[i]))


def canaries() -> List[Tuple[str, Callable[[], Output], Any]]:
    import numpy as np

    blas = blas_limiter()
    found: List[Tuple[str, Callable[[], Output], Any]] = []
    for dtype in (np.float32, np.float64):
        a = np_floats(M * K, 1, dtype).reshape(M, K)
        b = np_floats(K * N, 2, dtype).reshape(K, N)
        found.append(("numpy.matmul_%s" % dtype.__name__, _call(np.matmul, a, b), blas))
    long = np_floats(REDUCTION, 3, np.float32)
    found.append(("numpy.sum_float32", lambda: as_output(np.sum(long)), blas))
    x, y = np_floats(VECTOR, 4, np.float64), np_floats(VECTOR, 5, np.float64)
    found.append(("numpy.dot_float64", lambda: as_output(np.dot(x, y)), blas))
    # |x| below about 1.2: inside every function's domain; log on [0.5, 1.7].
    small = (np_floats(VECTOR, 6, np.float64) / 4096).astype(np.float32)
    for function in (np.exp, np.log, np.sin, np.tanh):
        argument = np.abs(small) + np.float32(0.5) if function is np.log else small
        found.append(("numpy.%s_float32" % function.__name__, _call(function, argument), None))
    found.append(("numpy.default_rng_normal",
                  lambda: as_output(np.random.default_rng(0).standard_normal(1000)), None))
    return found


def _call(function: Callable[..., Any], *args: Any) -> Callable[[], Output]:
    return lambda: as_output(function(*args))


def runtime() -> Dict[str, Any]:
    import numpy as np

    return numpy_runtime(np)
