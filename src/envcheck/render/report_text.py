"""The diff report for a terminal: the differences that matter first, harmless ones folded."""

from __future__ import annotations

from ..model.report import Change, Report
from ..model.severity import ORDER, Severity
from .escape import terminal, value_text

_COLOURS = {Severity.BREAKING: "\x1b[1;31m", Severity.RISKY: "\x1b[1;33m",
            Severity.BENIGN: "\x1b[2m"}
_RESET = "\x1b[0m"


def _paint(text: str, severity: Severity, color: bool) -> str:
    return f"{_COLOURS[severity]}{text}{_RESET}" if color else text


def _change_lines(change: Change, audit: bool) -> list[str]:
    before, after = terminal(value_text(change.before)), terminal(value_text(change.after))
    values = f"now {before}" + (f"; suggested {after}" if change.after is not None else "") \
        if audit else f"{before} -> {after}"
    return [
        f"  {terminal(change.path)}: {values}",
        # Audit reasons quote fingerprint strings: escaped like every other value.
        f"      {terminal(change.reason)} [{terminal(change.rule)}]",
        f"      see {terminal(change.reference)}",
    ]


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


def render_text(report: Report, color: bool = False, show_benign: bool = False) -> str:
    a = f"{terminal(report.a.label)} ({report.a.id[:12]})"
    b = f"{terminal(report.b.label)} ({report.b.id[:12]})"
    audit = report.kind == "audit"
    lines = [f"envcheck audit: {a}" if audit else f"envcheck diff: {a} -> {b}", ""]
    if not report.changes and audit:
        lines.append("No findings.")
    elif not report.changes:
        lines.append("No differences." if report.a.id == report.b.id else
                     "No differences in what can change results.")
    for level in ORDER:
        changes = [c for c in report.changes if c.severity is level]
        if not changes:
            continue
        if level is Severity.BENIGN and not show_benign:
            lines.append(_paint(f"BENIGN ({len(changes)}): documented not to change results; "
                                "--show-benign lists them", level, color))
            continue
        lines.append(_paint(f"{level.value.upper()} ({len(changes)})", level, color))
        for change in changes:
            lines.extend(_change_lines(change, audit))
        lines.append("")
    lines.extend(evidence_lines(report))
    if report.unknown_sections:
        lines.append("Not compared (one side does not describe them): "
                     + ", ".join(report.unknown_sections))
    if lines[-1] != "":
        lines.append("")
    lines.append(summary_line(report))
    return "\n".join(lines) + "\n"
