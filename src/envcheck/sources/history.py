"""``@last``, ``@prev``, ``@N``, ``@YYYY-MM-DD``: this environment's local history."""

from __future__ import annotations

from ..model import Fingerprint
from .live import current_interpreter

TYPE_CHECKING = False
if TYPE_CHECKING:  # history_key is on the snapshot path
    from .base import Request

CONTAINER_PREFIXES = ("docker:", "docker-container:")


def history_key(fingerprint: Fingerprint, spec: str | None = None) -> str:
    """Which environment a history entry belongs to: the interpreter, or the image."""
    if spec and spec.startswith(CONTAINER_PREFIXES):
        return spec
    return str(fingerprint.python.get("executable") or "unknown interpreter")


def from_history(spec: str, python: str | None = None) -> Fingerprint:
    """``@last``, ``@prev``, ``@N`` or ``@YYYY-MM-DD`` of this interpreter's snapshots."""
    from ..store import History

    with History() as history:
        return history.resolve(spec, current_interpreter(python))


class HistorySource:
    kind = "local history entry"
    expected_only = False

    def claims(self, spec: str) -> bool:
        return spec.startswith("@")

    def load(self, spec: str, request: Request) -> Fingerprint:
        return from_history(spec, request.python)
