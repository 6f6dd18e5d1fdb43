"""The diff report as a pull-request comment.

Everything that came from a fingerprint goes through ``markdown_code``: a
package name or version cannot inject HTML, links, images or mentions, nor
break the table. A hidden marker lets a bot find and update its own comment.
"""

from __future__ import annotations

from ..model.audit import AuditReport
from ..model.report import Report
from ..model.severity import Severity
from .escape import markdown_code, markdown_text
from .layout import Item, audit_layout, layout, more_effects, names_line


def marker(kind: str, use: str = "") -> str:
    """The hidden first line by which ``envcheck comment`` finds its own comment again:
    one per report kind (diff, check, audit, compare, explain) and, with ``use``, per use
    in one pull request."""
    return f"<!-- envcheck-report:{kind}{':' + use if use else ''} -->"


MARKER = marker("diff")
LIMIT = 65_536
_RESERVE = 600  # room for the closing lines and the truncation note
_ICONS = {Severity.BREAKING: "🔴 breaking", Severity.RISKY: "🟡 risky",
          Severity.BENIGN: "⚪ benign"}


def _reference(item: Item, own: frozenset[str]) -> str:
    """The catalog's own references are ours and stay readable, so GitHub links them
    (URLs, owner/repo#N); anything else (configuration) is escaped."""
    if item.reference in own:
        return item.reference
    return markdown_text(item.reference)


def _row(item: Item, with_severity: bool, own: frozenset[str], quote_reason: bool) -> str:
    cells = [_ICONS[item.severity]] if with_severity else []
    # An audit's reasons quote the fingerprint (GPU and package names, versions, paths):
    # inside <code>, where GitHub links no #123, owner/repo#1 or commit SHA. A diff's
    # reasons are the catalog's own words.
    reason = markdown_code(item.reason, limit=400) if quote_reason else markdown_text(item.reason)
    why = f"{reason} ({_reference(item, own)})"
    if item.effects:
        why += ("; with it: " + ", ".join(markdown_code(e.path) for e in item.effects)
                + more_effects(item))
    cells += [markdown_code(item.title),
              "" if item.before is None else markdown_code(item.before),
              markdown_code(item.after), why]
    return "| " + " | ".join(cells) + " |"


def verdict(report: Report) -> str:
    worst = report.worst()
    if worst is Severity.BREAKING:
        return "❌ **These environments will likely give different training results.**"
    if worst is Severity.RISKY:
        return "⚠️ **These environments may give different training results.**"
    if worst is Severity.BENIGN or report.a.id != report.b.id or report.unknown_sections:
        return "✅ **No difference known to change training results.**"
    return "✅ **The environments are identical.**"


def audit_verdict(report: AuditReport) -> str:
    worst = report.worst()
    if worst is Severity.BREAKING:
        return "❌ **This environment's runs will not repeat as set up.**"
    if worst is Severity.RISKY:
        return "⚠️ **Settings here may keep runs from repeating.**"
    return "✅ **No reproducibility risk found.**"


def _evidence(report: Report) -> str:
    """One line: what the canaries measured (names escaped: they come from the input)."""
    assert report.evidence is not None
    evidence = report.evidence
    line = f"**{markdown_text(evidence.summary())}**"
    unmeasured = [c for c in evidence.canaries if c.status == "not measured"]
    if unmeasured:
        line += " Not measured on both sides: " + ", ".join(
            markdown_code(c.name) for c in unmeasured[:20]) + ("…" if len(unmeasured) > 20
                                                               else "") + "."
    return line


def render_markdown(report: Report, limit: int = LIMIT, show_all: bool = False) -> str:
    counts = report.summary()
    out = [
        # check's report is a diff's (kind "diff" or "lock"), but its comment is its own.
        marker("check" if report.command == "check" else report.kind),
        "### envcheck",
        "",
        verdict(report),
        "",
        f"Comparing {markdown_code(report.a.label)} ({markdown_code(report.a.id[:12])}) with "
        f"{markdown_code(report.b.label)} ({markdown_code(report.b.id[:12])}): "
        + f"{counts['breaking']} breaking, {counts['risky']} risky, {counts['benign']} benign.",
        "",
    ]
    if report.evidence is not None:
        out += [_evidence(report), ""]
    closing: list[str] = []
    if report.unlocked:
        closing += ["", f"Not in the lock ({len(report.unlocked)}): "
                    + markdown_code(names_line(report.unlocked, show_all)) + "."]
    if report.unknown_sections:
        closing += ["", "Not compared (one side does not describe them): "
                    + ", ".join(report.unknown_sections) + "."]
    return _tables(out, closing, layout(report, show_all), counts, limit,
                   report.own_references, quote_reasons=False)


def render_audit_markdown(report: AuditReport, limit: int = LIMIT) -> str:
    """An audit as a pull-request comment, with a marker of its own."""
    counts = report.summary()
    target = report.target
    out = [
        marker("audit"),
        "### envcheck",
        "",
        audit_verdict(report),
        "",
        f"Audit of {markdown_code(target.label)} ({markdown_code(target.id[:12])}): "
        + f"{counts['breaking']} breaking, {counts['risky']} risky, {counts['benign']} benign.",
        "",
    ]
    return _tables(out, [], audit_layout(report.findings), counts, limit,
                   report.own_references, quote_reasons=True)


def _tables(out: list[str], closing: list[str], items: dict[Severity, list[Item]],
            counts: dict[str, int], limit: int, own: frozenset[str],
            quote_reasons: bool) -> str:
    """``out``, the tables of ``items`` while the comment's budget lasts, then ``closing``."""
    budget = limit - _RESERVE - sum(len(line) + 1 for line in out + closing)
    shown = 0
    important = items.get(Severity.BREAKING, []) + items.get(Severity.RISKY, [])
    benign = items.get(Severity.BENIGN, [])
    total = len(important) + len(benign)

    def add(line: str) -> bool:
        nonlocal budget
        if len(line) + 1 > budget:
            return False
        out.append(line)
        budget -= len(line) + 1
        return True

    def table(changes: list[Item], with_severity: bool) -> int:
        """A table of ``changes`` while the budget lasts; how many rows it holds."""
        columns = ["severity"] * with_severity + ["what", "before", "after", "why"]
        add("| " + " | ".join(columns) + " |")
        add("|" + "---|" * len(columns))
        rows = 0
        while rows < len(changes) and add(_row(changes[rows], with_severity, own,
                                               quote_reasons)):
            rows += 1
        return rows

    if important:
        shown += table(important, with_severity=True)
    if benign and shown == len(important):
        add("")
        add(f"<details><summary>{counts['benign']} benign differences (documented not to "
            "change results)</summary>")
        add("")
        shown += table(benign, with_severity=False)
        out.append("")
        out.append("</details>")
    if shown < total:
        out += ["", f"_{total - shown} more entries not shown: a comment holds "
                    f"at most {limit:,} characters. The JSON report lists all of them._"]
    return "\n".join(out + closing) + "\n"
