"""Canary inputs from integers: identical bits on every machine, no framework RNG involved.

A counter-based hash (multiply, mask, xor-shift on integers below 2**63) gives
the same integers in pure Python and in numpy's uint64 arithmetic; turning them
into floats divides by 7 in float64 and rounds once to the target dtype, both
correctly rounded operations, so the inputs carry full mantissas and are the
same everywhere. Pure Python is the fallback for torch without numpy.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List, Tuple

_MASK = 0xFFFFFFFF
_A, _B = 2654435761, 2246822519  # each below 2**32: products stay below 2**64


def ints(count: int, seed: int, modulus: int = 65521) -> List[int]:
    """``count`` integers in [-(modulus // 2), modulus // 2], pure Python."""
    half = modulus // 2
    out = []
    for i in range(count):
        h = (i * _A + seed * 40503 + 7) & _MASK
        h ^= h >> 15
        h = (h * _B) & _MASK
        h ^= h >> 13
        out.append(h % modulus - half)
    return out


def np_ints(count: int, seed: int, modulus: int = 65521) -> Any:
    """The same integers as ``ints``, as a numpy int64 array (vectorised)."""
    import numpy as np

    u = np.uint64
    h = (np.arange(count, dtype=np.uint64) * u(_A) + u(seed * 40503 + 7)) & u(_MASK)
    h ^= h >> u(15)
    h = (h * u(_B)) & u(_MASK)
    h ^= h >> u(13)
    return (h % u(modulus)).astype(np.int64) - modulus // 2


# The child's inputs by (count, seed, dtype, modulus): numpy's and torch's canaries share
# some (a million floats for the long sums, the GEMM operands), made once per process.
_MADE: Dict[Tuple[int, int, str, int], Any] = {}


def np_floats(count: int, seed: int, dtype: Any, modulus: int = 65521) -> Any:
    """``count`` floats of ``dtype``: the integers divided by 7 in float64, rounded once.
    The array is shared between callers: read it, never write to it."""
    import numpy as np

    key = (count, seed, np.dtype(dtype).name, modulus)
    made = _MADE.get(key)
    if made is None:
        made = (np_ints(count, seed, modulus).astype(np.float64) / 7.0).astype(dtype)
        _MADE[key] = made
    return made


def floats(count: int, seed: int, modulus: int = 65521) -> List[float]:
    """The float64 values ``np_floats`` starts from, in pure Python."""
    return [v / 7.0 for v in ints(count, seed, modulus)]
