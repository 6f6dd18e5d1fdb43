"""How much a difference matters, and the threshold at which a command fails."""

from __future__ import annotations

from enum import Enum

from ..errors import UsageError


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


class FailOn(str, Enum):
    """``--fail-on`` / ``fail_on=``: the least severe difference that fails a command."""

    BREAKING = "breaking"
    RISKY = "risky"
    ANY = "any"  # any difference, benign ones too
    NEVER = "never"

    @classmethod
    def parse(cls, value: FailOn | str) -> FailOn:
        """``value`` as a FailOn, or a UsageError listing the choices (API callers pass strings)."""
        try:
            return cls(value)
        except ValueError:
            raise UsageError(f"fail_on must be one of {', '.join(FAIL_ON)}, not {value!r}") \
                from None

    def fails(self, worst: Severity | None) -> bool:
        """Whether a report whose most severe difference is ``worst`` fails at this threshold."""
        if worst is None or self is FailOn.NEVER:
            return False
        return self is FailOn.ANY or worst.rank >= Severity(self.value).rank


FAIL_ON = tuple(member.value for member in FailOn)  # the choices, for click and messages
