"""Judge one difference: the first matching rule of the catalog, with context and configuration."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

from ..model.report import Change, Difference
from ..model.severity import Severity
from .catalog import CATALOG, Rule
from .context import Sides

if TYPE_CHECKING:
    from ..config import Config


def _matches(rule: Rule, difference: Difference) -> bool:
    if rule.section not in ("*", difference.section):
        return False
    if "*" not in rule.kinds and difference.kind not in rule.kinds:
        return False
    return any(fnmatchcase(difference.subject, pattern) for pattern in rule.subjects)


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
    for rule in CATALOG:
        if not _matches(rule, difference):
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
