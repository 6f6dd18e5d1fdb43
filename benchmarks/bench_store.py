"""Benchmark the local history: record and resolve timings, database size.

    python benchmarks/bench_store.py [--entries 1000] [--runs 50]

Records N entries of the real fingerprint in ``tests/data`` with the variations a
real history has (every entry: new time and timings; every 10th: a changed
environment variable; every 50th: a package upgrade) into a fresh database, then
times lookups and reports the file size next to storing every document as JSON.
Prints a Markdown table; nothing here is a pass/fail test.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import tempfile
import time
import zlib
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from envcheck.history_summary import judge
from envcheck.model import Fingerprint, load
from envcheck.store import FILENAME, History

BASE = Path(__file__).resolve().parents[1] / "tests" / "data" / "fake-2xa100.json"
INTERPRETER = "/opt/venvs/train/bin/python"
START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def variation(base: dict[str, Any], i: int) -> Fingerprint:
    """Snapshot ``i`` of an environment that changes now and then."""
    document = copy.deepcopy(base)
    document["meta"]["created"] = (START + timedelta(hours=i)).isoformat()
    document["meta"]["timings_ms"] = {k: round(v * (1 + (i % 7) / 10), 2)
                                      for k, v in document["meta"]["timings_ms"].items()}
    document["env"]["OMP_NUM_THREADS"] = str(1 + i // 10 % 8)
    upgrades = i // 50
    numpy = document["packages"]["numpy"]
    numpy["version"] = f"{numpy['version']}.post{upgrades}" if upgrades else numpy["version"]
    return Fingerprint.from_dict(document)


def median_ms(action: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def file_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*")
               if not p.name.endswith(".lock"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    base = load(BASE).data
    fingerprints = [variation(base, i) for i in range(args.entries)]
    json_bytes = sum(len(fp.to_json().encode()) for fp in fingerprints)
    gzip_bytes = sum(len(zlib.compress(fp.to_json().encode(), 9)) for fp in fingerprints)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / FILENAME
        record_s = []
        with History(path, judge) as history:
            for i, fp in enumerate(fingerprints):
                start = time.perf_counter()
                history.record(fp, INTERPRETER, taken_at=START + timedelta(hours=i))
                record_s.append(time.perf_counter() - start)
        size = file_size(path)  # closed: the WAL is checkpointed into the file
        with History(path, judge) as history:
            stats = history.stats()
            day = (START + timedelta(hours=args.entries // 2)).date().isoformat()
            timings = {
                "open the history": median_ms(lambda: History(path).close(), args.runs),
                "`resolve('@last')`": median_ms(lambda: history.resolve("@last"), args.runs),
                "`resolve('@prev')`": median_ms(lambda: history.resolve("@prev"), args.runs),
                f"`resolve('@{args.entries // 2}')`": median_ms(
                    lambda: history.resolve(f"@{args.entries // 2}"), args.runs),
                f"`resolve('@{day}')`": median_ms(lambda: history.resolve(f"@{day}"),
                                                  args.runs),
                f"`entries()` ({args.entries:,} rows)": median_ms(history.entries, args.runs),
                "`entries(limit=20)`": median_ms(lambda: history.entries(limit=20), args.runs),
            }
            start = time.perf_counter()
            removed = history.prune(keep=100)
            prune_ms = (time.perf_counter() - start) * 1000
        pruned_size = file_size(path)
    record_s.sort()
    p95 = record_s[int(len(record_s) * 0.95) - 1] * 1000
    print(f"### envcheck history: {args.entries:,} entries of `{BASE.name}` "
          f"({len(base['packages'])} packages), small variations\n")
    print("| what | value |")
    print("|---|---:|")
    print(f"| `record()` median / p95 | {statistics.median(record_s) * 1000:.2f} ms / "
          f"{p95:.2f} ms |")
    for label, ms in timings.items():
        print(f"| {label} | {ms:.2f} ms |")
    print(f"| `prune(keep=100)` ({removed:,} removed) | {prune_ms:.1f} ms |")
    print(f"| database file | {size / 1024:,.0f} KiB ({size / args.entries:,.0f} B per entry) |")
    print(f"| distinct section blobs | {stats['blobs']:,} ({stats['blob_bytes'] / 1024:,.0f} "
          "KiB compressed) |")
    print(f"| every document as JSON | {json_bytes / 1024:,.0f} KiB "
          f"({json_bytes / size:,.0f}x the database) |")
    print(f"| every document as zlib'd JSON | {gzip_bytes / 1024:,.0f} KiB "
          f"({gzip_bytes / size:,.1f}x the database) |")
    print(f"| database after `prune(keep=100)` | {pruned_size / 1024:,.0f} KiB |")


if __name__ == "__main__":
    main()
