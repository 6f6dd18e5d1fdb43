"""A fleet comparison: groups of members sharing an id, the baseline, and the outliers.

Model-level so that renderers (``render/fleet.py``) and ``distributed`` read it
without importing how it is computed (:mod:`envcheck.fleet`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

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

    def to_dict(self) -> dict[str, Any]:
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
