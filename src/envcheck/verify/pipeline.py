"""verify(): every distribution's files against its RECORD, with memos and the hash cache."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat as stat_module
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any, Union

from .. import __version__
from ..probe._common import Errors, read_bytes
from ..probe.packages import (
    STDLIB_DISTS,
    normalize_name,
)
from .cache import (
    HashCache,
    _Memo,
    _Row,
    _Stamp,
    _stamp_of,
)
from .common import (
    _ALGORITHMS,
    _POSIX,
    RACY_NS,
    Progress,
)
from .hashing import (
    _hash_all,
    _Job,
    _Outcome,
    _usable_cores,
)
from .record import (
    _Record,
    _same_digest,
)
from .report import (
    Modified,
    PackageResult,
    Unchecked,
    VerifyReport,
)
from .scan import (
    _added,
    _Dist,
    _distributions,
    _editable_note,
    _Tree,
    _unverifiable,
)

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
    installed: set[str] = set()
    for dist in _distributions(search, errors, metadata_stamps if cache is not None else None):
        installed.add(dist.key)
        if dist.fmt.startswith("dist-info"):
            at_base.setdefault(dist.base, {}).setdefault(dist.info_path, dist)
        if dist.key not in STDLIB_DISTS and dist.key not in chosen and (
                wanted is None or dist.key in wanted):
            chosen[dist.key] = dist
    if wanted is not None:
        report.not_found = sorted(wanted[k] for k in wanted if k not in chosen)
        import difflib

        report.close_matches = {name: difflib.get_close_matches(key, sorted(installed), n=3)
                                for key, name in wanted.items() if key not in chosen}
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
    from ..sources.live import live

    paths = None
    if python is not None:
        paths = list((live(python, use_cache=False).data.get("python") or {}).get("sys_path")
                     or [])
    return verify(paths, packages or None, cache=HashCache() if use_cache else None,
                  progress=progress)
