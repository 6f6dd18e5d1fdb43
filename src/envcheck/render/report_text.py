"""The diff report for a terminal: the differences that matter first, harmless ones folded."""

from __future__ import annotations

from collections.abc import Callable

from ..model.audit import AuditReport
from ..model.report import Report
from ..model.severity import ORDER, Severity
from .escape import terminal
from .layout import Item, audit_layout, layout, more_effects, names_line

_COLOURS = {Severity.BREAKING: "\x1b[1;31m", Severity.RISKY: "\x1b[1;33m",
            Severity.BENIGN: "\x1b[2m"}
_RESET = "\x1b[0m"


def _paint(text: str, severity: Severity, color: bool) -> str:
    return f"{_COLOURS[severity]}{text}{_RESET}" if color else text


def _item_lines(item: Item, values: str) -> list[str]:
    lines = [
        f"  {terminal(item.title)}: {values}",
        # Audit reasons quote fingerprint strings: escaped like every other value.
        f"      {terminal(item.reason)} [{terminal(item.rule)}]",
        f"      see {terminal(item.reference)}",
    ]
    if item.effects:
        lines.append("      with it: " + ", ".join(terminal(e.path) for e in item.effects)
                     + more_effects(item))
    return lines


def _change_values(item: Item) -> str:
    """A difference: before -> after (a group: its members)."""
    after = terminal(item.after)
    return after if item.before is None else f"{terminal(item.before)} -> {after}"


def _finding_values(item: Item) -> str:
    """An audit finding: what is set now, and what to set instead if there is a suggestion."""
    after = terminal(item.after)
    return f"now {terminal(item.before or '')}" + (
        f"; suggested {after}" if after != "(none)" else "")


def _severity_lines(items: dict[Severity, list[Item]], counts: dict[str, int],
                    values: Callable[[Item], str], color: bool, list_benign: bool) -> list[str]:
    """Each severity's heading and items; benign ones folded into a line unless listed."""
    lines: list[str] = []
    for level in ORDER:
        if level not in items:
            continue
        if level is Severity.BENIGN and not list_benign:
            lines.append(_paint(f"BENIGN ({counts[level.value]}): documented not to change "
                                "results; --show-benign lists them", level, color))
            continue
        lines.append(_paint(f"{level.value.upper()} ({counts[level.value]})", level, color))
        for item in items[level]:
            lines.extend(_item_lines(item, values(item)))
        lines.append("")
    return lines


def evidence_lines(report: Report) -> list[str]:
    """What the canaries measured, beside the rules' judgement (never instead of it)."""
    if report.evidence is None:
        return []
    evidence = report.evidence
    lines = [terminal(evidence.summary()[0].upper() + evidence.summary()[1:])]
    if evidence.count("differs"):
        lines[0] += " (each is a BREAKING change above)"
    unmeasured = [c for c in evidence.canaries if c.status == "not measured"]
    lines += [f"  not measured: {terminal(c.name)} ({terminal(c.detail)})" for c in unmeasured]
    return [*lines, ""]


def summary_line(report: Report | AuditReport) -> str:
    counts = report.summary()
    return ", ".join(f"{counts[level.value]} {level.value}" for level in ORDER)


def render_text(report: Report, color: bool = False, show_benign: bool = False,
                show_all: bool = False) -> str:
    a = f"{terminal(report.a.label)} ({report.a.id[:12]})"
    b = f"{terminal(report.b.label)} ({report.b.id[:12]})"
    lines = [f"envcheck {report.command}: {a} -> {b}", ""]
    if report.kind == "lock":
        lines = [f"envcheck check: {b} against {a}", ""]
        count = len(report.changes)
        lines.append(f"{count} pinned {'package differs' if count == 1 else 'packages differ'} "
                     "from the lock: each fails the check; the severity says how much it "
                     "matters for numerics." if count else
                     "Every package the lock pins is installed as pinned.")
        lines.append("")
    elif not report.changes:
        lines.append("No differences." if report.a.id == report.b.id else
                     "No differences in what can change results.")
    # Against a user's lock a benign change still breaks a pin: always listed.
    lines.extend(_severity_lines(layout(report, show_all), report.summary(), _change_values,
                                 color, show_benign or show_all or report.kind == "lock"))
    lines.extend(evidence_lines(report))
    if report.unlocked:
        names = terminal(names_line(report.unlocked, show_all))
        lines.append(f"Not in the lock ({len(report.unlocked)}"
                     + ("; --strict fails on them" if not report.strict else "") + f"): {names}")
    if report.unknown_sections:
        lines.append("Not compared (one side does not describe them): "
                     + ", ".join(report.unknown_sections))
    if lines[-1] != "":
        lines.append("")
    lines.append(summary_line(report))
    return "\n".join(lines) + "\n"


def render_audit_text(report: AuditReport, color: bool = False, show_benign: bool = False,
                      show_all: bool = False) -> str:
    """An audit for a terminal: what is set now and what to set instead, worst first."""
    target = f"{terminal(report.target.label)} ({report.target.id[:12]})"
    lines = [f"envcheck audit: {target}", ""]
    if not report.findings:
        lines.append("No findings.")
    lines.extend(_severity_lines(audit_layout(report.findings), report.summary(),
                                 _finding_values, color, show_benign or show_all))
    if lines[-1] != "":
        lines.append("")
    lines.append(summary_line(report))
    return "\n".join(lines) + "\n"
