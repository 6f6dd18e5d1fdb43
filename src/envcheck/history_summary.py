"""The line ``envcheck history`` shows for an entry: what changed since the one before, judged.

Above the store: it diffs and renders, which the store itself never does; the
commands that record a snapshot hand :func:`summarize` to the store.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # loaded by every ``snapshot`` that records: typing costs milliseconds
    from collections.abc import Sequence
    from typing import Any

    from .model import Fingerprint
    from .model.report import Change

_SUMMARY_LIMIT = 40  # characters per value in a summary line


def _value(value: Any) -> str:
    from .render.escape import value_text

    text = value_text(value)
    return text if len(text) <= _SUMMARY_LIMIT else text[: _SUMMARY_LIMIT - 3] + "..."


def _change_text(change: Change) -> str:
    path = change.path
    if path.startswith("packages."):
        name, _, field = path[len("packages."):].partition(".")
        subject = name if field in ("", "version") else f"{name} {field}"
    elif path.startswith("env."):
        subject = path[len("env."):]
    else:
        subject = path
    return f"{subject} {_value(change.before)} -> {_value(change.after)}"


def describe(changes: Sequence[Change]) -> str:
    """One line for a list of judged changes (most severe first, as ``diff`` sorts them).

    ``"no change"``, or the first change and a count of the others, e.g.
    ``"torch 2.1.0 -> 2.2.0 [breaking], 3 more (1 breaking, 2 risky)"``.
    """
    from .model.severity import ORDER
    from .render.escape import terminal

    if not changes:
        return "no change"
    head, others = changes[0], changes[1:]
    text = f"{_change_text(head)} [{head.severity.value}]"
    if others:
        counts = [(sum(c.severity is level for c in others), level.value) for level in ORDER]
        detail = ", ".join(f"{count} {level}" for count, level in counts if count)
        text += f", {len(others)} more ({detail})"
    return terminal(text)


def summarize(before: Fingerprint | None, after: Fingerprint) -> str:
    """What changed from ``before`` to ``after``, in one line (``"first entry"`` if no before)."""
    if before is None:
        return "first entry"
    from .drift import diff

    return describe(diff(before, after).changes)
