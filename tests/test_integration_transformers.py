"""Hugging Face's Trainer: a tiny BERT built from a config (nothing downloaded) trained on
CPU with EnvcheckCallback, as one process (reporting to nothing, to MLflow, to W&B offline)
and as two ranks on gloo (launched as torchrun would), one rank started with another setting
(TF_DETERMINISTIC_OPS, judged breaking)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import envcheck
from training import SLOW_CANARIES, hiding, run_job, snapshot_with

pytest.importorskip("transformers")
pytest.importorskip("accelerate")

ODD = {"TF_DETERMINISTIC_OPS": "1"}

JOB = r'''
import json, os, sys

import torch
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments

from envcheck.errors import DriftError
from envcheck.integrations.transformers import EnvcheckCallback

out, options = sys.argv[1], json.loads(sys.argv[2])
torch.manual_seed(0)
model = BertForSequenceClassification(BertConfig(
    vocab_size=32, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
    intermediate_size=16, max_position_embeddings=16, num_labels=2))
data = [{"input_ids": torch.randint(0, 32, (6,)), "labels": int(i % 2)} for i in range(16)]
args = TrainingArguments(output_dir=options["output"], use_cpu=True,
                         ddp_backend="gloo" if "WORLD_SIZE" in os.environ else None,
                         per_device_train_batch_size=4, num_train_epochs=1,
                         save_strategy="no", report_to=options.get("report_to", []),
                         disable_tqdm=True, dataloader_num_workers=0)
callback = EnvcheckCallback(lock=options.get("lock"), numerics=options.get("numerics", False),
                            timeout=120)
trainer = Trainer(model=model, args=args, train_dataset=data, callbacks=[callback])
result = {"rank": args.process_index, "world": args.world_size}
try:
    trainer.train()
except DriftError as exc:
    result.update(outcome="drift", message=str(exc))
else:
    result.update(outcome="ok", logged=callback.logged,
                  id=callback.outcome.fingerprint.id,
                  numerics_id=callback.outcome.fingerprint.data.get("numerics_id"),
                  ranks=callback.outcome.ranks.members if callback.outcome.ranks else None)
result["steps"] = trainer.state.global_step
with open(out, "w") as handle:
    json.dump(result, handle)
# As a DDP script should end: gloo's threads left to the interpreter's exit can abort
# it ("terminate called without an active exception") after the job's work is done.
if torch.distributed.is_available() and torch.distributed.is_initialized():
    torch.distributed.destroy_process_group()
'''


def _train(tmp_path: Path, world: int = 1, extra_env: dict[int, dict[str, str]] | None = None,
           **options: Any) -> dict[int, dict[str, Any]]:
    options = {"output": str(tmp_path / "out"), **options}
    return run_job(tmp_path, JOB, [json.dumps(options)], world, extra_env)


def test_one_process_logs_the_fingerprint_in_the_output_dir(tmp_path: Path) -> None:
    [result] = _train(tmp_path).values()
    assert result["outcome"] == "ok", result
    assert result["steps"] == 4  # it trained: 16 samples in batches of 4
    assert result["logged"] == [str(tmp_path / "out" / "envcheck" / "fingerprint.json")]
    assert envcheck.load(result["logged"][0]).id == result["id"]
    assert result["ranks"] is None


def test_a_lock_the_environment_differs_from_stops_training(tmp_path: Path) -> None:
    lock = snapshot_with(tmp_path, "odd.json", ODD)
    [result] = _train(tmp_path, lock=str(lock)).values()
    assert result["outcome"] == "drift", result
    assert result["steps"] == 0
    assert "env.TF_DETERMINISTIC_OPS: 1 -> (none) [breaking]" in result["message"]


def test_the_mlflow_run_the_trainer_reports_to_gets_the_fingerprint(tmp_path: Path) -> None:
    mlflow = pytest.importorskip("mlflow")
    from envcheck.integrations.mlflow import ID_TAG, load_run

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = mlflow.MlflowClient(tracking_uri=uri)
    client.create_experiment("trainer", artifact_location=(tmp_path / "artifacts").as_uri())
    [result] = _train(tmp_path, report_to=["mlflow"], extra_env={0: {
        "MLFLOW_TRACKING_URI": uri, "MLFLOW_EXPERIMENT_NAME": "trainer"}}).values()
    assert result["outcome"] == "ok", result
    [where] = result["logged"]
    assert where.startswith("mlflow:")
    run_id = where[len("mlflow:"):]
    assert client.get_run(run_id).data.tags[ID_TAG] == result["id"]
    assert load_run(run_id, client=client).id == result["id"]


def _wandb_offline(tmp_path: Path) -> dict[str, str]:
    """W&B in offline mode with every directory of its own in tmp."""
    return {"WANDB_MODE": "offline", "WANDB_SILENT": "true", "WANDB_PROJECT": "envcheck-test",
            "WANDB_DIR": str(tmp_path), **{f"WANDB_{d}_DIR": str(tmp_path / d.lower())
                                           for d in ("CACHE", "DATA", "CONFIG")}}


def _wandb_logged(tmp_path: Path, where: str) -> tuple[envcheck.Fingerprint, dict[str, Any]]:
    """The fingerprint artifact and the envcheck config key recorded by the offline run
    ``where`` names (``wandb:RUN_ID``), read from the run's own record file."""
    from test_integration_wandb import _records

    [run_dir] = (tmp_path / "wandb").glob("offline-run-*")
    assert where == "wandb:" + run_dir.name.rsplit("-", 1)[1]
    records = _records(run_dir)
    [artifact] = [r.artifact for r in records if r.WhichOneof("record_type") == "artifact"
                  and r.artifact.type == "envcheck-fingerprint"]
    entries = {entry.path: entry for entry in artifact.manifest.contents}
    config = {item.key: item.value_json for r in records if r.WhichOneof("record_type") == "config"
              for item in r.config.update}
    return (envcheck.load(entries["envcheck/fingerprint.json"].local_path),
            json.loads(config["envcheck"]))


def test_the_wandb_run_the_trainer_reports_to_gets_the_fingerprint_offline(
        tmp_path: Path) -> None:
    pytest.importorskip("wandb")
    [result] = _train(tmp_path, report_to=["wandb"],
                      extra_env={0: _wandb_offline(tmp_path)}).values()
    assert result["outcome"] == "ok", result
    assert result["steps"] == 4
    [where] = result["logged"]
    fingerprint, keys = _wandb_logged(tmp_path, where)
    assert fingerprint.id == result["id"]
    assert keys == {"id": result["id"]}
    assert not (tmp_path / "out" / "envcheck").exists()  # the run has it, not output_dir


def test_numerics_go_with_the_fingerprint_onto_the_mlflow_and_wandb_runs(tmp_path: Path) -> None:
    mlflow = pytest.importorskip("mlflow")
    pytest.importorskip("wandb")
    from envcheck.integrations.mlflow import ID_TAG, NUMERICS_TAG, load_run

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = mlflow.MlflowClient(tracking_uri=uri)
    client.create_experiment("trainer", artifact_location=(tmp_path / "artifacts").as_uri())
    settings = {"MLFLOW_TRACKING_URI": uri, "MLFLOW_EXPERIMENT_NAME": "trainer",
                **_wandb_offline(tmp_path), **hiding(tmp_path, *SLOW_CANARIES)}
    [result] = _train(tmp_path, report_to=["mlflow", "wandb"], numerics=True,
                      extra_env={0: settings}).values()
    assert result["outcome"] == "ok", result
    ids = (result["id"], result["numerics_id"])
    assert ids[1], result
    to_mlflow, to_wandb = result["logged"]
    run_id = to_mlflow[len("mlflow:"):]
    tags = client.get_run(run_id).data.tags
    assert (tags[ID_TAG], tags[NUMERICS_TAG]) == ids
    fingerprint, keys = _wandb_logged(tmp_path, to_wandb)
    assert keys == {"id": ids[0], "numerics_id": ids[1]}
    for logged in (load_run(run_id, client=client), fingerprint):
        assert (logged.id, logged.data["numerics_id"]) == ids
        canaries = logged.data["numerics"]["canaries"]
        assert {"numpy.matmul_float64", "torch.matmul_float32"} <= set(canaries)
        assert not [name for name in canaries if name.startswith(SLOW_CANARIES)]


def test_two_ranks_one_drifted_stop_on_every_rank_naming_it(tmp_path: Path) -> None:
    results = _train(tmp_path, world=2, extra_env={1: ODD})
    assert sorted(results) == [0, 1]
    for rank, result in results.items():
        assert (result["rank"], result["world"]) == (rank, 2), result
        assert result["outcome"] == "drift", result
        assert result["steps"] == 0
        headline = result["message"].splitlines()[0]
        assert headline.startswith("rank 1 (")
        assert "env.TF_DETERMINISTIC_OPS: (none) -> 1 [breaking]" in headline
        assert "differs: rank 1" in result["message"]
    assert not (tmp_path / "out" / "envcheck").exists()
