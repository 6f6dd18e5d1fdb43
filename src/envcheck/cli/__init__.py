"""The command line: parse, call, render, exit. With :mod:`envcheck.console`, the only code
that touches stdout and stderr.

One module per command, each a thin parse-call-render-exit over the layers below, named
as the command is; what they share (exit codes, common options, rendering and writing a
report, the error handling) is in :mod:`.common`. This module assembles the click
application, which imports a command's module when that command runs.
"""

from __future__ import annotations

import click

from .. import __version__
from .common import Group, run

__all__ = ["cli", "main"]

# Every command, each defined in the module of its name in this package.
COMMANDS = ("snapshot", "diff", "lock", "check", "compare", "verify", "explain", "audit",
            "comment", "review", "history", "rules")


@click.group(cls=Group, modules={name: f"{__name__}.{name}" for name in COMMANDS},
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
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
      envcheck lock train && envcheck check lockfiles/train.json
      envcheck compare fingerprints/
    """


def main(argv: list[str] | None = None) -> int:
    """Run the click application; :func:`envcheck.entry.main` sends everything here but the
    everyday forms of ``snapshot``."""
    return run(cli, argv)
