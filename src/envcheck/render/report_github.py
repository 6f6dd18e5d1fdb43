"""The diff report as GitHub Actions workflow commands (annotations in the job view)."""

from __future__ import annotations

from ..model.audit import AuditReport
from ..model.report import Report
from ..model.severity import Severity
from .escape import github_data, github_property, terminal, value_text
from .report_text import summary_line

_COMMANDS = {Severity.BREAKING: "error", Severity.RISKY: "warning"}


def _annotation(severity: Severity, path: str, before: object, after: object, reason: str,
                reference: str, rule: str) -> str | None:
    command = _COMMANDS.get(severity)
    if command is None:
        return None  # benign differences would only bury the ones that matter
    # terminal() first: the runner splits on more than \n, so no control may survive.
    title = github_property(terminal(f"envcheck {severity.value}: {path}"))
    message = github_data(terminal(f"{path}: {value_text(before)} -> {value_text(after)}. "
                                   f"{reason} (see {reference}; rule {rule})"))
    return f"::{command} title={title}::{message}"


def render_audit_github(report: AuditReport) -> str:
    """An audit's findings as annotations: now -> suggested, with the check's id."""
    lines = [line for f in report.findings if (line := _annotation(
        f.severity, f.path, f.now, f.suggested, f.reason, f.reference, f.check)) is not None]
    lines.append(f"::notice title=envcheck::{github_data(summary_line(report))}")
    return "\n".join(lines) + "\n"


def render_github(report: Report) -> str:
    lines = [line for c in report.changes if (line := _annotation(
        c.severity, c.path, c.before, c.after, c.reason, c.reference, c.rule)) is not None]
    if report.evidence is not None:
        lines.append("::notice title=envcheck measured::"
                     + github_data(terminal(report.evidence.summary())))
    lines.append(f"::notice title=envcheck::{github_data(summary_line(report))}")
    return "\n".join(lines) + "\n"
