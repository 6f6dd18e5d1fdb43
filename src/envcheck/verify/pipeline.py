"""verify(): a pipeline of named steps over one explicit state, :class:`VerifyRun`."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat as stat_module
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Union

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
from .dpkg import DpkgDatabase, may_be_packaged
from .hashing import (
    _hash_all,
    _Job,
    _Outcome,
    _usable_cores,
)
from .memo import _apply_memo, _memo_applies, _memo_inputs
from .record import (
    _bad_hash,
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


@dataclass
class VerifyRun:
    """What one :func:`verify` run knows so far; each step reads and extends it.

    Filled in order: the search path's stamps and the distributions
    (:func:`find_distributions`), the cache (:func:`open_cache`), the RECORDs
    (:func:`read_records`), the cached digests (:func:`load_cached_digests`), the
    judgement of each file by size or cached digest and what is left to hash
    (:func:`compare_files`), the added files (:func:`find_added`), the hashes
    (:func:`hash_pending`), the memos and cache rows written back (:func:`save_cache`).
    """

    report: VerifyReport
    cache: HashCache | None
    now_ns: int
    racy_before: int  # a digest or memo only for what last changed before this
    usable: bool = False  # whether the cache is open and answering
    # search path entry -> its stamp, taken before it is listed (a memo depends on it)
    entry_stamps: dict[str, _Stamp] = field(default_factory=dict)
    chosen: dict[str, _Dist] = field(default_factory=dict)  # key -> the copy to check
    # base directory -> every dist-info there: a neighbour's RECORD can claim a file
    at_base: dict[str, dict[str, _Dist]] = field(default_factory=dict)
    metadata_stamps: dict[str, list[tuple[str, _Stamp]]] = field(default_factory=dict)
    records: dict[str, _Record | None] = field(default_factory=dict)  # by info_path
    verified: list[tuple[PackageResult, _Dist, _Record]] = field(default_factory=list)
    seen: dict[str, _Stamp] = field(default_factory=dict)  # stamps taken by memo checks
    cached_bytes: int = 0  # bytes whose digest came from the cache or a memo
    entries: dict[str, _Row] = field(default_factory=dict)  # cached digests by path
    loaded: tuple[str, ...] = ()  # the base directories (with a separator) loaded whole
    queued: dict[tuple[str, str], int] = field(default_factory=dict)  # (path, algo) -> size
    pending: list[_Pending] = field(default_factory=list)  # to judge once hashed
    forget: list[str] = field(default_factory=list)  # cache rows of files now missing
    stamped: dict[str, list[tuple[str, _Stamp]]] = field(default_factory=dict)  # by info_path
    counted: dict[str, list[int]] = field(default_factory=dict)  # [digests judged, bytes]
    trees: dict[str, _Tree] = field(default_factory=dict)  # by base directory
    fresh: dict[str, tuple[str, _Stamp, str]] = field(default_factory=dict)  # rows to cache
    dpkg: DpkgDatabase = field(default_factory=DpkgDatabase)  # read only if needed

    def record_of(self, dist: _Dist) -> _Record | None:
        """``dist``'s RECORD (dpkg's for a Debian package's), read once; None if none."""
        if dist.info_path not in self.records:
            try:
                self.records[dist.info_path] = self.read_record(dist)
            except OSError:
                self.records[dist.info_path] = None
        return self.records[dist.info_path]

    def read_record(self, dist: _Dist) -> _Record | None:
        """RECORD, or for a Debian package's distribution its md5sums (None: it has
        none); raises OSError."""
        if dist.packaged_by is not None:
            return self.dpkg.record(dist.packaged_by, dist.base)
        return _Record(read_bytes(dist.info_path + os.sep + "RECORD"))

    def neighbours(self, base: str) -> Callable[[], list[_Record]]:
        """The RECORDs of every dist-info at ``base``, read when first asked for."""
        return lambda: [r for d in self.at_base.get(base, {}).values()
                        if (r := self.record_of(d)) is not None]

    def cache_failed(self, what: str, exc: Exception) -> None:
        """The cache stops being used for the rest of the run; a warning says why."""
        where = "" if self.cache is None else f" {self.cache.path}"
        self.report.warnings.append(f"hash cache{where} {what}: {exc}")
        self.usable = False


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
    run = VerifyRun(VerifyReport(workers=max(1, workers or _usable_cores())), cache,
                    now_ns, now_ns - RACY_NS)
    find_distributions(run, list(sys.path) if paths is None else list(paths),
                       None if packages is None else list(packages))
    find_packaged(run)
    open_cache(run)
    read_records(run)
    load_cached_digests(run)
    compare_files(run)
    find_added(run)
    hash_pending(run, progress)
    sort_findings(run.report)
    save_cache(run)
    run.report.seconds = time.perf_counter() - started
    return run.report


def find_distributions(run: VerifyRun, search: list[str], packages: list[str] | None) -> None:
    """Step 1: the first copy of each name on ``search`` (those of ``packages`` only).

    Each search path entry is stamped before it is listed (a memo depends on it);
    every dist-info is kept by base directory, since a neighbour's RECORD can claim
    files in a shared (namespace) directory. Names not installed go to ``not_found``
    with the installed names close to them.
    """
    report, errors = run.report, Errors()
    wanted = None if packages is None else {normalize_name(p): p for p in packages}
    for location in search:
        with contextlib.suppress(OSError, ValueError):
            run.entry_stamps[os.path.abspath(location)] = _stamp_of(os.stat(location))
    chosen, at_base = run.chosen, run.at_base
    installed: set[str] = set()
    for dist in _distributions(search, errors,
                               run.metadata_stamps if run.cache is not None else None):
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


def find_packaged(run: VerifyRun) -> None:
    """Step 1b: the distributions a Debian package installed (dpkg's file lists say).

    Their files are checked against dpkg's md5sums, not RECORD: Debian strips
    extension modules and moves scripts after the wheel's RECORD was written.
    A packaged egg-info joins its neighbours: its files are claimed, not added.
    """
    candidates = [*run.chosen.values(), *(d for ds in run.at_base.values() for d in ds.values())]
    if not any(may_be_packaged(d.info_path) for d in candidates):
        return  # no dpkg file list is read for a virtual environment
    for dist in candidates:
        if dist.packaged_by is None and may_be_packaged(dist.info_path):
            dist.packaged_by = run.dpkg.owner(dist.info_path)
    for dist in run.chosen.values():
        if dist.packaged_by is not None:
            run.at_base.setdefault(dist.base, {}).setdefault(dist.info_path, dist)


def open_cache(run: VerifyRun) -> None:
    """Step 2: open the hash cache, if there is one and anything to check."""
    run.usable = run.cache is not None and bool(run.chosen)
    if run.cache is not None and run.usable:
        try:
            run.report.warnings.extend(run.cache.open())
        except (sqlite3.Error, OSError, ValueError) as exc:
            run.cache_failed("unusable, hashing everything", exc)


def read_records(run: VerifyRun) -> None:
    """Step 3: each distribution's result from its memo while that holds, else its RECORD.

    A distribution with a RECORD that lists hashes goes on to ``verified``; one
    without is unverifiable, and says why. A Debian package's distribution goes on
    with dpkg's md5sums as its RECORD.
    """
    report, cache = run.report, run.cache
    for key in sorted(run.chosen):
        dist = run.chosen[key]
        result = PackageResult(dist.name, dist.version, dist.location,
                               packaged_by=dist.packaged_by)
        report.packages.append(result)
        if dist.packaged_by is not None:
            _read_dpkg_record(run, dist, result)
            continue
        result.unverifiable = _unverifiable(dist)
        if result.unverifiable is not None:
            continue
        if run.usable and cache is not None and _memo_applies(dist, run.entry_stamps):
            try:
                memo = cache.memo(os.path.abspath(dist.info_path))
            except sqlite3.Error as exc:
                report.warnings.append(f"hash cache lookup failed, checking instead: {exc}")
                memo = None
            counts = _apply_memo(memo.result, result) if memo and memo.holds(run.seen) else None
            if counts is not None:
                result.note = _editable_note(dist)
                report.unchanged += 1
                report.cached += counts[0]
                run.cached_bytes += counts[1]
                continue
        try:
            record = run.records[dist.info_path] = _Record(
                read_bytes(dist.info_path + os.sep + "RECORD"))
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
        run.verified.append((result, dist, record))


def _read_dpkg_record(run: VerifyRun, dist: _Dist, result: PackageResult) -> None:
    """A Debian package's distribution: on to ``verified`` with dpkg's md5sums."""
    package = dist.packaged_by
    try:
        record = run.record_of(dist) if dist.info_path in run.records else run.read_record(dist)
    except OSError as exc:
        result.unverifiable = (f"installed by the Debian package {package}, whose file list "
                               f"is unreadable: {exc.strerror or exc}")
        return
    run.records[dist.info_path] = record
    if record is None or not record.hashed:
        result.unverifiable = (f"installed by the Debian package {package}, for which dpkg "
                               "keeps no md5sums: nothing to check against")
        return
    result.note = (f"installed by the Debian package {package}: checked against dpkg's "
                   "md5sums, not RECORD")
    run.verified.append((result, dist, record))


def load_cached_digests(run: VerifyRun) -> None:
    """Step 4: the cache's digests, one range query per base directory checked."""
    run.loaded = tuple(sorted({dist.base + os.sep for _, dist, _ in run.verified}))
    if run.cache is not None and run.usable and run.verified:
        try:
            for base in run.loaded:
                run.entries.update(run.cache.load_under(base))
        except (sqlite3.Error, OSError, ValueError) as exc:
            run.cache_failed("unusable, hashing everything", exc)


def compare_files(run: VerifyRun) -> None:
    """Step 5: stat every file RECORD hashes; judge sizes and cached digests at once.

    What is left is queued for hashing (``queued``, ``pending``). The hot loop of a
    run without memos: 12,000 files for torch, so the state lives in locals here.
    """
    report, cache, entries, loaded = run.report, run.cache, run.entries, run.loaded
    queued, pending, forget = run.queued, run.pending, run.forget
    usable, cached_bytes = run.usable, run.cached_bytes
    stat, is_reg = os.stat, stat_module.S_ISREG
    for result, dist, record in run.verified:
        prefix, shown, outside = dist.base + os.sep, record.shown, record.outside
        files = run.stamped[dist.info_path] = []
        judged = run.counted[dist.info_path] = [0, 0]
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
    run.usable, run.cached_bytes = usable, cached_bytes


def find_added(run: VerifyRun) -> None:
    """Step 6: files nobody's RECORD lists, in each distribution's own directories."""
    run.trees = {base: _Tree(base, run.report.warnings)
                 for base in {d.base for _, d, _ in run.verified}}
    for result, dist, record in run.verified:
        result.added = _added(run.trees[dist.base], record, run.neighbours(dist.base))


def hash_pending(run: VerifyRun, progress: Progress | None = None) -> None:
    """Step 7: hash what is queued, largest first, on every worker, and judge it.

    A digest read from a file last changed before the run goes to ``fresh``, for
    the cache.
    """
    report = run.report
    jobs: list[_Job] = sorted(((path, algo, size) for (path, algo), size in run.queued.items()),
                              key=lambda job: job[2], reverse=True)
    total = run.cached_bytes + sum(job[2] for job in jobs)
    if progress is not None:
        progress(run.cached_bytes, total)
    outcomes: dict[tuple[str, str], _Outcome] = {}
    for (path, algo, nbytes), outcome in zip(
            jobs, _hash_all(jobs, report.workers, progress, run.cached_bytes, total)):
        outcomes[path, algo] = outcome
        if isinstance(outcome, str):
            report.hashed += 1
            report.bytes_hashed += nbytes
    if progress is not None:
        progress(total, total)
    for result, shown_path, path, algo, digest, size, stamp in run.pending:
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
            if max(stamp[1], stamp[2]) < run.racy_before:
                run.fresh[path] = (path, stamp, outcome)


def sort_findings(report: VerifyReport) -> None:
    """Step 8: every list in path order, whatever came from the cache or a thread."""
    for result in report.packages:
        result.missing.sort()
        result.added.sort()
        result.modified.sort(key=lambda m: m.path)
        result.unchecked.sort(key=lambda u: u.path)


def save_cache(run: VerifyRun) -> None:
    """Step 9: memos for what was checked in full, fresh digests, and what is stale.

    A memo only where every input can be stamped and none changed within the racy
    window; memos of distributions no longer installed at a base checked in full go.
    """
    report, cache = run.report, run.cache
    memos: list[tuple[str, _Memo]] = []
    stale: list[str] = []
    for result, dist, record in run.verified:
        key = os.path.abspath(dist.info_path)
        inputs = _memo_inputs(dist, record, result, run.entry_stamps, run.trees[dist.base],
                              run.stamped[dist.info_path], run.metadata_stamps)
        if inputs is None or any(max(s[1], s[2]) >= run.racy_before for _, s in inputs):
            stale.append(key)
            continue
        digests, digest_bytes = run.counted[dist.info_path]
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
    if run.usable and cache is not None and run.verified:
        try:
            present = {os.path.abspath(path) for ds in run.at_base.values() for path in ds}
            stale += [key for base in run.loaded for key in cache.memos_under(base)
                      if key not in present]
        except sqlite3.Error as exc:
            report.warnings.append(f"hash cache {cache.path} not pruned: {exc}")
    if run.usable and cache is not None and (run.fresh or run.forget or memos or stale):
        try:
            cache.update(run.fresh.values(), run.forget, memos, stale, run.now_ns)
        except (sqlite3.Error, OSError, ValueError, OverflowError, UnicodeError) as exc:
            report.warnings.append(f"hash cache {cache.path} not updated: {exc}")


def verify_interpreter(python: str | None, packages: tuple[str, ...] = (),
                       use_cache: bool = True, progress: Progress | None = None) -> VerifyReport:
    """:func:`verify` over this interpreter's sys.path, or ``python``'s (read by its probe)."""
    from ..sources.live import live

    paths = None
    if python is not None:
        paths = list(live(python, use_cache=False).python.get("sys_path") or [])
    return verify(paths, packages or None, cache=HashCache() if use_cache else None,
                  progress=progress)
