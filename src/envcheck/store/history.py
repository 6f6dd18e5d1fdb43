"""The local history: every snapshot kept in one SQLite file, with no setup.

Where: ``$ENVCHECK_HOME/history.sqlite3`` when ``ENVCHECK_HOME`` is set, else
``$XDG_DATA_HOME/envcheck/history.sqlite3``, else
``~/.local/share/envcheck/history.sqlite3`` (the XDG fallback, used on macOS and
Windows too). Only the standard library's ``sqlite3``.

Compact: a fingerprint's sections (and its ``errors``) are stored content-addressed,
once per distinct content (sha256 of the canonical JSON, zlib-compressed), so a
package set seen before costs one row reference, not 15 KB again. An entry row holds
its number, UTC time, interpreter, fingerprint id, what changed since the previous
entry of its interpreter (data: :class:`envcheck.model.history.EntryChange`; the store
renders nothing), and the small rest of the document (``schema``, ``meta``) compressed.
``id`` and ``digests`` are derived data: recomputed on load exactly as for any
input (``Fingerprint.from_dict``), so they are not stored. The tables, and how an
older database is migrated, are in ``schema``; references (``@prev``) in ``refs``.

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
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import zlib

from ..digest import sha256
from ..errors import EnvcheckError, InputError, OutputError, UsageError
from ..model import SECTIONS, Fingerprint, canonical_json
from ..model.history import LEVELS, EntryChange
from .connection import Store
from .database import (
    _COMPRESSION,
    FILENAME,
    HistoryCorrupt,
    _Damaged,
    _now,
    _pack,
    _parse_stamp,
    _retry,
    _stamp,
    _stamp_now,
    _unpack,
    _why,
    default_path,
)
from .refs import MAX_INT, Reference
from .schema import STORE_SCHEMA, decode_change, encode_change, legacy_change

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing, datetime and pathlib cost milliseconds on every snapshot
    from collections.abc import Sequence
    from datetime import datetime
    from typing import Callable, TypeVar

    from ..model.report import Change

    _T = TypeVar("_T")
    # (previous entry, this one) -> the changes, judged, most severe first
    Judge = Callable[[Fingerprint, Fingerprint], Sequence[Change]]

__all__ = ["STORE_SCHEMA", "Entry", "History", "record_safely"]

# Top-level keys stored content-addressed: large and repeated from run to run.
SHARED_KEYS = (*SECTIONS, "errors")
# Keys not stored at all: recomputed from the sections on load (model.with_digests).
DERIVED_KEYS = ("id", "digests", "numerics_id")
# meta fields that differ on every run and that no comparison reads.
PER_RUN_META = ("created", "timings_ms")

class Entry:
    """One recorded snapshot, as ``History.entries`` lists it."""

    __slots__ = ("change", "fingerprint_id", "interpreter", "number", "taken_at")

    def __init__(self, number: int, taken_at: datetime, interpreter: str, fingerprint_id: str,
                 change: EntryChange) -> None:
        self.number = number  # the entry's number in this database; never reused
        self.taken_at = taken_at  # UTC
        self.interpreter = interpreter
        self.fingerprint_id = fingerprint_id
        self.change = change  # since the previous entry of the same interpreter

    def __repr__(self) -> str:
        return (f"Entry(number={self.number!r}, taken_at={self.taken_at!r}, "
                f"interpreter={self.interpreter!r}, fingerprint_id={self.fingerprint_id!r})")


# ---- the store ------------------------------------------------------------------------

def _entry(row: tuple[object, ...], version: int) -> Entry:
    number, taken_at, interpreter, fingerprint_id, change = row
    if not (isinstance(number, int) and isinstance(interpreter, str)
            and isinstance(fingerprint_id, str)):
        raise _Damaged("an entry with values of the wrong type")
    if version == 1:  # a schema 1 database that could not be migrated (read-only)
        if not isinstance(change, str):
            raise _Damaged("an entry with values of the wrong type")
        data = legacy_change(change)
    else:
        data = decode_change(change)
    return Entry(number, _parse_stamp(taken_at), interpreter, fingerprint_id, data)


class _State:
    """What an entry's change depends on: the content digests of the sections, and meta."""

    __slots__ = ("digests", "meta")

    def __init__(self, digests: dict[str, bytes], meta: dict[str, object]) -> None:
        self.digests = digests
        self.meta = meta


def _same_for_diff(a: _State, b: _State) -> bool:
    """Whether ``diff`` gives the same result against either (it reads sections and meta)."""
    def comparable(state: _State) -> tuple[dict[str, bytes], dict[str, object]]:
        meta = {k: v for k, v in state.meta.items() if k not in PER_RUN_META}
        return {k: v for k, v in state.digests.items() if k in SECTIONS}, meta

    return comparable(a) == comparable(b)


def _sections_changed(a: _State, b: _State) -> list[str]:
    return [name for name in SECTIONS if a.digests.get(name) != b.digests.get(name)]


class History(Store):
    """The history database at ``path`` (default: ``default_path()``): entries in, entries
    and fingerprints out.

    Opening creates the directory (mode 0700: fingerprints name hosts and paths)
    and the database if needed. A corrupt file is moved aside and a new history
    started; what happened is in ``warnings``. Use as a context manager or call
    ``close()``.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None,
                 judge: Judge | None = None) -> None:
        # The store judges nothing itself: the caller may bring what does (drift's diff).
        self.judge = judge
        super().__init__(path)

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

    def _document(self, conn: sqlite3.Connection, number: int) -> dict[str, object] | None:
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
        if not 0 < entry_number <= MAX_INT:
            raise InputError(f"history entry {entry_number}: no such entry")
        with self._errors(f"cannot read entry {entry_number}", InputError):
            return self._read(lambda conn: self._fingerprint(conn, entry_number))

    @staticmethod
    def _latest(conn: sqlite3.Connection, interpreter: str) -> int | None:
        row = conn.execute("SELECT max(number) FROM entries WHERE interpreter = ?",
                           (interpreter,)).fetchone()
        return int(row[0]) if row and row[0] is not None else None

    @property
    def _columns(self) -> str:
        """An entry's columns, as ``_entry`` reads them."""
        change = "summary" if self._version == 1 else "change"
        return f"number, taken_at, interpreter, fingerprint_id, {change}"

    def entries(self, interpreter: str | None = None, limit: int | None = None) -> list[Entry]:
        """Entries, most recent first: all, or one interpreter's; at most ``limit``.

        Fast: what changed was stored with the entry (see ``record``), so listing
        decompresses a few bytes per entry and diffs nothing.
        """
        if limit is not None and limit < 0:
            raise UsageError(f"history: limit must be 0 or more, not {limit}")
        sql = f"SELECT {self._columns} FROM entries"
        params: list[str | int] = []
        if interpreter is not None:
            sql += " WHERE interpreter = ?"
            params.append(interpreter)
        sql += " ORDER BY number DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(min(limit, MAX_INT))
        with self._errors("cannot read the history", InputError):
            rows = self._read(lambda conn: conn.execute(sql, params).fetchall())
            return [_entry(tuple(row), self._version) for row in rows]

    def find(self, ref: str, interpreter: str | None = None) -> Entry:
        """The entry ``ref`` names (``@last``, ``@prev``, ``@N``, ``@YYYY-MM-DD``; see
        ``refs``). Counted within ``interpreter``'s entries when given, else over all
        entries. A malformed or unknown reference raises ``InputError`` with one line.
        """
        reference = Reference(ref)
        with self._errors("cannot read the history", InputError):
            found = self._read(lambda conn: reference.lookup(conn, self._columns, interpreter))
        if isinstance(found, int):
            raise reference.not_found(found, interpreter)
        with self._errors("cannot read the history", InputError):
            return _entry(found, self._version)

    def resolve(self, ref: str, interpreter: str | None = None) -> Fingerprint:
        """The fingerprint ``ref`` names; see ``find``. A damaged history is moved aside
        (a new one started) and the error says so."""
        return self.recovering(lambda: self.load(self.find(ref, interpreter).number))

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

        ``taken_at`` (UTC; default now) is for importing older snapshots. What changed
        since the interpreter's previous entry (judged by ``judge`` when given) is
        computed now and stored as data, so that listing stays fast and says what
        changed *at that time* (pruning the previous entry later does not change it).
        It is computed before the write lock is taken; inside the lock, if another
        process recorded in between, it is reused when that entry is the same for
        ``diff`` (ranks of one job record the same environment), else recomputed.
        """
        if self._version != STORE_SCHEMA:
            raise OutputError(f"history: {self.path}: written by an older envcheck and "
                              "read-only here: cannot record")
        with self._errors("cannot record", OutputError):
            return self._record(fp, interpreter, taken_at)

    def _record(self, fp: Fingerprint, interpreter: str, taken_at: datetime | None) -> int:
        document = fp.data
        texts: dict[str, str] = {}

        def text(key: str) -> str:  # computed once, and only where needed
            if key not in texts:
                texts[key] = canonical_json(document[key])
            return texts[key]

        digests: dict[str, bytes] = {}
        for key in SHARED_KEYS:
            if key in document:
                forms = fp.forms(key)  # a section reused from a memo: digested when kept
                digests[key] = bytes.fromhex(forms.stored) if forms is not None else \
                    sha256(text(key).encode("utf-8")).digest()
        rest = {k: v for k, v in document.items()
                if k not in SHARED_KEYS and k not in DERIVED_KEYS}
        meta = rest.get("meta")
        state = _State(digests, meta if isinstance(meta, dict) else {})
        packed_rest = _pack(rest)

        def before_lock(conn: sqlite3.Connection) -> tuple[
                int | None, _State | None, EntryChange, set[bytes]]:
            base = self._latest(conn, interpreter)
            base_state = self._state(conn, base) if base is not None else None
            known = {row[0] for row in conn.execute(
                f"SELECT digest FROM blobs WHERE digest IN ({','.join('?' * len(digests))})",
                list(digests.values()))} if digests else set()
            return base, base_state, self._change(conn, base, base_state, fp, state), known

        # One read transaction (others keep writing meanwhile), then the write lock.
        base, base_state, change, known = self._read(before_lock)
        # Compress only what the database does not hold yet, and outside the lock.
        packed = {key: zlib.compress(text(key).encode("utf-8"), _COMPRESSION)
                  for key, digest in digests.items() if digest not in known}

        def write(conn: sqlite3.Connection) -> int:
            latest = self._latest(conn, interpreter)
            entry_change = change
            if latest != base:  # another process recorded for this interpreter meanwhile
                latest_state = self._state(conn, latest) if latest is not None else None
                if latest_state is None or base_state is None or not _same_for_diff(
                        latest_state, base_state):
                    entry_change = self._change(conn, latest, latest_state, fp, state)
                else:  # the same for diff: the same change, against the newer entry
                    entry_change = EntryChange(latest, change.sections, change.counts,
                                               change.head)
            blob_ids = []
            for key, digest in digests.items():
                row = conn.execute("SELECT id FROM blobs WHERE digest = ?", (digest,)).fetchone()
                if row is None:  # new, or pruned since we looked
                    data = packed.get(key) or zlib.compress(text(key).encode("utf-8"),
                                                            _COMPRESSION)
                    blob_id = conn.execute("INSERT INTO blobs (digest, data) VALUES (?, ?)",
                                           (digest, data)).lastrowid
                else:
                    blob_id = row[0]
                blob_ids.append((key, blob_id))
            number = conn.execute(
                "INSERT INTO entries (taken_at, interpreter, fingerprint_id, change, rest)"
                " VALUES (?, ?, ?, ?, ?)",
                (_stamp(taken_at) if taken_at else _stamp_now(), interpreter, fp.id,
                 encode_change(entry_change), packed_rest)).lastrowid
            assert number is not None
            conn.executemany("INSERT INTO entry_sections (entry, key, blob) VALUES (?, ?, ?)",
                             [(number, key, blob_id) for key, blob_id in blob_ids])
            return int(number)

        return self._write(write)

    def _change(self, conn: sqlite3.Connection, base: int | None, base_state: _State | None,
                fp: Fingerprint, state: _State) -> EntryChange:
        """``fp`` against entry ``base``, read within ``conn``'s transaction."""
        if base is None or base_state is None:
            return EntryChange()
        sections = _sections_changed(base_state, state)
        if _same_for_diff(base_state, state):  # the same content: nothing to load and diff
            return EntryChange(base, sections, dict.fromkeys(LEVELS, 0) if self.judge else None)
        if self.judge is None:
            return EntryChange(base, sections)
        try:
            return EntryChange.judged(base, sections, self.judge(self._fingerprint(conn, base), fp))
        except (sqlite3.Error, OSError):
            raise
        except Exception as exc:  # judging must never cost the entry itself
            self.warnings.append(f"history: what changed was not judged for this entry "
                                 f"({_why(exc)})")
            return EntryChange(base, sections)

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
                  judge: Judge | None = None) -> tuple[int | None, list[str]]:
    """Record ``fp``; never raises. The entry's number (None if not stored) and warnings.

    For ``snapshot``: a history that cannot be written must not fail the snapshot.
    A corrupt database is moved aside and the entry stored in a new one.
    """
    warnings: list[str] = []
    history: History | None = None
    try:
        history = History(path, judge)
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

