"""RPM's package database: SQLite (RPM 4.16 and newer: Fedora 33+, RHEL 9, UBI 9) or
Berkeley DB (older RPM: CentOS 7 and 8, RHEL 7 and 8, Amazon Linux 2).

Each record of its ``Packages`` table (SQLite) or ``Packages`` hash database (Berkeley DB)
is one installed package's header, in RPM's header format (rpm doc/manual/format.md): a
count of index entries and the size of the data, then entries of (tag, type, offset,
count), all big-endian, then the data. The name, epoch, version, release and architecture
are read from it; nothing is executed. SQLite is opened read-only (immutable where even
that needs a write); the Berkeley DB file is read as bytes, its hash pages walked as
Berkeley DB 5 lays them out (dbinc/db_page.h): no library, no lock, no environment files.
SUSE's NDB format is not read.
"""

from __future__ import annotations

import os
import struct

from ._common import isfile, open_fd, watch

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds at start-up; annotations are strings
    from typing import Callable, Dict, List, Optional, Tuple

    from ._common import JSONDict

RPMDB_PATHS = ("/usr/lib/sysimage/rpm/rpmdb.sqlite", "/var/lib/rpm/rpmdb.sqlite",
               "/var/lib/rpm/Packages")
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


def _sqlite_blobs(path: str) -> List[bytes]:
    import sqlite3  # only where an RPM database exists

    # Noted with its write-ahead log: a committed install may sit there, the main file
    # unchanged, until a checkpoint.
    watch(path)
    watch(path + "-wal")
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
        return [bytes(blob) for (blob,) in rows]
    finally:
        connection.close()


# ---- Berkeley DB hash databases (db-5.3 dbinc/db_page.h) -------------------------------

_HASH_MAGIC = 0x061561
_PAGE_HEADER = 26  # lsn 8, pgno 4, prev 4, next 4, entries 2, hf_offset 2, level 1, type 1
_P_HASH_UNSORTED, _P_OVERFLOW, _P_HASH = 2, 7, 13
_H_KEYDATA, _H_OFFPAGE = 1, 3
_DBMETA_CHKSUM = 0x01
_MAX_BDB_BYTES = 1 << 30


class BadDatabase(ValueError):
    """A file that is not a Berkeley DB hash database envcheck can walk."""


def _bdb_layout(head: bytes) -> Tuple[str, int, int]:
    """(byte order, page size, last page) from the metadata page, or BadDatabase."""
    if len(head) < 72:
        raise BadDatabase("shorter than a Berkeley DB metadata page")
    for order in ("<", ">"):
        if struct.unpack_from(order + "I", head, 12)[0] == _HASH_MAGIC:
            break
    else:
        raise BadDatabase("not a Berkeley DB hash database")
    page_size, = struct.unpack_from(order + "I", head, 20)
    if head[26] & _DBMETA_CHKSUM or head[24]:
        raise BadDatabase("checksummed or encrypted Berkeley DB pages")
    if page_size < 512 or page_size > 65536 or page_size & (page_size - 1):
        raise BadDatabase("page size %d" % page_size)
    last, = struct.unpack_from(order + "I", head, 32)
    return order, page_size, last


def _overflow(read: "Callable[[int], bytes]", order: str, first: int, total: int,
              pages: int) -> bytes:
    """A value stored on a chain of overflow pages (``total`` bytes from page ``first``)."""
    chunks: List[bytes] = []
    length, page, seen = 0, first, 0
    while page and length < total:
        seen += 1
        if page > pages or seen > pages:
            raise BadDatabase("overflow chain beyond the file or in a loop")
        data = read(page)
        next_page, used = struct.unpack_from(order + "IxxH", data, 16)
        if data[25] != _P_OVERFLOW or _PAGE_HEADER + used > len(data):
            raise BadDatabase("page %d is not an overflow page" % page)
        chunks.append(data[_PAGE_HEADER:_PAGE_HEADER + used])
        length += used
        page = next_page
    value = b"".join(chunks)
    if len(value) != total:
        raise BadDatabase("overflow value of %d bytes, %d found" % (total, len(value)))
    return value


def bdb_values(path: str) -> List[bytes]:
    """Every value of a Berkeley DB hash database (keys left out), in page order."""
    with os.fdopen(open_fd(path), "rb") as handle:
        order, page_size, last = _bdb_layout(handle.read(512))
        size = os.fstat(handle.fileno()).st_size
        if size > _MAX_BDB_BYTES:
            raise BadDatabase("larger than %d MiB" % (_MAX_BDB_BYTES >> 20))
        pages = min(last, size // page_size - 1)

        def read(number: int) -> bytes:
            handle.seek(number * page_size)
            return handle.read(page_size)

        values: List[bytes] = []
        for number in range(1, pages + 1):
            page = read(number)
            if len(page) < _PAGE_HEADER or page[25] not in (_P_HASH, _P_HASH_UNSORTED):
                continue
            entries, = struct.unpack_from(order + "H", page, 20)
            if _PAGE_HEADER + 2 * entries > len(page):
                raise BadDatabase("page %d: %d entries do not fit" % (number, entries))
            offsets = struct.unpack_from(order + "%dH" % entries, page, _PAGE_HEADER)
            # Items pair up as key, value; each ends where the one before it starts.
            for index in range(1, entries, 2):
                start = offsets[index]
                end = offsets[index - 1]
                if not _PAGE_HEADER + 2 * entries <= start < end <= len(page):
                    raise BadDatabase("page %d: item %d outside the page" % (number, index))
                kind = page[start]
                if kind == _H_KEYDATA:
                    values.append(page[start + 1:end])
                elif kind == _H_OFFPAGE and end - start >= 12:
                    first, total = struct.unpack_from(order + "II", page, start + 4)
                    values.append(_overflow(read, order, first, total, pages))
                if len(values) > _MAX_PACKAGES:
                    raise BadDatabase("more than %d records" % _MAX_PACKAGES)
        return values


def rpm_packages(path: str) -> List[Tuple[str, JSONDict]]:
    """(name, {version, architecture, manager}) of every package in an rpmdb.sqlite or a
    Berkeley DB ``Packages`` file."""
    with os.fdopen(open_fd(path), "rb") as handle:
        sqlite = handle.read(16) == b"SQLite format 3\0"
    # Berkeley DB's record 0 holds the next instance number (4 bytes), not a header.
    blobs = _sqlite_blobs(path) if sqlite else [v for v in bdb_values(path) if len(v) != 4]
    found: List[Tuple[str, JSONDict]] = []
    for blob in blobs:
        fields = header_fields(blob)
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


def rpmdb_path(root: str = "/") -> Optional[str]:
    for path in RPMDB_PATHS:
        candidate = os.path.join(root, path.lstrip("/"))
        if isfile(candidate):
            return candidate
    return None
