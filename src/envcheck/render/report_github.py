"""The diff report as GitHub Actions workflow commands (annotations in the job view)."""

from __future__ import annotations

from ..model.report import Report
from ..model.severity import Severity
from .escape import github_data, github_property, terminal, value_text
from .report_text import summary_line

_COMMANDS = {Severity.BREAKING: "error", Severity.RISKY: "warning"}


def render_github(report: Report) -> str:
    lines = []
    for change in report.changes:
        command = _COMMANDS.get(change.severity)
        if command is None:
            continue  # benign differences would only bury the ones that matter
        # terminal() first: the runner splits on more than \n, so no control may survive.
        title = github_property(terminal(f"envcheck {change.severity.value}: {change.path}"))
        message = github_data(terminal(f"{change.path}: {value_text(change.before)} -> "
                                       f"{value_text(change.after)}. {change.reason} "
                                       f"(see {change.reference}; rule {change.rule})"))
        lines.append(f"::{command} title={title}::{message}")
    if report.evidence is not None:
        lines.append("::notice title=envcheck measured::"
                     + github_data(terminal(report.evidence.summary())))
    lines.append(f"::notice title=envcheck::{github_data(summary_line(report))}")
    return "\n".join(lines) + "\n"
