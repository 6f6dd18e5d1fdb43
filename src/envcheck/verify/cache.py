"""The hash cache and per-distribution memos, in SQLite beside the history."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from array import array
from collections.abc import Iterable
from typing import Any

from ..paths import data_dir
from .common import (
    _CACHE_FILE,
    _DIR_FLAGS,
    _STAT_DIR_FD,
    _U63,
)

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
