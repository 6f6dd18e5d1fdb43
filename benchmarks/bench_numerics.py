"""Benchmark the numeric canaries against what people run instead, in one run.

    python benchmarks/bench_numerics.py [--runs 5] [--json results.json]

Side by side, each a fresh process as a user would start it, interleaved so
machine noise spreads evenly; medians of wall time:
  * importing numpy (and torch) alone: the floor any measurement pays;
  * a hand-written check: import numpy, one float64 matmul, hash its bytes;
  * envcheck's canaries for numpy alone, and for numpy and torch, runtime included
    (``run_child`` with ``only``), started from a fresh interpreter;
  * ``python -m torch.utils.collect_env``, what people paste to describe torch.
Budgets (issue #14): numpy alone <= 1.5 s, numpy and torch <= 4 s. Nothing here
is a pass/fail test.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

PY = sys.executable
HAND_WRITTEN = ("import hashlib, numpy as np\n"
                "a = np.arange(257 * 263, dtype=np.float64).reshape(257, 263) / 7\n"
                "b = np.arange(263 * 251, dtype=np.float64).reshape(263, 251) / 7\n"
                "print(hashlib.sha256((a @ b).tobytes()).hexdigest())\n")


def canaries(only: list[str]) -> list[str]:
    return [PY, "-c", "import sys; from envcheck.probe.numerics import run_child; "
            f"s = run_child(sys.executable, 300, only={only!r}); "
            "assert not s['errors'], s['errors']; assert s['canaries']"]


COMMANDS: dict[str, list[str]] = {
    "python -c 'import numpy'": [PY, "-c", "import numpy"],
    "hand-written: numpy matmul + sha256": [PY, "-c", HAND_WRITTEN],
    "envcheck canaries, numpy": canaries(["numpy.*"]),
    "python -c 'import numpy, torch'": [PY, "-c", "import numpy, torch"],
    "envcheck canaries, numpy + torch": canaries(["numpy.*", "torch.*"]),
    "python -m torch.utils.collect_env": [PY, "-m", "torch.utils.collect_env"],
}


def run_once(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for command in COMMANDS.values():
        run_once(command)  # warm the page cache
    for _ in range(args.runs):
        for name, command in COMMANDS.items():
            times[name].append(run_once(command))
    print("| command | median wall |\n|---|---:|")
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, median in medians.items():
        print(f"| {name} | {median * 1000:,.0f} ms |")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"medians_s": medians, "runs": times}, handle, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
