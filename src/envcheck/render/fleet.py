"""Fleet reports (``envcheck compare``): groups, the baseline, and every outlier's differences.

Each outlier's differences are laid out as ``diff`` lays them out (``layout``): the most
important first, packages on one side only as one line per side, a CPU's instruction-set
flags as one line, and effects (wheel tags of another Python minor, ``nvidia-*`` pins of
another torch) under their cause.
"""

from __future__ import annotations

import json

from ..model.fleet import FleetReport
from ..model.severity import ORDER, Severity
from . import ReportFormat
from .escape import markdown_code, markdown_text, terminal
from .layout import Item, layout, more_effects
from .report_markdown import LIMIT, marker

_SHOWN_MEMBERS = 8


def _members(names: list[str]) -> str:
    shown = ", ".join(names[:_SHOWN_MEMBERS])
    return shown + (f" and {len(names) - _SHOWN_MEMBERS} more" if len(names) > _SHOWN_MEMBERS
                    else "")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _values(item: Item) -> str:
    return item.after if item.before is None else f"{item.before} -> {item.after}"


def render_fleet_text(report: FleetReport, show_benign: bool = False,
                      show_all: bool = False) -> str:
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
        items = layout(outlier.report, show_all)
        for level in ORDER:
            if level is Severity.BENIGN and not (show_benign or show_all):
                continue
            for item in items.get(level, []):
                lines.append(f"  [{level.value}] {terminal(item.title)}: "
                             f"{terminal(_values(item))}  ({terminal(item.reason)}; "
                             f"see {terminal(item.reference)})")
                if item.effects:
                    lines.append("      with it: "
                                 + ", ".join(terminal(e.path) for e in item.effects)
                                 + more_effects(item))
    if not report.outliers:
        lines += ["", "All fingerprints match the baseline."]
    summary = report.summary()
    lines += ["", "outlier machines: " + ", ".join(f"{summary[s.value]} {s.value}"
                                                   for s in ORDER)]
    return "\n".join(lines) + "\n"


def render_fleet_markdown(report: FleetReport, show_all: bool = False) -> str:
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
        items = layout(outlier.report, show_all)
        for level in ORDER:
            for item in items.get(level, []):
                effects = ("; with it: " + ", ".join(markdown_code(e.path)
                                                     for e in item.effects)
                           + more_effects(item) if item.effects else "")
                out.append(f"| {level.value} | {markdown_code(item.title)} | "
                           f"{'' if item.before is None else markdown_code(item.before)} | "
                           f"{markdown_code(item.after)} | "
                           f"{markdown_text(item.reason)} ({markdown_text(item.reference)})"
                           f"{effects} |")
    text = "\n".join(out) + "\n"
    if len(text) > LIMIT:
        text = text[:LIMIT - 500].rsplit("\n", 1)[0] + "\n\n_Cut at GitHub's comment limit; " \
                                                      "the JSON report has every difference._\n"
    return text


def render_fleet(report: FleetReport, fmt: ReportFormat, show_benign: bool = False,
                 show_all: bool = False) -> str:
    """``show_all``: every name of a collapsed group (``--all``)."""
    if fmt is ReportFormat.JSON:
        return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
    if fmt is ReportFormat.MARKDOWN:
        return render_fleet_markdown(report, show_all)
    if fmt is ReportFormat.TEXT:
        return render_fleet_text(report, show_benign, show_all)
    from ..errors import UsageError

    raise UsageError(f"compare does not write --format {fmt.value}")
