"""``envcheck diff``: two inputs, every difference judged."""

from __future__ import annotations

import click

from ..console import default_python
from ..drift import diff as compare
from ..errors import UsageError
from ..sources.base import Request
from ..sources.registry import resolve
from .common import (
    EXIT_CODES_HELP,
    emit,
    load_config,
    mlflow_option,
    python_option,
    render,
    report_options,
    verdict,
)


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("a", metavar="A")
@click.argument("b", metavar="B")
@report_options(("text", "json", "markdown", "github"))
@python_option
@mlflow_option
def diff(a: str, b: str, fmt: str, fail_on: str, config_path: str | None, output: str | None,
         show_benign: bool, show_all: bool, python: str | None) -> int:
    """Compare two environments and judge every difference: breaking, risky or benign,
    with the reason and where it is documented.

    \b
    A and B may each be:
      FILE          a fingerprint (envcheck snapshot -o FILE) or a `pip inspect` report
      -             a fingerprint on stdin
      .             the live environment (or --python PATH)
      REV:PATH      a file at a git revision, e.g. origin/main:lockfiles/train.json
      github:REF:PATH  the same through the GitHub API ($GITHUB_REPOSITORY, $GITHUB_TOKEN)
      docker:IMAGE  a Docker image, probed in a new container that is always removed
      docker-container:NAME  a running Docker container
      @last, @prev, @N, @YYYY-MM-DD   an earlier snapshot from the local history

    \b
    Examples:
      envcheck diff laptop.json cluster.json
      envcheck diff @last .                  what changed since the last snapshot?
      envcheck diff docker:pytorch:24.03 docker:pytorch:24.05
      envcheck diff lockfiles/train.json .
      envcheck diff origin/main:lockfiles/train.json lockfiles/train.json --format markdown
      envcheck diff a.json b.json --format json --fail-on risky
    """
    if a == "-" and b == "-":
        raise UsageError("only one of A and B can be '-' (stdin)")
    config = load_config(config_path)
    if "." in (a, b) and python is None:
        python = default_python()
    report = compare(resolve(a, Request(python=python)), resolve(b, Request(python=python)), config,
                     labels=(a, b))
    emit(render(report, fmt, output, show_benign, show_all), output)
    return verdict(report.fails(fail_on))
