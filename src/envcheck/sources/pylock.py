"""A PEP 751 ``pylock.toml``: the packages that apply to the target interpreter.

Packages only, and only as the expected side of ``check``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..model import Fingerprint
from ..probe.packages import normalize_name
from ..reader import load_toml
from .base import Markers, Request


def parse_pylock(path: str, markers: Markers | None = None) -> dict[str, Any]:
    """The packages of a PEP 751 ``pylock.toml`` that apply to this interpreter."""
    from packaging.markers import InvalidMarker, Marker

    document = load_toml(path)
    entries = document.get("packages")
    if not isinstance(entries, list) or "lock-version" not in document:
        raise InputError(f"{path}: not a pylock.toml (no lock-version or [[packages]])")
    packages: dict[str, Any] = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise InputError(f"{path}: packages[{index}] has no name")
        marker = entry.get("marker")
        try:
            if isinstance(marker, str) and not Marker(marker).evaluate(markers):
                continue
        except InvalidMarker as exc:
            raise InputError(f"{path}: packages[{index}]: bad marker ({exc})") from exc
        version = entry.get("version")
        if not isinstance(version, str):
            raise InputError(f"{path}: {entry['name']} has no version (VCS and directory "
                             "entries cannot be checked)")
        packages[normalize_name(entry["name"])] = {"name": entry["name"], "version": version}
    return packages


class PylockSource:
    kind = "pylock.toml"
    expected_only = True

    def claims(self, spec: str) -> bool:
        name = Path(spec).name
        return os.path.exists(spec) and name.endswith(".toml") and (
            name == "pylock.toml" or name.startswith("pylock."))

    def load(self, spec: str, request: Request) -> Fingerprint:
        return Fingerprint.packages_only(parse_pylock(spec, request.markers), spec, self.kind)
