"""Where envcheck keeps its own files.

``$ENVCHECK_HOME`` overrides everything; otherwise the XDG Base Directory rules,
where a relative ``XDG_*`` value is ignored, as the specification requires.
Plain strings, not ``pathlib``: this runs on every snapshot, and pathlib's import
alone costs milliseconds.
"""

from __future__ import annotations

import os
import sys

from .digest import sha256
from .errors import OutputError


def _xdg(variable: str, fallback: tuple[str, ...]) -> str:
    value = os.environ.get(variable)
    if value and os.path.isabs(value):
        return os.path.join(value, "envcheck")
    home = os.path.expanduser("~")
    if not os.path.isabs(home):  # no $HOME and no passwd entry: never "./~"
        raise OutputError("no home directory to keep envcheck's files in: set ENVCHECK_HOME "
                          "(or HOME)")
    return os.path.join(home, *fallback, "envcheck")


def data_dir() -> str:
    """The history and the hash cache: ``$ENVCHECK_HOME`` or ``$XDG_DATA_HOME/envcheck``."""
    home = os.environ.get("ENVCHECK_HOME")
    return os.path.expanduser(home) if home else _xdg("XDG_DATA_HOME", (".local", "share"))


def cache_dir() -> str:
    """Disposable caches: ``$ENVCHECK_HOME/cache`` or ``$XDG_CACHE_HOME/envcheck``."""
    home = os.environ.get("ENVCHECK_HOME")
    if home:
        return os.path.join(os.path.expanduser(home), "cache")
    return _xdg("XDG_CACHE_HOME", (".cache",))


def package_cache_file(python: str | None = None) -> str:
    """The package cache of an interpreter and search path (each venv gets its own).

    ``python`` None: this interpreter. Another one is keyed by its path, the file it
    resolves to with that file's stats (a rebuilt venv gets a new cache), and the
    PYTHONPATH it inherits; entries inside are keyed by file stats either way.
    """
    return os.path.join(cache_dir(), f"packages-{_target_key(python)}.json")


def memo_file(python: str | None = None) -> str:
    """The probe's last answer about an interpreter (``envcheck.memo``), keyed as the
    package cache is."""
    return os.path.join(cache_dir(), f"memo-{_target_key(python)}.json")


def _target_key(python: str | None) -> str:
    if python is None:
        parts = [sys.executable, *sys.path]
    else:
        python = _found_on_path(python)
        real = os.path.realpath(python)
        try:
            st = os.stat(real)
            stamp = f"{st.st_ino}:{st.st_mtime_ns}:{st.st_size}"
        except OSError:
            stamp = "?"
        parts = ["other", os.path.abspath(python), real, stamp,
                 os.environ.get("PYTHONPATH", "")]
    return sha256(os.fsencode("\0".join(parts))).hexdigest()[:16]


def _found_on_path(python: str) -> str:
    """The file a name without a directory (``python3``) starts, as the probe's child is
    started: the first executable of that name on PATH, which another venv activated
    changes (as the history names it too). A name found nowhere, or a path, stays."""
    if os.sep in python:
        return python
    import shutil  # only for a bare name: shutil costs the snapshot path a millisecond

    return shutil.which(python) or python
