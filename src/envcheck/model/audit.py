"""What an audit finds on one machine: findings of its own type, not a diff's changes.

A finding says what is set now and what to set instead (``suggested``), with the
severity, reason and reference of the catalog check that found it. The JSON of
``envcheck audit --format json`` is a public contract older than this type and
keeps the diff report's shape: ``a`` is the audited target, ``b`` "recommended",
and each finding is a change whose ``before`` is now and ``after`` the suggestion.
"""

from __future__ import annotations

from typing import NamedTuple

from .report import Side, severity_counts
from .severity import FailOn, Severity


class AuditFinding(NamedTuple):
    """One thing on this machine that keeps its runs from repeating."""

    path: str  # where in the fingerprint: env.PYTHONHASHSEED, packages.x.shadowed
    now: object  # what is there now, a JSON value (None: nothing)
    suggested: object  # what to set instead (None: remove it, or nothing to suggest)
    severity: Severity
    reason: str
    reference: str
    check: str  # the id of the catalog check that found it

    def to_dict(self) -> dict[str, object]:
        """As a change of the audit's JSON report (the public contract)."""
        return {"path": self.path, "before": self.now, "after": self.suggested,
                "severity": self.severity.value, "reason": self.reason,
                "reference": self.reference, "rule": self.check, "kind": "audit",
                "cause": None}


class AuditReport:
    """Every finding for one target, most severe first."""

    def __init__(self, target: Side, findings: list[AuditFinding],
                 own_references: frozenset[str] = frozenset()) -> None:
        self.target = target
        self.findings = findings
        # References that are envcheck's own (the checks' and the rule catalog's):
        # renderers may leave these readable; any other is escaped.
        self.own_references = own_references

    def summary(self) -> dict[str, int]:
        return severity_counts([finding.severity for finding in self.findings])

    def worst(self) -> Severity | None:
        return max((f.severity for f in self.findings), key=lambda s: s.rank, default=None)

    def fails(self, fail_on: FailOn | str) -> bool:
        """Whether anything is at or above ``fail_on`` (breaking, risky, any, never)."""
        return FailOn.parse(fail_on).fails(self.worst())

    def to_dict(self) -> dict[str, object]:
        return {
            "schema": 1,
            "kind": "audit",
            "a": {"label": self.target.label, "id": self.target.id},
            "b": {"label": "recommended", "id": self.target.id},
            "summary": self.summary(),
            "unknown_sections": [],
            "changes": [f.to_dict() for f in self.findings],
        }

    def __repr__(self) -> str:
        counts = ", ".join(f"{n} {level}" for level, n in self.summary().items())
        return f"<AuditReport {self.target.label}: {counts}>"
