"""Benchmark ``envcheck diff`` on two fingerprints of N packages each (default 2,000).

    python benchmarks/bench_diff.py [--runs 15] [--packages 2000] [--scaling]

End to end through the CLI (process start included) next to ``pip freeze`` in
this environment, and in-process ``diff`` plus every renderer. Prints medians;
nothing here is a pass/fail test. ``--scaling`` adds diffs where every package
differs (10,000 to 50,000 changes): time per change should stay flat.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from envcheck.drift import diff
from envcheck.model import Fingerprint
from envcheck.render import ReportFormat
from envcheck.render.report import RenderOptions, render_report

BASE = Path(__file__).resolve().parents[1] / "tests" / "data" / "fake-2xa100.json"


def fingerprints(count: int) -> tuple[dict[str, object], dict[str, object]]:
    """Two documents of ``count`` packages; every 50th package drifts, some by a patch."""
    a = json.loads(BASE.read_text())
    packages = a["packages"]
    for i in range(count - len(packages)):
        name = f"synthetic-pkg-{i:05d}"
        packages[name] = {"name": name, "version": f"1.{i % 40}.{i % 9}",
                          "record_digest": f"sha256:{i:064x}", "installer": "pip",
                          "wheel": {"tags": ["py3-none-any"]}}
    b = copy.deepcopy(a)
    for i, name in enumerate(sorted(b["packages"])):
        if i % 50 == 0:
            b["packages"][name]["version"] += ".post1" if i % 100 else "+local"
    b["env"]["OMP_NUM_THREADS"] = "8"
    return a, b


# As installed for users: byte-code caches written (the warm-up run writes them).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV,
                   check=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--packages", type=int, default=2000)
    parser.add_argument("--scaling", action="store_true")
    args = parser.parse_args()
    if args.scaling:
        scaling(args.runs)
        return
    a, b = fingerprints(args.packages)
    bindir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as tmp:
        pa, pb = Path(tmp) / "a.json", Path(tmp) / "b.json"
        pa.write_text(json.dumps(a))
        pb.write_text(json.dumps(b))
        env_cli = [str(bindir / "envcheck"), "diff", str(pa), str(pb), "--format", "json", "-o",
                   os.devnull]
        freeze = [sys.executable, "-m", "pip", "freeze"]
        timed(env_cli), timed(freeze)
        cli = statistics.median(timed(env_cli) for _ in range(args.runs))
        pip = statistics.median(timed(freeze) for _ in range(args.runs))
    fa, fb = Fingerprint.from_dict(a), Fingerprint.from_dict(b)
    in_process = {}
    for fmt in ReportFormat:
        samples = []
        for _ in range(args.runs):
            start = time.perf_counter()
            render_report(diff(fa, fb), fmt, RenderOptions())
            samples.append(time.perf_counter() - start)
        in_process[fmt.value] = statistics.median(samples)
    changes = len(diff(fa, fb).changes)
    print(f"### envcheck diff, {args.packages:,} packages per side ({changes} differences)\n")
    print("| what | median | vs pip freeze |")
    print("|---|---:|---:|")
    print(f"| `envcheck diff a.json b.json` (CLI, end to end) | {cli * 1000:.0f} ms | "
          f"{cli / pip:.2f}x |")
    print(f"| `pip freeze` (this environment) | {pip * 1000:.0f} ms | 1.00x |")
    for fmt_name, seconds in in_process.items():
        print(f"| in-process diff + {fmt_name} render | {seconds * 1000:.1f} ms | "
              f"{seconds / pip:.3f}x |")


def scaling(runs: int) -> None:
    """In-process diff of N packages that all differ: linear means flat time per change."""
    base = json.loads(BASE.read_text())
    print("\n### every package differs\n")
    print("| changes | median | per change |")
    print("|---:|---:|---:|")
    for count in (10_000, 25_000, 50_000):
        a, b = copy.deepcopy(base), copy.deepcopy(base)
        a["packages"] = {f"pkg-{i}": {"version": f"1.{i % 7}.0"} for i in range(count)}
        b["packages"] = {f"pkg-{i}": {"version": f"1.{i % 7 + 1}.0"} for i in range(count)}
        fa, fb = Fingerprint.from_dict(a), Fingerprint.from_dict(b)
        samples = []
        for _ in range(max(3, runs // 5)):
            start = time.perf_counter()
            changes = len(diff(fa, fb).changes)
            samples.append(time.perf_counter() - start)
        median = statistics.median(samples)
        print(f"| {changes:,} | {median * 1000:,.0f} ms | {median / changes * 1e6:.1f} µs |")


if __name__ == "__main__":
    main()
