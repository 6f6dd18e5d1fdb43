"""This interpreter, or the environment a user means when they say ``.``.

On the snapshot path: standard library only at import time (no typing, no
dataclasses), since ``envcheck snapshot`` runs at the start of every job.
Resolution only: nothing here prints. A note for the user (such as "probing
the active virtualenv instead of envcheck's own") is returned as data and the
CLI decides where it goes.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from ..safetext import safe_text
from .defaults import DEFAULT_NVML_TIMEOUT, DEFAULT_TIMEOUT

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds on every snapshot
    from typing import Any

    from ..model import Fingerprint
    from .base import Request


class Target:
    """An interpreter to fingerprint; ``python`` None means this very process."""

    __slots__ = ("note", "python")

    def __init__(self, python: str | None, note: str | None = None) -> None:
        self.python = python
        self.note = note  # for the user: why this interpreter and not envcheck's own

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Target) and (self.python, self.note) == (other.python,
                                                                           other.note)

    def __hash__(self) -> int:
        return hash((self.python, self.note))

    def __repr__(self) -> str:
        return f"Target(python={self.python!r}, note={self.note!r})"


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


def _base_python() -> str | None:
    """The interpreter envcheck's own virtualenv was made from (pyvenv.cfg ``home``)."""
    try:
        with open(os.path.join(sys.prefix, "pyvenv.cfg"), encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    for line in lines:
        key, _, value = line.partition("=")
        if key.strip() == "home":
            for name in ("python3", "python"):
                path = os.path.join(value.strip(), name)
                if os.path.isfile(path):
                    return path
    return None


def default_target(environ: Mapping[str, str] | None = None) -> Target:
    """``$ENVCHECK_PYTHON`` (a path, or ``base``: the interpreter envcheck's own venv was
    made from, as in envcheck's image); else the active virtualenv or conda env when
    envcheck itself runs elsewhere (pipx); else us."""
    env = os.environ if environ is None else environ
    chosen = env.get("ENVCHECK_PYTHON")
    if chosen == "base":
        chosen = _base_python()
    if chosen:
        return Target(chosen)
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
    use_cache: bool = True,
    numerics_timeout: float | None = None,
) -> Fingerprint:
    """Fingerprint this interpreter (``python`` None) or the interpreter at ``python``.

    ``numerics_timeout``: also run the numeric canaries (in a child process of the
    target interpreter), bounded by that many seconds.

    Package facts are kept in a cache keyed by file stats, so a second snapshot
    of an unchanged environment re-reads no metadata.
    """
    if python is not None:
        from .interpreter import snapshot_interpreter

        return snapshot_interpreter(python, timeout, nvml_timeout, use_cache, numerics_timeout)
    from .. import memo as memos
    from .. import probe
    from ..errors import OutputError
    from ..paths import memo_file, package_cache_file
    from ..probe._common import Witness

    try:
        cache: str | None = package_cache_file()
        memo: str | None = memo_file()
    except OutputError:  # nowhere to keep them: only caches
        cache = memo = None

    def ask(fresh: bool) -> dict[str, Any]:
        # fresh (--no-cache): read every package and write the cache anew (a repair).
        return probe.collect(nvml_timeout=nvml_timeout, cache_path=cache,
                             numerics_timeout=numerics_timeout, fresh_cache=fresh,
                             witness=Witness() if memo is not None else None)

    return memos.snapshot(memo, ask, nvml_timeout, use_cache,
                          reusable=numerics_timeout is None)


def current_interpreter(python: str | None = None) -> str:
    """The interpreter ``.`` means now, as the history records it."""
    if python is not None:
        import shutil

        # As recorded: the probe's sys.executable is absolute; "python3" is found on PATH.
        # As the fingerprint spells it: a name that is not UTF-8 made visible.
        return safe_text(os.path.abspath(shutil.which(python) or python))
    return safe_text(default_target().python or sys.executable)


class LiveSource:
    """``.``: the live environment (``--python``, else the default target)."""

    kind = "live environment"
    expected_only = False

    def claims(self, spec: str) -> bool:
        return spec == "."

    def load(self, spec: str, request: Request) -> Fingerprint:
        return live(request.python or default_target().python, timeout=request.timeout)
