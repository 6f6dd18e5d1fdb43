"""The local history: every snapshot kept in one SQLite file, with no setup.

Why one long module: it is one class, ``History``, whose reads and writes share one
transaction discipline (read, then a short write lock, then a retry); the SQLite
mechanics under it are in ``database``.

Where: ``$ENVCHECK_HOME/history.sqlite3`` when ``ENVCHECK_HOME`` is set, else
``$XDG_DATA_HOME/envcheck/history.sqlite3``, else
``~/.local/share/envcheck/history.sqlite3`` (the XDG fallback, used on macOS and
Windows too). Only the standard library's ``sqlite3``.

Compact: a fingerprint's sections (and its ``errors``) are stored content-addressed,
once per distinct content (sha256 of the canonical JSON, zlib-compressed), so a
package set seen before costs one row reference, not 15 KB again. An entry row holds
its number, UTC time, interpreter, fingerprint id, a one-line summary of what
changed, and the small rest of the document (``schema``, ``meta``) compressed.
``id`` and ``digests`` are derived data: recomputed on load exactly as for any
input (``Fingerprint.from_dict``), so they are not stored.

The content address is a digest over the *whole* section, not the document's
``digests`` (which leave out volatile fields such as paths): otherwise a loaded
entry could carry another entry's paths, and a round trip would not be exact.

Safe for several writers (eight ranks on one node): WAL journal, a busy timeout,
short ``BEGIN IMMEDIATE`` write transactions (compression and diffing happen before
the lock is taken) and a retry with back-off on "database is locked". On a
network file system (a shared NFS/Lustre home, where ranks on *different* hosts may
write) WAL is unsafe, so a rollback journal is used there. A corrupt
file is confirmed under a lock, moved aside (``history.sqlite3.corrupt-<UTC time>``)
and a new history started. The store never prints: warnings are data
(``History.warnings``, ``record_safely``); the CLI shows them on stderr.

References (``History.resolve``), within one interpreter's entries when one is given:

``@last`` (= ``@0``)
    the most recent entry
``@prev`` (= ``@1``)
    the one before it
``@N``
    the N-th most recent (counted like ``HEAD~N``, so ``@0`` is the latest); the
    absolute entry numbers that ``entries()`` lists are for ``History.load``
``@YYYY-MM-DD``
    the last entry taken on or before that day (UTC)
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sqlite3
import zlib
from collections.abc import Iterator

from ..errors import EnvcheckError, InputError, OutputError, UsageError
from ..model import SECTIONS, Fingerprint, canonical_json
from . import database
from .database import (
    _COMPRESSION,
    FILENAME,
    HistoryCorrupt,
    _Damaged,
    _identity,
    _is_corrupt,
    _now,
    _pack,
    _parse_stamp,
    _recovery_lock,
    _retry,
    _stamp,
    _stamp_now,
    _still_corrupt,
    _unpack,
    _why,
    default_path,
)

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing, datetime and pathlib cost milliseconds on every snapshot
    from datetime import datetime
    from typing import Any, Callable, TypeVar


    _T = TypeVar("_T")
    # (previous entry or None, this one) -> the line ``envcheck history`` shows
    Summarize = Callable[[Fingerprint | None, Fingerprint], str]

__all__ = ["STORE_SCHEMA", "Entry", "History", "record_safely", "sections_changed"]

STORE_SCHEMA = 1  # the database layout; bump it with an entry in _MIGRATIONS

# Top-level keys stored content-addressed: large and repeated from run to run.
SHARED_KEYS = (*SECTIONS, "errors")
# Keys not stored at all: recomputed from the sections on load (model.with_digests).
DERIVED_KEYS = ("id", "digests", "numerics_id")
# meta fields that differ on every run and that no comparison reads.
PER_RUN_META = ("created", "timings_ms")

_DATE_REF = re.compile(r"\d{4}-\d{2}-\d{2}")
_MAX_INT = 2**62  # below SQLite's 64-bit integer limit


_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS store_schema (version INTEGER NOT NULL)",
    # One row per distinct content of a section: sha256 of its canonical JSON (32
    # bytes) and that JSON, zlib-compressed.
    "CREATE TABLE IF NOT EXISTS blobs ("
    " id INTEGER PRIMARY KEY, digest BLOB NOT NULL UNIQUE, data BLOB NOT NULL)",
    # AUTOINCREMENT: numbers are never reused after a prune, so a number a person
    # noted down keeps meaning the same entry.
    "CREATE TABLE IF NOT EXISTS entries ("
    " number INTEGER PRIMARY KEY AUTOINCREMENT, taken_at TEXT NOT NULL,"
    " interpreter TEXT NOT NULL, fingerprint_id TEXT NOT NULL, summary TEXT NOT NULL,"
    " rest BLOB NOT NULL)",
    "CREATE INDEX IF NOT EXISTS entries_by_interpreter ON entries (interpreter, number)",
    "CREATE TABLE IF NOT EXISTS entry_sections ("
    " entry INTEGER NOT NULL, key TEXT NOT NULL, blob INTEGER NOT NULL,"
    " PRIMARY KEY (entry, key)) WITHOUT ROWID",
)

# store schema N -> the statements that turn an N database into an N+1 one.
_MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {}


class Entry:
    """One recorded snapshot, as ``History.entries`` lists it."""

    __slots__ = ("fingerprint_id", "interpreter", "number", "summary", "taken_at")

    def __init__(self, number: int, taken_at: datetime, interpreter: str, fingerprint_id: str,
                 summary: str) -> None:
        self.number = number  # the entry's number in this database; never reused
        self.taken_at = taken_at  # UTC
        self.interpreter = interpreter
        self.fingerprint_id = fingerprint_id
        self.summary = summary  # what changed since the previous entry of the same interpreter

    def _fields(self) -> tuple[int, datetime, str, str, str]:
        return (self.number, self.taken_at, self.interpreter, self.fingerprint_id, self.summary)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Entry) and self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return (f"Entry(number={self.number!r}, taken_at={self.taken_at!r}, "
                f"interpreter={self.interpreter!r}, fingerprint_id={self.fingerprint_id!r}, "
                f"summary={self.summary!r})")


# ---- the store ------------------------------------------------------------------------

def sections_changed(before: Fingerprint | None, after: Fingerprint) -> str:
    """The summary the store writes by itself: which sections differ, judging nothing."""
    if before is None:
        return "first entry"
    changed = [name for name in SECTIONS
               if before.data["digests"].get(name) != after.data["digests"].get(name)]
    return f"changed: {', '.join(changed)}" if changed else "no change"


def _entry(row: tuple[Any, ...]) -> Entry:
    number, taken_at, interpreter, fingerprint_id, summary = row
    if not (isinstance(number, int) and isinstance(interpreter, str)
            and isinstance(fingerprint_id, str) and isinstance(summary, str)):
        raise _Damaged("an entry with values of the wrong type")
    return Entry(number, _parse_stamp(taken_at), interpreter, fingerprint_id, summary)


class _State:
    """What a summary depends on: the content digests of the sections, and meta."""

    __slots__ = ("digests", "meta")

    def __init__(self, digests: dict[str, bytes], meta: dict[str, Any]) -> None:
        self.digests = digests
        self.meta = meta


def _same_for_diff(a: _State, b: _State) -> bool:
    """Whether ``diff`` gives the same result against either (it reads sections and meta)."""
    def comparable(state: _State) -> tuple[dict[str, bytes], dict[str, Any]]:
        meta = {k: v for k, v in state.meta.items() if k not in PER_RUN_META}
        return {k: v for k, v in state.digests.items() if k in SECTIONS}, meta

    return comparable(a) == comparable(b)


class History:
    """The history database at ``path`` (default: ``default_path()``).

    Opening creates the directory (mode 0700: fingerprints name hosts and paths)
    and the database if needed. A corrupt file is moved aside and a new history
    started; what happened is in ``warnings``. Use as a context manager or call
    ``close()``.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None,
                 summarize: Summarize | None = None) -> None:
        self.path = os.fspath(path) if path is not None else default_path()
        # The store judges nothing itself: the caller may bring a summary that does.
        self.summarize = summarize or sections_changed
        self.warnings: list[str] = []
        self._conn: sqlite3.Connection | None = None
        self._identity: tuple[int, int] | None = None
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

    def __enter__(self) -> History:
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
        version = self._schema_version(conn)
        if version != STORE_SCHEMA:
            self._write(self._create_or_migrate)

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
                if self._schema_version(conn) != STORE_SCHEMA:
                    conn.close()
                    return False
            except sqlite3.Error:
                if conn is not None:
                    conn.close()
                continue
            self._conn, self._identity = conn, _identity(self.path)
            return True
        return False

    @staticmethod
    def _schema_version(conn: sqlite3.Connection) -> int | None:
        def read() -> int | None:
            exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                                  "AND name = 'store_schema'").fetchone()
            if not exists:
                return None
            row = conn.execute("SELECT max(version) FROM store_schema").fetchone()
            return int(row[0]) if row and row[0] is not None else None

        return _retry(read)

    def _create_or_migrate(self, conn: sqlite3.Connection) -> None:
        for statement in _SCHEMA:
            conn.execute(statement)
        version = self._schema_version(conn)
        if version is None:
            conn.execute("INSERT INTO store_schema (version) VALUES (?)", (STORE_SCHEMA,))
            return
        if version > STORE_SCHEMA:
            raise InputError(
                f"history: {self.path}: written by a newer envcheck (history schema "
                f"{version}; this one reads up to {STORE_SCHEMA}): upgrade envcheck")
        while version < STORE_SCHEMA:
            _MIGRATIONS[version](conn)
            version += 1
        conn.execute("UPDATE store_schema SET version = ?", (STORE_SCHEMA,))

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
                                  logical=isinstance(exc, _Damaged))
        return kind(f"history: {self.path}: {doing} ({_why(exc)})")

    @contextlib.contextmanager
    def _errors(self, doing: str, kind: type[EnvcheckError]) -> Iterator[None]:
        try:
            yield
        except (sqlite3.Error, OSError, zlib.error, ValueError) as exc:
            raise self._failure(exc, doing, kind) from exc

    # -- reading

    @staticmethod
    def _state(conn: sqlite3.Connection, number: int) -> _State | None:
        row = conn.execute("SELECT rest FROM entries WHERE number = ?", (number,)).fetchone()
        if row is None:
            return None
        digests = dict(conn.execute(
            "SELECT s.key, b.digest FROM entry_sections AS s JOIN blobs AS b ON b.id = s.blob"
            " WHERE s.entry = ?", (number,)).fetchall())
        rest = _unpack(row[0])
        meta = rest.get("meta") if isinstance(rest, dict) else None
        return _State(digests, meta if isinstance(meta, dict) else {})

    def _document(self, conn: sqlite3.Connection, number: int) -> dict[str, Any] | None:
        row = conn.execute("SELECT rest FROM entries WHERE number = ?", (number,)).fetchone()
        if row is None:
            return None
        document = _unpack(row[0])
        if not isinstance(document, dict):
            raise _Damaged(f"entry {number} is {type(document).__name__}, not an object")
        for key, data in conn.execute(
                "SELECT s.key, b.data FROM entry_sections AS s JOIN blobs AS b"
                " ON b.id = s.blob WHERE s.entry = ?", (number,)).fetchall():
            document[key] = _unpack(data)
        return document

    def _fingerprint(self, conn: sqlite3.Connection, number: int) -> Fingerprint:
        document = self._document(conn, number)
        if document is None:
            raise InputError(f"history entry {number}: no such entry")
        try:
            return Fingerprint.from_dict(document, f"history entry {number}")
        except InputError as exc:  # envcheck recorded a valid fingerprint: this is damage
            raise _Damaged(str(exc)) from exc

    def load(self, entry_number: int) -> Fingerprint:
        """The fingerprint recorded as entry ``entry_number`` (as ``entries()`` numbers them)."""
        if not 0 < entry_number <= _MAX_INT:
            raise InputError(f"history entry {entry_number}: no such entry")
        with self._errors(f"cannot read entry {entry_number}", InputError):
            return self._read(lambda conn: self._fingerprint(conn, entry_number))

    @staticmethod
    def _latest(conn: sqlite3.Connection, interpreter: str) -> int | None:
        row = conn.execute("SELECT max(number) FROM entries WHERE interpreter = ?",
                           (interpreter,)).fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def entries(self, interpreter: str | None = None, limit: int | None = None) -> list[Entry]:
        """Entries, most recent first: all, or one interpreter's; at most ``limit``.

        Fast: the summary was written with the entry (see ``record``), so listing
        decompresses and diffs nothing.
        """
        if limit is not None and limit < 0:
            raise UsageError(f"history: limit must be 0 or more, not {limit}")
        sql = "SELECT number, taken_at, interpreter, fingerprint_id, summary FROM entries"
        params: list[Any] = []
        if interpreter is not None:
            sql += " WHERE interpreter = ?"
            params.append(interpreter)
        sql += " ORDER BY number DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(min(limit, _MAX_INT))
        with self._errors("cannot read the history", InputError):
            rows = self._read(lambda conn: conn.execute(sql, params).fetchall())
            return [_entry(tuple(row)) for row in rows]

    def find(self, ref: str, interpreter: str | None = None) -> Entry:
        """The entry ``ref`` names (``@last``, ``@prev``, ``@N``, ``@YYYY-MM-DD``).

        Counted within ``interpreter``'s entries when given, else over all entries.
        A malformed or unknown reference raises ``InputError`` with one line.
        """
        from datetime import date, timedelta

        body = ref[1:].lower() if ref.startswith("@") else None
        offset: int | None = None
        day: date | None = None
        if body in ("last", "prev"):
            offset = 0 if body == "last" else 1
        elif body is not None and body.isdigit() and body.isascii():
            # Past the end either way; SQLite takes 64 bits and int() refuses 4,300+ digits.
            offset = int(body) if len(body) < 19 else _MAX_INT
        elif body is not None and _DATE_REF.fullmatch(body):
            try:
                day = date.fromisoformat(body)
            except ValueError as exc:
                raise InputError(f"{ref}: not a valid date ({exc})") from exc
        else:
            raise InputError(f"{ref}: not a history reference (use @last, @prev, @N for the "
                             "N-th most recent, or @YYYY-MM-DD)")
        where, params = (("WHERE interpreter = ?", [interpreter]) if interpreter is not None
                         else ("", []))
        columns = "number, taken_at, interpreter, fingerprint_id, summary"

        def lookup(conn: sqlite3.Connection) -> tuple[Any, ...] | None:
            if day is not None:
                # taken_at < the next day, UTC ("~" sorts after every date: 9999-12-31)
                bound = (day + timedelta(days=1)).isoformat() if day < date.max else "~"
                clause = f"{where} AND taken_at < ?" if where else "WHERE taken_at < ?"
                row = conn.execute(f"SELECT {columns} FROM entries {clause} "
                                   "ORDER BY taken_at DESC, number DESC LIMIT 1",
                                   [*params, bound]).fetchone()
            else:
                row = conn.execute(f"SELECT {columns} FROM entries {where} "
                                   "ORDER BY number DESC LIMIT 1 OFFSET ?",
                                   [*params, offset]).fetchone()
            if row is None:
                count = conn.execute(f"SELECT count(*) FROM entries {where}", params).fetchone()
                return (None, int(count[0]))
            return tuple(row)

        with self._errors("cannot read the history", InputError):
            found = self._read(lookup)
        scope = f" for {interpreter}" if interpreter is not None else ""
        if found is None or found[0] is None:
            count = found[1] if found else 0
            if count == 0:
                raise InputError(f"{ref}: the history{scope} is empty")
            if day is not None:
                raise InputError(f"{ref}: no entry{scope} on or before {day.isoformat()}")
            raise InputError(f"{ref}: no such entry: the history{scope} holds {count} "
                             f"entr{'y' if count == 1 else 'ies'} (@0 to @{count - 1})")
        with self._errors("cannot read the history", InputError):
            return _entry(found)

    def resolve(self, ref: str, interpreter: str | None = None) -> Fingerprint:
        """The fingerprint ``ref`` names; see ``find``. A damaged history is moved aside
        (a new one started) and the error says so."""
        return self.recovering(lambda: self.load(self.find(ref, interpreter).number))

    def recovering(self, read: Callable[[], _T]) -> _T:
        """``read()``; on damage, the history is moved aside and a new one started, and
        the error (exit 3, one line) says where the old one went."""
        try:
            return read()
        except HistoryCorrupt as exc:
            self.recover(exc)
            moved = f"; {self.warnings[-1].split(': ', 1)[-1]}" if self.warnings else ""
            raise InputError(f"{exc}{moved}") from exc

    def stats(self) -> dict[str, int]:
        """Counts and sizes: entries, blobs, blob_bytes (compressed), file_bytes."""
        def read(conn: sqlite3.Connection) -> dict[str, int]:
            entries = conn.execute("SELECT count(*) FROM entries").fetchone()[0]
            blobs, size = conn.execute(
                "SELECT count(*), coalesce(sum(length(data)), 0) FROM blobs").fetchone()
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            page_size = conn.execute("PRAGMA page_size").fetchone()[0]
            return {"entries": int(entries), "blobs": int(blobs), "blob_bytes": int(size),
                    "file_bytes": int(pages) * int(page_size)}

        with self._errors("cannot read the history", InputError):
            return self._read(read)

    # -- writing

    def record(self, fp: Fingerprint, interpreter: str, *,
               taken_at: datetime | None = None) -> int:
        """Store ``fp`` as a new entry for ``interpreter``; its number.

        ``taken_at`` (UTC; default now) is for importing older snapshots. The summary
        against the interpreter's previous entry is computed now and stored, so
        that listing stays fast and says what changed *at that time* (pruning the
        previous entry later does not change it). It is computed before the write
        lock is taken; inside the lock, if another process recorded in between, it
        is reused when that entry is the same for ``diff`` (ranks of one job record
        the same environment), else recomputed.
        """
        with self._errors("cannot record", OutputError):
            return self._record(fp, interpreter, taken_at)

    def _record(self, fp: Fingerprint, interpreter: str, taken_at: datetime | None) -> int:
        document = fp.data
        texts = {key: canonical_json(document[key]) for key in SHARED_KEYS if key in document}
        digests = {key: hashlib.sha256(text.encode("utf-8")).digest()
                   for key, text in texts.items()}
        rest = {k: v for k, v in document.items()
                if k not in SHARED_KEYS and k not in DERIVED_KEYS}
        meta = rest.get("meta")
        state = _State(digests, meta if isinstance(meta, dict) else {})
        packed_rest = _pack(rest)

        def before_lock(conn: sqlite3.Connection) -> tuple[
                int | None, _State | None, str, set[bytes]]:
            base = self._latest(conn, interpreter)
            base_state = self._state(conn, base) if base is not None else None
            known = {row[0] for row in conn.execute(
                f"SELECT digest FROM blobs WHERE digest IN ({','.join('?' * len(digests))})",
                list(digests.values()))} if digests else set()
            return base, base_state, self._summary(conn, base, base_state, fp, state), known

        # One read transaction (others keep writing meanwhile), then the write lock.
        base, base_state, summary, known = self._read(before_lock)
        # Compress only what the database does not hold yet, and outside the lock.
        packed = {key: zlib.compress(texts[key].encode("utf-8"), _COMPRESSION)
                  for key, digest in digests.items() if digest not in known}

        def write(conn: sqlite3.Connection) -> int:
            latest = self._latest(conn, interpreter)
            text = summary
            if latest != base:  # another process recorded for this interpreter meanwhile
                latest_state = self._state(conn, latest) if latest is not None else None
                if latest_state is None or base_state is None or not _same_for_diff(
                        latest_state, base_state):
                    text = self._summary(conn, latest, latest_state, fp, state)
            blob_ids = []
            for key, digest in digests.items():
                row = conn.execute("SELECT id FROM blobs WHERE digest = ?", (digest,)).fetchone()
                if row is None:  # new, or pruned since we looked
                    data = packed.get(key) or zlib.compress(texts[key].encode("utf-8"),
                                                            _COMPRESSION)
                    blob_id = conn.execute("INSERT INTO blobs (digest, data) VALUES (?, ?)",
                                           (digest, data)).lastrowid
                else:
                    blob_id = row[0]
                blob_ids.append((key, blob_id))
            number = conn.execute(
                "INSERT INTO entries (taken_at, interpreter, fingerprint_id, summary, rest)"
                " VALUES (?, ?, ?, ?, ?)",
                (_stamp(taken_at) if taken_at else _stamp_now(), interpreter, fp.id, text,
                 packed_rest)).lastrowid
            assert number is not None
            conn.executemany("INSERT INTO entry_sections (entry, key, blob) VALUES (?, ?, ?)",
                             [(number, key, blob_id) for key, blob_id in blob_ids])
            return int(number)

        return self._write(write)

    def _summary(self, conn: sqlite3.Connection, base: int | None, base_state: _State | None,
                 fp: Fingerprint, state: _State) -> str:
        """The summary of ``fp`` against entry ``base``, read within ``conn``'s transaction."""
        if base is None or base_state is None:
            return self.summarize(None, fp)
        if _same_for_diff(base_state, state):
            return "no change"  # the same content: no need to load and diff
        try:
            return self.summarize(self._fingerprint(conn, base), fp)
        except (sqlite3.Error, OSError):
            raise
        except Exception as exc:  # a summary must never cost the entry itself
            self.warnings.append(f"history: no summary for this entry ({_why(exc)})")
            return "(no summary)"

    def prune(self, keep: int | None = None, older_than_days: int | None = None, *,
              interpreter: str | None = None) -> int:
        """Remove entries; the number removed. Unreferenced section blobs go with them.

        ``keep``: keep the ``keep`` most recent entries *of each interpreter* (a venv
        used rarely keeps its ``@prev``). ``older_than_days``: remove entries taken
        more than that many days ago. With both, an entry goes if either says so.
        ``interpreter``: consider only that interpreter's entries. Freed pages are
        returned to the file system (incremental vacuum).
        """
        for name, value in (("keep", keep), ("older_than_days", older_than_days)):
            if value is not None and value < 0:
                raise UsageError(f"history: {name} must be 0 or more, not {value}")
        if keep is None and older_than_days is None:
            return 0
        cutoff: str | None = None
        if older_than_days is not None:
            from datetime import timedelta

            try:
                cutoff = _stamp(_now() - timedelta(days=older_than_days))
            except OverflowError:  # before year 1: nothing is that old
                cutoff = ""

        def body(conn: sqlite3.Connection) -> int:
            where, params = (("WHERE interpreter = ?", [interpreter]) if interpreter is not None
                             else ("", []))
            doomed: set[int] = set()
            if keep is not None:
                seen: dict[str, int] = {}
                for number, interp in conn.execute(
                        f"SELECT number, interpreter FROM entries {where} "
                        "ORDER BY number DESC", params):
                    seen[interp] = seen.get(interp, 0) + 1
                    if seen[interp] > keep:
                        doomed.add(int(number))
            if cutoff is not None:
                clause = f"{where} AND taken_at < ?" if where else "WHERE taken_at < ?"
                doomed.update(int(row[0]) for row in conn.execute(
                    f"SELECT number FROM entries {clause}", [*params, cutoff]))
            if not doomed:
                return 0
            rows = [(number,) for number in sorted(doomed)]
            conn.executemany("DELETE FROM entry_sections WHERE entry = ?", rows)
            conn.executemany("DELETE FROM entries WHERE number = ?", rows)
            conn.execute("DELETE FROM blobs WHERE id NOT IN (SELECT blob FROM entry_sections)")
            return len(doomed)

        with self._errors("cannot prune", OutputError):
            removed = self._write(body)
            if removed:
                # Hand the freed pages back. executescript steps the pragma to the end;
                # execute() would free one page per step.
                with contextlib.suppress(sqlite3.Error):
                    _retry(lambda: self._db.executescript("PRAGMA incremental_vacuum;"))
            return removed


def record_safely(fp: Fingerprint, interpreter: str,
                  path: str | os.PathLike[str] | None = None,
                  summarize: Summarize | None = None) -> tuple[int | None, list[str]]:
    """Record ``fp``; never raises. The entry's number (None if not stored) and warnings.

    For ``snapshot``: a history that cannot be written must not fail the snapshot.
    A corrupt database is moved aside and the entry stored in a new one.
    """
    warnings: list[str] = []
    history: History | None = None
    try:
        history = History(path, summarize)
        try:
            number = history.record(fp, interpreter)
        except HistoryCorrupt as exc:  # damage found only now, past the first page
            history.recover(exc)
            number = history.record(fp, interpreter)
        return number, [*history.warnings, *warnings]
    except Exception as exc:
        if history is not None:
            warnings.extend(history.warnings)
        where = history.path if history is not None else _default_or(path)
        message = str(exc) if isinstance(exc, EnvcheckError) else f"history: {where}: {_why(exc)}"
        warnings.append(f"{message}; this snapshot was not added to the history")
        return None, warnings
    finally:
        if history is not None:
            history.close()


def _default_or(path: str | os.PathLike[str] | None) -> str:
    if path is not None:
        return str(path)
    try:
        return str(default_path())
    except Exception:  # no home directory at all
        return FILENAME

