"""``envcheck verify``: installed files against their packages' RECORD."""

from __future__ import annotations

import json

import click

from ..console import progress_bar
from ..errors import InputError
from ..render.verify_text import render_verify
from ..verify import verify_interpreter
from .common import EXIT_CODES_HELP, emit, python_option, verdict


@click.command(epilog=EXIT_CODES_HELP)
@click.option("-p", "--package", "packages", multiple=True, metavar="NAME",
              help="Verify only this package (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("--fail-on", type=click.Choice(["modified", "any", "never"]), default="modified",
              show_default=True,
              help="Exit 1 on modified or missing files; 'any' also on added files and "
                   "unverifiable packages.")
@click.option("-o", "--output", metavar="FILE", help="Write the report to FILE.")
@click.option("--no-cache", is_flag=True, help="Hash every file, ignoring the hash cache.")
@python_option
def verify(packages: tuple[str, ...], fmt: str, fail_on: str, output: str | None,
           no_cache: bool, python: str | None) -> int:
    """Check every installed file against its package's RECORD (hash and size): files
    edited, deleted or added since install. pip does not do this.

    Hashing uses every core; a cache keyed by path, size, mtime, ctime and inode makes a
    second run over unchanged files fast. A package without RECORD is reported as
    unverifiable, never as clean.

    \b
    Examples:
      envcheck verify
      envcheck verify -p torch -p numpy
      envcheck verify --format json -o verify.json
    """
    with progress_bar("verifying") as progress:
        report = verify_interpreter(python, packages, use_cache=not no_cache,
                                    progress=progress)
    if report.not_found:  # a typo must not pass as "nothing modified"
        missing = report.not_found[0]
        close = report.close_matches.get(missing)
        hint = f" (did you mean {' or '.join(close)}?)" if close else ""
        raise InputError(f"verify -p {missing}: not installed{hint}")
    if fmt == "json":
        text = json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
    else:
        text = render_verify(report)
    emit(text, output)
    counts = report.counts
    failed = {"never": False, "any": not report.clean,
              "modified": bool(counts["modified"] or counts["missing"])}[fail_on]
    return verdict(failed)
