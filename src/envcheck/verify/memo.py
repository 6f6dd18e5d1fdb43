"""Memos: which distributions can have one, what one depends on, and reading one back."""

from __future__ import annotations

from typing import Any

from .. import __version__
from .cache import _Stamp
from .record import _Record
from .report import Modified, PackageResult
from .scan import _Dist, _Tree


def _memo_applies(dist: _Dist, entry_stamps: dict[str, _Stamp]) -> bool:
    """A dist-info directly on a search path entry (not through an egg-link) can have a
    memo; not a Debian package's, whose md5sums are not among a memo's inputs."""
    return dist.fmt == "dist-info" and dist.base in entry_stamps and dist.packaged_by is None


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
