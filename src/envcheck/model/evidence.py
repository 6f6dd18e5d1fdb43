"""What the numeric canaries of two fingerprints measured, compared: the report's evidence.

Model-level so that the diff report can carry it and every renderer can show it;
the comparison itself lives in ``envcheck.evidence``.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class CanaryEvidence(NamedTuple):
    name: str
    status: str  # identical, differs, not measured
    detail: str  # how far apart, or why not measured


class Evidence(NamedTuple):
    """The canaries of both sides, compared: what the report's readers see as measured."""

    canaries: list[CanaryEvidence]
    note: str | None = None  # why nothing could be compared

    def count(self, status: str) -> int:
        return sum(1 for c in self.canaries if c.status == status)

    def summary(self) -> str:
        if self.note:
            return f"measured: {self.note}"
        compared = self.count("identical") + self.count("differs")
        text = f"measured: {self.count('identical')} of {compared} canaries bitwise identical"
        if self.count("differs"):
            text += f", {self.count('differs')} differ"
        if self.count("not measured"):
            text += f"; {self.count('not measured')} not measured on both sides"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {"summary": self.summary(), "note": self.note,
                "canaries": [c._asdict() for c in self.canaries]}
