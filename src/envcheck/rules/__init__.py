"""Rules: which differences change training results, and why (data, with references)."""

from __future__ import annotations

from enum import Enum


class Severity(str, Enum):
    """How much a difference matters, most severe first in ``ORDER``."""

    BREAKING = "breaking"  # will likely change training results
    RISKY = "risky"  # may change them
    BENIGN = "benign"  # documented not to

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.BREAKING: 2, Severity.RISKY: 1, Severity.BENIGN: 0}
ORDER = (Severity.BREAKING, Severity.RISKY, Severity.BENIGN)
