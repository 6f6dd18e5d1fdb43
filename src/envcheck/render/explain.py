"""``envcheck explain`` as text, JSON, Markdown or workflow commands (pure)."""

from __future__ import annotations

import json

from ..model.explanation import Explanation
from . import ReportFormat
from .escape import github_data, markdown_code, markdown_text, terminal
from .report_markdown import marker


def _verdict(explanation: Explanation, canary: str) -> str:
    found = next(c for c in explanation.canaries if c.name == canary)
    if found.cause is not None:
        implied = (f" (not recorded on {explanation.base_label}: implied by its CPU or cores)"
                   if found.cause.implied else "")
        return f"cause found: {found.cause} reproduces {explanation.base_label}'s bits{implied}"
    return f"no single setting reproduces {explanation.base_label}'s bits"


def _tried(explanation: Explanation) -> str:
    if not explanation.tried:
        return "no setting differs between the two sides, so none was tried"
    return "tried: " + ", ".join(f"{t}{' (implied)' if t.implied else ''}"
                                 for t in explanation.tried)


def summary(explanation: Explanation) -> str:
    explained = sum(1 for c in explanation.canaries if c.cause)
    return (f"{len(explanation.canaries)} canaries differ ({explained} explained), "
            f"{explanation.identical} identical, {len(explanation.not_measured)} not measured "
            "on both sides")


def render_text(explanation: Explanation) -> str:
    lines = [f"envcheck explain: here ({explanation.here_id[:12]}) vs "
             f"{terminal(explanation.base_label)} ({explanation.base_id[:12]})", ""]
    if not explanation.canaries:
        lines.append(f"No canary computes other bits than {terminal(explanation.base_label)}.")
    for canary in explanation.canaries:
        lines += [f"  {terminal(canary.name)}: {terminal(_verdict(explanation, canary.name))}",
                  f"      {terminal(canary.detail)}"]
    if explanation.canaries:
        lines += ["", terminal(_tried(explanation))]
    if explanation.not_measured:
        lines.append("Not measured on both sides: "
                     + ", ".join(terminal(n) for n in explanation.not_measured))
    return "\n".join([*lines, "", summary(explanation)]) + "\n"


def render_markdown(explanation: Explanation) -> str:
    # Its own hidden marker: ``envcheck comment`` must not overwrite a diff's comment with it.
    lines = [marker("explain"), "### envcheck explain", "",
             f"Here vs {markdown_code(explanation.base_label)}: "
             f"{markdown_text(summary(explanation))}.", ""]
    if explanation.canaries:
        lines += ["| canary | verdict | how far apart |", "|---|---|---|"]
        lines += [f"| {markdown_code(c.name)} | {markdown_text(_verdict(explanation, c.name))} "
                  f"| {markdown_text(c.detail)} |" for c in explanation.canaries]
        lines += ["", markdown_text(_tried(explanation))]
    return "\n".join(lines) + "\n"


def render_github(explanation: Explanation) -> str:
    lines = [f"::error title=envcheck explain::"
             f"{github_data(terminal(c.name + ': ' + _verdict(explanation, c.name)))}"
             for c in explanation.canaries]
    lines.append(f"::notice title=envcheck explain::{github_data(summary(explanation))}")
    return "\n".join(lines) + "\n"


def render_explanation(explanation: Explanation, fmt: ReportFormat) -> str:
    if fmt is ReportFormat.JSON:
        return json.dumps(explanation.to_dict(), indent=2, ensure_ascii=False) + "\n"
    renderers = {ReportFormat.TEXT: render_text, ReportFormat.MARKDOWN: render_markdown,
                 ReportFormat.GITHUB: render_github}
    return renderers[fmt](explanation)
