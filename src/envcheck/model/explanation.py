"""What ``envcheck explain`` found: per differing canary, the setting that reproduces
BASE's bits, or none, and what was tried. Model-level so renderers import only models."""

from __future__ import annotations

from typing import NamedTuple


class Candidate(NamedTuple):
    setting: str
    value: str | None  # None: unset it
    # True: not BASE's recorded value but what BASE's CPU or cores imply (BASE need not
    # have set it: an AVX2 machine runs oneDNN's AVX2 code without ONEDNN_MAX_CPU_ISA).
    implied: bool = False

    def __str__(self) -> str:
        return f"{self.setting}={self.value}" if self.value is not None else \
            f"{self.setting} unset"


class CanaryExplanation(NamedTuple):
    name: str
    detail: str  # how far apart here and BASE are
    cause: Candidate | None


class Explanation:
    """The answer: per differing canary the setting that reproduces BASE, or none."""

    def __init__(self, base_label: str, base_id: str, here_id: str,
                 canaries: list[CanaryExplanation], tried: list[Candidate],
                 identical: int, not_measured: list[str]) -> None:
        self.base_label, self.base_id, self.here_id = base_label, base_id, here_id
        self.canaries = canaries
        self.tried = tried
        self.identical = identical
        self.not_measured = not_measured

    def fails(self, fail_on: str) -> bool:
        # A canary that computes other bits is a breaking difference, as in ``diff``.
        return fail_on != "never" and bool(self.canaries)

    def to_dict(self) -> dict[str, object]:
        return {
            "schema": 1, "kind": "explain",
            "base": {"label": self.base_label, "numerics_id": self.base_id},
            "here": {"numerics_id": self.here_id},
            "summary": {"differ": len(self.canaries), "identical": self.identical,
                        "explained": sum(1 for c in self.canaries if c.cause),
                        "not_measured": len(self.not_measured)},
            "canaries": [{"name": c.name, "detail": c.detail,
                          "cause": {"setting": c.cause.setting, "value": c.cause.value,
                                    "implied": c.cause.implied}
                          if c.cause else None} for c in self.canaries],
            "tried": [{"setting": t.setting, "value": t.value, "implied": t.implied}
                      for t in self.tried],
            "not_measured": self.not_measured,
        }
