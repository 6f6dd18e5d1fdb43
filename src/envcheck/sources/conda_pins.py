"""What the conda lock formats share: package file names into pins, digests, and which
conda platform (subdir) the environment being checked is.

Each format reads its file into a ``PinnedLock`` whose ``records`` are ``CondaPin``
values (and whose ``pins`` are its PyPI packages); ``contract.check_pins`` holds the
environment to it with the same semantics as a Python lock: every pinned record must
match, records the lock does not name are listed.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import InputError
from ..model import Fingerprint
from ..model.pins import CondaPin, Pin, PinnedLock
from ..probe.conda import channel_name
from ..probe.packages import normalize_name

__all__ = ["CondaPin", "conda_lock", "pin_from_url", "platform_subdir"]

_ARCHIVE = re.compile(r"^(?P<name>.+)-(?P<version>[^-]+)-(?P<build>[^-]+)\.(?:conda|tar\.bz2)$")
_HEX = re.compile(r"^[0-9a-f]+$")
# Which conda subdir an interpreter's platform is, where no conda record says it.
_SUBDIRS = {("Linux", "x86_64"): "linux-64", ("Linux", "aarch64"): "linux-aarch64",
            ("Linux", "ppc64le"): "linux-ppc64le", ("Darwin", "x86_64"): "osx-64",
            ("Darwin", "arm64"): "osx-arm64", ("Windows", "AMD64"): "win-64"}


def pin_from_url(url: str, source: str, md5: str | None = None, sha256: str | None = None,
                 name: str | None = None, version: str | None = None,
                 build: str | None = None) -> CondaPin:
    """A pin from a package URL: ``CHANNEL/SUBDIR/NAME-VERSION-BUILD.conda``."""
    directory, _, filename = url.rpartition("/")
    match = _ARCHIVE.match(filename)
    if match is None and not (name and version):
        raise InputError(f"{source}: {url}: not a conda package file name (NAME-VERSION-BUILD"
                         ".conda or .tar.bz2)")
    subdir = directory.rpartition("/")[2] or None
    return CondaPin(name or (match.group("name") if match else ""),
                    version or (match.group("version") if match else None),
                    build or (match.group("build") if match else None),
                    channel_name(directory, subdir), subdir, _digest(md5, 32, source, url),
                    _digest(sha256, 64, source, url))


def _digest(value: Any, length: int, source: str, url: str) -> str | None:
    if value is None:
        return None
    text = str(value).lower()
    if len(text) != length or not _HEX.match(text):
        raise InputError(f"{source}: {url}: not a {'md5' if length == 32 else 'sha256'} "
                         f"digest: {str(value)[:80]!r}")
    return text


def platform_subdir(current: Fingerprint | None) -> str | None:
    """The conda subdir of the environment being checked: its records', else its platform's."""
    if current is None:
        return None
    subdirs = [str(r.get("subdir")) for r in (current.data.get("conda") or {}).values()
               if isinstance(r, dict) and r.get("subdir") not in (None, "noarch")]
    if subdirs:
        return max(sorted(set(subdirs)), key=subdirs.count)
    system = str(current.os.get("system"))
    machine = str(current.cpu.get("architecture"))
    return _SUBDIRS.get((system, machine))


def conda_lock(label: str, kind: str, records: dict[str, CondaPin],
               pypi: dict[str, str]) -> PinnedLock:
    """The lock: conda records by name, PyPI packages (name -> exact version) by PEP 503 name."""
    pins = {normalize_name(name): Pin(name, version) for name, version in pypi.items()}
    return PinnedLock(label, kind, pins, dict(sorted(records.items())))
