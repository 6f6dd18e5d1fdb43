"""N fingerprints (machines, ranks, containers) -> groups, a baseline and the odd ones out.

Members are compared by id first: only one representative of each group that
differs from the baseline is ever diffed, and a member's full document is read
only while its id is computed and again if it represents an outlier group, so
memory does not grow with the number of members.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from .config import Config
from .drift import Report, diff
from .model import Fingerprint
from .model.severity import ORDER, FailOn, Severity

Loader = Callable[[], Fingerprint]


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


def compare(members: Sequence[tuple[str, Loader]], baseline: tuple[str, Loader] | None = None,
            config: Config | None = None) -> FleetReport:
    """Group ``members`` (name, loader) by id and diff each differing group against the baseline.

    The baseline is the largest group (ties: the group of the earliest member), or
    ``baseline`` when given. Loaders may be called more than once.
    """
    if not members:
        raise ValueError("compare needs at least one member")
    by_id: dict[str, Group] = {}
    loaders: dict[str, Loader] = {}
    for name, load in members:
        fingerprint_id = load().id
        group = by_id.setdefault(fingerprint_id, Group(fingerprint_id, []))
        group.members.append(name)
        loaders.setdefault(fingerprint_id, load)
    groups = sorted(by_id.values(), key=lambda g: -len(g.members))  # stable: ties keep order
    if baseline is not None:
        baseline_name, baseline_load = baseline
        baseline_fp = baseline_load()
    else:
        baseline_name = groups[0].members[0]
        baseline_fp = loaders[groups[0].id]()
    outliers = []
    for group in groups:
        if group.id == baseline_fp.id:
            continue
        report = diff(baseline_fp, loaders[group.id](), config,
                      labels=(baseline_name, group.members[0]))
        outliers.append(Outlier(group, report))
    outliers.sort(key=lambda o: (-(o.report.worst() or Severity.BENIGN).rank,
                                 -len(o.group.members)))
    return FleetReport(groups, baseline_name, baseline_fp.id, outliers)
