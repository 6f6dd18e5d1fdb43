"""A PEP 751 ``pylock.toml`` as a lock: the packages that apply to the target.

Markers are evaluated for the target interpreter with PEP 751's ``extras`` and
``dependency_groups`` (the lock's ``default-groups`` unless groups are chosen).
Registry entries pin a version; ``vcs``, ``archive`` and ``directory`` entries
pin where the package comes from. Only as the expected side of ``check``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from ..errors import InputError
from ..model import Fingerprint
from ..model.pins import DEFAULT_SELECTION, Pin, PinnedLock, Selection
from ..probe.packages import normalize_name
from ..reader import load_toml
from .base import Markers, Request, pinned_fingerprint
from .markers import marker_applies


def _strings(value: object) -> frozenset[str]:
    return frozenset(v for v in value if isinstance(v, str)) if isinstance(value, list) \
        else frozenset()


def _source_pin(name: str, version: str | None, entry: Mapping[str, object], base: str) -> Pin:
    """Where a non-registry entry comes from."""
    vcs, archive, directory = entry.get("vcs"), entry.get("archive"), entry.get("directory")
    if isinstance(vcs, dict):
        url = str(vcs.get("url") or Path(base, str(vcs.get("path") or "")).resolve().as_uri())
        commit = vcs.get("commit-id")
        return Pin(name, version, url=url, commit=commit if isinstance(commit, str) else None)
    if isinstance(archive, dict):
        where = archive.get("url")
        archive_url = where if isinstance(where, str) else \
            Path(base, str(archive.get("path") or "")).resolve().as_uri()
        hashes = archive.get("hashes")
        found = frozenset(f"{k}:{v}".lower() for k, v in hashes.items()) \
            if isinstance(hashes, dict) else frozenset()
        return Pin(name, version, url=archive_url, hashes=found)
    if isinstance(directory, dict):
        url = Path(base, str(directory.get("path") or ".")).resolve().as_uri()
        return Pin(name, version, url=url, editable=bool(directory.get("editable")))
    return Pin(name, version)


def pylock_pins(path: str, markers: Markers | None = None,
                selection: Selection = DEFAULT_SELECTION) -> dict[str, Pin]:
    """The pins of a PEP 751 ``pylock.toml`` that apply to the target."""
    document = load_toml(path)
    entries = document.get("packages")
    if not isinstance(entries, list) or "lock-version" not in document:
        raise InputError(f"{path}: not a pylock.toml (no lock-version or [[packages]])")
    defaults = _strings(document.get("default-groups"))
    base = os.path.dirname(os.path.abspath(path))
    pins: dict[str, Pin] = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise InputError(f"{path}: packages[{index}] has no name")
        name = str(entry["name"])
        marker = entry.get("marker")
        if isinstance(marker, str) and not marker_applies(
                marker, markers, f"{path}: packages[{index}] ({name})", selection, defaults):
            continue
        version = entry.get("version")
        if version is not None and not isinstance(version, str):
            raise InputError(f"{path}: packages[{index}] ({name}): version is not a string")
        if version is None and not any(k in entry for k in ("vcs", "archive", "directory")):
            raise InputError(f"{path}: packages[{index}] ({name}) has neither a version nor "
                             "a source")
        pins[normalize_name(name)] = _source_pin(name, version, entry, base)
    return pins


class PylockSource:
    kind = "pylock.toml"
    expected_only = True

    def claims(self, spec: str) -> bool:
        # PEP 751 names the file pylock[.NAME].toml, but ``pip lock -o`` writes any name:
        # every TOML file on the expected side is read as one (and refused in one line if
        # it is not), never as a fingerprint that is "not JSON".
        return Path(spec).name.endswith(".toml") and os.path.isfile(spec)

    def pins(self, spec: str, request: Request) -> PinnedLock:
        return PinnedLock(spec, self.kind, pylock_pins(spec, request.markers, request.selection))

    def load(self, spec: str, request: Request) -> Fingerprint:
        return pinned_fingerprint(self.pins(spec, request))
