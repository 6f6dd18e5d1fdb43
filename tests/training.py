"""Training jobs for the training-loop callbacks: one process, or ranks launched as torchrun
launches them (MASTER_ADDR/PORT, WORLD_SIZE, RANK, LOCAL_RANK, NODE_RANK) on 127.0.0.1 with
gloo, each rank with its own environment. Each job writes what it saw as JSON."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

WALL_BOUND_S = 300.0  # a bound on hanging on a loaded machine, not a timing test
# Settings a test gives one rank; the job's own environment must not carry them already.
SETTINGS = ("TF_DETERMINISTIC_OPS", "PYTHONPATH", "RANK", "WORLD_SIZE", "MASTER_ADDR",
            "MASTER_PORT", "LOCAL_RANK", "NODE_RANK", "LOCAL_WORLD_SIZE", "GROUP_RANK")
# Frameworks a job with numerics=True hides from its canary child: TensorFlow's import alone
# takes ~18 s here, numpy's and torch's canaries ~6 s together.
SLOW_CANARIES = ("tensorflow", "jax")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in SETTINGS and not k.startswith(("MLFLOW_", "WANDB_"))}
    env.update(PYTHONDONTWRITEBYTECODE="1", WANDB_MODE="disabled", OMP_NUM_THREADS="1")
    return env


def run_job(tmp_path: Path, script: str, args: Sequence[str] = (), world: int = 1,
            extra_env: Mapping[int, Mapping[str, str]] | None = None,
            ) -> dict[int, dict[str, Any]]:
    """Run ``script`` as a job of ``world`` ranks (one plain process when 1); each rank's
    JSON result (the script writes ``sys.argv[1]``) by rank. Every process is gone after."""
    worker = tmp_path / "job.py"
    worker.write_text(script)
    port = str(free_port())
    procs: dict[int, subprocess.Popen[bytes]] = {}
    logs: dict[int, Path] = {}
    try:
        for rank in range(world):
            env = base_env()
            if world > 1:
                env.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=port, WORLD_SIZE=str(world),
                           RANK=str(rank), LOCAL_RANK=str(rank), NODE_RANK="0",
                           LOCAL_WORLD_SIZE=str(world))
            env.update((extra_env or {}).get(rank, {}))
            logs[rank] = tmp_path / f"rank{rank}.log"
            with open(logs[rank], "wb") as log:
                procs[rank] = subprocess.Popen(
                    [sys.executable, str(worker), str(tmp_path / f"rank{rank}.json"), *args],
                    env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
        deadline = time.monotonic() + WALL_BOUND_S
        results: dict[int, dict[str, Any]] = {}
        for rank, proc in procs.items():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pytest.fail(f"rank {rank} still running after {WALL_BOUND_S:g} s:\n"
                            + logs[rank].read_text(errors="replace")[-3000:])
            log_text = logs[rank].read_text(errors="replace")
            assert proc.returncode == 0, log_text[-4000:]
            results[rank] = json.loads((tmp_path / f"rank{rank}.json").read_text())
            results[rank]["log"] = log_text
        return results
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
        for proc in procs.values():
            proc.wait(timeout=30)


def hiding(tmp_path: Path, *modules: str) -> dict[str, str]:
    """Settings that make ``modules`` unimportable in a job and in every Python process it
    starts (the numeric canaries' child too): a ``sitecustomize`` on PYTHONPATH sets each
    to None in ``sys.modules``, so ``import`` raises ImportError and ``find_spec`` is None."""
    directory = tmp_path / "hiding"
    directory.mkdir(exist_ok=True)
    (directory / "sitecustomize.py").write_text(
        "import sys\n" + "".join(f"sys.modules[{name!r}] = None\n" for name in modules))
    return {"PYTHONPATH": str(directory)}


def snapshot_with(tmp_path: Path, name: str, extra: Mapping[str, str]) -> Path:
    """A fingerprint of this interpreter taken by another process with ``extra`` set:
    a lock the job's environment differs from."""
    path = tmp_path / name
    done = subprocess.run([sys.executable, "-m", "envcheck", "snapshot", "-o", str(path)],
                          env=dict(base_env(), **extra), capture_output=True, text=True,
                          timeout=WALL_BOUND_S, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return path
