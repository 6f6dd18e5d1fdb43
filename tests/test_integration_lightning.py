"""PyTorch Lightning: a tiny model fitted on CPU with EnvcheckCallback, as one process and as
a DDP job of two ranks on gloo (launched as torchrun would), one rank started with another
setting (TF_DETERMINISTIC_OPS, judged breaking)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import envcheck
from training import SLOW_CANARIES, hiding, run_job, snapshot_with

pytest.importorskip("lightning")

ODD = {"TF_DETERMINISTIC_OPS": "1"}

JOB = r'''
import json, sys

import torch
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.loggers import CSVLogger, MLFlowLogger
from torch.utils.data import DataLoader, TensorDataset

from envcheck.errors import DriftError
from envcheck.integrations.lightning import EnvcheckCallback

out, options = sys.argv[1], json.loads(sys.argv[2])


class Tiny(LightningModule):
    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(4, 1)

    def training_step(self, batch, batch_idx):
        x, y = batch
        return torch.nn.functional.mse_loss(self.layer(x), y)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


torch.manual_seed(0)
data = DataLoader(TensorDataset(torch.randn(16, 4), torch.randn(16, 1)), batch_size=4)
if options.get("mlflow"):
    logger = MLFlowLogger(experiment_name="lightning", tracking_uri=options["mlflow"],
                          artifact_location=options["artifacts"])
elif options.get("wandb"):
    from lightning.pytorch.loggers import WandbLogger
    logger = WandbLogger(project="envcheck-test", offline=True, save_dir=options["logs"])
else:
    logger = CSVLogger(options["logs"], name="tiny")
callback = EnvcheckCallback(lock=options.get("lock"), numerics=options.get("numerics", False),
                            timeout=120)
trainer = Trainer(accelerator="cpu", devices=options.get("devices", 1),
                  strategy="ddp" if options.get("devices", 1) > 1 else "auto", max_epochs=1,
                  logger=logger, callbacks=[callback], enable_checkpointing=False,
                  enable_progress_bar=False,
                  enable_model_summary=False, default_root_dir=options["logs"])
result = {"rank": trainer.global_rank, "trainer": type(trainer).__module__,
          "callback_base": sys.modules["envcheck.integrations.lightning"].pl.__name__,
          "lightning_hidden": "lightning" in sys.modules and sys.modules["lightning"] is None}
try:
    trainer.fit(Tiny(), data)
except DriftError as exc:
    result.update(outcome="drift", message=str(exc))
else:
    result.update(outcome="ok", logged=callback.logged,
                  id=callback.outcome.fingerprint.id,
                  numerics_id=callback.outcome.fingerprint.data.get("numerics_id"),
                  ranks=callback.outcome.ranks.members if callback.outcome.ranks else None)
result["steps"] = trainer.global_step
with open(out, "w") as handle:
    json.dump(result, handle)
# As a DDP script should end: gloo's threads left to the interpreter's exit can abort
# it ("terminate called without an active exception") after the job's work is done.
if torch.distributed.is_available() and torch.distributed.is_initialized():
    torch.distributed.destroy_process_group()
'''


def _fit(tmp_path: Path, world: int = 1, extra_env: dict[int, dict[str, str]] | None = None,
         **options: Any) -> dict[int, dict[str, Any]]:
    options = {"logs": str(tmp_path / "logs"), "devices": world, **options}
    return run_job(tmp_path, JOB, [json.dumps(options)], world, extra_env)


def test_one_process_fit_logs_the_fingerprint_in_the_log_dir(tmp_path: Path) -> None:
    [result] = _fit(tmp_path).values()
    assert result["outcome"] == "ok", result
    assert result["steps"] == 4  # it trained: 16 samples in batches of 4
    [path] = result["logged"]
    assert Path(path) == tmp_path / "logs" / "tiny" / "version_0" / "envcheck" / "fingerprint.json"
    logged = envcheck.load(path)
    assert logged.id == result["id"]
    assert logged.data["env"].get("TF_DETERMINISTIC_OPS") is None
    assert result["ranks"] is None  # one process: nothing to compare


def test_a_lock_the_environment_differs_from_stops_fit_before_training(tmp_path: Path) -> None:
    lock = snapshot_with(tmp_path, "odd.json", ODD)
    [result] = _fit(tmp_path, lock=str(lock)).values()
    assert result["outcome"] == "drift", result
    assert result["steps"] == 0
    assert "env.TF_DETERMINISTIC_OPS: 1 -> (none) [breaking]" in result["message"]
    assert str(lock) in result["message"]


def test_the_mlflow_logger_gets_the_fingerprint_on_its_run(tmp_path: Path) -> None:
    mlflow = pytest.importorskip("mlflow")
    from envcheck.integrations.mlflow import ID_TAG, load_run

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    [result] = _fit(tmp_path, mlflow=uri, artifacts=(tmp_path / "artifacts").as_uri()).values()
    assert result["outcome"] == "ok", result
    [where] = result["logged"]
    assert where.startswith("mlflow:")
    run_id = where[len("mlflow:"):]
    client = mlflow.MlflowClient(tracking_uri=uri)
    assert client.get_run(run_id).data.tags[ID_TAG] == result["id"]
    assert load_run(run_id, client=client).id == result["id"]


def test_the_wandb_logger_gets_the_fingerprint_on_its_offline_run(tmp_path: Path) -> None:
    pytest.importorskip("wandb")
    from test_integration_wandb import _records

    settings = {"WANDB_MODE": "offline", "WANDB_SILENT": "true",
                **{f"WANDB_{d}_DIR": str(tmp_path / d.lower()) for d in ("CACHE", "DATA",
                                                                        "CONFIG")}}
    [result] = _fit(tmp_path, wandb=True, extra_env={0: settings}).values()
    assert result["outcome"] == "ok", result
    [where] = result["logged"]
    [run_dir] = (tmp_path / "logs" / "wandb").glob("offline-run-*")
    assert where == "wandb:" + run_dir.name.rsplit("-", 1)[1]
    records = _records(run_dir)
    [artifact] = [r.artifact for r in records if r.WhichOneof("record_type") == "artifact"
                  and r.artifact.type == "envcheck-fingerprint"]
    entries = {entry.path: entry for entry in artifact.manifest.contents}
    assert envcheck.load(entries["envcheck/fingerprint.json"].local_path).id == result["id"]


def test_numerics_go_with_the_fingerprint_onto_the_mlflow_run(tmp_path: Path) -> None:
    mlflow = pytest.importorskip("mlflow")
    from envcheck.integrations.mlflow import ID_TAG, NUMERICS_TAG, load_run

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    [result] = _fit(tmp_path, mlflow=uri, artifacts=(tmp_path / "artifacts").as_uri(),
                    numerics=True, extra_env={0: hiding(tmp_path, *SLOW_CANARIES)}).values()
    assert result["outcome"] == "ok", result
    assert result["numerics_id"], result
    [where] = result["logged"]
    run_id = where[len("mlflow:"):]
    client = mlflow.MlflowClient(tracking_uri=uri)
    tags = client.get_run(run_id).data.tags
    assert (tags[ID_TAG], tags[NUMERICS_TAG]) == (result["id"], result["numerics_id"])
    logged = load_run(run_id, client=client)
    assert (logged.id, logged.data["numerics_id"]) == (result["id"], result["numerics_id"])
    canaries = logged.data["numerics"]["canaries"]
    assert {"numpy.matmul_float64", "torch.matmul_float32"} <= set(canaries)
    assert not [name for name in canaries if name.startswith(SLOW_CANARIES)]


def test_only_pytorch_lightning_importable_the_callback_fits_with_its_trainer(
        tmp_path: Path) -> None:
    pytest.importorskip("pytorch_lightning")
    job = JOB.replace("lightning.pytorch", "pytorch_lightning")
    options = {"logs": str(tmp_path / "logs"), "devices": 1}
    [result] = run_job(tmp_path, job, [json.dumps(options)],
                       extra_env={0: hiding(tmp_path, "lightning")}).values()
    assert result["lightning_hidden"], result  # `import lightning` raised ImportError there
    assert result["callback_base"] == "pytorch_lightning"
    assert result["trainer"].startswith("pytorch_lightning.")
    assert result["outcome"] == "ok", result
    assert result["steps"] == 4
    [path] = result["logged"]  # pytorch_lightning's CSVLogger: its log dir
    assert Path(path) == tmp_path / "logs" / "tiny" / "version_0" / "envcheck" / "fingerprint.json"
    assert envcheck.load(path).id == result["id"]


def test_ddp_job_with_one_drifted_rank_stops_on_every_rank_naming_it(tmp_path: Path) -> None:
    pytest.importorskip("torch.distributed")
    results = _fit(tmp_path, world=2, extra_env={1: ODD})
    assert sorted(results) == [0, 1]
    for rank, result in results.items():
        assert result["rank"] == rank
        assert result["outcome"] == "drift", result
        assert result["steps"] == 0, result
        headline = result["message"].splitlines()[0]
        assert headline.startswith("rank 1 (")
        assert "env.TF_DETERMINISTIC_OPS: (none) -> 1 [breaking]" in headline
        assert "majority of 1 rank (rank 0 (" in headline
        assert "differs: rank 1" in result["message"]  # the report follows the headline
    assert not list((tmp_path / "logs").rglob("fingerprint.json"))  # nothing logged on drift


def test_ddp_job_of_alike_ranks_trains_and_logs_once(tmp_path: Path) -> None:
    results = _fit(tmp_path, world=2)
    assert [results[r]["outcome"] for r in (0, 1)] == ["ok", "ok"], results
    assert results[0]["ranks"] == results[1]["ranks"] == 2
    assert results[0]["id"] == results[1]["id"]
    assert results[0]["steps"] == 2  # 16 samples, 2 ranks, batches of 4
    assert len(results[0]["logged"]) == 1 and results[1]["logged"] == []
    assert envcheck.load(results[0]["logged"][0]).id == results[0]["id"]


def test_ddp_job_both_of_whose_ranks_differ_from_the_lock_stops_on_every_rank(
        tmp_path: Path) -> None:
    lock = snapshot_with(tmp_path, "odd.json", ODD)
    results = _fit(tmp_path, world=2, lock=str(lock))
    assert sorted(results) == [0, 1]
    for rank, result in results.items():
        assert (result["rank"], result["outcome"]) == (rank, "drift"), result
        assert result["steps"] == 0
        assert result["message"].startswith(f"the environment differs from {lock}")
        assert "env.TF_DETERMINISTIC_OPS: 1 -> (none) [breaking]" in result["message"]
