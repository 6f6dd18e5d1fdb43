"""``envcheck audit``: what keeps this machine's own runs from repeating."""

from __future__ import annotations

import click

from ..audit import audit as run_audit
from ..audit import file_findings
from ..console import default_python, progress_bar
from ..errors import UsageError
from ..render import ReportFormat
from ..render.report import RenderOptions, render_audit
from ..sources.base import Request
from ..sources.registry import resolve
from ..verify import verify_interpreter
from .common import (
    EXIT_CODES_HELP,
    emit,
    load_config,
    python_option,
    report_options,
    use_color,
    verdict,
)


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("source", metavar="[INPUT]", default=".")
@report_options(("text", "json", "markdown", "github"))
@click.option("--deep", is_flag=True,
              help="Also verify installed files against RECORD (live environment only).")
@python_option
def audit(source: str, fmt: str, fail_on: str, config_path: str | None, output: str | None,
          show_benign: bool, show_all: bool, deep: bool, python: str | None) -> int:
    """Look for settings that keep this machine's own runs from repeating: cuBLAS without
    a fixed workspace, TF32 forced on, no hash seed, unpinned thread counts, shadowed
    packages, a driver too old for the framework's CUDA, mismatched nvidia-* wheels.

    \b
    INPUT is anything diff accepts; default: the live environment.

    \b
    Examples:
      envcheck audit
      envcheck audit --deep                  also files edited since install
      envcheck audit lockfiles/train.json --format markdown
    """
    if source == "." and python is None:
        python = default_python()
    config = load_config(config_path)
    if deep and source != ".":
        raise UsageError("--deep reads installed files: it needs the live environment ('.')")
    extra = None
    if deep:
        with progress_bar("verifying") as progress:
            extra = file_findings(verify_interpreter(python, progress=progress))
    label = python if source == "." and python else source  # the interpreter audited
    report = run_audit(resolve(source, Request(python=python)), label=label, extra=extra)
    report.findings = [f for f in report.findings if not config.ignores_path(f.path)]
    options = RenderOptions(color=output is None and use_color(), show_benign=show_benign,
                            show_all=show_all)
    emit(render_audit(report, ReportFormat(fmt), options), output)
    return verdict(report.fails(fail_on))
