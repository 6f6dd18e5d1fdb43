"""MLflow: real runs in a SQLite tracking store, and the REST path through an `mlflow server`
started on 127.0.0.1 with a free port. One run is logged from another process with another
setting (TF_DETERMINISTIC_OPS, judged breaking)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import run_envcheck

mlflow = pytest.importorskip("mlflow")
from envcheck.integrations.mlflow import ARTIFACT, ID_TAG, log_fingerprint  # noqa: E402

ODD_SETTING = {"TF_DETERMINISTIC_OPS": "1"}
WAIT_S = 180.0  # a bound on hanging on a loaded machine, not a timing assertion

# Runs logged one after another by one process, as a training job would log them; a run's
# settings are set in the process before it logs, so its probe (a child) sees them.
LOG_RUNS = r'''
import json, os, sys, mlflow
from envcheck.integrations.mlflow import log_fingerprint
uri, experiment, runs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
mlflow.set_tracking_uri(uri)
mlflow.set_experiment(experiment)
ids = {}
for name, settings in runs:
    os.environ.update(settings)
    with mlflow.start_run(run_name=name) as run:
        log_fingerprint()
        ids[name] = run.info.run_id
    for key in settings:
        del os.environ[key]
print("RUN_IDS=" + json.dumps(ids))  # MLflow prints lines of its own on stdout
'''


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ODD_SETTING and
           not k.startswith("MLFLOW_")}
    return dict(env, **(extra or {}))


def _log_runs(uri: str, experiment: str, runs: list[tuple[str, dict[str, str]]]
              ) -> dict[str, str]:
    """Each run's id by name, logged by another process with each run's own settings."""
    done = subprocess.run([sys.executable, "-c", LOG_RUNS, uri, experiment, json.dumps(runs)],
                          env=_env(), capture_output=True, text=True, timeout=WAIT_S,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    ids: dict[str, str] = next(json.loads(line[len("RUN_IDS="):])
                               for line in done.stdout.splitlines()
                               if line.startswith("RUN_IDS="))
    return ids


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A SQLite store with three runs of one experiment: two alike and ``odd``."""
    tmp = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    client = mlflow.MlflowClient(tracking_uri=uri)
    client.create_experiment("training", artifact_location=(tmp / "artifacts").as_uri())
    runs = _log_runs(uri, "training", [("first", {}), ("second", {}), ("odd", ODD_SETTING)])
    bare = client.create_run(client.get_experiment_by_name("training").experiment_id,
                             run_name="bare").info.run_id
    client.set_terminated(bare)
    return {"uri": uri, "runs": runs, "bare": bare, "client": client}


def test_the_fingerprint_is_an_artifact_and_its_id_a_tag(store: dict[str, Any]) -> None:
    client = store["client"]
    run_id = store["runs"]["first"]
    path = client.download_artifacts(run_id, ARTIFACT, str(Path(store["uri"][10:]).parent))
    document = json.loads(Path(path).read_text())
    assert client.get_run(run_id).data.tags[ID_TAG] == document["id"]
    assert document["env"].get("TF_DETERMINISTIC_OPS") is None


def test_diff_of_two_runs_shows_what_changed(store: dict[str, Any]) -> None:
    first, odd = store["runs"]["first"], store["runs"]["odd"]
    done = run_envcheck("diff", f"mlflow:{first}", f"mlflow:runs:/{odd}",
                        "--mlflow-uri", store["uri"], env=_env())
    assert done.returncode == 1, done.stderr
    assert f"mlflow:{first}" in done.stdout and f"mlflow:runs:/{odd}" in done.stdout
    assert "env.TF_DETERMINISTIC_OPS: (none) -> 1" in done.stdout



def test_two_runs_of_one_environment_do_not_differ(
        store: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    import envcheck
    from envcheck.sources.registry import resolve

    monkeypatch.setenv("MLFLOW_TRACKING_URI", store["uri"])  # as the CLI's --mlflow-uri does
    first, second = (resolve(f"mlflow:{store['runs'][name]}") for name in ("first", "second"))
    assert first.id == second.id
    assert not envcheck.diff(first, second).fails("any")


def test_compare_an_experiment_names_the_odd_run(store: dict[str, Any]) -> None:
    done = run_envcheck("compare", "mlflow:training", "--mlflow-uri", store["uri"],
                        "--format", "json", env=_env())
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["members"] == 3  # the run without a fingerprint is not a member
    assert report["baseline"]["member"] == f"mlflow:{store['runs']['first']} (first)"
    [outlier] = report["outliers"]
    assert outlier["members"] == [f"mlflow:{store['runs']['odd']} (odd)"]
    assert [c["path"] for c in outlier["changes"] if c["severity"] == "breaking"] == \
        ["env.TF_DETERMINISTIC_OPS"]


def test_a_run_without_a_fingerprint_is_an_input_error(store: dict[str, Any]) -> None:
    done = run_envcheck("diff", f"mlflow:{store['bare']}", f"mlflow:{store['runs']['first']}",
                        "--mlflow-uri", store["uri"], env=_env())
    assert done.returncode == 3
    assert done.stderr.count("\n") == 1 and "has no envcheck fingerprint" in done.stderr



def test_a_missing_run_and_an_experiment_where_a_run_is_wanted(
        store: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from envcheck.errors import InputError, UsageError
    from envcheck.sources.registry import resolve

    monkeypatch.setenv("MLFLOW_TRACKING_URI", store["uri"])
    with pytest.raises(InputError, match="no such run") as missing:
        resolve("mlflow:" + "0" * 32)
    assert missing.value.exit_code == 3
    with pytest.raises(UsageError, match="envcheck compare mlflow:training") as experiment:
        resolve("mlflow:training")
    assert experiment.value.exit_code == 2


def test_log_fingerprint_needs_a_run(store: dict[str, Any]) -> None:
    from envcheck.errors import UsageError

    mlflow.set_tracking_uri(store["uri"])
    try:
        with pytest.raises(UsageError, match="no active MLflow run"):
            log_fingerprint()
    finally:
        mlflow.set_tracking_uri("")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server(store: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`mlflow server` on 127.0.0.1 over the module's SQLite store (its schema is made
    already) with its own artifact directory for runs logged through it."""
    tmp = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1",
               "--port", str(port), "--workers", "1",
               "--backend-store-uri", store["uri"],
               "--artifacts-destination", str(tmp / "artifacts")]
    process = subprocess.Popen(command, env=_env(), stdout=(tmp / "server.log").open("wb"),
                               stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + WAIT_S
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            assert process.poll() is None, (tmp / "server.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "mlflow server did not answer in time"
            time.sleep(1)
        yield url
    finally:
        os.killpg(process.pid, 15)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()


def test_runs_through_the_rest_api(server: str) -> None:
    runs = _log_runs(server, "rest", [("plain", {}), ("odd", ODD_SETTING)])
    plain, odd = runs["plain"], runs["odd"]
    done = run_envcheck("diff", f"mlflow:{plain}", f"mlflow:{odd}", env=_env(
        {"MLFLOW_TRACKING_URI": server}))
    assert done.returncode == 1, done.stderr
    assert "env.TF_DETERMINISTIC_OPS: (none) -> 1" in done.stdout
