"""A comparison of the ranks of a distributed job (``verify_ranks``) as short plain text,
for logs and for the message a training callback raises."""

from __future__ import annotations

from collections.abc import Sequence

from ..model.fleet import RANK_MEMBER, FleetReport, rank_ranges
from ..model.report import Change
from ..model.severity import Severity
from .escape import terminal, value_text
from .report_text import summary_line


def describe_ranks(members: Sequence[str], max_hosts: int = 8) -> str:
    """Member names as ``ranks 0-7 (host-a); 8-15 (host-b)``: short on a thousand ranks."""
    by_host: dict[str, list[int]] = {}
    others: list[str] = []
    for name in members:
        found = RANK_MEMBER.match(name)
        if found:
            by_host.setdefault(found.group(2), []).append(int(found.group(1)))
        else:
            others.append(terminal(name))
    parts = [f"{rank_ranges(numbers)} ({terminal(host)})" for host, numbers in by_host.items()]
    parts.extend(others)
    if len(parts) > max_hosts:
        parts = [*parts[:max_hosts], f"{len(parts) - max_hosts} more hosts"]
    noun = "rank" if len(members) == 1 else "ranks"
    return f"{noun} {'; '.join(parts)}"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _short(value: object, limit: int = 80) -> str:
    text = terminal(value_text(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def change_text(change: Change) -> str:
    """One change on one line: ``env.X: (none) -> 1 [breaking]``."""
    return (f"{terminal(change.path)}: {_short(change.before)} -> {_short(change.after)} "
            f"[{change.severity.value}]")


def _notable(changes: Sequence[Change]) -> list[Change]:
    """The changes worth showing first: anything but benign, or benign when that is all."""
    notable = [c for c in changes if c.severity is not Severity.BENIGN]
    return notable or list(changes)


def drift_message(report: FleetReport, limit: int = 3) -> str:
    """One headline naming the odd ranks and their first changes, then :func:`render_ranks`."""
    outliers = [m for o in report.outliers for m in o.group.members]
    baseline = next(g for g in report.groups if g.id == report.baseline_id)
    verb = "differs" if len(outliers) == 1 else "differ"
    tops: list[str] = []
    total = 0
    for outlier in report.outliers:
        changes = _notable(outlier.report.changes)
        total += len(changes)
        prefix = (f"{describe_ranks(outlier.group.members)}: "
                  if len(report.outliers) > 1 else "")
        tops.extend(prefix + change_text(c) for c in changes[: max(0, limit - len(tops))])
    more = f" (+{total - len(tops)} more)" if total > len(tops) else ""
    headline = (f"{describe_ranks(outliers)} {verb} from the majority of "
                f"{_plural(len(baseline.members), 'rank')} "
                f"({describe_ranks(baseline.members)}): {'; '.join(tops) or 'see below'}{more}")
    return f"{headline}\n{render_ranks(report, limit).rstrip()}"


def render_ranks(report: FleetReport, limit: int = 3) -> str:
    """A short plain-text rendering of a rank comparison, for logs and error messages."""
    if not report.outliers:
        return (f"envcheck: all {_plural(report.members, 'rank')} share one environment "
                f"({report.baseline_id[:12]})\n")
    baseline = next(g for g in report.groups if g.id == report.baseline_id)
    lines = [
        f"envcheck: {_plural(report.members, 'rank')}, {len(report.groups)} distinct "
        "environments",
        f"  majority: {describe_ranks(baseline.members)} "
        f"[{_plural(len(baseline.members), 'rank')}, {report.baseline_id[:12]}]",
    ]
    for outlier in report.outliers:
        group = outlier.group
        lines.append(f"  differs: {describe_ranks(group.members)} "
                     f"[{_plural(len(group.members), 'rank')}, {group.id[:12]}]: "
                     f"{summary_line(outlier.report)}")
        changes = _notable(outlier.report.changes)
        for change in changes[:limit]:
            lines.append(f"    {change_text(change)}")
            lines.append(f"        {terminal(change.reason)} [{terminal(change.rule)}]")
        if len(changes) > limit:
            lines.append(f"    ... and {len(changes) - limit} more")
        if not outlier.report.changes:
            lines.append("    no differences in what can change results")
    return "\n".join(lines) + "\n"
