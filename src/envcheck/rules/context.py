"""Conditions rules may depend on, computed from both fingerprints.

A difference's weight depends on where it happens: TF32 switches matter only
where a GPU of compute capability 8.0+ exists, NCCL only with several GPUs,
TensorFlow 2.9's oneDNN default only on x86 CPUs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from packaging.version import Version


class Sides(NamedTuple):
    """Both fingerprints' documents; either may lack a section (a pip inspect report)."""

    a: Mapping[str, Any]
    b: Mapping[str, Any]


def gpus_of(side: Mapping[str, Any]) -> list[dict[str, Any]]:
    gpus = side.get("gpus")
    return [g for g in gpus if isinstance(g, dict)] if isinstance(gpus, list) else []


def compute_capability(value: Any) -> float | None:
    try:
        return float(str(value))
    except ValueError:
        return None


def ampere_gpus(side: Mapping[str, Any]) -> list[dict[str, Any]]:
    """GPUs of compute capability 8.0 or newer: where TF32 math exists."""
    return [g for g in gpus_of(side) if (compute_capability(g.get("compute_capability")) or 0)
            >= 8.0]


def _ampere_gpu(sides: Sides, before: Any, after: Any) -> bool:
    return any(ampere_gpus(side) for side in sides)


def _multi_gpu(sides: Sides, before: Any, after: Any) -> bool:
    return any(len(gpus_of(side)) > 1 for side in sides)


def _cpu_only(sides: Sides, before: Any, after: Any) -> bool:
    return not any(gpus_of(side) for side in sides)


def _x86(sides: Sides) -> bool:
    return any(str((side.get("cpu") or {}).get("architecture")).lower() in ("x86_64", "amd64")
               for side in sides)


def _crosses_tf_2_9(sides: Sides, before: Any, after: Any) -> bool:
    try:
        old, new = Version(str(before)), Version(str(after))
    except ValueError:  # InvalidVersion, or a number too long for int()
        return False
    return _x86(sides) and (old.release[:2] < (2, 9)) != (new.release[:2] < (2, 9))


def _crosses_cc_8(sides: Sides, before: Any, after: Any) -> bool:
    old, new = compute_capability(before), compute_capability(after)
    return old is not None and new is not None and (old >= 8.0) != (new >= 8.0)


Condition = Callable[[Sides, Any, Any], bool]
CONDITIONS: dict[str, Condition] = {
    "ampere_gpu": _ampere_gpu,
    "multi_gpu": _multi_gpu,
    "cpu_only": _cpu_only,
    "crosses_tf_2_9": _crosses_tf_2_9,
    "crosses_cc_8": _crosses_cc_8,
}
