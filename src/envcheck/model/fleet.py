"""A fleet comparison: groups of members sharing an id, the baseline, and the outliers.

Model-level so that renderers (``render/fleet.py``) and ``distributed`` read it
without importing how it is computed (:mod:`envcheck.fleet`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

from .report import Report
from .severity import ORDER, FailOn, Severity


class Group(NamedTuple):
    """Members whose fingerprints share one id."""

    id: str
    members: list[str]


class Outlier(NamedTuple):
    """A group that differs from the baseline, and how (baseline -> this group)."""

    group: Group
    report: Report


class FleetReport:
    def __init__(self, groups: list[Group], baseline: str, baseline_id: str,
                 outliers: list[Outlier]) -> None:
        self.groups = groups
        self.baseline = baseline
        self.baseline_id = baseline_id
        self.outliers = outliers

    @property
    def members(self) -> int:
        return sum(len(g.members) for g in self.groups)

    def worst(self) -> Severity | None:
        worst = [o.report.worst() for o in self.outliers]
        return max((s for s in worst if s is not None), key=lambda s: s.rank, default=None)

    def fails(self, fail_on: FailOn | str) -> bool:
        return any(o.report.fails(fail_on) for o in self.outliers)

    def summary(self) -> dict[str, int]:
        """Outlier members by the worst severity of their differences."""
        counts = {level.value: 0 for level in ORDER}
        for outlier in self.outliers:
            worst = outlier.report.worst()
            if worst is not None:
                counts[worst.value] += len(outlier.group.members)
        return counts

    def to_dict(self) -> dict[str, object]:
        return {
            "schema": 1,
            "members": self.members,
            "baseline": {"member": self.baseline, "id": self.baseline_id},
            "groups": [{"id": g.id, "count": len(g.members), "members": g.members}
                       for g in self.groups],
            "summary": self.summary(),
            "outliers": [{"id": o.group.id, "members": o.group.members,
                          "summary": o.report.summary(),
                          "changes": [c.to_dict() for c in o.report.changes]}
                         for o in self.outliers],
        }


# ---- ranks of a distributed job as members (envcheck.distributed) ---------------------

RANK_MEMBER = re.compile(r"rank (\d+) \((.*)\)\Z", re.DOTALL)


def rank_member(rank: int, host: str) -> str:
    """How a rank is named in a fleet: ``rank 3 (host-a)``; :data:`RANK_MEMBER` reads it."""
    return f"rank {rank} ({host})"


def rank_ranges(numbers: Iterable[int]) -> str:
    """``0-3, 7, 9, 10``: runs of three or more as ranges."""
    runs: list[list[int]] = []
    for number in sorted(set(numbers)):
        if runs and number == runs[-1][1] + 1:
            runs[-1][1] = number
        else:
            runs.append([number, number])
    parts: list[str] = []
    for first, last in runs:
        if last - first >= 2:
            parts.append(f"{first}-{last}")
        else:
            parts.extend(str(n) for n in range(first, last + 1))
    return ", ".join(parts)
