"""N fingerprints (machines, ranks, containers) -> groups, a baseline and the odd ones out.

Members are compared by id first: only one representative of each group that
differs from the baseline is ever diffed, and a member's full document is read
only while its id is computed and again if it represents an outlier group, so
memory does not grow with the number of members.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .config import Config
from .drift import diff
from .model import Fingerprint
from .model.fleet import FleetReport, Group, Outlier
from .model.severity import Severity

__all__ = ["FleetReport", "Group", "Loader", "Outlier", "compare"]

Loader = Callable[[], Fingerprint]


def measured_key(fingerprint: Fingerprint) -> str:
    """Group by what an environment is and what it computed (``snapshot --numerics``)."""
    return f"{fingerprint.id}+{fingerprint.data.get('numerics_id') or 'unmeasured'}"


def compare(members: Sequence[tuple[str, Loader]], baseline: tuple[str, Loader] | None = None,
            config: Config | None = None,
            key: Callable[[Fingerprint], str] | None = None) -> FleetReport:
    """Group ``members`` (name, loader) by id and diff each differing group against the baseline.

    The baseline is the largest group (ties: the group of the earliest member), or
    ``baseline`` when given. Loaders may be called more than once. ``key``: what
    groups members instead of the id (``measured_key``).
    """
    key_of = key or (lambda fingerprint: fingerprint.id)
    if not members:
        raise ValueError("compare needs at least one member")
    by_id: dict[str, Group] = {}
    loaders: dict[str, Loader] = {}
    for name, load in members:
        fingerprint_id = key_of(load())
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
        if group.id == key_of(baseline_fp):
            continue
        report = diff(baseline_fp, loaders[group.id](), config,
                      labels=(baseline_name, group.members[0]))
        outliers.append(Outlier(group, report))
    outliers.sort(key=lambda o: (-(o.report.worst() or Severity.BENIGN).rank,
                                 -len(o.group.members)))
    return FleetReport(groups, baseline_name, key_of(baseline_fp), outliers)
