"""Another interpreter (``--python PATH``): the probe runs there, fed on stdin."""

from __future__ import annotations

from .. import __version__, remote
from ..model import Fingerprint


def snapshot_interpreter(python: str, timeout: float, nvml_timeout: float) -> Fingerprint:
    """Fingerprint the interpreter at ``python``; nothing is installed there."""
    raw = remote.run_probe(remote.interpreter_command(python), timeout, nvml_timeout,
                           what=f"--python {python}")
    return Fingerprint.from_probe(raw, __version__)
