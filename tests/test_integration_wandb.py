"""W&B in offline mode (its directories in tmp): the fingerprint is recorded with the run as an
artifact and a config key, read back from the run's own record file."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

wandb = pytest.importorskip("wandb")

LOG_RUN = r'''
import wandb
from envcheck.integrations.wandb import log_fingerprint
run = wandb.init(project="envcheck-test", mode="offline")
fingerprint = log_fingerprint()
print("ID=" + fingerprint.id)
run.finish()
'''


def _records(run_dir: Path) -> list[Any]:
    """Every record W&B wrote for the run (what `wandb sync` would upload).

    The run file is a LevelDB-style log: a 7-byte header, then 32 KiB blocks of chunks,
    each with a 7-byte header (CRC, length, type: 1 full, 2 first, 3 middle, 4 last)."""
    protos: Any = importlib.import_module("wandb.proto.wandb_internal_pb2")  # generated

    [path] = run_dir.glob("*.wandb")
    data = path.read_bytes()
    assert data[:4] == b":W&B"
    block, position, pending, records = 32768, 7, b"", []
    while position + 7 <= len(data):
        if block - position % block < 7:  # a block's tail too short for a header is padding
            position += block - position % block
            continue
        length = int.from_bytes(data[position + 4:position + 6], "little")
        kind = data[position + 6]
        chunk = data[position + 7:position + 7 + length]
        position += 7 + length
        if kind == 0 and length == 0:
            break
        pending = chunk if kind in (1, 2) else pending + chunk
        if kind in (1, 4):
            record = protos.Record()
            record.ParseFromString(pending)
            records.append(record)
    return records


def test_offline_run_carries_the_fingerprint(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update(WANDB_MODE="offline", WANDB_DIR=str(tmp_path), WANDB_CACHE_DIR=str(tmp_path / "c"),
               WANDB_DATA_DIR=str(tmp_path / "d"), WANDB_CONFIG_DIR=str(tmp_path / "cfg"),
               WANDB_SILENT="true")
    done = subprocess.run([sys.executable, "-c", LOG_RUN], env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    fingerprint_id = next(line[3:] for line in done.stdout.splitlines() if line.startswith("ID="))
    [run_dir] = (tmp_path / "wandb").glob("offline-run-*")
    records = _records(run_dir)
    artifacts = [r.artifact for r in records if r.WhichOneof("record_type") == "artifact"]
    [artifact] = [a for a in artifacts if a.type == "envcheck-fingerprint"]
    assert artifact.name == "envcheck-fingerprint"
    entries = {entry.path: entry for entry in artifact.manifest.contents}
    staged = Path(entries["envcheck/fingerprint.json"].local_path)
    assert json.loads(staged.read_text())["id"] == fingerprint_id
    config = {item.key: item.value_json for r in records if r.WhichOneof("record_type") == "config"
              for item in r.config.update}
    assert json.loads(config["envcheck"]) == {"id": fingerprint_id}


def test_log_fingerprint_needs_a_run() -> None:
    from envcheck.errors import UsageError
    from envcheck.integrations.wandb import log_fingerprint

    assert wandb.run is None
    with pytest.raises(UsageError, match="no active W&B run"):
        log_fingerprint()
