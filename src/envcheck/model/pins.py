"""What a user's lock pins: plain records every lock format reads into.

A requirements.txt, pylock.toml, uv.lock, and conda's files (environment.yml, explicit
specs, conda-lock.yml, pixi.lock) each become one ``PinnedLock``; ``contract.check_pins``
holds the semantics they share.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple


class Pin(NamedTuple):
    """One package as a lock pins it (``name`` as the lock spells it)."""

    name: str
    version: str | None  # None: a direct reference without a version (a VCS or path pin)
    url: str | None = None  # a direct reference: archive, VCS or directory URL
    commit: str | None = None  # the VCS revision the lock names
    hashes: frozenset[str] = frozenset()  # "sha256:<hex>" of a direct archive
    editable: bool = False


class CondaPin(NamedTuple):
    """One conda package as a lock pins it; None where the lock says nothing.

    Complete locks (explicit specs, conda-lock.yml, pixi.lock) give the exact version and
    build string, and the archive's hashes; an environment.yml gives a conda version spec
    (``1.26.*``, ``>=12.4,<13``) and perhaps a build glob (``*mkl``) or a channel.
    """

    name: str
    version: str | None  # exact, or a conda version spec
    build: str | None  # exact, or a glob (``*mkl``)
    channel: str | None = None  # canonical name: ``conda-forge``
    subdir: str | None = None
    md5: str | None = None
    sha256: str | None = None


class PinnedLock(NamedTuple):
    """A lock file read into pins: what ``check_pins`` compares against."""

    label: str  # the file, as the user named it
    format: str  # "requirements.txt", "pylock.toml", "uv.lock", "environment.yml", ...
    pins: dict[str, Pin]  # PEP 503 normalised name -> pin (PyPI packages)
    records: Mapping[str, CondaPin] = {}  # conda package name -> pin (conda's locks)


class Selection(NamedTuple):
    """Which optional parts of a lock the environment is meant to have."""

    extras: frozenset[str] = frozenset()
    groups: frozenset[str] | None = None  # None: the lock's default groups


DEFAULT_SELECTION = Selection()  # no extras; the lock's default groups


def record_text(pin: CondaPin) -> str:
    """``3.9.0=20_linux64_mkl`` as a diff shows a conda record; the spec where not exact
    (``*`` where it pins any version: shown, never as "(none)")."""
    if pin.version is None and pin.build is None:
        return "*"
    return f"{pin.version or '*'}={pin.build}" if pin.build else (pin.version or "*")


def lock_document(lock: PinnedLock) -> dict[str, object]:
    """The lock's pins as the sections of a fingerprint document (packages, and conda's
    records where it pins any): the expected side's facts."""
    packages = {name: {"name": pin.name, "version": pin.version or pin.url or ""}
                for name, pin in sorted(lock.pins.items())}
    document: dict[str, object] = {"packages": packages}
    if lock.records:
        document["conda"] = {
            name: {key: value for key, value in pin._asdict().items() if value is not None}
            for name, pin in sorted(lock.records.items())}
    return document
