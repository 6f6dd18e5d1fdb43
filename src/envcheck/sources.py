"""Where a fingerprint comes from: this interpreter, another one, or a file.

Resolution only: nothing here prints. A note for the user (such as "probing
the active virtualenv instead of envcheck's own") is returned as data and the
CLI decides where it goes.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import NamedTuple

from . import __version__, probe
from .model import Fingerprint

DEFAULT_TIMEOUT = 120.0
DEFAULT_NVML_TIMEOUT = 5.0


class Target(NamedTuple):
    """An interpreter to fingerprint; ``python`` None means this very process."""

    python: str | None
    note: str | None = None


def _env_python(prefix: str) -> str | None:
    for candidate in ("bin/python", "bin/python3", "python.exe", "Scripts/python.exe"):
        path = os.path.join(prefix, candidate)
        if os.path.isfile(path):
            return path
    return None


def _same_prefix(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def default_target(environ: Mapping[str, str] | None = None) -> Target:
    """The active virtualenv or conda env when envcheck itself runs elsewhere (pipx), else us."""
    env = os.environ if environ is None else environ
    for variable in ("VIRTUAL_ENV", "CONDA_PREFIX"):
        prefix = env.get(variable)
        if not prefix or _same_prefix(prefix, sys.prefix):
            continue
        python = _env_python(prefix)
        if python is not None:
            return Target(python, f"fingerprinting the active environment {prefix} "
                                  f"(${variable}); pass --python to choose another")
    return Target(None)


def live(
    python: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    nvml_timeout: float = DEFAULT_NVML_TIMEOUT,
) -> Fingerprint:
    """Fingerprint this interpreter (``python`` None) or the interpreter at ``python``."""
    if python is None:
        raw = probe.collect(nvml_timeout=nvml_timeout)
    else:
        from . import remote

        raw = remote.run_probe(remote.interpreter_command(python), timeout, nvml_timeout,
                               what=f"--python {python}")
    return Fingerprint.from_probe(raw, __version__)
