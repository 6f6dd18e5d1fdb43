"""``envcheck verify`` for a terminal: only the packages with something to say."""

from __future__ import annotations

from ..verify.report import VerifyReport
from .escape import terminal

_SHOWN = 10


def _listed(label: str, items: list[str]) -> list[str]:
    lines = [f"    {label}: {terminal(item)}" for item in items[:_SHOWN]]
    if len(items) > _SHOWN:
        lines.append(f"    ... and {len(items) - _SHOWN} more {label}")
    return lines


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" if number == 1 else f"{number:,} {noun}s"


def render_verify(report: VerifyReport) -> str:
    lines = []
    for package in report.packages:
        if package.clean:
            continue
        lines.append(f"{terminal(package.name)} {terminal(package.version)} "
                     f"({terminal(package.location)})")
        if package.unverifiable:
            lines.append(f"    unverifiable: {terminal(package.unverifiable)}")
        lines += _listed("modified", [m.path for m in package.modified])
        lines += _listed("missing", package.missing)
        lines += _listed("added", package.added)
        lines += _listed("unchecked", [u.path for u in package.unchecked])
        if package.note:
            lines.append(f"    note: {terminal(package.note)}")
    for name in report.not_found:
        lines.append(f"{terminal(name)}: not installed")
    counts = report.counts
    if not lines:
        lines.append("All installed files match their RECORD.")
    lines += ["", f"{_count(counts['files_checked'], 'file')} in "
                  f"{_count(counts['packages'], 'package')}: "
                  f"{counts['modified']} modified, {counts['missing']} missing, "
                  f"{counts['added']} added, {counts['unverifiable']} unverifiable "
                  f"({report.hashed:,} hashed, {report.cached:,} from cache, "
                  f"{_count(report.unchanged, 'package')} unchanged since the last run, "
                  f"{report.seconds:.2f} s)"]
    lines += [f"warning: {terminal(w)}" for w in report.warnings]
    return "\n".join(lines) + "\n"
