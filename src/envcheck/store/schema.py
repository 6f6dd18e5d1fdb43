"""The history's tables, and how a database written by an older envcheck is brought up to
date (in place, nothing lost).

Schema 2 (this one): an entry keeps what changed since the previous entry of its
interpreter as data (:class:`envcheck.model.history.EntryChange`, JSON in
``entries.change``: a hundred-odd bytes that zlib would not shrink, read on every
listing). Schema 1 kept a line of text written at record time
(``entries.summary``): migrating keeps that line as the entry's ``recorded`` text and
reads its severity counts back from it.
"""

from __future__ import annotations

import json
import re
import sqlite3

from ..errors import InputError
from ..model import canonical_json
from ..model.history import LEVELS, EntryChange
from .database import _Damaged, _retry

STORE_SCHEMA = 2  # the database layout; bump it with an entry in MIGRATIONS

_ENTRIES = (
    # AUTOINCREMENT: numbers are never reused after a prune, so a number a person
    # noted down keeps meaning the same entry.
    "CREATE TABLE IF NOT EXISTS {name} ("
    " number INTEGER PRIMARY KEY AUTOINCREMENT, taken_at TEXT NOT NULL,"
    " interpreter TEXT NOT NULL, fingerprint_id TEXT NOT NULL, change BLOB NOT NULL,"
    " rest BLOB NOT NULL)")
_INDEX = "CREATE INDEX IF NOT EXISTS entries_by_interpreter ON entries (interpreter, number)"

TABLES = (
    "CREATE TABLE IF NOT EXISTS store_schema (version INTEGER NOT NULL)",
    # One row per distinct content of a section: sha256 of its canonical JSON (32
    # bytes) and that JSON, zlib-compressed.
    "CREATE TABLE IF NOT EXISTS blobs ("
    " id INTEGER PRIMARY KEY, digest BLOB NOT NULL UNIQUE, data BLOB NOT NULL)",
    _ENTRIES.format(name="entries"),
    _INDEX,
    "CREATE TABLE IF NOT EXISTS entry_sections ("
    " entry INTEGER NOT NULL, key TEXT NOT NULL, blob INTEGER NOT NULL,"
    " PRIMARY KEY (entry, key)) WITHOUT ROWID",
)

def encode_change(change: EntryChange) -> bytes:
    return canonical_json(change.to_dict()).encode("utf-8")


def _constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_constant=_constant)  # one, not one per entry listed


def decode_change(data: object) -> EntryChange:
    """What ``encode_change`` wrote; anything else is damage (``_Damaged``)."""
    if not isinstance(data, bytes):
        raise _Damaged(f"a stored change is {type(data).__name__}, not a blob")
    try:
        return EntryChange.from_dict(_DECODER.decode(data.decode("utf-8")))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError too
        raise _Damaged(f"a stored change that is not one ({exc})") from exc


# What a schema 1 line ends with when a diff judged it: the most severe change's level,
# then how many others of which levels ("[breaking], 3 more (1 breaking, 2 risky)").
_JUDGED_LINE = re.compile(r" \[(breaking|risky|benign)\](?:, (\d+) more \(([a-z0-9, ]+)\))?$")


def legacy_change(line: str) -> EntryChange:
    """A schema 1 entry's line as data: the line itself, and the counts it states."""
    counts: dict[str, int] | None = None
    if line == "no change":
        counts = dict.fromkeys(LEVELS, 0)
    found = _JUDGED_LINE.search(line)
    if found:
        counts = dict.fromkeys(LEVELS, 0)
        counts[found.group(1)] += 1
        for part in (found.group(3) or "").split(", "):
            number, _, level = part.partition(" ")
            if level in counts and number.isdigit():
                counts[level] += int(number)
    return EntryChange(counts=counts, recorded=line)


def _schema_1_to_2(conn: sqlite3.Connection) -> None:
    """``entries.summary`` (text) becomes ``entries.change`` (data); numbers are kept, and
    so is the counter that keeps pruned numbers from coming back."""
    conn.execute(_ENTRIES.format(name="entries_2"))
    rows = conn.execute(
        "SELECT number, taken_at, interpreter, fingerprint_id, summary, rest FROM entries")
    conn.executemany(
        "INSERT INTO entries_2 (number, taken_at, interpreter, fingerprint_id, change, rest)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        ((number, taken_at, interpreter, fingerprint_id,
          encode_change(legacy_change(summary if isinstance(summary, str) else "")), rest)
         for number, taken_at, interpreter, fingerprint_id, summary, rest in rows.fetchall()))
    counter = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'entries'").fetchone()
    conn.execute("DROP TABLE entries")
    conn.execute("ALTER TABLE entries_2 RENAME TO entries")
    conn.execute(_INDEX)
    if counter is not None:
        conn.execute("UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'entries'",
                     (counter[0],))
        conn.execute("INSERT INTO sqlite_sequence (name, seq) SELECT 'entries', ? WHERE NOT "
                     "EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'entries')",
                     (counter[0],))


# store schema N -> what turns an N database into an N+1 one.
MIGRATIONS = {1: _schema_1_to_2}


def schema_version(conn: sqlite3.Connection) -> int | None:
    """The database's schema (None: a new, empty database)."""
    def read() -> int | None:
        exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                              "AND name = 'store_schema'").fetchone()
        if not exists:
            return None
        row = conn.execute("SELECT max(version) FROM store_schema").fetchone()
        return int(row[0]) if row and row[0] is not None else None

    return _retry(read)


def create_or_migrate(conn: sqlite3.Connection, path: str) -> None:
    """Inside a write transaction: create the tables, or bring them up to this schema."""
    version = schema_version(conn)
    if version is not None and version > STORE_SCHEMA:
        raise InputError(
            f"history: {path}: written by a newer envcheck (history schema "
            f"{version}; this one reads up to {STORE_SCHEMA}): upgrade envcheck")
    while version is not None and version < STORE_SCHEMA:
        MIGRATIONS[version](conn)
        version += 1
    for statement in TABLES:
        conn.execute(statement)
    if schema_version(conn) is None:
        conn.execute("INSERT INTO store_schema (version) VALUES (?)", (STORE_SCHEMA,))
    else:
        conn.execute("UPDATE store_schema SET version = ?", (STORE_SCHEMA,))
