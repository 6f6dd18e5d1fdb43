"""The console entry point (``envcheck``, ``python -m envcheck``).

The everyday forms of ``envcheck snapshot`` run through :mod:`envcheck.console`
without importing click; everything else goes to :mod:`envcheck.cli`. This
module is the only one that knows both, so neither imports the other's caller.
"""

from __future__ import annotations

import sys

from .console import guarded, install_signal_policy, quick_snapshot_params, run_snapshot
from .errors import ExitCode

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds on every snapshot
    from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point (``envcheck``, ``python -m envcheck``)."""
    args = list(sys.argv[1:] if argv is None else argv)

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
