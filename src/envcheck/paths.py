"""Where envcheck keeps its own files (XDG rules; ENVCHECK_HOME overrides everything)."""

from __future__ import annotations

import hashlib
import os
import sys


def _home(variable: str, fallback: str) -> str:
    override = os.environ.get("ENVCHECK_HOME")
    if override:
        return override
    base = os.environ.get(variable) or os.path.join(os.path.expanduser("~"), fallback)
    return os.path.join(base, "envcheck")


def cache_dir() -> str:
    """Disposable caches: ``$ENVCHECK_HOME/cache`` or ``$XDG_CACHE_HOME/envcheck``."""
    if os.environ.get("ENVCHECK_HOME"):
        return os.path.join(os.environ["ENVCHECK_HOME"], "cache")
    return _home("XDG_CACHE_HOME", ".cache")


def package_cache_file() -> str:
    """The package cache of this interpreter and search path (each venv gets its own)."""
    key = hashlib.sha256("\0".join([sys.executable, *sys.path]).encode()).hexdigest()[:16]
    return os.path.join(cache_dir(), f"packages-{key}.json")
