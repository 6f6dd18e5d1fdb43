"""What changed in a history entry since the entry before it, as data: the store keeps it,
a renderer turns it into the line ``envcheck history`` shows.

On the path of every ``envcheck snapshot`` that records: no typing at run time.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds on every snapshot
    from collections.abc import Sequence
    from typing import TypedDict

    from .report import Change

    class Head(TypedDict):
        """The most severe change: enough to name it, not the whole judgement."""

        path: str
        before: object
        after: object
        severity: str  # a Severity's value
        rule: str

LEVELS = ("breaking", "risky", "benign")  # Severity values, most severe first
_LEVEL_SET = frozenset(LEVELS)


class EntryChange:
    """An entry against the previous entry of the same interpreter.

    ``base``: that entry's number (None: the first entry). ``sections``: the sections
    whose content differs. ``counts``: the judged changes per severity, None where
    nothing judged them (no judge given, or it failed). ``head``: the most severe
    change. ``recorded``: for entries recorded by an envcheck whose history kept a
    written line instead (history schema 1), that line; the other fields are what
    could be read back from it.
    """

    __slots__ = ("base", "counts", "head", "recorded", "sections")

    def __init__(self, base: int | None = None, sections: Sequence[str] = (),
                 counts: dict[str, int] | None = None, head: Head | None = None,
                 recorded: str | None = None) -> None:
        self.base = base
        self.sections = tuple(sections)
        self.counts = counts
        self.head = head
        self.recorded = recorded

    @classmethod
    def judged(cls, base: int, sections: Sequence[str], changes: Sequence[Change]
               ) -> EntryChange:
        """From judged changes, most severe first (as ``diff`` sorts them)."""
        counts = dict.fromkeys(LEVELS, 0)
        for change in changes:
            counts[change.severity.value] += 1
        head: Head | None = None
        if changes:
            first = changes[0]
            head = {"path": first.path, "before": first.before, "after": first.after,
                    "severity": first.severity.value, "rule": first.rule}
        return cls(base, sections, counts, head)

    def to_dict(self) -> dict[str, object]:
        document: dict[str, object] = {"base": self.base, "sections": list(self.sections),
                                       "counts": self.counts, "head": self.head}
        if self.recorded is not None:
            document["recorded"] = self.recorded
        return document

    @classmethod
    def from_dict(cls, document: object) -> EntryChange:
        """Read back what ``to_dict`` wrote; ValueError for anything else."""
        if not isinstance(document, dict):
            raise ValueError(f"a change that is {type(document).__name__}, not an object")
        base, sections = document.get("base"), document.get("sections", [])
        counts, head = document.get("counts"), document.get("head")
        recorded = document.get("recorded")
        if not (base is None or (isinstance(base, int) and not isinstance(base, bool))):
            raise ValueError("a change whose base is not an entry number")
        if not (isinstance(sections, list) and all(isinstance(s, str) for s in sections)):
            raise ValueError("a change whose sections are not names")
        if counts is not None and not (
                isinstance(counts, dict) and counts.keys() == _LEVEL_SET
                and all(type(n) is int and n >= 0 for n in counts.values())):
            raise ValueError("a change whose counts are not counts per severity")
        first: Head | None = None
        if head is not None:
            if not (isinstance(head, dict) and {"path", "before", "after", "severity", "rule"}
                    <= set(head) and head["severity"] in LEVELS
                    and isinstance(head["path"], str) and isinstance(head["rule"], str)):
                raise ValueError("a change whose most severe change is not one")
            first = {"path": head["path"], "before": head["before"], "after": head["after"],
                     "severity": head["severity"], "rule": head["rule"]}
        if recorded is not None and not isinstance(recorded, str):
            raise ValueError("a change whose recorded line is not text")
        return cls(base, sections, counts, first, recorded)
