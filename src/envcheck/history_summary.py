"""What changed since a history entry's predecessor, judged: the changes ``diff`` finds,
which the store keeps as data (severity counts, the most severe change).

Above the store, which never diffs; the commands that record a snapshot hand
:func:`judge` to it. drift is imported only when a snapshot differs from the last.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # loaded by every ``snapshot`` that records: typing costs milliseconds
    from .model import Fingerprint
    from .model.report import Change


def judge(before: Fingerprint, after: Fingerprint) -> list[Change]:
    """The judged changes from ``before`` to ``after``, most severe first."""
    from .drift import diff

    return diff(before, after).changes
