"""The line ``envcheck history`` shows for an entry: what changed since the one before."""

from __future__ import annotations

from ..model.history import LEVELS, EntryChange
from .escape import terminal, value_text

_VALUE_LIMIT = 40  # characters per value


def _value(value: object) -> str:
    text = value_text(value)
    return text if len(text) <= _VALUE_LIMIT else text[: _VALUE_LIMIT - 3] + "..."


def _subject(path: str) -> str:
    if path.startswith("packages."):
        name, _, field = path[len("packages."):].partition(".")
        return name if field in ("", "version") else f"{name} {field}"
    if path.startswith("env."):
        return path[len("env."):]
    return path


def entry_line(change: EntryChange) -> str:
    """One line, e.g. ``"torch 2.1.0 -> 2.2.0 [breaking], 3 more (1 breaking, 2 risky)"``:
    the most severe change and a count of the others; ``"first entry"``, ``"no change"``,
    or, where nothing judged the change, the sections that differ."""
    if change.recorded is not None:  # written by an older envcheck, shown as it was
        return terminal(change.recorded)
    if change.base is None:
        return "first entry"
    if change.counts is None:
        return f"changed: {', '.join(change.sections)}" if change.sections else "no change"
    head = change.head
    if head is None:
        return "no change"
    text = (f"{_subject(head['path'])} {_value(head['before'])} -> {_value(head['after'])} "
            f"[{head['severity']}]")
    others = dict(change.counts)
    others[head["severity"]] -= 1
    if sum(others.values()):
        detail = ", ".join(f"{others[level]} {level}" for level in LEVELS if others[level])
        text += f", {sum(others.values())} more ({detail})"
    return terminal(text)
