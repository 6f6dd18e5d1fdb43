"""Benchmark ``envcheck.verify`` over every file of torch, next to ``sha256sum``.

    python benchmarks/bench_verify.py [--runs 5] [--package torch] [--workers N]

(1) A first run with an empty hash cache (a fresh SQLite file each time, so its
writes are paid) against ``xargs -0 -P N -n K sha256sum`` over the same file
list, in the same largest-first order and with the same number of processes N
(the usable cores). K, the files per sha256sum process, is calibrated once and
the fastest kept, to be fair to the baseline. Every file is read once first, so
both measure hashing out of the page cache, not the disk.
(2) A second run with the warm cache, as a share of the first: torch's memo
holds, so it stats every file and lists nothing. (3) The same without the memo
(as after any change in torch): RECORD is read and the tree listed again, and
every digest still comes from the per-file cache.

Runs are interleaved so that both tools see the same machine load; medians are
printed as Markdown. Nothing here is a pass/fail test.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from envcheck.verify import HashCache, VerifyReport, verify


def site_of(package: str) -> tuple[str, Path]:
    """The sys.path entry holding ``package``'s dist-info, and that dist-info."""
    prefix = package.replace("-", "_").lower() + "-"
    for entry in sys.path:
        if not entry or not os.path.isdir(entry):
            continue
        for name in os.listdir(entry):
            if name.lower().startswith(prefix) and name.endswith(".dist-info"):
                return entry, Path(entry) / name
    raise SystemExit(f"{package} is not installed in this environment")


def record_files(site: str, info: Path) -> list[tuple[str, int]]:
    """Every file RECORD lists with a hash (what verify hashes), largest first."""
    files = []
    with open(info / "RECORD", newline="", encoding="utf-8") as handle:
        for row in csv.reader(handle):
            if len(row) >= 2 and row[1]:
                path = os.path.normpath(os.path.join(site, row[0]))
                files.append((path, os.stat(path).st_size))
    return sorted(files, key=lambda item: item[1], reverse=True)


def warm(files: list[tuple[str, int]]) -> None:
    for path, _ in files:
        with open(path, "rb", buffering=0) as handle:
            while handle.read(1 << 22):
                pass


def sha256sum(listing: bytes, processes: int, per_process: int) -> float:
    start = time.perf_counter()
    subprocess.run(["xargs", "-0", "-P", str(processes), "-n", str(per_process), "sha256sum"],
                   input=listing, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def find_stat(site: str, tops: list[str]) -> float:
    """For scale: one stat() per file, and every directory listed, by a C program."""
    start = time.perf_counter()
    subprocess.run(["find", *tops, "-type", "f", "-printf", "%s %T@ %C@ %i\\n"], cwd=site,
                   stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def envcheck_run(site: str, package: str, workers: int, cache: HashCache | None,
                 ) -> tuple[float, VerifyReport]:
    start = time.perf_counter()
    report = verify([site], packages=[package], workers=workers, cache=cache)
    seconds = time.perf_counter() - start
    if not report.clean or report.warnings:
        raise SystemExit(f"unexpected findings: {report.counts} {report.warnings}")
    return seconds, report


def first_run(site: str, package: str, workers: int) -> tuple[float, VerifyReport, HashCache]:
    """A run with a brand-new cache; returns the cache for the second run."""
    directory = tempfile.mkdtemp(prefix="bench-verify-")
    cache = HashCache(os.path.join(directory, "hash-cache.sqlite3"))
    seconds, report = envcheck_run(site, package, workers, cache)
    assert report.cached == 0, "the first run must hash every file"
    return seconds, report, cache


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds >= 0.1 else f"{seconds * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--package", default="torch")
    parser.add_argument("--workers", type=int, default=0, help="default: the usable cores")
    args = parser.parse_args()
    if shutil.which("sha256sum") is None or shutil.which("xargs") is None:
        raise SystemExit("needs sha256sum and xargs (GNU coreutils, findutils)")
    cores = args.workers or len(os.sched_getaffinity(0))
    site, info = site_of(args.package)
    files = record_files(site, info)
    total = sum(size for _, size in files)
    listing = b"\0".join(os.fsencode(path) for path, _ in files) + b"\0"
    load_before = os.getloadavg()
    warm(files)

    # Calibrate sha256sum's batch size once; keep its best.
    batches = sorted({max(1, len(files) // (cores * 8)), 64, 512})
    per_process = min(batches, key=lambda k: min(sha256sum(listing, cores, k) for _ in range(2)))

    tops = sorted({os.path.relpath(path, site).split(os.sep, 1)[0] for path, _ in files}
                  - {".."})
    firsts: list[float] = []
    find_runs: list[float] = []
    cached_runs: list[float] = []
    per_file: list[float] = []
    nocache: list[float] = []
    baseline: list[float] = []
    shares: list[float] = []
    reports: list[VerifyReport] = []
    for _ in range(args.runs):
        baseline.append(sha256sum(listing, cores, per_process))
        first, report, cache = first_run(site, args.package, cores)
        firsts.append(first)
        reports.append(report)
        with cache:
            samples = []
            for _ in range(3):
                again, cached = envcheck_run(site, args.package, cores, cache)
                assert cached.hashed == 0 and cached.cached == report.hashed, cached.to_dict()
                assert cached.unchanged == 1, "the memo must hold on an unchanged torch"
                samples.append(again)
            cache.update(stale=[str(info)])
            seconds, without = envcheck_run(site, args.package, cores, cache)
            assert without.unchanged == 0 and without.hashed == 0
            per_file.append(seconds)
        shutil.rmtree(os.path.dirname(cache.path), ignore_errors=True)
        cached_runs.append(median(samples))
        shares.append(median(samples) / first)
        nocache.append(envcheck_run(site, args.package, cores, None)[0])
        find_runs.append(find_stat(site, tops))
    load_after = os.getloadavg()

    mb = total / 1e6
    sha_s, first_s = median(baseline), median(firsts)
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            cpu = next(line.split(":", 1)[1].strip() for line in handle
                       if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    report = reports[0]
    print(f"### envcheck verify: {args.package}, {report.hashed:,} files, {mb:,.0f} MB\n")
    print(f"{cores} worker threads / sha256sum processes; {cpu}; Python "
          f"{platform.python_version()}; medians of {args.runs} interleaved runs, page cache "
          f"warm; load average {load_before[0]:.1f} before, {load_after[0]:.1f} after.\n")
    print("| what | median | throughput | ratio |")
    print("|---|---:|---:|---:|")
    print(f"| `xargs -0 -P {cores} -n {per_process} sha256sum` (same files, largest first) "
          f"| {fmt_ms(sha_s)} | {mb / sha_s:,.0f} MB/s | 1.00x |")
    print(f"| `verify()`, first run, empty cache (SQLite writes included) | {fmt_ms(first_s)} "
          f"| {mb / first_s:,.0f} MB/s | **{sha_s / first_s:.2f}x** sha256sum |")
    print(f"| `verify()`, no cache at all | {fmt_ms(median(nocache))} | "
          f"{mb / median(nocache):,.0f} MB/s | {sha_s / median(nocache):.2f}x sha256sum |")
    print(f"| `verify()`, second run, warm cache (memo holds: stats only) | "
          f"{fmt_ms(median(cached_runs))} | | **{median(shares) * 100:.1f}%** of the first run |")
    print(f"| `verify()`, second run without the memo (RECORD read, tree listed, digests "
          f"cached) | {fmt_ms(median(per_file))} | | {median(per_file) / first_s * 100:.1f}% "
          f"of the first run |")
    print(f"| `find {' '.join(tops)} -type f -printf '%s %T@ %C@ %i'` (every directory "
          f"listed, one stat per file, in C) | {fmt_ms(median(find_runs))} | | "
          f"{median(find_runs) / first_s * 100:.1f}% of the first run |")
    largest = files[0]
    print(f"\nThe largest file, {os.path.basename(largest[0])} ({largest[1] / 1e6:,.0f} MB, "
          f"{largest[1] / total:.0%} of the bytes), is hashed by one thread or process in "
          f"either tool and bounds both first runs from below.")


if __name__ == "__main__":
    main()
