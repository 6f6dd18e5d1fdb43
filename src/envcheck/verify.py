"""``envcheck verify``: every installed file checked against its distribution's RECORD.

pip writes a hash and a size for each file of a wheel into ``RECORD`` and never
looks at them again. This module does. It finds the distributions the way the
probe does (same ``sys.path`` order, first copy of a name wins; shadowed copies
are never imported and are not checked), checks every file RECORD lists with a
hash, and reports per distribution

* ``modified``: the size or the hash differs from RECORD;
* ``missing``: RECORD lists the file and it is not there;
* ``added``: a file inside one of the distribution's own top-level directories
  (those its RECORD lists files in, ``__pycache__`` excluded) that no RECORD
  at that location lists;
* ``unchecked``: RECORD gives a hash but the file could not be checked
  (unreadable, not a regular file, an algorithm hashlib does not know);
* ``unverifiable``: no RECORD at all (egg-info, ``.egg``, some system
  packages), or one without a single hash. Never reported as clean.

RECORD lines without a hash (RECORD itself, ``.pyc`` files) are not checked.
Paths are relative to the directory holding the ``.dist-info``; ``../`` lines
(scripts, data files) are resolved from there too.

Speed. Hashing runs on one thread per usable core (hashlib releases the GIL
for buffers over 2 KiB, ``os.read`` always), largest files first so the
biggest starts at once and small ones fill the gaps; large files are read in
1 MiB blocks into one reused buffer per thread, small ones with one
``os.read``. Digests are cached in SQLite (``<data dir>/hash-cache.sqlite3``)
under the file's path, with its size, ``mtime_ns``, ``ctime_ns``, inode and
device: a second run over unchanged files only stats them. A cached digest is
used only while all five match, and a digest is cached only for a file whose
mtime and ctime were at least ``RACY_NS`` older than the run that hashed it,
so a write in the same timestamp tick as the hashing cannot hide (git's "racy
clean" problem; ctime because mtime can be set back, ctime cannot). A cache
that cannot be opened, read or written is a warning, never a failed verify.

A whole distribution's result is kept too (a *memo*), with the stamp of
everything it was computed from: each file checked, each directory listed in
the search for added files, the base directory (a distribution added or
removed changes it), and every metadata directory at the base with its
METADATA and RECORD (a neighbour's RECORD can claim a file), each stamped
before it is read. While every stamp matches, the result stands without
reading RECORD or listing a directory: one ``stat`` per file is all a second
run over an unchanged environment costs. A distribution with missing or
unchecked files, or with anything changed within ``RACY_NS`` of the run, gets
no memo.
The cache is as trustworthy as the directory it lives in: for an audit of a
machine you do not trust, verify with ``cache=None``.

Host-side code (Python 3.9+, standard library only); not part of the probe.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import csv
import hashlib
import io
import itertools
import json
import os
import posixpath
import sqlite3
import stat as stat_module
import sys
import threading
import time
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Union

from . import __version__
from .paths import data_dir
from .probe._common import Errors, read_bytes
from .probe.packages import (
    _NAME,
    _STDLIB_DISTS,
    _VALID_NAME,
    _VERSION,
    _metadata_dirs,
    _metadata_file,
    direct_url_facts,
    normalize_name,
    read_header_block,
)

__all__ = [
    "BLOCK",
    "RACY_NS",
    "HashCache",
    "Modified",
    "PackageResult",
    "Unchecked",
    "VerifyReport",
    "default_cache_path",
    "verify",
]

# Files under this size are read with one os.read; larger ones in blocks of it.
BLOCK = 1 << 20
# A digest is cached only for files whose mtime and ctime are this much older
# than the run that hashed them: covers 1-2 s timestamp granularity (FAT, HFS+, ext3) and the
# kernel's coarse clock, which lags time.time_ns() by up to a tick.
RACY_NS = 2_000_000_000
# Variable-length digests cannot be compared to a RECORD entry without a length.
_ALGORITHMS = frozenset(hashlib.algorithms_available) - {"shake_128", "shake_256"}
# O_NONBLOCK: a FIFO swapped in between stat and open must not hang a worker.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
_CACHE_FILE = "hash-cache.sqlite3"
_U63 = 1 << 63
_POSIX = os.sep == "/"
# For stats relative to a directory: O_PATH opens it without reading it (Linux).
_STAT_DIR_FD = os.stat in os.supports_dir_fd and _POSIX
_DIR_FLAGS = (getattr(os, "O_PATH", os.O_RDONLY) | getattr(os, "O_DIRECTORY", 0)
              | getattr(os, "O_CLOEXEC", 0))

Progress = Callable[[int, int], None]


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Modified:
    """A file whose size or content differs from RECORD (``algo=digest`` strings).

    ``actual`` is None when the sizes already differ: the file is not hashed then.
    """

    path: str
    expected: str
    actual: str | None
    expected_size: int | None
    size: int

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "expected": self.expected, "actual": self.actual,
                "expected_size": self.expected_size, "size": self.size}


@dataclass(frozen=True)
class Unchecked:
    """A file RECORD lists with a hash that could not be checked, and why."""

    path: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "reason": self.reason}


@dataclass
class PackageResult:
    """What verifying one distribution found; paths as RECORD writes them.

    ``files_checked`` counts the RECORD entries with a hash that were looked at
    (missing ones included, ``unchecked`` ones not).
    """

    name: str
    version: str
    location: str
    files_checked: int = 0
    modified: list[Modified] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    unchecked: list[Unchecked] = field(default_factory=list)
    unverifiable: str | None = None
    note: str | None = None

    @property
    def clean(self) -> bool:
        return (self.unverifiable is None and not self.modified and not self.missing
                and not self.added and not self.unchecked)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "location": self.location,
            "clean": self.clean,
            "files_checked": self.files_checked,
            "modified": [m.to_dict() for m in self.modified],
            "missing": list(self.missing),
            "added": list(self.added),
            "unchecked": [u.to_dict() for u in self.unchecked],
            "unverifiable": self.unverifiable,
            "note": self.note,
        }


@dataclass
class VerifyReport:
    """Every verified distribution, in name order, and how the run went.

    ``hashed`` files were read this run, ``cached`` ones took their digest from
    the hash cache; ``bytes_hashed`` is what was read. ``unchanged`` distributions
    were judged from their memo (nothing they depend on changed since the last
    run). ``not_found`` lists requested names that are not installed; ``warnings``
    what went wrong on the side (an unreadable directory, a cache that could not
    be written).
    """

    packages: list[PackageResult] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    hashed: int = 0
    cached: int = 0
    bytes_hashed: int = 0
    unchanged: int = 0
    workers: int = 1
    seconds: float = 0.0

    @property
    def clean(self) -> bool:
        """No finding anywhere, and every requested name found."""
        return not self.not_found and all(p.clean for p in self.packages)

    @property
    def counts(self) -> dict[str, int]:
        return {
            "packages": len(self.packages),
            "files_checked": sum(p.files_checked for p in self.packages),
            "modified": sum(len(p.modified) for p in self.packages),
            "missing": sum(len(p.missing) for p in self.packages),
            "added": sum(len(p.added) for p in self.packages),
            "unchecked": sum(len(p.unchecked) for p in self.packages),
            "unverifiable": sum(p.unverifiable is not None for p in self.packages),
            "not_found": len(self.not_found),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "clean": self.clean,
            "counts": self.counts,
            "packages": [p.to_dict() for p in self.packages],
            "not_found": list(self.not_found),
            "warnings": list(self.warnings),
            "stats": {"hashed": self.hashed, "cached": self.cached,
                      "unchanged": self.unchanged, "bytes_hashed": self.bytes_hashed,
                      "workers": self.workers,
                      "seconds": round(self.seconds, 4)},
        }


# --------------------------------------------------------------------------- cache


def default_cache_path() -> str:
    """``<data dir>/hash-cache.sqlite3``."""
    return os.path.join(data_dir(), _CACHE_FILE)


# (size, mtime_ns, ctime_ns, inode, device): what must not change for a cached
# digest or a memo to stay valid. Inode and device as SQLite's signed 64-bit integers.
_Stamp = tuple[int, int, int, int, int]
# A row: (path, size, mtime_ns, ctime_ns, inode, device, "algo=digest")
_Row = tuple[str, int, int, int, int, int, str]


def _stamp_of(st: os.stat_result) -> _Stamp:
    ino, dev = st.st_ino, st.st_dev
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns,
            ino if ino < _U63 else ino - 2 * _U63, dev if dev < _U63 else dev - 2 * _U63)


class _Memo:
    """A distribution's result, and the stamp of every path it was computed from."""

    __slots__ = ("paths", "result", "stamps")

    def __init__(self, paths: list[str], stamps: array[int], result: dict[str, Any]) -> None:
        self.paths = paths
        self.stamps = stamps  # five integers per path: a _Stamp
        self.result = result

    @classmethod
    def of(cls, stamped: Iterable[tuple[str, _Stamp]], result: dict[str, Any]) -> _Memo:
        paths: list[str] = []
        stamps = array("q")
        # Grouped by directory: ``holds`` stats each group relative to its directory.
        for path, stamp in sorted(stamped, key=lambda item: item[0].rpartition(os.sep)[0]):
            paths.append(path)
            stamps.extend(stamp)
        return cls(paths, stamps, result)

    def storable(self) -> bool:
        """Whether SQLite can store the paths as text (not a name that is not UTF-8)."""
        try:
            "\0".join(self.paths).encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True

    def holds(self, seen: dict[str, _Stamp]) -> bool:
        """Whether every path still has its stamp: the whole of a second run over it.

        One ``stat`` per path, relative to an ``O_PATH`` descriptor of its directory
        where the platform has them: the kernel then walks one name, not twelve.
        ``seen`` holds the stamps taken earlier in this run (the site directory and
        its metadata, which every memo at that base lists): each is taken once.
        """
        stat, open_dir, close = os.stat, os.open, os.close
        by_dir = _STAT_DIR_FD
        values = iter(self.stamps)
        parent, fd = None, -1
        try:
            for path, stamp in zip(self.paths, zip(values, values, values, values, values)):
                known = seen.get(path)
                if known is not None:
                    if known != stamp:
                        return False
                    continue
                if by_dir:
                    directory, _, name = path.rpartition(os.sep)
                    if directory != parent:
                        if fd >= 0:
                            close(fd)
                            fd = -1
                        fd = open_dir(directory or os.sep, _DIR_FLAGS)
                        parent = directory
                    st = stat(name, dir_fd=fd)
                else:
                    st = stat(path)
                now = seen[path] = _stamp_of(st)
                if now != stamp:
                    return False
        except OSError:
            return False
        finally:
            if fd >= 0:
                close(fd)
        return True


def _below(directory: str) -> tuple[str, str]:
    """The text range of every path below ``directory``: ``low <= path < high``."""
    low = directory.rstrip(os.sep) + os.sep
    return low, low[:-1] + chr(ord(os.sep) + 1)


_SCHEMA_VERSION = 2
_SCHEMAS = ("""
CREATE TABLE hashes (
    path TEXT PRIMARY KEY NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    device INTEGER NOT NULL,
    digest TEXT NOT NULL,
    checked_ns INTEGER NOT NULL
) WITHOUT ROWID
""", """
CREATE TABLE memos (
    info_path TEXT PRIMARY KEY NOT NULL,
    paths TEXT NOT NULL,
    stamps BLOB NOT NULL,
    result TEXT NOT NULL,
    checked_ns INTEGER NOT NULL
) WITHOUT ROWID
""")
_COLUMNS = "path, size, mtime_ns, ctime_ns, inode, device, digest"


class HashCache:
    """File digests in SQLite: path -> ``algo=digest``, valid for one stat stamp.

    ``HashCache()`` uses :func:`default_cache_path`; ``HashCache(":memory:")``
    lives as long as the object. The database is opened on first use and used
    only from the thread that calls :func:`verify`. Methods raise
    ``sqlite3.Error`` or ``OSError``; :func:`verify` turns those into warnings.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = default_cache_path() if path is None else os.fspath(path)
        self._db: sqlite3.Connection | None = None

    def __enter__(self) -> HashCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _connect(self) -> sqlite3.Connection:
        if self._db is not None:
            return self._db
        if self.path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), mode=0o700, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=2.0)
        try:
            if db.execute("PRAGMA user_version").fetchone()[0] != _SCHEMA_VERSION:
                with db:
                    db.execute("DROP TABLE IF EXISTS hashes")
                    db.execute("DROP TABLE IF EXISTS memos")
                    for schema in _SCHEMAS:
                        db.execute(schema)
                    db.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")
            if self.path != ":memory:":  # readers never wait; not on every file system
                with contextlib.suppress(sqlite3.OperationalError):
                    db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            db.close()
            raise
        self._db = db
        return db

    def open(self) -> list[str]:
        """Open the database, replacing one that is damaged; returns warnings."""
        try:
            self._connect()
            return []
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) or \
                    os.path.basename(self.path) != _CACHE_FILE:
                raise  # locked or read-only; or a file of a name that is not ours to delete
            for suffix in ("", "-wal", "-shm", "-journal"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.path + suffix)
            self._connect()
            return [f"hash cache {self.path} was damaged ({exc}); started a new one"]

    def load_under(self, directory: str) -> dict[str, _Row]:
        """Every entry for a path below ``directory`` (absolute), by path."""
        rows = self._connect().execute(
            f"SELECT {_COLUMNS} FROM hashes WHERE path >= ? AND path < ?", _below(directory))
        return {row[0]: row for row in rows}

    def get(self, path: str) -> _Row | None:
        row: _Row | None = self._connect().execute(
            f"SELECT {_COLUMNS} FROM hashes WHERE path = ?", (path,)).fetchone()
        return row

    def update(self, rows: Iterable[tuple[str, _Stamp, str]] = (), forget: Iterable[str] = (),
               memos: Iterable[tuple[str, _Memo]] = (), stale: Iterable[str] = (),
               checked_ns: int | None = None) -> None:
        """In one transaction: store ``(path, stamp, "algo=digest")`` rows and drop the
        entries of ``forget``; store ``(info_path, memo)`` pairs and drop the memos of
        ``stale``."""
        checked = time.time_ns() if checked_ns is None else checked_ns
        db = self._connect()
        with db:
            db.executemany(
                "INSERT OR REPLACE INTO hashes VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                ((path, *stamp, digest, checked) for path, stamp, digest in rows))
            db.executemany("DELETE FROM hashes WHERE path = ?", ((p,) for p in forget))
            db.executemany(
                "INSERT OR REPLACE INTO memos VALUES (?, ?, ?, ?, ?)",
                ((info_path, "\0".join(memo.paths), memo.stamps.tobytes(),
                  json.dumps(memo.result, separators=(",", ":")), checked)
                 for info_path, memo in memos))
            db.executemany("DELETE FROM memos WHERE info_path = ?", ((p,) for p in stale))

    def memo(self, info_path: str) -> _Memo | None:
        """The memo of the distribution at ``info_path``, if there is a well-formed one."""
        row = self._connect().execute(
            "SELECT paths, stamps, result FROM memos WHERE info_path = ?", (info_path,)
        ).fetchone()
        if row is None or not isinstance(row[0], str) or not isinstance(row[1], bytes) \
                or not isinstance(row[2], str) or len(row[1]) % array("q").itemsize:
            return None
        stamps = array("q")
        stamps.frombytes(row[1])
        paths = row[0].split("\0")
        try:
            result = json.loads(row[2])
        except (ValueError, RecursionError):
            return None
        if len(stamps) != 5 * len(paths) or not isinstance(result, dict):
            return None
        return _Memo(paths, stamps, result)

    def memos_under(self, directory: str) -> list[str]:
        """The keys (dist-info paths) of every memo below ``directory`` (absolute)."""
        return [row[0] for row in self._connect().execute(
            "SELECT info_path FROM memos WHERE info_path >= ? AND info_path < ?",
            _below(directory))]

    def clear(self) -> None:
        db = self._connect()
        with db:
            db.execute("DELETE FROM hashes")
            db.execute("DELETE FROM memos")

    def __len__(self) -> int:
        count: int = self._connect().execute("SELECT COUNT(*) FROM hashes").fetchone()[0]
        return count


# --------------------------------------------------------------------------- discovery


@dataclass
class _Dist:
    key: str
    name: str
    version: str
    location: str  # the sys.path entry, as the probe reports it
    info_path: str
    fmt: str

    @property
    def base(self) -> str:
        """The directory RECORD paths are relative to (an egg-link's target, not the entry)."""
        return os.path.abspath(os.path.dirname(self.info_path))


def _distributions(paths: list[str], errors: Errors,
                   stamps: dict[str, list[tuple[str, _Stamp]]] | None = None) -> Iterator[_Dist]:
    """Every distribution on ``paths`` in import order: the probe's walk, keeping the path.

    With ``stamps``: every metadata directory found, its metadata file and RECORD,
    stamped before anything is read, by base directory (what memos depend on).
    """
    for location in paths:
        if not location:
            continue
        for info_path, fmt in _metadata_dirs(location, errors):
            if stamps is not None:
                found = stamps.setdefault(os.path.dirname(os.path.abspath(info_path)), [])
                for path in (info_path, _metadata_file(info_path, fmt),
                             os.path.join(info_path, "RECORD")):
                    with contextlib.suppress(OSError, ValueError):
                        found.append((os.path.abspath(path), _stamp_of(os.stat(path))))
            stem = os.path.basename(info_path if fmt != "egg" else os.path.dirname(info_path))
            if not _VALID_NAME.match(os.path.splitext(stem)[0].split("-", 1)[0]):
                continue  # a leftover (pip's ``~orch.dist-info``): the probe ignores it too
            try:
                block = read_header_block(_metadata_file(info_path, fmt))
            except OSError:
                continue  # no metadata: the probe skips it too (and says so in a snapshot)
            end = block.find("\n\n")
            header = block if end < 0 else block[:end]
            name, version = _NAME.search(header), _VERSION.search(header)
            if name and version and name.group(1) and version.group(1):
                yield _Dist(normalize_name(name.group(1)), name.group(1), version.group(1),
                            location, info_path, fmt)


def _unverifiable(dist: _Dist) -> str | None:
    if dist.fmt.startswith("dist-info"):
        return None
    if dist.fmt.endswith("+egg-link"):
        return "an editable egg-link install (setup.py develop): no RECORD to check against"
    if dist.fmt == "egg":
        return "an .egg install: no RECORD to check against"
    return ("installed with egg-info metadata (setup.py install or a system package "
            "manager): no RECORD to check against")


def _editable_note(dist: _Dist) -> str | None:
    facts = direct_url_facts(dist.info_path)
    if facts and facts.get("editable"):
        return ("editable install: RECORD covers only the import hook, not the source tree at "
                f"{facts.get('url')}")
    return None


# --------------------------------------------------------------------------- RECORD


class _Record:
    """One RECORD: every path it lists, and the lines with a hash.

    ``hashed`` holds ``[path, "algo=digest", size]`` lists with the path
    normalised ('/'-separated, relative); ``shown`` maps such a path back to how
    RECORD writes it, where the two differ.
    """

    __slots__ = ("claimed", "hashed", "outside", "shown", "tops")

    def __init__(self, data: bytes) -> None:
        text = data.decode("utf-8", "surrogateescape")
        rows: list[list[str]]
        if '"' in text:  # a quoted path (a comma or quote in a name): let csv do it
            rows = [row for row in csv.reader(io.StringIO(text, newline="")) if row]
        else:  # the usual case, four times faster over torch's 15,000 lines
            rows = [line.rsplit(",", 2) for line in text.splitlines() if line]
        if any(len(row) != 3 or not row[0] for row in rows):  # malformed: pad, drop blanks
            rows = [[*row, "", ""][:3] for row in rows if row[0].strip()]
        self.shown: dict[str, str] = {}
        if "\\" in text or "//" in text or "/./" in text or "\n./" in text or text[:2] == "./":
            for row in rows:
                rel = _normal(row[0])
                if rel != row[0]:
                    self.shown[rel], row[0] = row[0], rel
        self.claimed: set[str] = {row[0] for row in rows}
        self.hashed: list[list[str]] = [row for row in rows if row[1]]
        self.tops = _top_dirs(self.claimed)
        # Paths not simply below the base: ``../`` (scripts, data), absolute ones.
        self.outside = {rel for rel in self.claimed
                        if rel[:3] == "../" or rel[:1] == "/" or "/../" in rel}
        if not _POSIX:
            self.outside.update(rel for rel in self.claimed
                                if ".." in rel or os.path.isabs(rel))


def _normal(path: str) -> str:
    """``a//b``, ``./a``, ``a\\b`` as ``a/b``; a leading ``../`` stays."""
    if "\\" in path or "//" in path or "/./" in path or path[:2] == "./":
        return posixpath.normpath(path.replace("\\", "/"))
    return path


def _top_dirs(rels: Iterable[str]) -> set[str]:
    """The distribution's own top-level directories: those its RECORD lists files in."""
    tops = {rel.partition("/")[0] for rel in rels if "/" in rel}
    return tops - {"..", "__pycache__", ".", ""}


def _dirs(rels: Iterable[str]) -> set[str]:
    """Every directory that holds a listed path, at any depth."""
    dirs: set[str] = set()
    for rel in rels:
        path = rel
        while "/" in path:
            path = path.rsplit("/", 1)[0]
            if path in dirs:
                break
            dirs.add(path)
    return dirs


def _same_digest(actual: str, expected: str) -> bool:
    """``algo=digest`` pairs equal up to spelling: case, padding, standard base64, hex."""
    algo_a, _, digest_a = actual.partition("=")
    algo_e, _, digest_e = expected.partition("=")
    if algo_a.lower() != algo_e.strip().lower():
        return False
    digest_e = digest_e.strip()
    try:
        raw = base64.urlsafe_b64decode(digest_a + "=" * (-len(digest_a) % 4))
        if len(digest_e) == 2 * len(raw) and digest_e.lower() == raw.hex():
            return True
        padded = digest_e.rstrip("=") + "=" * (-len(digest_e.rstrip("=")) % 4)
        return base64.b64decode(padded.replace("-", "+").replace("_", "/"),
                                validate=True) == raw
    except (binascii.Error, ValueError):
        return False


# --------------------------------------------------------------------------- walking


class _Tree:
    """The files under a base directory's top-level directories, ``__pycache__`` left out.

    Each directory is stamped just before it is listed, for memos; a top-level
    directory whose walk met an error has no stamps (``dir_stamps`` None).
    """

    def __init__(self, base: str, warnings: list[str]) -> None:
        self.base = base
        self._warnings = warnings
        self._listings: dict[str, tuple[list[str], list[tuple[str, _Stamp]] | None]] = {}

    def listing(self, top: str) -> list[str]:
        if top not in self._listings:
            found: list[str] = []
            dirs: list[tuple[str, _Stamp]] = []
            complete = self._scan(os.path.join(self.base, top), top + "/", found, dirs)
            self._listings[top] = (found, dirs if complete else None)
        return self._listings[top][0]

    def dir_stamps(self, top: str) -> list[tuple[str, _Stamp]] | None:
        self.listing(top)
        return self._listings[top][1]

    def _scan(self, path: str, prefix: str, found: list[str],
              dirs: list[tuple[str, _Stamp]]) -> bool:
        subdirs: list[str] = []
        try:
            dirs.append((path, _stamp_of(os.stat(path))))
            with os.scandir(path) as entries:
                for entry in entries:
                    try:
                        is_dir = entry.is_dir(follow_symlinks=False)
                    except OSError:
                        is_dir = False
                    if not is_dir:
                        found.append(prefix + entry.name)
                    elif entry.name != "__pycache__":
                        subdirs.append(entry.name)
        except FileNotFoundError:
            return False
        except OSError as exc:
            self._warnings.append(f"cannot list {path}: {exc.strerror or exc}")
            return False
        complete = True
        for name in subdirs:
            complete &= self._scan(os.path.join(path, name), f"{prefix}{name}/", found, dirs)
        return complete


def _added(tree: _Tree, record: _Record, neighbours: Callable[[], list[_Record]]) -> list[str]:
    """Files in ``record``'s top-level directories that no RECORD at its base lists."""
    extra = [rel for top in sorted(record.tops) for rel in tree.listing(top)
             if rel not in record.claimed]
    if not extra:
        return []
    # Namespace packages share directories (nvidia/ holds a dozen wheels): a file
    # another RECORD lists is theirs, and an unlisted file belongs to whichever
    # distribution has files deepest along its path.
    others = [r for r in neighbours() if r is not record]
    extra = [rel for rel in extra if not any(rel in r.claimed for r in others)]
    sharing = [r for r in others if r.tops & record.tops]
    if not extra or not sharing:
        return extra
    mine, theirs = _dirs(record.claimed), _dirs(itertools.chain(*(r.claimed for r in sharing)))
    kept = []
    for rel in extra:
        path = rel
        while "/" in path:
            path = path.rsplit("/", 1)[0]
            if path in mine:
                kept.append(rel)  # at equal depth both distributions report it
                break
            if path in theirs:
                break
    return kept


# --------------------------------------------------------------------------- hashing


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # type: ignore[attr-defined,unused-ignore]
    except (AttributeError, OSError):
        return os.cpu_count() or 1


_readv = getattr(os, "readv", None)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _hash_file(path: str, algo: str, size: int, view: memoryview, done: list[int], slot: int,
               stop: threading.Event) -> str:
    """``algo=digest`` of one file, reading to its end even if it grew since the stat."""
    fd = os.open(path, _OPEN_FLAGS)
    try:
        digest = hashlib.sha256() if algo == "sha256" else hashlib.new(algo)
        if size < BLOCK:
            data = os.read(fd, size + 1)
            digest.update(data)
            done[slot] += len(data)
            if len(data) == size:  # the whole file, as stat saw it: one read
                return f"{algo}={_b64(digest.digest())}"
            # Grown, shrunk or a short read: read on to the end.
        elif hasattr(os, "posix_fadvise"):
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
        while not stop.is_set():
            if _readv is not None:
                count = _readv(fd, [view])
                if not count:
                    break
                digest.update(view[:count])
            else:  # no readv (Windows): a fresh buffer per block
                chunk = os.read(fd, BLOCK)
                if not chunk:
                    break
                count = len(chunk)
                digest.update(chunk)
            done[slot] += count
        return f"{algo}={_b64(digest.digest())}"
    finally:
        os.close(fd)


_Job = tuple[str, str, int]  # absolute path, algorithm, size at stat
_Outcome = Union[str, OSError, None]  # "algo=digest", why it could not be read, or not run


def _hash_all(jobs: list[_Job], workers: int, progress: Progress | None, done_before: int,
              total: int) -> list[_Outcome]:
    """Hash ``jobs`` (sorted largest first) on ``workers`` threads."""
    results: list[_Outcome] = [None] * len(jobs)
    if not jobs:
        return results
    counter = itertools.count()  # next() is atomic under the GIL: a lock-free work queue
    done = [0] * workers
    stop = threading.Event()
    failures: list[BaseException] = []

    def work(slot: int) -> None:
        view = memoryview(bytearray(BLOCK))
        try:
            while not stop.is_set():
                index = next(counter)
                if index >= len(jobs):
                    return
                path, algo, size = jobs[index]
                try:
                    results[index] = _hash_file(path, algo, size, view, done, slot, stop)
                except OSError as exc:
                    results[index] = exc
        except BaseException as exc:  # pragma: no cover - MemoryError and the like
            failures.append(exc)
            stop.set()

    threads = [threading.Thread(target=work, args=(slot,), name=f"envcheck-verify-{slot}",
                                daemon=True) for slot in range(min(workers, len(jobs)))]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            while thread.is_alive():
                thread.join(0.1 if progress is not None else None)
                if progress is not None:
                    progress(min(done_before + sum(done), total), total)
    except BaseException:
        stop.set()  # Ctrl-C or a failing callback: the workers stop at their next block
        raise
    if failures:
        raise failures[0]
    return results


# --------------------------------------------------------------------------- verify


# A file to hash, then judge: (result, path as RECORD writes it, absolute path,
# algorithm, "algo=digest" of RECORD, RECORD's size or None, stamp at stat)
_Pending = tuple[PackageResult, str, str, str, str, Union[int, None], _Stamp]


def _bad_hash(algo: str, digest: str, rel: str, record: _Record, result: PackageResult) -> bool:
    """Note a RECORD hash that cannot be checked; False for a mere spelling (``SHA256=``)."""
    name = algo.strip().lower()
    if name in _ALGORITHMS and digest.partition("=")[2].strip():
        return False
    reason = (f"malformed hash {digest!r}" if name in _ALGORITHMS
              else f"unsupported hash algorithm {name!r}")
    result.unchecked.append(Unchecked(record.shown.get(rel, rel), reason))
    return True


def verify(
    paths: list[str] | None = None,
    packages: Iterable[str] | None = None,
    workers: int | None = None,
    cache: HashCache | None = None,
    progress: Progress | None = None,
) -> VerifyReport:
    """Check the installed files of the distributions on ``paths`` (``sys.path``) against RECORD.

    ``packages`` limits the check to those names (any spelling; a name that is
    not installed lands in ``not_found``). ``workers`` defaults to the usable
    cores. ``cache`` None hashes every file; pass ``HashCache()`` for the
    persistent cache. ``progress(done, total)`` is called in the calling thread
    about ten times a second while hashing, in bytes (cached files count as done).
    """
    started = time.perf_counter()
    now_ns = time.time_ns()
    racy_before = now_ns - RACY_NS
    errors = Errors()
    report = VerifyReport(workers=max(1, workers or _usable_cores()))
    wanted = None if packages is None else {normalize_name(p): p for p in packages}
    search = list(sys.path) if paths is None else list(paths)

    # 0. Each search path entry's stamp, before it is listed: a memo depends on it.
    entry_stamps: dict[str, _Stamp] = {}
    for location in search:
        with contextlib.suppress(OSError, ValueError):
            entry_stamps[os.path.abspath(location)] = _stamp_of(os.stat(location))

    # 1. Distributions: the first copy of each name; every dist-info by base directory,
    #    since a neighbour's RECORD can claim files in a shared (namespace) directory.
    chosen: dict[str, _Dist] = {}
    at_base: dict[str, dict[str, _Dist]] = {}
    metadata_stamps: dict[str, list[tuple[str, _Stamp]]] = {}
    for dist in _distributions(search, errors, metadata_stamps if cache is not None else None):
        if dist.fmt.startswith("dist-info"):
            at_base.setdefault(dist.base, {}).setdefault(dist.info_path, dist)
        if dist.key not in _STDLIB_DISTS and dist.key not in chosen and (
                wanted is None or dist.key in wanted):
            chosen[dist.key] = dist
    if wanted is not None:
        report.not_found = sorted(wanted[k] for k in wanted if k not in chosen)
    report.warnings.extend(e["message"] for e in errors.entries if e["kind"] != "skipped")

    usable = cache is not None and bool(chosen)
    if cache is not None and usable:
        try:
            report.warnings.extend(cache.open())
        except (sqlite3.Error, OSError, ValueError) as exc:
            report.warnings.append(f"hash cache {cache.path} unusable, hashing everything: "
                                   f"{exc}")
            usable = False

    records: dict[str, _Record | None] = {}

    def read_record(dist: _Dist) -> _Record:
        """RECORD (raises OSError)."""
        record = _Record(read_bytes(dist.info_path + os.sep + "RECORD"))
        records[dist.info_path] = record
        return record

    def record_of(dist: _Dist) -> _Record | None:
        if dist.info_path not in records:
            try:
                read_record(dist)
            except OSError:
                records[dist.info_path] = None
        return records[dist.info_path]

    def neighbours(base: str) -> Callable[[], list[_Record]]:
        return lambda: [r for d in at_base.get(base, {}).values()
                        if (r := record_of(d)) is not None]

    # 2. Each distribution: its memo while it holds, else its RECORD.
    verified: list[tuple[PackageResult, _Dist, _Record]] = []
    seen: dict[str, _Stamp] = {}  # stamps taken by memo checks in this run
    cached_bytes = 0
    for key in sorted(chosen):
        dist = chosen[key]
        result = PackageResult(dist.name, dist.version, dist.location)
        report.packages.append(result)
        result.unverifiable = _unverifiable(dist)
        if result.unverifiable is not None:
            continue
        if usable and cache is not None and _memo_applies(dist, entry_stamps):
            try:
                memo = cache.memo(os.path.abspath(dist.info_path))
            except sqlite3.Error as exc:
                report.warnings.append(f"hash cache lookup failed, checking instead: {exc}")
                memo = None
            counts = _apply_memo(memo.result, result) if memo and memo.holds(seen) else None
            if counts is not None:
                result.note = _editable_note(dist)
                report.unchanged += 1
                report.cached += counts[0]
                cached_bytes += counts[1]
                continue
        try:
            record = read_record(dist)
        except FileNotFoundError:
            result.unverifiable = f"no RECORD in {dist.info_path}"
            continue
        except OSError as exc:
            result.unverifiable = f"RECORD unreadable: {exc.strerror or exc}"
            continue
        if not record.hashed:
            result.unverifiable = "RECORD lists no hashes"
            continue
        result.note = _editable_note(dist)
        verified.append((result, dist, record))

    # 3. The cache: one range query per base directory, single lookups for the rest.
    entries: dict[str, _Row] = {}
    loaded = tuple(sorted({dist.base + os.sep for _, dist, _ in verified}))
    if cache is not None and usable and verified:
        try:
            for base in loaded:
                entries.update(cache.load_under(base))
        except (sqlite3.Error, OSError, ValueError) as exc:
            report.warnings.append(f"hash cache {cache.path} unusable, hashing everything: "
                                   f"{exc}")
            usable = False

    # 4. Stat every file with a hash; judge sizes and cached digests at once; queue
    #    the rest for hashing. The hot loop of a run without memos: 12,000 files for torch.
    queued: dict[tuple[str, str], int] = {}
    pending: list[_Pending] = []
    forget: list[str] = []
    stamped: dict[str, list[tuple[str, _Stamp]]] = {}  # info_path -> files and their stamps
    counted: dict[str, list[int]] = {}  # info_path -> [digests judged, their bytes]
    stat, is_reg = os.stat, stat_module.S_ISREG
    for result, dist, record in verified:
        prefix, shown, outside = dist.base + os.sep, record.shown, record.outside
        files = stamped[dist.info_path] = []
        judged = counted[dist.info_path] = [0, 0]
        for rel, digest, size_text in record.hashed:
            algo, _, value = digest.partition("=")
            if algo not in _ALGORITHMS or not value:
                if _bad_hash(algo, digest, rel, record, result):
                    continue
                algo = algo.strip().lower()
            if outside and rel in outside:  # a script or data file (``../../../bin/x``)
                path = os.path.normpath(os.path.join(dist.base, rel))
            else:
                path = prefix + rel if _POSIX else prefix + rel.replace("/", os.sep)
            try:
                st = stat(path)
            except (FileNotFoundError, NotADirectoryError):
                result.files_checked += 1
                result.missing.append(shown.get(rel, rel))
                if path in entries:
                    forget.append(path)
                continue
            except OSError as exc:
                result.unchecked.append(Unchecked(shown.get(rel, rel), exc.strerror or str(exc)))
                continue
            if not is_reg(st.st_mode):
                result.unchecked.append(Unchecked(shown.get(rel, rel), "not a regular file"))
                continue
            result.files_checked += 1
            stamp = _stamp_of(st)
            files.append((path, stamp))
            size = int(size_text) if size_text.isdecimal() and len(size_text) < 20 else None
            if size is not None and st.st_size != size:
                result.modified.append(Modified(shown.get(rel, rel), digest, None, size,
                                                st.st_size))
                continue  # no need to read it
            judged[0] += 1
            judged[1] += stamp[0]
            entry = entries.get(path)
            if entry is None and usable and cache is not None and not path.startswith(loaded):
                try:
                    entry = cache.get(path)
                except (sqlite3.Error, ValueError) as exc:
                    report.warnings.append(f"hash cache lookup failed, hashing instead: {exc}")
                    usable = False
            if entry is not None and entry[1:6] == stamp and (
                    entry[6] == digest or entry[6].partition("=")[0] == algo):
                report.cached += 1
                cached_bytes += stamp[0]
                if entry[6] != digest and not _same_digest(entry[6], digest):
                    result.modified.append(Modified(shown.get(rel, rel), digest, entry[6], size,
                                                    st.st_size))
                continue
            queued.setdefault((path, algo), stamp[0])
            pending.append((result, shown.get(rel, rel), path, algo, digest, size, stamp))

    # 5. Files nobody's RECORD lists, in each distribution's own directories.
    trees = {base: _Tree(base, report.warnings) for base in {d.base for _, d, _ in verified}}
    for result, dist, record in verified:
        result.added = _added(trees[dist.base], record, neighbours(dist.base))

    # 6. Hash what is left, largest first, and judge it.
    jobs: list[_Job] = sorted(((path, algo, size) for (path, algo), size in queued.items()),
                              key=lambda job: job[2], reverse=True)
    total = cached_bytes + sum(job[2] for job in jobs)
    if progress is not None:
        progress(cached_bytes, total)
    outcomes: dict[tuple[str, str], _Outcome] = {}
    for (path, algo, nbytes), outcome in zip(
            jobs, _hash_all(jobs, report.workers, progress, cached_bytes, total)):
        outcomes[path, algo] = outcome
        if isinstance(outcome, str):
            report.hashed += 1
            report.bytes_hashed += nbytes
    if progress is not None:
        progress(total, total)
    fresh: dict[str, tuple[str, _Stamp, str]] = {}
    for result, shown_path, path, algo, digest, size, stamp in pending:
        outcome = outcomes.get((path, algo))
        if isinstance(outcome, (FileNotFoundError, NotADirectoryError)):
            result.missing.append(shown_path)  # gone between the stat and the read
        elif isinstance(outcome, OSError) or outcome is None:
            result.files_checked -= 1
            result.unchecked.append(Unchecked(shown_path, getattr(outcome, "strerror", None)
                                              or str(outcome or "not hashed")))
        else:
            if outcome != digest and not _same_digest(outcome, digest):
                result.modified.append(Modified(shown_path, digest, outcome, size, stamp[0]))
            # Only a file last changed before the run: a write in the same clock tick
            # as the hashing would keep its stamp. ctime, since mtime can be set back.
            if max(stamp[1], stamp[2]) < racy_before:
                fresh[path] = (path, stamp, outcome)

    for result in report.packages:  # RECORD order, whatever came from the cache or a thread
        result.missing.sort()
        result.added.sort()
        result.modified.sort(key=lambda m: m.path)
        result.unchecked.sort(key=lambda u: u.path)

    # 7. Memos for what was checked in full, where every input can be stamped.
    memos: list[tuple[str, _Memo]] = []
    stale: list[str] = []
    for result, dist, record in verified:
        key = os.path.abspath(dist.info_path)
        inputs = _memo_inputs(dist, record, result, entry_stamps, trees[dist.base],
                              stamped[dist.info_path], metadata_stamps)
        if inputs is None or any(max(s[1], s[2]) >= racy_before for _, s in inputs):
            stale.append(key)
            continue
        digests, digest_bytes = counted[dist.info_path]
        memo = _Memo.of(inputs, {
            "envcheck": __version__,
            "files_checked": result.files_checked,
            "modified": [m.to_dict() for m in result.modified],
            "added": result.added,
            "cached": digests,
            "bytes": digest_bytes,
        })
        if memo.storable():
            memos.append((key, memo))
        else:
            stale.append(key)
    if usable and cache is not None and verified:
        try:  # memos of distributions no longer installed at a base checked in full
            present = {os.path.abspath(path) for ds in at_base.values() for path in ds}
            stale += [key for base in loaded for key in cache.memos_under(base)
                      if key not in present]
        except sqlite3.Error as exc:
            report.warnings.append(f"hash cache {cache.path} not pruned: {exc}")
    if usable and cache is not None and (fresh or forget or memos or stale):
        try:
            cache.update(fresh.values(), forget, memos, stale, now_ns)
        except (sqlite3.Error, OSError, ValueError, OverflowError, UnicodeError) as exc:
            report.warnings.append(f"hash cache {cache.path} not updated: {exc}")
    report.seconds = time.perf_counter() - started
    return report


def _memo_applies(dist: _Dist, entry_stamps: dict[str, _Stamp]) -> bool:
    """A dist-info directly on a search path entry (not through an egg-link) can have a memo."""
    return dist.fmt == "dist-info" and dist.base in entry_stamps


def _memo_inputs(dist: _Dist, record: _Record, result: PackageResult,
                 entry_stamps: dict[str, _Stamp], tree: _Tree, files: list[tuple[str, _Stamp]],
                 metadata_stamps: dict[str, list[tuple[str, _Stamp]]],
                 ) -> list[tuple[str, _Stamp]] | None:
    """Every path ``result`` was computed from, with its stamp; None if one is unknown.

    Only a result without missing or unchecked files: a file that is not there has no
    stamp to compare, and a later run must look again. Every metadata directory at
    the base counts, with its metadata file and RECORD: which of them parse decides
    whose RECORD can claim a file, and a folder's stamp changes when a file in it
    comes or goes.
    """
    if result.missing or result.unchecked or not _memo_applies(dist, entry_stamps):
        return None
    if len(files) != result.files_checked or dist.base not in metadata_stamps:
        return None
    inputs = [(dist.base, entry_stamps[dist.base]), *metadata_stamps[dist.base]]
    for top in sorted(record.tops):
        dirs = tree.dir_stamps(top)
        if dirs is None:
            return None
        inputs.extend(dirs)
    inputs.extend(sorted(files))
    return inputs


def _apply_memo(memo: dict[str, Any], result: PackageResult) -> tuple[int, int] | None:
    """Fill ``result`` from a memo's result, and return (digests, their bytes) it counted.

    None, with ``result`` untouched, for a memo of another envcheck version or one
    that is not exactly the shape written (the cache file is not trusted).
    """
    def number(value: object) -> int:
        if type(value) is not int or value < 0:
            raise ValueError(value)
        return value

    def text(value: object, none: bool = False) -> Any:
        if not (isinstance(value, str) or (none and value is None)):
            raise ValueError(value)
        return value

    try:
        if memo.get("envcheck") != __version__:
            return None
        modified = [Modified(text(m["path"]), text(m["expected"]), text(m["actual"], True),
                             None if m["expected_size"] is None else number(m["expected_size"]),
                             number(m["size"])) for m in memo["modified"]]
        added = [text(rel) for rel in memo["added"]]
        counts = number(memo["cached"]), number(memo["bytes"])
        files_checked = number(memo["files_checked"])
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    result.files_checked, result.modified, result.added = files_checked, modified, added
    return counts


def verify_interpreter(python: str | None, packages: tuple[str, ...] = (),
                       use_cache: bool = True, progress: Progress | None = None) -> VerifyReport:
    """:func:`verify` over this interpreter's sys.path, or ``python``'s (read by its probe)."""
    from .sources.live import live

    paths = None
    if python is not None:
        paths = list((live(python, use_cache=False).data.get("python") or {}).get("sys_path")
                     or [])
    return verify(paths, packages or None, cache=HashCache() if use_cache else None,
                  progress=progress)
