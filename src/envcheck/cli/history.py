"""``envcheck history``: the local history of snapshots, listed or pruned."""

from __future__ import annotations

import click

from ..console import warn, write_stdout
from ..errors import UsageError
from ..render.escape import terminal
from ..render.history import entry_line
from ..store import History


@click.command()
@click.option("--interpreter", metavar="PATH",
              help="Only this interpreter's entries (default: all).")
@click.option("-n", "--limit", type=click.IntRange(min=1), default=20, show_default=True,
              help="How many of the newest entries to list.")
@click.option("--prune", is_flag=True, help="Remove old entries instead of listing.")
@click.option("--keep", type=click.IntRange(min=1), metavar="N",
              help="With --prune: keep the newest N entries of each interpreter.")
@click.option("--older-than", type=click.IntRange(min=0), metavar="DAYS",
              help="With --prune: remove entries older than DAYS days.")
def history(interpreter: str | None, limit: int, prune: bool, keep: int | None,
            older_than: int | None) -> None:
    """List the local history of snapshots: when, which interpreter, the fingerprint id,
    and what changed since the previous entry of the same interpreter.

    Every `envcheck snapshot` adds an entry (unless --no-save); diff, check and compare
    accept @last, @prev, @N (N entries back) and @YYYY-MM-DD as inputs.

    \b
    Examples:
      envcheck history
      envcheck diff @last .                  what changed since the last snapshot?
      envcheck history --prune --keep 100
    """
    if (keep or older_than is not None) and not prune:
        raise UsageError("--keep and --older-than go with --prune")
    with History() as store:
        if prune:
            if keep is None and older_than is None:
                raise UsageError("--prune needs --keep N or --older-than DAYS")
            removed = store.prune(keep=keep, older_than_days=older_than)
            warn(f"removed {removed} entr{'y' if removed == 1 else 'ies'} from {store.path}")
            return
        entries = store.recovering(lambda: store.entries(interpreter=interpreter, limit=limit))
    if not entries:
        warn("no snapshots in the history yet: run envcheck snapshot")
        return
    write_stdout("".join(f"#{entry.number:<5} {entry.taken_at:%Y-%m-%d %H:%M} "
                         f"{entry.fingerprint_id[:12]}  {terminal(entry.interpreter)}\n"
                         f"       {entry_line(entry.change)}\n" for entry in entries))
