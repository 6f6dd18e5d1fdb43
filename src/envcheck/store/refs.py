"""History references: ``@last`` (= ``@0``), ``@prev`` (= ``@1``), ``@N`` (the N-th most
recent, counted like ``HEAD~N``) and ``@YYYY-MM-DD`` (the last entry taken on or before
that day, UTC), read and looked up within one interpreter's entries or over all."""

from __future__ import annotations

import re
import sqlite3

from ..errors import InputError

TYPE_CHECKING = False
if TYPE_CHECKING:  # datetime and typing cost milliseconds on every snapshot
    from datetime import date

_DATE_REF = re.compile(r"\d{4}-\d{2}-\d{2}")
MAX_INT = 2**62  # below SQLite's 64-bit integer limit


class Reference:
    """A parsed reference: ``offset`` entries back from the newest, or the last on ``day``."""

    __slots__ = ("day", "offset", "text")

    def __init__(self, text: str) -> None:
        """Read ``text``; a malformed reference raises ``InputError`` with one line."""
        from datetime import date

        self.text = text
        self.offset: int | None = None
        self.day: date | None = None
        body = text[1:].lower() if text.startswith("@") else None
        if body in ("last", "prev"):
            self.offset = 0 if body == "last" else 1
        elif body is not None and body.isdigit() and body.isascii():
            # Past the end either way; SQLite takes 64 bits and int() refuses 4,300+ digits.
            self.offset = int(body) if len(body) < 19 else MAX_INT
        elif body is not None and _DATE_REF.fullmatch(body):
            try:
                self.day = date.fromisoformat(body)
            except ValueError as exc:
                raise InputError(f"{text}: not a valid date ({exc})") from exc
        else:
            raise InputError(f"{text}: not a history reference (use @last, @prev, @N for the "
                             "N-th most recent, or @YYYY-MM-DD)")

    def lookup(self, conn: sqlite3.Connection, columns: str, interpreter: str | None
               ) -> tuple[object, ...] | int:
        """The entry's ``columns``, or how many entries there are when none matches."""
        from datetime import date, timedelta

        where, params = (("WHERE interpreter = ?", [interpreter]) if interpreter is not None
                         else ("", []))
        if self.day is not None:
            # taken_at < the next day, UTC ("~" sorts after every date: 9999-12-31)
            bound = (self.day + timedelta(days=1)).isoformat() if self.day < date.max else "~"
            clause = f"{where} AND taken_at < ?" if where else "WHERE taken_at < ?"
            row = conn.execute(f"SELECT {columns} FROM entries {clause} "
                               "ORDER BY taken_at DESC, number DESC LIMIT 1",
                               [*params, bound]).fetchone()
        else:
            row = conn.execute(f"SELECT {columns} FROM entries {where} "
                               "ORDER BY number DESC LIMIT 1 OFFSET ?",
                               [*params, self.offset]).fetchone()
        if row is None:
            return int(conn.execute(f"SELECT count(*) FROM entries {where}",
                                    params).fetchone()[0])
        return tuple(row)

    def not_found(self, count: int, interpreter: str | None) -> InputError:
        """The error for a reference that names no entry among ``count``."""
        scope = f" for {interpreter}" if interpreter is not None else ""
        if count == 0:
            return InputError(f"{self.text}: the history{scope} is empty")
        if self.day is not None:
            return InputError(f"{self.text}: no entry{scope} on or before "
                              f"{self.day.isoformat()}")
        return InputError(f"{self.text}: no such entry: the history{scope} holds {count} "
                          f"entr{'y' if count == 1 else 'ies'} (@0 to @{count - 1})")
