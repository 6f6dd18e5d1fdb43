"""Fleet reports (``envcheck compare``): groups, the baseline, and every outlier's differences."""

from __future__ import annotations

import json

from ..model.fleet import FleetReport
from ..model.severity import ORDER, Severity
from . import ReportFormat
from .escape import markdown_code, markdown_text, terminal, value_text
from .report_markdown import LIMIT, marker

_SHOWN_MEMBERS = 8


def _members(names: list[str]) -> str:
    shown = ", ".join(names[:_SHOWN_MEMBERS])
    return shown + (f" and {len(names) - _SHOWN_MEMBERS} more" if len(names) > _SHOWN_MEMBERS
                    else "")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def render_fleet_text(report: FleetReport, show_benign: bool = False) -> str:
    lines = [f"envcheck compare: {_count(report.members, 'fingerprint')} in "
             f"{_count(len(report.groups), 'group')}; baseline "
             f"{terminal(report.baseline)} ({report.baseline_id[:12]})", ""]
    for group in report.groups:
        marker = "baseline" if group.id == report.baseline_id else "differs"
        lines.append(f"  {group.id[:12]}  {len(group.members):>5} x {marker:<8} "
                     f"{terminal(_members(group.members))}")
    for outlier in report.outliers:
        counts = outlier.report.summary()
        lines += ["", f"{terminal(_members(outlier.group.members))} vs baseline: "
                      + ", ".join(f"{counts[s.value]} {s.value}" for s in ORDER)]
        for change in outlier.report.changes:
            if change.severity is Severity.BENIGN and not show_benign:
                continue
            lines.append(f"  [{change.severity.value}] {terminal(change.path)}: "
                         f"{terminal(value_text(change.before))} -> "
                         f"{terminal(value_text(change.after))}  ({terminal(change.reason)}; "
                         f"see {terminal(change.reference)})")
    if not report.outliers:
        lines += ["", "All fingerprints match the baseline."]
    summary = report.summary()
    lines += ["", "outlier machines: " + ", ".join(f"{summary[s.value]} {s.value}"
                                                   for s in ORDER)]
    return "\n".join(lines) + "\n"


def render_fleet_markdown(report: FleetReport) -> str:
    out = [marker("compare"), "### envcheck compare", "",
           f"{_count(report.members, 'fingerprint')}, {_count(len(report.groups), 'group')}; "
           "baseline "
           f"{markdown_code(report.baseline)}.", "",
           "| group | machines | members |", "|---|---:|---|"]
    for group in report.groups:
        label = "baseline" if group.id == report.baseline_id else "outlier"
        out.append(f"| {markdown_code(group.id[:12])} ({label}) | {len(group.members)} | "
                   f"{markdown_code(_members(group.members), limit=400)} |")
    for outlier in report.outliers:
        out += ["", f"#### {markdown_code(_members(outlier.group.members), limit=400)}", "",
                "| severity | what | before | after | why |", "|---|---|---|---|---|"]
        for change in outlier.report.changes:
            out.append(f"| {change.severity.value} | {markdown_code(change.path)} | "
                       f"{markdown_code(value_text(change.before))} | "
                       f"{markdown_code(value_text(change.after))} | "
                       f"{markdown_text(change.reason)} ({markdown_text(change.reference)}) |")
    text = "\n".join(out) + "\n"
    if len(text) > LIMIT:
        text = text[:LIMIT - 500].rsplit("\n", 1)[0] + "\n\n_Cut at GitHub's comment limit; " \
                                                      "the JSON report has every difference._\n"
    return text


def render_fleet(report: FleetReport, fmt: ReportFormat, show_benign: bool = False) -> str:
    if fmt is ReportFormat.JSON:
        return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
    if fmt is ReportFormat.MARKDOWN:
        return render_fleet_markdown(report)
    if fmt is ReportFormat.TEXT:
        return render_fleet_text(report, show_benign)
    from ..errors import UsageError

    raise UsageError(f"compare does not write --format {fmt.value}")
