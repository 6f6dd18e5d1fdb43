"""What a person reads first: a report's changes as items, most important first.

Shared by the text and Markdown reports (JSON keeps one entry per change).
Within a severity, frameworks and their builds come first, then CUDA, GPUs,
settings, CPU, Python and OS, and other packages last. Packages present on one
side only become one item per side; all instruction-set flags of a CPU become
one item; changes that follow from another are listed under it.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase
from typing import NamedTuple

from ..model.audit import AuditFinding
from ..model.report import Change, Report
from ..model.severity import ORDER, Severity
from ..probe.frameworks import FRAMEWORK_PACKAGES
from .escape import value_text

NAMES_SHOWN = 8  # names of a collapsed group shown without --all
_GENERIC_PACKAGE_RULES = ("package-major-minor", "package-patch", "package-build")


class Item(NamedTuple):
    """One entry of the report: a change, or several of one kind shown as one."""

    severity: Severity
    title: str  # the path, or what the group holds ("3 packages only in b.json")
    before: str | None  # None for groups: ``after`` then lists the members
    after: str
    reason: str
    rule: str
    reference: str
    effects: tuple[Change, ...] = ()  # changes that follow from this one (the first shown)
    effects_left: int = 0  # how many more follow from it, not shown (without --all)


def more_effects(item: Item) -> str:
    """`` (+N more; --all lists them)`` after the effects shown, where some are not."""
    return f" (+{item.effects_left} more; --all lists them)" if item.effects_left else ""


def _capped(effects: tuple[Change, ...], show_all: bool) -> tuple[tuple[Change, ...], int]:
    if show_all or len(effects) <= NAMES_SHOWN:
        return effects, 0
    return effects[:NAMES_SHOWN], len(effects) - NAMES_SHOWN


def impact(path: str) -> int:
    """Lower is read first: where differences most often change training results."""
    section, _, rest = path.partition(".")
    name = rest.split(".")[0]
    if section == "frameworks" or (section == "packages" and any(
            fnmatchcase(name, pattern) for pattern in FRAMEWORK_PACKAGES)):
        return 0
    if section == "cuda" or (section == "packages" and name.startswith("nvidia-")):
        return 1
    return {"gpus": 2, "env": 3, "cpu": 4, "python": 5, "os": 5, "packages": 6}.get(section, 7)


def _key(change: Change) -> tuple[int, bool, str]:
    # Specific judgements before the generic "no rule for this package" ones.
    return impact(change.path), change.rule.startswith("package-"), change.path


def names_line(names: list[str], show_all: bool) -> str:
    if show_all or len(names) <= NAMES_SHOWN:
        return ", ".join(names)
    return ", ".join(names[:NAMES_SHOWN]) + f" (+{len(names) - NAMES_SHOWN} more; --all lists them)"


def _single(change: Change, effects: tuple[Change, ...], show_all: bool) -> Item:
    return Item(change.severity, change.path, value_text(change.before),
                value_text(change.after), change.reason, change.rule, change.reference,
                *_capped(effects, show_all))


def _group(changes: list[Change], title: str, members: list[str], show_all: bool,
           effects: dict[str, list[Change]]) -> Item:
    first = changes[0]
    followers = tuple(e for c in changes for e in effects.get(c.path, ()))
    return Item(first.severity, title, None, names_line(members, show_all), first.reason,
                first.rule, first.reference, *_capped(followers, show_all))


def _package(change: Change) -> str:
    return change.path.split(".")[1]


def _items_of(changes: list[Change], report: Report, show_all: bool) -> Iterable[Item]:
    """Items of one severity (``changes`` sorted by ``_key``); a group stands where its
    first member would."""
    causes = {c.path for c in changes}
    effects: dict[str, list[Change]] = {}
    groups: dict[tuple[str, str], list[Change]] = {}
    for change in changes:
        if change.cause is not None and change.cause in causes:
            effects.setdefault(change.cause, []).append(change)
        elif (group := _group_of(change)) is not None:
            groups.setdefault(group, []).append(change)
    for change in changes:
        if change.cause is not None and change.cause in causes:
            continue  # shown under its cause
        group = _group_of(change)
        if group is None:
            yield _single(change, tuple(effects.get(change.path, ())), show_all)
        elif groups[group][0] is change:
            yield _fill(group, groups[group], report, show_all, effects)


def _group_of(change: Change) -> tuple[str, str] | None:
    if change.path.startswith("cpu.flags."):
        return ("flags", change.rule)
    if change.path.startswith("packages.") and change.path.count(".") == 1 \
            and change.rule == "package-added-removed":
        return ("presence", "added" if change.before is None else "removed")
    if change.rule in _GENERIC_PACKAGE_RULES:
        return ("generic", change.rule)
    return None


def _fill(key: tuple[str, str], members: list[Change], report: Report, show_all: bool,
          effects: dict[str, list[Change]]) -> Item:
    """The item of a group; the changes that follow from its members are shown under it."""
    kind, detail = key
    if kind == "flags":
        added = [c.path.split(".", 2)[2] for c in members if c.after == "present"]
        removed = [c.path.split(".", 2)[2] for c in members if c.after != "present"]
        parts = ([f"only in {report.a.label}: {', '.join(removed)}"] if removed else []) + \
            ([f"only in {report.b.label}: {', '.join(added)}"] if added else [])
        return Item(members[0].severity, "cpu.flags", None, "; ".join(parts),
                    members[0].reason, members[0].rule, members[0].reference)
    if kind == "presence":
        side = report.b.label if detail == "added" else report.a.label
        versions = [f"{_package(c)} {value_text(c.after if detail == 'added' else c.before)}"
                    for c in members]
        noun = "package" if len(members) == 1 else "packages"
        if report.kind == "lock" and detail == "removed":
            return _group(members, f"{len(members)} pinned {noun} not installed", versions,
                          show_all, effects)
        return _group(members, f"{len(members)} {noun} only in {side}", versions, show_all,
                      effects)
    if len(members) == 1:
        return _single(members[0], tuple(effects.get(members[0].path, ())), show_all)
    pairs = [f"{_package(c)} {value_text(c.before)} -> {value_text(c.after)}" for c in members]
    return _group(members, f"{len(members)} other packages", pairs, show_all, effects)


def layout(report: Report, show_all: bool = False) -> dict[Severity, list[Item]]:
    """Each severity's items in reading order."""
    result: dict[Severity, list[Item]] = {}
    for level in ORDER:
        changes = sorted((c for c in report.changes if c.severity is level), key=_key)
        if changes:
            result[level] = list(_items_of(changes, report, show_all))
    return result


def audit_layout(findings: list[AuditFinding]) -> dict[Severity, list[Item]]:
    """An audit's findings as items, each severity's in reading order (value_text: now
    and suggested; ``before`` None is left for groups, which an audit has none of)."""
    result: dict[Severity, list[Item]] = {}
    for level in ORDER:
        chosen = sorted((f for f in findings if f.severity is level),
                        key=lambda f: (impact(f.path), f.path))
        if chosen:
            result[level] = [Item(f.severity, f.path, value_text(f.now), value_text(f.suggested),
                                  f.reason, f.check, f.reference) for f in chosen]
    return result
