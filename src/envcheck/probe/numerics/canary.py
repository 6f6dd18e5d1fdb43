"""Run one canary and record what it computed: digest, dtype, shape, exact samples, flags.

Each canary runs twice in the same process (does it give the same bits twice
here?) and once more with one thread where the framework can be limited at run
time (are its bits thread-sensitive here?). Samples are exact hex floats so a
diff can say how many units in the last place two results are apart.
"""

from __future__ import annotations

import hashlib
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, ContextManager, Dict, List, Optional

    Limiter = Optional[Callable[[], ContextManager[Any]]]

SAMPLES = 32


class Output:
    """What a canary computed, independent of the framework: raw bytes and a way to
    read single elements as Python floats."""

    __slots__ = ("data", "dtype", "element", "shape")

    def __init__(self, data: bytes, dtype: str, shape: List[int],
                 element: Callable[[int], float]) -> None:
        self.data = data
        self.dtype = dtype
        self.shape = shape
        self.element = element  # flat index -> value

    @property
    def size(self) -> int:
        size = 1
        for dim in self.shape:
            size *= dim
        return size


def sample_indices(size: int) -> List[int]:
    """Spread over the whole output: first, last and points in between (the tails of
    blocked kernels differ from their bodies)."""
    if size <= 0:
        return []
    return sorted({(size - 1) * k // (SAMPLES - 1) for k in range(SAMPLES)})


def digest(output: Output) -> str:
    return hashlib.sha256(output.data).hexdigest()


def measure(compute: Callable[[], Output], one_thread: Limiter = None,
            flags: bool = True) -> Dict[str, Any]:
    """Run ``compute`` (and again for the flags) and describe its output."""
    start = time.perf_counter()
    first = compute()
    elapsed = time.perf_counter() - start
    record: Dict[str, Any] = {
        "digest": digest(first), "dtype": first.dtype, "shape": list(first.shape),
        "samples": [{"index": i, "value": float(first.element(i)).hex()}
                    for i in sample_indices(first.size)],
        "time_ms": round(elapsed * 1000, 2),
    }
    if not flags:
        return record
    record["deterministic"] = digest(compute()) == record["digest"]
    if one_thread is None:
        record["thread_sensitive"] = None  # cannot be limited at run time here
    else:
        with one_thread():
            record["thread_sensitive"] = digest(compute()) != record["digest"]
    return record
