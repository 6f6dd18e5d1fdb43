"""Benchmark ``envcheck compare`` over a generated fleet (default 1,000 nodes x 300 packages).

    python benchmarks/bench_fleet.py [--nodes 1000] [--packages 300] [--runs 3]

Every node is the real fingerprint in tests/data with its package set padded to
N packages; a handful of nodes drift (a driver, an NCCL setting, a package).
Reports the median wall time of the CLI end to end and its peak RSS.
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
from typing import Any

BASE = Path(__file__).resolve().parents[1] / "tests" / "data" / "fake-2xa100.json"
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def generate(directory: Path, nodes: int, packages: int) -> None:
    base: dict[str, Any] = json.loads(BASE.read_text())
    for i in range(packages - len(base["packages"])):
        name = f"synthetic-pkg-{i:04d}"
        base["packages"][name] = {"name": name, "version": f"1.{i % 30}.0",
                                  "record_digest": f"sha256:{i:064x}", "installer": "pip",
                                  "location": "/opt/venv/lib/python3.11/site-packages",
                                  "wheel": {"tags": ["py3-none-any"]}}
    for node in range(nodes):
        document = copy.deepcopy(base) if node % 97 == 0 or node < 2 else base
        document["meta"] = {**base["meta"], "hostname": f"node-{node:04d}"}
        if node % 97 == 0:
            document["cuda"]["driver_version"] = "535.104.05"
        if node % 331 == 0:
            document["env"]["NCCL_ALGO"] = "Tree"
        (directory / f"node-{node:04d}.json").write_text(json.dumps(document))


def run(command: list[str]) -> tuple[float, int]:
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env=ENV)
    _, _, usage = os.wait4(process.pid, 0)
    return time.perf_counter() - start, usage.ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--packages", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    envcheck = str(Path(sys.executable).parent / "envcheck")
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp), args.nodes, args.packages)
        size = sum(f.stat().st_size for f in Path(tmp).iterdir())
        command = [envcheck, "compare", tmp, "--format", "json", "-o", os.devnull]
        run(command)
        samples = [run(command) for _ in range(args.runs)]
    median = statistics.median(s for s, _ in samples)
    peak = max(m for _, m in samples) / 1024
    print(f"| `envcheck compare` {args.nodes:,} nodes x {args.packages} packages "
          f"({size / 2**20:.0f} MiB of JSON) | {median:.2f} s | peak RSS {peak:.0f} MiB |")


if __name__ == "__main__":
    main()
