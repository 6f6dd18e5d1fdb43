"""A conda-lock lockfile (``conda-lock.yml``): the ``package`` list, one entry per package
and platform, conda and pip alike, with the archive's hashes.

conda-lock writes format version 1 and reads 1 and 2 (its ``v2prelim`` model): version 1
marks packages outside the main category ``optional``, version 2 lists each package's
``categories``. What ``conda-lock install`` installs by default is the main category.
"""

from __future__ import annotations

import os
from typing import Any

from ..errors import InputError
from ..model import Fingerprint
from ..model.pins import PinnedLock
from ..reader import load_yaml
from .base import Request, pinned_fingerprint
from .conda_pins import CondaPin, conda_lock, pin_from_url, platform_subdir


def is_conda_lock(document: Any) -> bool:
    return isinstance(document, dict) and isinstance(document.get("package"), list) \
        and isinstance(document.get("metadata"), dict)


def parse(document: Any, source: str, current: Fingerprint | None,
          platform: str | None = None) -> PinnedLock:
    if not is_conda_lock(document):
        raise InputError(f"{source}: not a conda-lock file (no metadata or package list)")
    lock_version = document.get("version")
    if lock_version not in (1, 2):
        raise InputError(f"{source}: conda-lock format version {lock_version!r}; envcheck reads "
                         "versions 1 and 2")
    listed = document["metadata"].get("platforms") or []
    if not isinstance(listed, list):
        raise InputError(f"{source}: metadata.platforms is not a list")
    platforms = [str(p) for p in listed]
    platform = platform or platform_subdir(current) or (platforms[0] if platforms else None)
    if platform not in platforms:
        raise InputError(f"{source}: no platform {platform} (it locks {', '.join(platforms)})")
    pins: dict[str, CondaPin] = {}
    pypi: dict[str, str] = {}
    for index, entry in enumerate(document["package"]):
        if not isinstance(entry, dict) or entry.get("platform") != platform:
            continue
        if not _main(entry, lock_version):
            continue  # another category (dev, extras): installed only on request
        name, version = entry.get("name"), entry.get("version")
        if not isinstance(name, str) or not isinstance(version, str):
            raise InputError(f"{source}: package[{index}] has no name or version")
        if entry.get("manager") == "pip":
            pypi[name] = version
            continue
        hashes = entry["hash"] if isinstance(entry.get("hash"), dict) else {}
        pin = pin_from_url(str(entry.get("url") or ""), f"{source}: package[{index}]",
                           md5=hashes.get("md5"), sha256=hashes.get("sha256"), name=name,
                           version=version)
        pins[pin.name] = pin
    return conda_lock(f"{source} ({platform})", "conda-lock", pins, pypi)


def _main(entry: dict[str, Any], version: int) -> bool:
    """Whether ``conda-lock install`` installs the package without ``--dev``/``-e``."""
    if version == 1:
        return entry.get("optional") is not True
    categories = entry.get("categories")
    return not isinstance(categories, list) or "main" in categories


class CondaLockSource:
    kind = "conda-lock"
    expected_only = True

    def claims(self, spec: str) -> bool:
        return os.path.basename(spec).endswith(("conda-lock.yml", "conda-lock.yaml")) \
            and os.path.isfile(spec)

    def pins(self, spec: str, request: Request) -> PinnedLock:
        return parse(load_yaml(spec), spec, request.current)

    def load(self, spec: str, request: Request) -> Fingerprint:
        return pinned_fingerprint(self.pins(spec, request))
