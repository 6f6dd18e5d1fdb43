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

Bytecode: by default every command runs with Python's bytecode cache on, kept in a
temporary folder (PYTHONPYCACHEPREFIX; the warm-up run fills it), as on any machine
after a framework's first import. This machine sets PYTHONDONTWRITEBYTECODE=1 and its
venvs hold no .pyc files (uv does not compile at install), so there every import of
torch compiles its ~850 modules from source, about 4 s of CPU: ``--bytecode as-is``
measures that.

Besides wall time, the CPU time (user + system) of each command's whole process tree,
and the load average before and after: on a machine others share, wall time grows with
the load while CPU time does not, so CPU time says what a quiet machine's wall time
would be (each command here is mostly one thread: import and small kernels).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
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


def run_once(command: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of ``command`` and every process it started and waited for."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--bytecode", choices=("cached", "as-is"), default="cached",
                        help="cached: a bytecode cache as after a first import (default); "
                             "as-is: this machine's environment unchanged")
    args = parser.parse_args()
    if args.bytecode == "cached":  # children inherit it; nothing in the venv is written
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        os.environ["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="bench-pycache-")
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    cpu: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for command in COMMANDS.values():
        run_once(command)  # warm the page cache
    load_before = os.getloadavg()
    for _ in range(args.runs):
        for name, command in COMMANDS.items():
            wall, used = run_once(command)
            times[name].append(wall)
            cpu[name].append(used)
    load_after = os.getloadavg()
    print(f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after "
          f"({os.cpu_count()} CPUs); medians of {args.runs} runs; bytecode {args.bytecode}\n")
    print("| command | median wall | median CPU (user + system) |\n|---|---:|---:|")
    medians = {name: statistics.median(values) for name, values in times.items()}
    cpu_medians = {name: statistics.median(values) for name, values in cpu.items()}
    for name, median in medians.items():
        print(f"| {name} | {median * 1000:,.0f} ms | {cpu_medians[name] * 1000:,.0f} ms |")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"medians_s": medians, "cpu_medians_s": cpu_medians, "runs": times,
                       "cpu_runs": cpu, "load": [load_before, load_after],
                       "bytecode": args.bytecode}, handle, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
