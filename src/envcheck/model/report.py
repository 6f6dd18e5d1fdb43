"""Differences between two fingerprints, before and after judgement, and the diff report.

Model-level so that ``rules`` (which judges a Difference into a Change),
``drift`` (which finds them) and the renderers all import downward.
"""

from __future__ import annotations

from typing import NamedTuple

from .evidence import Evidence
from .severity import ORDER, FailOn, Severity


class Difference(NamedTuple):
    """One raw difference before judgement."""

    section: str
    subject: str  # what rules match on: a package name, a field, a variable
    kind: str  # added, removed, major, minor, patch, local, build, shadowed, changed
    path: str
    before: object  # a JSON value from either document, as found there
    after: object


class Change(NamedTuple):
    """One judged difference: the public contract of ``diff --format json``."""

    path: str
    before: object  # a JSON value from either document, as found there
    after: object
    severity: Severity
    reason: str
    reference: str
    rule: str
    kind: str
    cause: str | None = None  # the path of the change this one follows from

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "before": self.before, "after": self.after,
                "severity": self.severity.value, "reason": self.reason,
                "reference": self.reference, "rule": self.rule, "kind": self.kind,
                "cause": self.cause}


class Side(NamedTuple):
    label: str
    id: str


def severity_counts(severities: list[Severity]) -> dict[str, int]:
    """``{"breaking": n, "risky": n, "benign": n}``, every level present."""
    counts = {level.value: 0 for level in ORDER}
    for severity in severities:
        counts[severity.value] += 1
    return counts


class Report:
    """The result of a diff: changes most severe first, and what could not be compared."""

    def __init__(self, a: Side, b: Side, changes: list[Change],
                 unknown_sections: list[str], kind: str = "diff",
                 own_references: frozenset[str] = frozenset(),
                 evidence: Evidence | None = None,
                 unlocked: list[str] | None = None, strict: bool = False) -> None:
        self.a, self.b = a, b
        self.changes = changes
        self.unknown_sections = unknown_sections
        # "diff"; "lock": a user's lock (a contract, see contract.py): every change is a
        # broken pin, ``unlocked`` what it does not name. (An audit is an AuditReport.)
        self.kind = kind
        # References that are envcheck's own (the rule catalog's):
        # renderers may leave these readable; any other (configuration) is escaped.
        self.own_references = own_references
        self.evidence = evidence  # the canaries compared, when either side measured them
        self.unlocked = unlocked or []
        self.strict = strict
        self.command = "diff"  # what the text heading names (check sets "check")

    def summary(self) -> dict[str, int]:
        return severity_counts([change.severity for change in self.changes])

    def worst(self) -> Severity | None:
        return max((c.severity for c in self.changes), key=lambda s: s.rank, default=None)

    def fails(self, fail_on: FailOn | str) -> bool:
        """Whether anything is at or above ``fail_on`` (breaking, risky, any, never).

        Against a user's lock any broken pin fails whatever its severity, and so does an
        unlocked package under ``strict``."""
        threshold = FailOn.parse(fail_on)
        if self.kind == "lock":
            return threshold is not FailOn.NEVER and (
                bool(self.changes) or (self.strict and bool(self.unlocked)))
        return threshold.fails(self.worst())

    def to_dict(self) -> dict[str, object]:
        return {
            "schema": 1,
            "kind": self.kind,
            "a": {"label": self.a.label, "id": self.a.id},
            "b": {"label": self.b.label, "id": self.b.id},
            "summary": self.summary(),
            "unknown_sections": self.unknown_sections,
            "changes": [c.to_dict() for c in self.changes],
            **({"evidence": self.evidence.to_dict()} if self.evidence else {}),
            **({"unlocked": self.unlocked} if self.kind == "lock" else {}),
        }

    def __repr__(self) -> str:
        counts = ", ".join(f"{n} {level}" for level, n in self.summary().items())
        return f"<Report {self.kind} {self.a.label} -> {self.b.label}: {counts}>"
