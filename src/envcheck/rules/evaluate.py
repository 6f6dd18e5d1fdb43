"""Judge one difference: the first matching rule of the catalog, with context and configuration."""

from __future__ import annotations

import re
from fnmatch import translate
from functools import lru_cache
from typing import TYPE_CHECKING

from ..model.report import Change, Difference
from ..model.severity import Severity
from .catalog import CATALOG, Rule
from .context import Sides

if TYPE_CHECKING:
    from ..config import Config


class _Index:
    """The catalog indexed by section and subject, so that a difference is tried against
    the few rules that can match it instead of the whole catalog: a hostile 50,000-change
    diff stays linear and fast. Literal subjects are dictionary keys; only the patterns
    (``nvidia-*``, the ``*`` fallbacks) are matched, each compiled once."""

    def __init__(self, catalog: tuple[Rule, ...]) -> None:
        self.catalog = catalog
        self.literal: dict[tuple[str, str], list[int]] = {}
        self.patterns: dict[str, list[tuple[int, re.Pattern[str]]]] = {}
        self.everything: dict[str, list[int]] = {}  # subject "*": the fallbacks
        for position, rule in enumerate(catalog):
            for subject in rule.subjects:
                if subject == "*":
                    self.everything.setdefault(rule.section, []).append(position)
                elif any(char in subject for char in "*?["):
                    self.patterns.setdefault(rule.section, []).append(
                        (position, re.compile(translate(subject))))
                else:
                    self.literal.setdefault((rule.section, subject), []).append(position)

    def candidates(self, section: str, subject: str) -> tuple[Rule, ...]:
        """The rules whose section and subject match, in catalog order (first wins)."""
        positions = {*self.literal.get((section, subject), ()),
                     *self.literal.get(("*", subject), ())}
        for scope in (section, "*"):
            positions.update(self.everything.get(scope, ()))
            positions.update(position for position, pattern in self.patterns.get(scope, ())
                             if pattern.match(subject))
        return tuple(self.catalog[position] for position in sorted(positions))


_INDEX = _Index(CATALOG)
# Subjects repeat (variables, fields, framework names); package names mostly do not.
_candidates = lru_cache(maxsize=4096)(_INDEX.candidates)


def _matches_kind(rule: Rule, difference: Difference) -> bool:
    return "*" in rule.kinds or difference.kind in rule.kinds


def _apply(rule: Rule, difference: Difference, sides: Sides) -> tuple[Severity, str] | None:
    """The rule's verdict, or None when its condition fails and it has no ``otherwise``."""
    if rule.when is None or rule.when.holds(sides, difference.before, difference.after):
        return rule.severity, rule.reason
    if rule.otherwise is None:
        return None
    return rule.otherwise, rule.otherwise_reason or rule.when.absent


def judge(difference: Difference, sides: Sides, config: Config) -> Change:
    # Patch releases only: a local label (+cu118 -> +cu121) is another build, not a patch.
    if (difference.section == "packages" and difference.kind == "patch"
            and config.tolerates_patch(difference.subject)):
        return Change(difference.path, difference.before, difference.after, Severity.BENIGN,
                      "patch drift tolerated for this package by configuration",
                      config.source or "configuration", "config-tolerate-patch",
                      difference.kind)
    for rule in _candidates(difference.section, difference.subject):
        if not _matches_kind(rule, difference):
            continue
        verdict = _apply(rule, difference, sides)
        if verdict is None:
            continue
        severity, reason = verdict
        override = config.severity.get(rule.id)
        if override is not None and override != severity:
            severity, reason = override, f"{reason} (severity set to {override.value} by "\
                                         "configuration)"
        return Change(difference.path, difference.before, difference.after, severity, reason,
                      rule.reference, rule.id, difference.kind)
    raise AssertionError(f"the catalog's fallback rule did not match {difference}")
