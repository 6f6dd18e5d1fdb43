"""Another interpreter (``--python PATH``): the probe runs there, fed on stdin.

Nothing is installed there. The package cache serves it as it serves this
interpreter: the parent names a cache file keyed by that interpreter, and the
probe there reads and updates it (entries are keyed by file stats). The child
starts before this process imports what it needs to read the answer, so the
two overlap.
"""

from __future__ import annotations

from .. import __version__, remote
from ..errors import OutputError
from ..paths import package_cache_file

TYPE_CHECKING = False
if TYPE_CHECKING:  # on the ``snapshot --python`` path
    from typing import Any

    from ..model import Fingerprint


def start_interpreter(python: str, nvml_timeout: float, use_cache: bool = True,
                      numerics_timeout: float | None = None) -> remote.RunningProbe:
    """Start the probe in the interpreter at ``python``, not waiting for it. Without
    ``use_cache`` the probe reads every package and writes the cache anew (a repair)."""
    command = remote.interpreter_command(python)
    try:
        cache: str | None = package_cache_file(python)
    except OutputError:  # nowhere to keep it: only a cache
        cache = None
    return remote.start_probe(command, nvml_timeout, f"--python {python}", cache,
                              numerics_timeout, fresh_cache=not use_cache)


def snapshot_interpreter(python: str, timeout: float, nvml_timeout: float,
                         use_cache: bool = True,
                         numerics_timeout: float | None = None) -> Fingerprint:
    """Fingerprint the interpreter at ``python``."""
    raw = _probe(python, timeout, nvml_timeout, use_cache, numerics_timeout)
    from ..errors import InputError
    from ..model import Fingerprint  # after the child has answered

    try:
        return Fingerprint.from_probe(raw, __version__)
    except InputError:
        if not use_cache:
            raise
    # Cached facts the model refuses (a damaged cache): read everything again.
    raw = _probe(python, timeout, nvml_timeout, False, numerics_timeout)
    return Fingerprint.from_probe(raw, __version__)


def _probe(python: str, timeout: float, nvml_timeout: float, use_cache: bool,
           numerics_timeout: float | None) -> dict[str, Any]:
    from ..processes import signals_deferred

    running = None
    try:
        # A signal between starting the child and holding it here would orphan its
        # group: it waits until ``running`` is set, then is acted on inside this try.
        with signals_deferred():
            running = start_interpreter(python, nvml_timeout, use_cache, numerics_timeout)
        # What reads the answer (the model, and the reader under it), imported while the
        # child starts rather than after it answers.
        from .. import model  # noqa: F401
        return running.result(timeout + (numerics_timeout or 0.0))
    except BaseException:  # Ctrl-C, SIGTERM or SIGHUP: the group goes too
        if running is not None:
            running.stop()
        raise
