"""The command line: parse, call, render, exit. The only module that touches stdout and stderr.

Exit codes (every command):
  0  success; nothing at or above --fail-on
  1  a difference at or above --fail-on
  2  usage error: bad options or configuration
  3  an input or target could not be read
  4  a result could not be written
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from . import __version__
from .errors import EnvcheckError, ExitCode

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
