"""Reading RECORD: the files a distribution installed, with hashes and sizes."""

from __future__ import annotations

import base64
import binascii
import csv
import io
import os
import posixpath
from collections.abc import Iterable

from .common import (
    _ALGORITHMS,
    _POSIX,
)
from .report import PackageResult, Unchecked

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


def _bad_hash(algo: str, digest: str, rel: str, record: _Record, result: PackageResult) -> bool:
    """Note a RECORD hash that cannot be checked; False for a mere spelling (``SHA256=``)."""
    name = algo.strip().lower()
    if name in _ALGORITHMS and digest.partition("=")[2].strip():
        return False
    reason = (f"malformed hash {digest!r}" if name in _ALGORITHMS
              else f"unsupported hash algorithm {name!r}")
    result.unchecked.append(Unchecked(record.shown.get(rel, rel), reason))
    return True


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
