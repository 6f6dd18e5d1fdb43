"""Distributions a Debian package installed: checked against dpkg's md5sums, not RECORD.

Debian builds its ``python3-*`` packages from source, strips their extension
modules after install and moves their scripts, so a RECORD left in the package
describes files that were never installed as such: checked against it, every
stripped ``.so`` would be "modified" and every script "missing". dpkg keeps its
own record of what it installed: ``/var/lib/dpkg/info/<package>[:<arch>].list``
(every path) and ``.md5sums`` (a digest per regular file). A distribution whose
metadata directory one of those lists names is checked against that package's
md5sums instead, as ``dpkg --verify`` would, and a change is reported exactly as
one against RECORD is. Only files are read; dpkg is never run.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import os

from ..probe._common import read_bytes
from .record import _Record

DPKG_INFO = "/var/lib/dpkg/info"
# Debian installs below /usr, never into /usr/local (the administrator's): only
# distributions there are looked up, and only then are the .list files read.
_SYSTEM_PREFIX = "/usr/"
_LOCAL_PREFIX = "/usr/local/"
_METADATA_SUFFIXES = (b".dist-info", b".egg-info", b"/EGG-INFO")


def may_be_packaged(info_path: str) -> bool:
    """Whether a distribution's metadata lies where a Debian package could have put it."""
    path = os.path.abspath(info_path)
    return path.startswith(_SYSTEM_PREFIX) and not path.startswith(_LOCAL_PREFIX)


class DpkgDatabase:
    """What dpkg recorded in ``info_dir``, read on first use and only as far as needed."""

    def __init__(self, info_dir: str = DPKG_INFO) -> None:
        self.info_dir = info_dir
        self._owners: dict[str, str] | None = None

    def owner(self, info_path: str) -> str | None:
        """The package (``name`` or ``name:arch``, as its files are named) whose file
        list names the metadata directory ``info_path``; None for none."""
        if self._owners is None:
            self._owners = self._metadata_owners()
        path = os.path.abspath(info_path)
        found = self._owners.get(path)
        if found is None:
            found = self._owners.get(os.path.realpath(path))
        return found

    def _metadata_owners(self) -> dict[str, str]:
        """Every metadata directory some package's ``.list`` names -> that package."""
        owners: dict[str, str] = {}
        try:
            names = sorted(os.listdir(self.info_dir))
        except OSError:
            return owners  # no dpkg here (or not readable): nothing is packaged
        for name in names:
            if not name.endswith(".list"):
                continue
            try:
                data = read_bytes(os.path.join(self.info_dir, name))
            except OSError:
                continue
            data += b"\n"
            if not any(suffix + b"\n" in data for suffix in _METADATA_SUFFIXES):
                continue  # most packages: one search in C, no line split
            for line in data.split(b"\n"):
                if line.endswith(_METADATA_SUFFIXES):
                    owners.setdefault(os.fsdecode(line), name[:-5])
        return owners

    def record(self, package: str, base: str) -> _Record | None:
        """``package``'s files as a RECORD relative to ``base``: md5sums' digests, and
        every other path its file list names (unhashed: directories, symlinks,
        configuration files). None when dpkg kept no md5sums for it.

        Raises OSError when the file list cannot be read.
        """
        try:
            sums = read_bytes(os.path.join(self.info_dir, package + ".md5sums"))
        except FileNotFoundError:
            return None
        listed = read_bytes(os.path.join(self.info_dir, package + ".list"))
        rows: dict[str, list[str]] = {}
        for line in listed.split(b"\n"):
            if line.startswith(b"/"):
                rows.setdefault(os.fsdecode(line), [])
        for line in sums.split(b"\n"):
            digest, _, name = line.partition(b"  ")
            if not name:
                continue
            try:
                raw = binascii.unhexlify(digest)
            except (binascii.Error, ValueError):
                raw = b""
            # A digest that is not 32 hex digits: verify reports the file unchecked.
            value = base64.urlsafe_b64encode(raw).rstrip(b"=").decode() if len(raw) == 16 else ""
            rows["/" + os.fsdecode(name).lstrip("/")] = [f"md5={value}"]
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        shown: dict[str, str] = {}
        for path, digest_field in rows.items():
            if path in ("/", "/."):
                continue
            rel = os.path.relpath(path, base)
            rel = rel if os.sep == "/" else rel.replace(os.sep, "/")
            if rel.startswith("../"):
                shown[rel] = path  # outside the site directory: shown as dpkg writes it
            writer.writerow([rel, *(digest_field or [""]), ""])
        record = _Record(buffer.getvalue().encode("utf-8", "surrogateescape"))
        record.shown.update(shown)
        return record
