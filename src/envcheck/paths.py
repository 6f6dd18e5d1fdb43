"""Where envcheck keeps its own files.

``$ENVCHECK_HOME`` overrides everything; otherwise the XDG Base Directory rules,
where a relative ``XDG_*`` value is ignored, as the specification requires.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path


def _xdg(variable: str, fallback: tuple[str, ...]) -> Path:
    value = os.environ.get(variable)
    if value and os.path.isabs(value):
        return Path(value) / "envcheck"
    return Path.home().joinpath(*fallback, "envcheck")


def data_dir() -> Path:
    """The history and the hash cache: ``$ENVCHECK_HOME`` or ``$XDG_DATA_HOME/envcheck``."""
    home = os.environ.get("ENVCHECK_HOME")
    return Path(home).expanduser() if home else _xdg("XDG_DATA_HOME", (".local", "share"))


def cache_dir() -> Path:
    """Disposable caches: ``$ENVCHECK_HOME/cache`` or ``$XDG_CACHE_HOME/envcheck``."""
    home = os.environ.get("ENVCHECK_HOME")
    return Path(home).expanduser() / "cache" if home else _xdg("XDG_CACHE_HOME", (".cache",))


def package_cache_file() -> str:
    """The package cache of this interpreter and search path (each venv gets its own)."""
    key = hashlib.sha256("\0".join([sys.executable, *sys.path]).encode()).hexdigest()[:16]
    return str(cache_dir() / f"packages-{key}.json")
