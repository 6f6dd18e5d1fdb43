"""RPM's package database, where it is SQLite (RPM 4.16 and newer: Fedora 33+, RHEL 9, UBI 9).

Each row of its ``Packages`` table is one installed package's header, in RPM's header
format (rpm doc/manual/format.md): a count of index entries and the size of the data,
then entries of (tag, type, offset, count), all big-endian, then the data. The name,
epoch, version, release and architecture are read from it; nothing is executed, and
the database is opened read-only (immutable where even that needs a write). The
older Berkeley DB and NDB formats cannot be read with the standard library.
"""

from __future__ import annotations

import os
import struct

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds at start-up; annotations are strings
    from typing import Dict, List, Optional, Tuple

    from ._common import JSONDict

RPMDB_PATHS = ("/usr/lib/sysimage/rpm/rpmdb.sqlite", "/var/lib/rpm/rpmdb.sqlite")
TAG_NAME, TAG_VERSION, TAG_RELEASE, TAG_EPOCH, TAG_ARCH = 1000, 1001, 1002, 1003, 1022
TYPE_INT32, TYPE_STRING = 4, 6
_MAX_ENTRIES = 1 << 16
_MAX_PACKAGES = 1 << 17


class BadHeader(ValueError):
    """A header blob that is not in RPM's format."""


def header_fields(blob: bytes) -> Dict[int, object]:
    """Name, epoch, version, release and arch of one RPM header blob, by tag."""
    if len(blob) < 8:
        raise BadHeader("shorter than a header")
    count, size = struct.unpack(">II", blob[:8])
    base = 8 + count * 16
    if count > _MAX_ENTRIES or base + size > len(blob):
        raise BadHeader("index or data beyond the blob")
    fields: Dict[int, object] = {}
    for index in range(count):
        tag, kind, offset, items = struct.unpack_from(">iIiI", blob, 8 + index * 16)
        if tag not in (TAG_NAME, TAG_VERSION, TAG_RELEASE, TAG_EPOCH, TAG_ARCH):
            continue
        start = base + offset
        if offset < 0 or start >= base + size:
            raise BadHeader("tag %d points outside the data" % tag)
        if kind == TYPE_STRING and items == 1:
            end = blob.find(b"\0", start, base + size)
            if end < 0:
                raise BadHeader("unterminated string for tag %d" % tag)
            fields[tag] = blob[start:end].decode("utf-8", "replace")
        elif kind == TYPE_INT32 and items >= 1 and start + 4 <= base + size:
            fields[tag] = struct.unpack_from(">i", blob, start)[0]
    return fields


def rpm_packages(path: str) -> List[Tuple[str, JSONDict]]:
    """(name, {version, architecture, manager}) of every package in an rpmdb.sqlite."""
    import sqlite3  # only where an RPM database exists

    quoted = path.replace("%", "%25").replace("?", "%3f").replace("#", "%23")
    try:
        # Read-only, and with whatever the write-ahead log holds that is not merged yet.
        connection = sqlite3.connect("file:%s?mode=ro" % quoted, uri=True)
        connection.execute("SELECT 1 FROM Packages LIMIT 1")
    except sqlite3.OperationalError:
        # A read-only file system where the shared-memory file cannot be made: the main
        # file alone, promised unchanging (no lock taken, nothing written).
        connection = sqlite3.connect("file:%s?mode=ro&immutable=1" % quoted, uri=True)
    try:
        rows = connection.execute("SELECT blob FROM Packages LIMIT ?", (_MAX_PACKAGES,))
        found: List[Tuple[str, JSONDict]] = []
        for (blob,) in rows:
            fields = header_fields(bytes(blob))
            name = fields.get(TAG_NAME)
            if not isinstance(name, str):
                continue  # gpg-pubkey pseudo-packages have one; anything else is skipped
            version = "%s-%s" % (fields.get(TAG_VERSION), fields.get(TAG_RELEASE))
            epoch = fields.get(TAG_EPOCH)
            if isinstance(epoch, int):
                version = "%d:%s" % (epoch, version)
            found.append((name, {"version": version, "architecture": fields.get(TAG_ARCH),
                                 "manager": "rpm"}))
        return found
    finally:
        connection.close()


def rpmdb_path(root: str = "/") -> Optional[str]:
    for path in RPMDB_PATHS:
        candidate = os.path.join(root, path.lstrip("/"))
        if os.path.isfile(candidate):
            return candidate
    return None
