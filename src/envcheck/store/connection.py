"""An open history database: opening (WAL, or a rollback journal on a network file
system), creating or migrating the tables, a read-only fallback, moving a corrupt file
aside, and the short read and write transactions everything else runs in. What an entry
is, is ``history``'s.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import zlib
from collections.abc import Iterator

from ..errors import EnvcheckError, InputError
from . import database
from .database import (
    HistoryCorrupt,
    _Damaged,
    _identity,
    _is_corrupt,
    _now,
    _recovery_lock,
    _retry,
    _still_corrupt,
    _unreadable_text,
    _why,
    default_path,
)
from .schema import STORE_SCHEMA, create_or_migrate, schema_version

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds on every snapshot
    from typing import Callable, TypeVar

    _T = TypeVar("_T")
    _S = TypeVar("_S", bound="Store")


class Store:
    """An open history database at ``path`` (default: ``default_path()``).

    Opening creates the directory (mode 0700: fingerprints name hosts and paths)
    and the database if needed. A corrupt file is moved aside and a new history
    started; what happened is in ``warnings``. Use as a context manager or call
    ``close()``.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = os.fspath(path) if path is not None else default_path()
        self.warnings: list[str] = []
        self._conn: sqlite3.Connection | None = None
        self._identity: tuple[int, int] | None = None
        self._version = STORE_SCHEMA  # 1: an older database only read here
        try:
            self._open()
        except Exception as exc:
            if not _is_corrupt(exc):
                self.close()
                if self._open_read_only():
                    return
                raise self._failure(exc, "cannot open", InputError) from exc
            try:
                self.recover(exc)
            except Exception as again:
                self.close()
                raise self._failure(again, "cannot start a new history", InputError) from again

    # -- lifecycle

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _open(self) -> None:
        self.close()
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), mode=0o700, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=database.BUSY_TIMEOUT_S, isolation_level=None)
        self._conn = conn
        self._identity = _identity(self.path)
        # Before any table exists: lets prune hand freed pages back to the file system.
        _retry(lambda: conn.execute("PRAGMA auto_vacuum = INCREMENTAL"))
        if database.network_filesystem(os.path.dirname(os.path.abspath(self.path))) is None:
            _retry(lambda: conn.execute("PRAGMA journal_mode = WAL"))
        else:
            # A shared home on NFS & co.: WAL would let ranks on two hosts corrupt the
            # file. A rollback journal relies on file locks instead (slower, but sound
            # where the file system's locks are); a switch that meets other users of the
            # file is left for a later open.
            conn.execute("PRAGMA busy_timeout = 0")
            with contextlib.suppress(sqlite3.OperationalError):
                conn.execute("PRAGMA journal_mode = DELETE")
            conn.execute(f"PRAGMA busy_timeout = {int(database.BUSY_TIMEOUT_S * 1000)}")
        conn.execute("PRAGMA synchronous = NORMAL")  # durable across crashes of envcheck
        conn.execute("PRAGMA journal_size_limit = 4194304")  # the -wal file stays small
        self._version = STORE_SCHEMA
        if schema_version(conn) != STORE_SCHEMA:
            self._write(lambda conn: create_or_migrate(conn, self.path))

    def _open_read_only(self) -> bool:
        """Open an existing history that cannot be written here (a read-only home, a
        mount shared from elsewhere) for reading; whether that worked. Recording into
        it then fails like any other write, with a warning."""
        if not os.path.isfile(self.path):
            return False
        from urllib.parse import quote

        # mode=ro first; immutable=1 where not even SQLite's shared-memory file can be
        # made beside a WAL database (nobody can write there either).
        for options in ("mode=ro", "mode=ro&immutable=1"):
            conn = None
            try:
                conn = sqlite3.connect(f"file:{quote(os.path.abspath(self.path))}?{options}",
                                       uri=True, timeout=database.BUSY_TIMEOUT_S,
                                       isolation_level=None)
                version = schema_version(conn)
                if version not in (1, STORE_SCHEMA):  # schema 1 is read as it is
                    conn.close()
                    return False
            except sqlite3.Error:
                if conn is not None:
                    conn.close()
                continue
            self._conn, self._identity = conn, _identity(self.path)
            self._version = version
            return True
        return False

    def recover(self, cause: BaseException) -> None:
        """Move a corrupt database aside and start a new one (``cause`` says why).

        Confirmed under a lock first, so that of several processes that met the same
        corrupt file only one moves it, and none moves the new one another started.
        """
        opened = self._identity
        self.close()
        aside: str | None = None
        with _recovery_lock(self.path):
            # Damage SQLite cannot see is confirmed by identity: the file is still the one
            # this process read it in (not a new history another process started).
            logical = isinstance(cause, HistoryCorrupt) and cause.logical
            if os.path.exists(self.path) and (
                    (logical and opened is not None and _identity(self.path) == opened)
                    or _still_corrupt(self.path)):
                stamp = _now().strftime("%Y%m%dT%H%M%SZ")
                aside = f"{self.path}.corrupt-{stamp}"
                serial = 1
                while os.path.exists(aside):
                    aside = f"{self.path}.corrupt-{stamp}-{serial}"
                    serial += 1
                os.rename(self.path, aside)
                for suffix in ("-wal", "-shm"):  # SQLite names them after the main file
                    if os.path.exists(self.path + suffix):
                        os.rename(self.path + suffix, aside + suffix)
            self._open()
        if aside is not None:
            self.warnings.append(f"history: {self.path} was corrupt ({_why(cause)}); moved it "
                                 f"to {os.path.basename(aside)} and started a new history")

    def recovering(self, read: Callable[[], _T]) -> _T:
        """``read()``; on damage, the history is moved aside and a new one started, and
        the error (exit 3, one line) says where the old one went."""
        try:
            return read()
        except HistoryCorrupt as exc:
            self.recover(exc)
            moved = f"; {self.warnings[-1].split(': ', 1)[-1]}" if self.warnings else ""
            raise InputError(f"{exc}{moved}") from exc

    # -- transactions

    @property
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise InputError(f"history: {self.path}: closed")
        return self._conn

    def _write(self, body: Callable[[sqlite3.Connection], _T]) -> _T:
        """``body`` in one short write transaction, retried while the database is locked."""
        conn = self._db

        def attempt() -> _T:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = body(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise
            return result

        return _retry(attempt)

    def _read(self, body: Callable[[sqlite3.Connection], _T]) -> _T:
        """``body`` in one read transaction: a consistent view while others write."""
        conn = self._db

        def attempt() -> _T:
            conn.execute("BEGIN")
            try:
                return body(conn)
            finally:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("COMMIT")

        return _retry(attempt)

    def _failure(self, exc: BaseException, doing: str,
                 kind: type[EnvcheckError]) -> EnvcheckError:
        if isinstance(exc, EnvcheckError):
            return exc
        if _is_corrupt(exc) or isinstance(exc, _Damaged):
            return HistoryCorrupt(f"history: {self.path}: corrupt ({_why(exc)})",
                                  logical=isinstance(exc, _Damaged) or _unreadable_text(exc))
        return kind(f"history: {self.path}: {doing} ({_why(exc)})")

    @contextlib.contextmanager
    def _errors(self, doing: str, kind: type[EnvcheckError]) -> Iterator[None]:
        try:
            yield
        except (sqlite3.Error, OSError, zlib.error, ValueError) as exc:
            raise self._failure(exc, doing, kind) from exc
