"""``envcheck explain``: which setting makes this machine compute other bits than BASE."""

from __future__ import annotations

import sys

import click

from ..console import SNAPSHOT_DEFAULTS, default_python
from ..explain import explain as run_explain
from ..render import ReportFormat
from ..render.explain import render_explanation
from ..sources.base import Request
from ..sources.docker import PREFIXES, container
from ..sources.registry import resolve
from .common import EXIT_CODES_HELP, emit, python_option, verdict


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("base", metavar="BASE")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown", "github"]),
              default="text", show_default=True, help="Report format.")
@click.option("--fail-on", type=click.Choice(["breaking", "risky", "any", "never"]),
              default="breaking", show_default=True,
              help="Exit 1 when a canary computes other bits (a breaking difference).")
@click.option("-o", "--output", metavar="FILE", help="Write the report to FILE instead of stdout.")
@click.option("--numerics-timeout", type=click.FloatRange(min=0.1),
              default=SNAPSHOT_DEFAULTS["numerics_timeout"], show_default=True,
              help="Seconds each run of the canaries may take.")
@python_option
def explain(base: str, fmt: str, fail_on: str, output: str | None, numerics_timeout: float,
            python: str | None) -> int:
    """Why does this machine compute other bits than BASE? Reruns each canary that
    differs with one setting at a time changed to BASE's value (thread counts,
    OPENBLAS_CORETYPE, MKL_CBWR, ONEDNN_MAX_CPU_ISA, NPY_DISABLE_CPU_FEATURES,
    TF_ENABLE_ONEDNN_OPTS, ATEN_CPU_CAPABILITY, TF32 switches...) and names the one that
    reproduces BASE's bits, or lists what it tried.

    \b
    BASE is any input that carries numerics: a file from snapshot --numerics, @last,
    REV:path, docker:IMAGE (measured now).

    \b
    Examples:
      envcheck snapshot --numerics -o base.json      (on the reference machine)
      envcheck explain base.json                     (on this one)
    """
    target = python or default_python() or sys.executable
    if base.startswith(PREFIXES):  # measured now, inside the image or container
        base_fp = container(base, numerics_timeout=numerics_timeout)
    else:
        base_fp = resolve(base, Request(python=python))
    explanation = run_explain(base_fp.data, base, target, numerics_timeout)
    emit(render_explanation(explanation, ReportFormat(fmt)), output)
    return verdict(explanation.fails(fail_on))
