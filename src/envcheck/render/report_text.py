"""The diff report for a terminal: the differences that matter first, harmless ones folded."""

from __future__ import annotations

from ..model.report import Report
from ..model.severity import ORDER, Severity
from .escape import terminal
from .layout import Item, layout, names_line

_COLOURS = {Severity.BREAKING: "\x1b[1;31m", Severity.RISKY: "\x1b[1;33m",
            Severity.BENIGN: "\x1b[2m"}
_RESET = "\x1b[0m"


def _paint(text: str, severity: Severity, color: bool) -> str:
    return f"{_COLOURS[severity]}{text}{_RESET}" if color else text


def _item_lines(item: Item, audit: bool) -> list[str]:
    before, after = terminal(item.before or ""), terminal(item.after)
    if item.before is None:
        values = after
    elif audit:
        values = f"now {before}" + (f"; suggested {after}" if after != "(none)" else "")
    else:
        values = f"{before} -> {after}"
    lines = [
        f"  {terminal(item.title)}: {values}",
        # Audit reasons quote fingerprint strings: escaped like every other value.
        f"      {terminal(item.reason)} [{terminal(item.rule)}]",
        f"      see {terminal(item.reference)}",
    ]
    if item.effects:
        lines.append("      with it: " + ", ".join(terminal(e.path) for e in item.effects))
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


def summary_line(report: Report) -> str:
    counts = report.summary()
    return ", ".join(f"{counts[level.value]} {level.value}" for level in ORDER)


def render_text(report: Report, color: bool = False, show_benign: bool = False,
                show_all: bool = False) -> str:
    a = f"{terminal(report.a.label)} ({report.a.id[:12]})"
    b = f"{terminal(report.b.label)} ({report.b.id[:12]})"
    audit = report.kind == "audit"
    lines = [f"envcheck audit: {a}" if audit else f"envcheck {report.command}: {a} -> {b}", ""]
    if report.kind == "lock":
        lines = [f"envcheck check: {b} against {a}", ""]
        count = len(report.changes)
        lines.append(f"{count} pinned {'package differs' if count == 1 else 'packages differ'} "
                     "from the lock: each fails the check; the severity says how much it "
                     "matters for numerics." if count else
                     "Every package the lock pins is installed as pinned.")
        lines.append("")
    elif not report.changes and audit:
        lines.append("No findings.")
    elif not report.changes:
        lines.append("No differences." if report.a.id == report.b.id else
                     "No differences in what can change results.")
    counts = report.summary()
    items = layout(report, show_all)
    for level in ORDER:
        if level not in items:
            continue
        # Against a user's lock a benign change still breaks a pin: always listed.
        if level is Severity.BENIGN and not (show_benign or show_all or report.kind == "lock"):
            lines.append(_paint(f"BENIGN ({counts[level.value]}): documented not to change "
                                "results; --show-benign lists them", level, color))
            continue
        lines.append(_paint(f"{level.value.upper()} ({counts[level.value]})", level, color))
        for item in items[level]:
            lines.extend(_item_lines(item, audit))
        lines.append("")
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
