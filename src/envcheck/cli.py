"""The command line: parse, call, render, exit. The only module that touches stdout and stderr.

Exit codes (every command):
  0  success; nothing at or above --fail-on
  1  a difference at or above --fail-on
  2  usage error: bad options or configuration
  3  an input or target could not be read
  4  a result could not be written
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from . import __version__
from .errors import EnvcheckError, ExitCode, UsageError

F = TypeVar("F", bound=Callable[..., Any])

EXIT_CODES_HELP = """\b
Exit codes:
  0  success; nothing at or above --fail-on
  1  a difference at or above --fail-on
  2  usage error
  3  an input or target could not be read
  4  a result could not be written"""


def _warn(message: str) -> None:
    click.echo(f"envcheck: {message}", err=True)


def write_output(text: str, destination: str) -> None:
    """Write ``text`` to ``destination`` (``-`` is stdout)."""
    if destination == "-":
        click.echo(text, nl=False)
        return
    from .output import write_text

    write_text(destination, text)


def _python_option(func: F) -> F:
    return click.option(
        "--python", "python", metavar="PATH",
        help="Fingerprint the interpreter at PATH (the probe runs there, fed on stdin). "
             "Default: the active virtualenv/conda env if envcheck runs outside it, else "
             "envcheck's own interpreter.",
    )(func)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="envcheck")
def cli() -> None:
    """Fingerprint ML training environments and tell whether two differ in ways that
    change results.

    \b
    Examples:
      envcheck snapshot                      summary of this environment
      envcheck snapshot -o train.json        save the fingerprint as JSON
      envcheck snapshot --python .venv/bin/python
      envcheck diff laptop.json cluster.json
      envcheck diff origin/main:lockfiles/train.json lockfiles/train.json --format markdown
    """


@cli.command(epilog=EXIT_CODES_HELP)
@_python_option
@click.option("-o", "--output", metavar="FILE",
              help="Write the fingerprint as JSON to FILE ('-' for stdout).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="What to print on stdout when -o is not given.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=120.0, show_default=True,
              help="Seconds to wait for a probe in another interpreter.")
@click.option("--nvml-timeout", type=click.FloatRange(min=0.1), default=5.0, show_default=True,
              help="Seconds to wait for the NVIDIA driver before reporting it as hung.")
def snapshot(python: str | None, output: str | None, fmt: str, timeout: float,
             nvml_timeout: float) -> None:
    """Fingerprint an environment: packages and their builds, frameworks, CUDA, GPUs, CPU,
    OS and the settings that steer numerics.

    \b
    Examples:
      envcheck snapshot
      envcheck snapshot -o fingerprint.json
      envcheck snapshot --format json | jq .frameworks
      envcheck snapshot --python /opt/conda/envs/train/bin/python -o train.json
    """
    from .sources import default_target, live

    if python is None:
        target = default_target()
        python = target.python
        if target.note:
            _warn(target.note)
    fingerprint = live(python, timeout=timeout, nvml_timeout=nvml_timeout)
    if output is not None:
        write_output(fingerprint.to_json(), output)
        if output != "-":
            _warn(f"wrote {output} (fingerprint {fingerprint.short_id})")
        return
    if fmt == "json":
        click.echo(fingerprint.to_json(), nl=False)
        return
    from .render.snapshot_text import render_snapshot

    click.echo(render_snapshot(fingerprint), nl=False)


def _use_color() -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return sys.stdout.isatty()


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("a", metavar="A")
@click.argument("b", metavar="B")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown", "github"]),
              default="text", show_default=True, help="Report format.")
@click.option("--fail-on", type=click.Choice(["breaking", "risky", "any", "never"]),
              default="breaking", show_default=True,
              help="Exit 1 when a difference is at or above this severity.")
@click.option("--config", "config_path", metavar="FILE",
              help="Configuration file (default: envcheck.toml or [tool.envcheck] in "
                   "pyproject.toml, searched upward).")
@click.option("-o", "--output", metavar="FILE", help="Write the report to FILE, not stdout.")
@click.option("--show-benign", is_flag=True, help="List benign differences in text output.")
@_python_option
def diff(a: str, b: str, fmt: str, fail_on: str, config_path: str | None, output: str | None,
         show_benign: bool, python: str | None) -> int:
    """Compare two environments and judge every difference: breaking, risky or benign,
    with the reason and where it is documented.

    \b
    A and B may each be:
      FILE          a fingerprint (envcheck snapshot -o FILE) or a `pip inspect` report
      -             a fingerprint on stdin
      .             the live environment (or --python PATH)
      REV:PATH      a file at a git revision, e.g. origin/main:lockfiles/train.json

    \b
    Examples:
      envcheck diff laptop.json cluster.json
      envcheck diff lockfiles/train.json .
      envcheck diff origin/main:lockfiles/train.json lockfiles/train.json --format markdown
      envcheck diff a.json b.json --format json --fail-on risky
    """
    from . import config as configuration
    from .drift import diff as compare
    from .render import ReportFormat
    from .render.report import RenderOptions, render_report
    from .sources import resolve

    if a == "-" and b == "-":
        raise UsageError("only one of A and B can be '-' (stdin)")
    config = (configuration.load_file(Path(config_path)) if config_path
              else configuration.discover())
    report = compare(resolve(a, python=python), resolve(b, python=python), config,
                     labels=(a, b))
    options = RenderOptions(color=output is None and _use_color(), show_benign=show_benign)
    text = render_report(report, ReportFormat(fmt), options)
    if output is None:
        click.echo(text, nl=False)
    else:
        write_output(text, output)
    return int(ExitCode.DRIFT) if report.fails(fail_on) else int(ExitCode.OK)


@cli.command()
def rules() -> None:
    """List the rule catalog: what each rule judges, how severe, and its reference."""
    from .rules.catalog import CATALOG

    for rule in CATALOG:
        condition = f" (when {rule.when}; otherwise {rule.otherwise.value})" \
            if rule.when and rule.otherwise else f" (when {rule.when})" if rule.when else ""
        click.echo(f"{rule.id}  [{rule.section}] {rule.severity.value}{condition}")
        click.echo(f"    matches {', '.join(rule.subjects)}; {rule.reason}")
        click.echo(f"    see {rule.reference}")


def main(argv: list[str] | None = None) -> int:
    """Console entry point: run the CLI, turning envcheck errors into one line and an exit code."""
    try:
        returned = cli.main(args=argv, prog_name="envcheck", standalone_mode=False)
    except EnvcheckError as exc:
        _warn(str(exc))
        return int(exc.exit_code)
    except click.exceptions.Abort:
        _warn("aborted")
        return 130
    except click.ClickException as exc:
        exc.show()
        return int(ExitCode.USAGE) if isinstance(exc, click.UsageError) else exc.exit_code
    except BrokenPipeError:
        # Output piped into ``head``: not an error worth a traceback.
        sys.stderr.close()
        return 0
    return returned if isinstance(returned, int) else 0


if __name__ == "__main__":
    sys.exit(main())
