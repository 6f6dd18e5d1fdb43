"""Benchmark ``envcheck snapshot`` against the tools people use instead, in one run.

    python benchmarks/bench_snapshot.py [--runs 7] [--json results.json] [--before SRC]

``envcheck snapshot --python PY`` is measured too: the probe in another
interpreter, as for every pipx user (here PY is the same interpreter, so the
two rows differ only by how the probe gets there). ``--before SRC`` adds both
envcheck rows run from another source tree (``git archive REV src | tar -x``),
side by side in the same run: what a change bought, under the same load.
Each envcheck row has a home (history and caches) of its own, warm as on any
machine's second run: the probe's last answer is reused while its witness holds
(envcheck.memo). One more row removes that answer before each run, as a change
in the environment would: the cost of the first snapshot after a change.

Two environments:
  (a) this interpreter's own environment (torch, numpy, scipy and friends);
  (b) the same interpreter with a synthetic directory of N distributions on
      PYTHONPATH (default 2,000), built once under a temporary directory.

Each command runs --runs times, interleaved and rotated so machine noise spreads evenly;
the table reports medians, the ratio to ``pip freeze``, and the peak RSS of
each process (from wait4), and its CPU time (user + system, its children
included): on a loaded machine wall time follows CPU time. Time per distribution
at several sizes shows the cost is linear. Prints a Markdown table; nothing here
is a pass/fail test.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

Command = list[str]


def make_synthetic_site(root: Path, count: int) -> Path:
    """``count`` installed distributions, each a real dist-info with a RECORD of a few files."""
    site = root / f"site-{count}"
    if site.exists():
        return site
    site.mkdir(parents=True)
    for i in range(count):
        name = f"synthetic_pkg_{i:05d}"
        info = site / f"{name}-1.{i % 50}.{i % 7}.dist-info"
        info.mkdir()
        files = {f"{name}/__init__.py": f"VALUE = {i}\n".encode(),
                 f"{name}/core.py": b"def f():\n    return 1\n"}
        record = []
        for rel, data in files.items():
            (site / rel).parent.mkdir(parents=True, exist_ok=True)
            (site / rel).write_bytes(data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            record.append(f"{rel},sha256={digest.decode()},{len(data)}")
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: synthetic-pkg-{i:05d}\nVersion: 1.{i % 50}.{i % 7}\n"
            "Summary: benchmark filler\n\n" + "Long description.\n" * 20)
        (info / "WHEEL").write_text("Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: "
                                    "true\nTag: py3-none-any\n")
        (info / "INSTALLER").write_text("pip\n")
        record.append(f"{info.name}/RECORD,,")
        (info / "RECORD").write_text("\n".join(record) + "\n")
    return site


def run_once(command: Command, env: dict[str, str]) -> tuple[float, int, float]:
    """Wall seconds, peak RSS (KiB) and CPU seconds of one run; the command must succeed."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env=env)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        stderr = process.stderr.read().decode() if process.stderr else ""
        raise SystemExit(f"benchmark command failed: {' '.join(command)}\n{stderr}")
    if process.stderr:
        process.stderr.close()
    return elapsed, usage.ru_maxrss, usage.ru_utime + usage.ru_stime


def tools(python: str, include_collect_env: bool, before: Path | None = None
          ) -> dict[str, Command]:
    bindir = Path(python).parent
    commands: dict[str, Command] = {
        "envcheck snapshot -o /dev/null": [str(bindir / "envcheck"), "snapshot", "-o",
                                           "/dev/null"],
        # What a pipx user gets (envcheck probes the active venv): another interpreter.
        "envcheck snapshot --python PY -o /dev/null": [
            str(bindir / "envcheck"), "snapshot", "--python", python, "-o", "/dev/null"],
        # The same after a change in the environment: the memo of the last answer gone
        # (the package cache stays warm), so the interpreter is started and asked again.
        "envcheck snapshot --python PY -o /dev/null (memo removed first)": [
            "/bin/sh", "-c", 'rm -f "$ENVCHECK_HOME"/cache/memo-*.json; exec "$0" "$@"',
            str(bindir / "envcheck"), "snapshot", "--python", python, "-o", "/dev/null"],
        "pip freeze": [python, "-m", "pip", "freeze"],
        # The floor of any probe in another interpreter: that interpreter's start-up,
        # with its site (what the probe runs under) and without.
        "python -c pass": [python, "-c", "pass"],
        "python -S -c pass": [python, "-S", "-c", "pass"],
        "pip inspect": [python, "-m", "pip", "inspect"],
    }
    uv = shutil.which("uv", path=str(bindir)) or shutil.which("uv")
    if uv:
        commands["uv pip freeze"] = [uv, "pip", "freeze", "--python", python]
    if include_collect_env:
        commands["python -m torch.utils.collect_env"] = [python, "-m", "torch.utils.collect_env"]
    if before is not None:
        # The other tree on this process's sys.path only: the probed environment
        # (PYTHONPATH included) stays the same for both. measure() gives each row a
        # history and caches of its own.
        launcher = (f"import sys; sys.path.insert(0, {str(before)!r}); "
                    "from envcheck.entry import main; sys.exit(main())")
        commands["envcheck snapshot -o /dev/null (before)"] = [
            python, "-c", launcher, "snapshot", "-o", "/dev/null"]
        commands["envcheck snapshot --python PY -o /dev/null (before)"] = [
            python, "-c", launcher, "snapshot", "--python", python, "-o", "/dev/null"]
    return commands


def measure(commands: dict[str, Command], env: dict[str, str], runs: int,
            homes: Path | None = None) -> dict[str, dict[str, float]]:
    """Medians of ``runs`` interleaved runs. ``homes``: each envcheck row gets an
    ENVCHECK_HOME of its own there, as a user running that one command again and again
    has: else two rows take turns in one history and each snapshot is judged against
    the other's (the in-process and ``--python`` documents differ in ``sys.path``)."""
    envs = {name: env for name in commands}
    if homes is not None:
        for name in commands:
            if name.startswith("envcheck"):
                home = homes / f"home-{zlib.crc32(name.encode()):08x}"
                envs[name] = dict(env, ENVCHECK_HOME=str(home))
    samples: dict[str, list[tuple[float, int, float]]] = {name: [] for name in commands}
    for name, command in commands.items():  # one warm-up each: page cache, .pyc files
        run_once(command, envs[name])
    names = list(commands)
    for run in range(runs):
        # Each run starts at the next command: whichever goes first after a pause is
        # slower on this machine (15 to 20% in a trial), so no command always does.
        for name in names[run % len(names):] + names[:run % len(names)]:
            samples[name].append(run_once(commands[name], envs[name]))
    return {
        name: {"median_s": statistics.median(t for t, _, _ in values),
               "peak_rss_mib": max(m for _, m, _ in values) / 1024,
               "cpu_median_s": statistics.median(c for _, _, c in values)}
        for name, values in samples.items()
    }


def table(title: str, results: dict[str, dict[str, float]]) -> str:
    baseline = results["pip freeze"]["median_s"]
    cpu_baseline = results["pip freeze"]["cpu_median_s"]
    lines = [f"### {title}", "", "| command | median | vs pip freeze | CPU | vs pip freeze "
             "| peak RSS |", "|---|---:|---:|---:|---:|---:|"]
    for name, values in sorted(results.items(), key=lambda kv: kv[1]["median_s"]):
        lines.append(f"| `{name}` | {values['median_s'] * 1000:.0f} ms | "
                     f"{values['median_s'] / baseline:.2f}x | "
                     f"{values['cpu_median_s'] * 1000:.0f} ms | "
                     f"{values['cpu_median_s'] / cpu_baseline:.2f}x | "
                     f"{values['peak_rss_mib']:.0f} MiB |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--distributions", type=int, default=2000)
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    parser.add_argument("--before", type=Path,
                        help="an envcheck source tree (the folder holding envcheck/) to "
                             "measure beside this one")
    args = parser.parse_args()
    before = args.before.resolve() if args.before else None
    python = sys.executable
    env = dict(os.environ, PYTHONPATH="")
    env.pop("VIRTUAL_ENV", None)
    # As installed for users: byte-code caches written (the warm-up run writes them).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    load_before = os.getloadavg()
    report: dict[str, object] = {"python": python, "runs": args.runs,
                                 "load_average_before": load_before}
    with tempfile.TemporaryDirectory(prefix="envcheck-bench-") as tmp:
        cwd = os.getcwd()
        os.chdir(tmp)  # no stray dist-info in the working directory
        try:
            homes = Path(tmp)
            real = measure(tools(python, include_collect_env=True, before=before), env,
                           args.runs, homes)
            site = make_synthetic_site(Path(tmp), args.distributions)
            synthetic_env = dict(env, PYTHONPATH=str(site))
            synthetic = measure(tools(python, include_collect_env=False, before=before),
                                synthetic_env, args.runs, homes)
            scaling = {}
            for count in (args.distributions // 4, args.distributions // 2, args.distributions):
                scaled_env = dict(env, PYTHONPATH=str(make_synthetic_site(Path(tmp), count)))
                only = {"envcheck": tools(python, False)["envcheck snapshot -o /dev/null"]}
                scaling[count] = measure(only, scaled_env, args.runs,
                                         homes)["envcheck"]["median_s"]
        finally:
            os.chdir(cwd)
    report.update(real=real, synthetic=synthetic, scaling=scaling,
                  load_average_after=os.getloadavg())
    print(table("(a) this environment (torch, numpy, scipy, ...)", real))
    print()
    print(table(f"(b) {args.distributions:,} synthetic distributions", synthetic))
    print()
    print("### Scaling (envcheck snapshot, synthetic distributions on top of (a))\n")
    print("| distributions | median | ms per 1,000 added |")
    print("|---:|---:|---:|")
    for count, seconds in scaling.items():
        added = (seconds - real["envcheck snapshot -o /dev/null"]["median_s"]) * 1000
        print(f"| {count:,} | {seconds * 1000:.0f} ms | {added / count * 1000:.0f} ms |")
    print(f"\nLoad average (1 min) before and after: {load_before[0]:.1f}, "
          f"{os.getloadavg()[0]:.1f}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
