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
    from ..model import Fingerprint


def start_interpreter(python: str, nvml_timeout: float, use_cache: bool = True,
                      numerics_timeout: float | None = None) -> remote.RunningProbe:
    """Start the probe in the interpreter at ``python``, not waiting for it."""
    command = remote.interpreter_command(python)
    cache = None
    if use_cache:
        try:
            cache = package_cache_file(python)
        except OutputError:  # nowhere to keep it: only a cache
            cache = None
    return remote.start_probe(command, nvml_timeout, f"--python {python}", cache,
                              numerics_timeout)


def snapshot_interpreter(python: str, timeout: float, nvml_timeout: float,
                         use_cache: bool = True,
                         numerics_timeout: float | None = None) -> Fingerprint:
    """Fingerprint the interpreter at ``python``."""
    running = start_interpreter(python, nvml_timeout, use_cache, numerics_timeout)
    try:
        from ..model import Fingerprint  # while the child runs

        raw = running.result(timeout + (numerics_timeout or 0.0))
    except BaseException:  # Ctrl-C, SIGTERM or SIGHUP while importing: the group goes too
        running.stop()
        raise
    return Fingerprint.from_probe(raw, __version__)
