"""Benchmark ``envcheck.containers.snapshot_image``: one new container per run.

    python benchmarks/bench_docker.py [--runs 10] [--image envcheck-test/bookworm:latest]

Each run is what ``envcheck snapshot --image`` costs: connect to the engine,
inspect the image, create and start a network-less container, feed the probe
on stdin, read its output, remove the container. Needs a Docker engine and the
image locally (``bash .ci/docker-setup``). Prints the median as one Markdown
table row; the target on a developer machine is under 3 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from envcheck.containers import snapshot_image
from envcheck.errors import TargetError

TARGET_S = 3.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--image", default="envcheck-test/bookworm:latest")
    args = parser.parse_args()
    try:
        snapshot_image(args.image)  # warm-up: imports, the image's files in the page cache
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            snapshot_image(args.image)
            times.append(time.perf_counter() - start)
    except TargetError as exc:
        print(f"bench_docker: {exc}", file=sys.stderr)
        return 3
    median = statistics.median(times)
    verdict = "ok" if median < TARGET_S else f"over the {TARGET_S:g} s target"
    print("| benchmark | runs | median | min | max | target |")
    print("|---|---:|---:|---:|---:|---|")
    print(f"| `snapshot_image {args.image}` | {args.runs} | {median:.2f} s | {min(times):.2f} s "
          f"| {max(times):.2f} s | < {TARGET_S:g} s: {verdict} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
