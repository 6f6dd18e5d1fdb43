"""``envcheck lock``: this environment as lockfiles/NAME.json."""

from __future__ import annotations

import click

from ..console import default_python, warn, write_output
from ..lock import lock_path, render_lock
from ..sources.live import live
from .common import EXIT_CODES_NO_VERDICT_HELP, make_parent, python_option


@click.command(epilog=EXIT_CODES_NO_VERDICT_HELP)
@click.argument("name")
@click.option("-o", "--output", metavar="FILE", help="Write here instead of lockfiles/NAME.json.")
@python_option
def lock(name: str, output: str | None, python: str | None) -> None:
    """Record this environment as lockfiles/NAME.json: a fingerprint without what differs
    between identical machines (hostname, time, paths, UUIDs). Locking the same
    environment twice gives identical bytes.

    \b
    Examples:
      envcheck lock train                    # writes lockfiles/train.json
      envcheck lock train --python /opt/venv/bin/python
      envcheck check lockfiles/train.json    # later, at the start of the job
    """
    destination = output or lock_path(name)
    if output is None:
        make_parent(destination)
    fingerprint = live(python or default_python())
    write_output(render_lock(fingerprint), destination)
    if destination != "-":
        warn(f"wrote {destination} (fingerprint {fingerprint.short_id})")
