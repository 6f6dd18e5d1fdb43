"""The console entry point (``envcheck``, ``python -m envcheck``).

The everyday forms of ``envcheck snapshot`` run through :mod:`envcheck.console`
without importing click; everything else goes to :mod:`envcheck.cli`. This
module is the only one that knows both, so neither imports the other's caller.
"""

from __future__ import annotations

import signal
import sys


def _interrupted_while_loading(_signum: int, _frame: object) -> None:
    """Ctrl-C before :func:`guarded` can catch it: the same line and exit 130, no traceback."""
    sys.stderr.write("envcheck: aborted\n")
    raise SystemExit(130)


# Importing the console module takes tens of milliseconds; without this, Ctrl-C in them is a
# KeyboardInterrupt traceback. An inherited "ignore" (a background job) stays as it is.
_LOADING = signal.getsignal(signal.SIGINT) is signal.default_int_handler
if _LOADING:
    try:
        signal.signal(signal.SIGINT, _interrupted_while_loading)
    except ValueError:  # imported outside the main thread: not the command line
        _LOADING = False

from .console import guarded, install_signal_policy, quick_snapshot_params, run_snapshot  # noqa: E402
from .errors import ExitCode  # noqa: E402

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds on every snapshot
    from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point (``envcheck``, ``python -m envcheck``)."""
    args = list(sys.argv[1:] if argv is None else argv)

    if _LOADING:  # from here on guarded() turns KeyboardInterrupt into exit 130
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def command() -> int:
        install_signal_policy()
        params = quick_snapshot_params(args)
        if params is None:
            # Importing click and the commands takes a moment: Ctrl-C in it is exit 130 too.
            from .cli import main as full

            return full(args)
        run_snapshot(**params)
        return int(ExitCode.OK)

    return guarded(command)
