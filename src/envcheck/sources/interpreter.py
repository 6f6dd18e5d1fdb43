"""Another interpreter (``--python PATH``): the probe runs there, fed on stdin.

Nothing is installed there. The package cache serves it as it serves this
interpreter: the parent names a cache file keyed by that interpreter, and the
probe there reads and updates it (entries are keyed by file stats). The child
starts before this process imports what it needs to read the answer, so the
two overlap.
"""

from __future__ import annotations

from .. import remote
from ..errors import OutputError
from ..paths import memo_file, package_cache_file

TYPE_CHECKING = False
if TYPE_CHECKING:  # on the ``snapshot --python`` path
    from typing import Any

    from ..model import Fingerprint


def start_interpreter(python: str, nvml_timeout: float, use_cache: bool = True,
                      numerics_timeout: float | None = None,
                      witness: bool = False) -> remote.RunningProbe:
    """Start the probe in the interpreter at ``python``, not waiting for it. Without
    ``use_cache`` the probe reads every package and writes the cache anew (a repair).
    ``witness``: the probe also says what its answer was read from (envcheck.memo)."""
    command = remote.interpreter_command(python)
    try:
        cache: str | None = package_cache_file(python)
    except OutputError:  # nowhere to keep it: only a cache
        cache = None
    return remote.start_probe(command, nvml_timeout, f"--python {python}", cache,
                              numerics_timeout, fresh_cache=not use_cache, witness=witness)


def snapshot_interpreter(python: str, timeout: float, nvml_timeout: float,
                         use_cache: bool = True,
                         numerics_timeout: float | None = None) -> Fingerprint:
    """Fingerprint the interpreter at ``python``.

    While the probe's last answer about it still holds (``envcheck.memo``: every file
    and variable it was read from unchanged), the interpreter is not started at all:
    the target's sections come from that answer and the machine's are read here.
    """
    from .. import memo as memos

    try:
        memo: str | None = memo_file(python)
    except OutputError:
        memo = None

    def ask(fresh: bool) -> dict[str, Any]:
        return _probe(python, timeout, nvml_timeout, not fresh, numerics_timeout,
                      witness=memo is not None)

    return memos.snapshot(memo, ask, nvml_timeout, use_cache,
                          reusable=numerics_timeout is None, other_interpreter=True)


def _probe(python: str, timeout: float, nvml_timeout: float, use_cache: bool,
           numerics_timeout: float | None, witness: bool) -> dict[str, Any]:
    from ..processes import signals_deferred

    running = None
    try:
        # A signal between starting the child and holding it here would orphan its
        # group: it waits until ``running`` is set, then is acted on inside this try.
        with signals_deferred():
            running = start_interpreter(python, nvml_timeout, use_cache, numerics_timeout,
                                        witness)
        # What reads the answer (the model, and the reader under it), imported while the
        # child starts rather than after it answers.
        from .. import model  # noqa: F401
        return running.result(timeout + (numerics_timeout or 0.0))
    except BaseException:  # Ctrl-C, SIGTERM or SIGHUP: the group goes too
        if running is not None:
            running.stop()
        raise
