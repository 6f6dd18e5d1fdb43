"""What a user's lock pins: plain records every lock format reads into.

A requirements.txt, pylock.toml, uv.lock (and conda's files) each become one
``PinnedLock``; ``contract.check_pins`` holds the semantics they share.
"""

from __future__ import annotations

from typing import NamedTuple


class Pin(NamedTuple):
    """One package as a lock pins it (``name`` as the lock spells it)."""

    name: str
    version: str | None  # None: a direct reference without a version (a VCS or path pin)
    url: str | None = None  # a direct reference: archive, VCS or directory URL
    commit: str | None = None  # the VCS revision the lock names
    hashes: frozenset[str] = frozenset()  # "sha256:<hex>" of a direct archive
    editable: bool = False


class PinnedLock(NamedTuple):
    """A lock file read into pins: what ``check_pins`` compares against."""

    label: str  # the file, as the user named it
    format: str  # "requirements.txt", "pylock.toml", "uv.lock", ...
    pins: dict[str, Pin]  # PEP 503 normalised name -> pin


class Selection(NamedTuple):
    """Which optional parts of a lock the environment is meant to have."""

    extras: frozenset[str] = frozenset()
    groups: frozenset[str] | None = None  # None: the lock's default groups


DEFAULT_SELECTION = Selection()  # no extras; the lock's default groups
