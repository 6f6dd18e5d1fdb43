"""What every command shares: the exit codes and their help, the options several commands
take, configuration, rendering a report and writing it, the verdict's exit code, and the
error handling around the whole application.

Exit codes (every command):
  0  success; nothing at or above --fail-on
  1  a difference at or above --fail-on
  2  usage error: bad options or configuration
  3  an input or target could not be read
  4  a result could not be written
  70 internal error (a bug in envcheck)
  130 interrupted (Ctrl-C); 141 the reader of stdout went away (| head)
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import click

from .. import config as configuration
from ..config import Config
from ..console import Interrupted, StdoutClosed, guarded, warn, write_output, write_stdout
from ..errors import ExitCode, OutputError
from ..model.report import Report
from ..model.severity import FAIL_ON
from ..render import ReportFormat
from ..render.report import RenderOptions, render_report

F = TypeVar("F", bound=Callable[..., Any])

EXIT_CODES_HELP = """\b
Exit codes:
  0  success; nothing at or above --fail-on
  1  a difference at or above --fail-on
  2  usage error
  3  an input or target could not be read
  4  a result could not be written
  70 internal error (a bug: please report it)
  130 interrupted; 141 stdout closed early (| head)"""
# For the commands that judge nothing (no --fail-on): no exit 1.
EXIT_CODES_NO_VERDICT_HELP = """\b
Exit codes:
  0  success
  2  usage error
  3  an input or target could not be read
  4  a result could not be written
  70 internal error (a bug: please report it)
  130 interrupted; 141 stdout closed early (| head)"""


# ---- options several commands share ----------------------------------------------------

def python_option(func: F) -> F:
    return click.option(
        "--python", "python", metavar="PATH",
        help="Fingerprint the interpreter at PATH (the probe runs there, fed on stdin). "
             "Default: the active virtualenv/conda env if envcheck runs outside it, else "
             "envcheck's own interpreter.",
    )(func)


def report_options(formats: tuple[str, ...]) -> Callable[[F], F]:
    """The options every judging command shares: format, threshold, configuration, output."""
    def decorate(func: F) -> F:
        for option in reversed((
            click.option("--format", "fmt", type=click.Choice(formats), default="text",
                         show_default=True, help="Report format."),
            click.option("--fail-on", type=click.Choice(FAIL_ON),
                         default="breaking", show_default=True,
                         help="Exit 1 when a difference is at or above this severity."),
            click.option("--config", "config_path", metavar="FILE",
                         help="Configuration file (default: envcheck.toml or [tool.envcheck] "
                              "in pyproject.toml, searched upward)."),
            click.option("-o", "--output", metavar="FILE",
                         help="Write the report to FILE instead of stdout."),
            click.option("--show-benign", is_flag=True,
                         help="List benign differences in text output."),
            click.option("--all", "show_all", is_flag=True,
                         help="List everything: benign differences and every name of a "
                              "collapsed group (packages on one side only, other packages)."),
        )):
            func = option(func)
        return func
    return decorate


def _use_mlflow_uri(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value:  # MLflow's own setting: its client reads it wherever it is created
        os.environ["MLFLOW_TRACKING_URI"] = value


mlflow_option = click.option(
    "--mlflow-uri", metavar="URI", expose_value=False, callback=_use_mlflow_uri,
    help="MLflow tracking server for mlflow: inputs (default: $MLFLOW_TRACKING_URI).")


# ---- configuration, rendering, writing, the verdict ------------------------------------

def load_config(config_path: str | None) -> Config:
    return configuration.load_file(Path(config_path)) if config_path else configuration.discover()


def use_color() -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return sys.stdout.isatty()


def render(report: Report, fmt: str, output: str | None, show_benign: bool,
           show_all: bool = False) -> str:
    options = RenderOptions(color=output is None and use_color(), show_benign=show_benign,
                            show_all=show_all)
    return render_report(report, ReportFormat(fmt), options)


def emit(text: str, output: str | None) -> None:
    if output is None:
        write_stdout(text)
    else:
        write_output(text, output)
        if output != "-":
            warn(f"wrote {output}")  # as snapshot -o does: a silent success looks like none


def make_parent(path: str) -> None:
    """Create the folder of a report file (``artifacts/envcheck.json``) if needed."""
    parent = os.path.dirname(path)
    if parent and path != "-":
        try:
            os.makedirs(parent, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"{parent}: cannot create ({exc.strerror or exc})") from exc


def verdict(fails: bool) -> int:
    return int(ExitCode.DRIFT) if fails else int(ExitCode.OK)


# ---- errors and exit codes around the whole application -------------------------------

class Group(click.Group):
    """The application. Each command lives in a module of its own, imported when that
    command runs: importing every command's layers costs more than click itself, on every
    command. ``--help`` and a mistyped name load them all (to list them, to suggest one).
    """

    def __init__(self, *args: Any, modules: Mapping[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.modules = dict(modules)  # command name -> the module that defines it

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(self.modules))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            if cmd_name not in self.modules:
                for name in self.modules:  # click suggests from the commands it knows
                    self._load(name)
                return None
            self._load(cmd_name)
        return self.commands[cmd_name]

    def _load(self, name: str) -> None:
        if name not in self.commands:
            command = getattr(importlib.import_module(self.modules[name]), name)
            if not isinstance(command, click.Command):
                raise TypeError(f"{self.modules[name]}.{name} is not a click command")
            self.add_command(command, name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError as exc:
            # click answers EPIPE with exit status 1, which means drift here: carry it
            # past click as an exception click does not handle.
            raise StdoutClosed from exc
        except KeyboardInterrupt as exc:
            # click would print an empty line first: the one line is guarded's.
            raise Interrupted from exc


def run(app: click.Group, argv: list[str] | None) -> int:
    """Run the click application ``app``: click's own errors become their exit codes, ours
    one line on stderr (:func:`envcheck.console.guarded`)."""
    def invoke() -> int:
        try:
            returned = app.main(args=argv, prog_name="envcheck", standalone_mode=False)
        except click.exceptions.Abort:
            warn("aborted")
            return int(ExitCode.ABORTED)
        except click.ClickException as exc:
            exc.show()
            return int(ExitCode.USAGE) if isinstance(exc, click.UsageError) else exc.exit_code
        return returned if isinstance(returned, int) else 0

    return guarded(invoke)
