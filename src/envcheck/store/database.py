"""SQLite underneath the history: where it lives, stamps, packing, and what an error means.

Busy and corrupt databases are told apart here (SQLite's result codes), retried
with back-off, and a damaged file is confirmed under a lock before anything is
moved aside. Nothing here knows what an entry is.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import time
import zlib
from collections.abc import Iterator

from ..errors import EnvcheckError, InputError
from ..model import canonical_json
from ..paths import data_dir
from ..reader import DocumentError, parse_json

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing, datetime and pathlib cost milliseconds on every snapshot
    from datetime import datetime
    from typing import Callable, TypeVar


    _T = TypeVar("_T")


FILENAME = "history.sqlite3"
BUSY_TIMEOUT_S = 10.0  # SQLite's own busy handler waits this long for a lock ...
LOCK_DEADLINE_S = 30.0  # ... and _retry keeps trying (with back-off) up to this long
_COMPRESSION = 9  # each distinct blob is compressed once: spend the CPU for size

class HistoryCorrupt(InputError):
    """The history database is damaged (not a database, a malformed page, or ``logical``:
    values SQLite reads fine but envcheck never writes)."""

    def __init__(self, message: str, logical: bool = False) -> None:
        super().__init__(message)
        self.logical = logical


class _Damaged(ValueError):
    """SQLite reads the file, but a value in it has a type or shape envcheck never writes
    (a blob stored as text, ``rest`` that is not an object, a bad time): damage too."""


# SQLite primary result codes (the low byte of an extended code).
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_CORRUPT, _SQLITE_NOTADB = 5, 6, 11, 26


# ---- location -------------------------------------------------------------------------

def default_path() -> str:
    """Where the history lives unless a path is given."""
    return os.path.join(data_dir(), FILENAME)


# ---- small helpers --------------------------------------------------------------------

def _now() -> datetime:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc)


def _stamp(moment: datetime) -> str:
    """ISO 8601 in UTC, fixed width (``2026-01-10T09:30:00.000000+00:00``): text order
    is time order, and ``datetime.fromisoformat`` reads it back fast on 3.9 too."""
    from datetime import timezone

    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def _stamp_now() -> str:
    """``_stamp(_now())`` without importing datetime: a snapshot records one entry."""
    seconds, micros = divmod(time.time_ns() // 1000, 1_000_000)
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(seconds))}.{micros:06d}+00:00"


def _parse_stamp(text: object) -> datetime:
    from datetime import datetime

    try:
        return datetime.fromisoformat(text)  # type: ignore[arg-type]  # checked just here
    except (TypeError, ValueError) as exc:
        raise _Damaged(f"a time that is not one ({str(text)[:40]!r})") from exc


def _pack(value: object) -> bytes:
    return zlib.compress(canonical_json(value).encode("utf-8"), _COMPRESSION)


def _unpack(data: object) -> object:
    if not isinstance(data, bytes):
        raise _Damaged(f"a stored value is {type(data).__name__}, not a blob")
    try:
        return parse_json(zlib.decompress(data), "history")
    except (DocumentError, zlib.error) as exc:  # damage, handled like any other
        raise _Damaged(str(exc)) from exc


def _code(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    return code & 0xFF if isinstance(code, int) else None


def _is_busy(exc: BaseException) -> bool:
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = _code(exc)
    if code is not None:
        return code in (_SQLITE_BUSY, _SQLITE_LOCKED)
    text = str(exc).lower()
    return "locked" in text or "busy" in text


# sqlite3's own error for a TEXT value that is not UTF-8: compressed bytes typed as TEXT.
# SQLite finds nothing wrong, so there is no SQLite error code; it is damage all the same.
_NOT_UTF8 = "could not decode to utf-8"


def _unreadable_text(exc: BaseException) -> bool:
    """Damage SQLite cannot see: sqlite3 could not decode a TEXT value (compressed bytes)."""
    return isinstance(exc, sqlite3.DatabaseError) and str(exc).lower().startswith(_NOT_UTF8)


def _is_corrupt(exc: BaseException) -> bool:
    if isinstance(exc, HistoryCorrupt):
        return True
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    if _unreadable_text(exc):
        return True
    code = _code(exc)
    if code is not None:
        return code in (_SQLITE_CORRUPT, _SQLITE_NOTADB)
    text = str(exc).lower()
    return "not a database" in text or "malformed" in text or "corrupt" in text


def _retry(action: Callable[[], _T]) -> _T:
    """``action()``, retried with jittered back-off while the database is locked.

    SQLite's busy handler covers most waits; this covers the cases it does not
    (a lock held across the busy timeout, WAL recovery, a COMMIT that met a reader).
    """
    deadline = time.monotonic() + LOCK_DEADLINE_S
    delay = 0.002
    while True:
        try:
            return action()
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc) or time.monotonic() >= deadline:
                raise
        import random  # only under contention

        time.sleep(delay * (0.5 + random.random()))
        delay = min(delay * 2, 0.2)


def _why(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower() if exc.strerror[:1].isupper() else exc.strerror
    if isinstance(exc, EnvcheckError):
        return str(exc)
    if _unreadable_text(exc):
        return "a value stored as text that is not UTF-8"  # sqlite3 quotes the raw bytes
    return str(exc) or type(exc).__name__


@contextlib.contextmanager
def _recovery_lock(path: str) -> Iterator[None]:
    """An advisory lock so that only one process moves a corrupt file aside.

    POSIX ``flock`` on a side file; where there is none (Windows) no lock is taken
    and the check under it (the file at ``path`` is still corrupt) still guards.
    """
    try:
        import fcntl
    except ImportError:
        yield
        return
    with open(path + ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_NETWORK_FILESYSTEMS = frozenset({
    "nfs", "nfs4", "cifs", "smb3", "smbfs", "lustre", "gpfs", "beegfs", "ceph", "glusterfs",
    "fuse.glusterfs", "fuse.sshfs", "fuse.cephfs", "9p", "afs", "panfs", "wekafs", "pvfs2",
})
_MOUNT_ESCAPE = re.compile(r"\\([0-7]{3})")


def network_filesystem(directory: str | os.PathLike[str],
                       mounts: str = "/proc/self/mounts") -> str | None:
    """The type of the network file system ``directory`` is on (``"nfs4"``), else None.

    Linux only (``/proc/self/mounts``); None where that cannot be read. SQLite's WAL
    needs shared memory between all users of a database, which processes on
    different hosts of a shared home directory do not have.
    """
    try:
        with open(mounts, encoding="utf-8", errors="replace") as handle:
            table = [line.split() for line in handle]
    except OSError:
        return None
    target = os.path.realpath(directory)
    best, kind = "", ""
    for fields in table:
        if len(fields) < 3:
            continue
        point = _MOUNT_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), fields[1])
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):  # the deepest, and the last mounted there
            best, kind = point, fields[2]
    return kind if kind in _NETWORK_FILESYSTEMS or kind.startswith("nfs") else None


def _identity(path: str) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def _still_corrupt(path: str) -> bool:
    """Whether the file now at ``path`` is damaged (checked afresh, not assumed)."""
    try:
        probe = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    except sqlite3.Error as exc:
        return _is_corrupt(exc)
    try:
        rows = probe.execute("PRAGMA quick_check").fetchall()
    except sqlite3.Error as exc:
        return _is_corrupt(exc)
    finally:
        probe.close()
    return rows != [("ok",)]
