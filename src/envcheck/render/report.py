"""One entry point for every report format."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import NamedTuple

from ..model.audit import AuditReport
from ..model.report import Report
from . import ReportFormat
from .report_github import render_audit_github, render_github
from .report_markdown import render_audit_markdown, render_markdown
from .report_text import render_audit_text, render_text


class RenderOptions(NamedTuple):
    color: bool = False
    show_benign: bool = False
    show_all: bool = False  # every name of a collapsed group (and benign changes in text)


def render_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"


RENDERERS: dict[ReportFormat, Callable[[Report, RenderOptions], str]] = {
    ReportFormat.TEXT: lambda r, o: render_text(r, color=o.color, show_benign=o.show_benign,
                                                show_all=o.show_all),
    ReportFormat.JSON: lambda r, o: render_json(r),
    ReportFormat.MARKDOWN: lambda r, o: render_markdown(r, show_all=o.show_all),
    ReportFormat.GITHUB: lambda r, o: render_github(r),
}


def render_report(report: Report, fmt: ReportFormat, options: RenderOptions) -> str:
    return RENDERERS[fmt](report, options)


def render_audit_json(report: AuditReport) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"


AUDIT_RENDERERS: dict[ReportFormat, Callable[[AuditReport, RenderOptions], str]] = {
    ReportFormat.TEXT: lambda r, o: render_audit_text(r, color=o.color,
                                                      show_benign=o.show_benign,
                                                      show_all=o.show_all),
    ReportFormat.JSON: lambda r, o: render_audit_json(r),
    ReportFormat.MARKDOWN: lambda r, o: render_audit_markdown(r),
    ReportFormat.GITHUB: lambda r, o: render_audit_github(r),
}


def render_audit(report: AuditReport, fmt: ReportFormat, options: RenderOptions) -> str:
    return AUDIT_RENDERERS[fmt](report, options)
