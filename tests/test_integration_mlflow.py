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

LOG_RUN = r'''
import sys, mlflow
from envcheck.integrations.mlflow import log_fingerprint
mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_experiment(sys.argv[2])
with mlflow.start_run(run_name=sys.argv[3]) as run:
    log_fingerprint()
    print("RUN_ID=" + run.info.run_id)  # MLflow prints lines of its own on stdout
'''


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ODD_SETTING and
           not k.startswith("MLFLOW_")}
    return dict(env, **(extra or {}))


def _log_run(uri: str, experiment: str, name: str, extra: dict[str, str] | None = None) -> str:
    """A run logged by another process, as a training job would, with its own environment."""
    done = subprocess.run([sys.executable, "-c", LOG_RUN, uri, experiment, name],
                          env=_env(extra), capture_output=True, text=True, timeout=WAIT_S,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return next(line[len("RUN_ID="):] for line in done.stdout.splitlines()
                if line.startswith("RUN_ID="))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A SQLite store with three runs of one experiment: two alike and ``odd``."""
    tmp = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    client = mlflow.MlflowClient(tracking_uri=uri)
    client.create_experiment("training", artifact_location=(tmp / "artifacts").as_uri())
    runs = {name: _log_run(uri, "training", name, extra)
            for name, extra in (("first", None), ("second", None), ("odd", ODD_SETTING))}
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
    same = run_envcheck("diff", f"mlflow:{first}", f"mlflow:{store['runs']['second']}",
                        "--format", "json", env=_env({"MLFLOW_TRACKING_URI": store["uri"]}))
    assert same.returncode == 0, same.stderr
    assert json.loads(same.stdout)["summary"]["breaking"] == 0


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
    missing = run_envcheck("diff", "mlflow:" + "0" * 32, f"mlflow:{store['runs']['first']}",
                           "--mlflow-uri", store["uri"], env=_env())
    assert missing.returncode == 3 and "no such run" in missing.stderr
    experiment = run_envcheck("diff", "mlflow:training", f"mlflow:{store['runs']['first']}",
                              "--mlflow-uri", store["uri"], env=_env())
    assert experiment.returncode == 2 and "envcheck compare mlflow:training" in experiment.stderr


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
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`mlflow server` on 127.0.0.1 with its own SQLite store and artifact directory."""
    tmp = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1",
               "--port", str(port), "--workers", "1",
               "--backend-store-uri", f"sqlite:///{tmp / 'server.db'}",
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
    plain = _log_run(server, "rest", "plain")
    odd = _log_run(server, "rest", "odd", ODD_SETTING)
    done = run_envcheck("diff", f"mlflow:{plain}", f"mlflow:{odd}", env=_env(
        {"MLFLOW_TRACKING_URI": server}))
    assert done.returncode == 1, done.stderr
    assert "env.TF_DETERMINISTIC_OPS: (none) -> 1" in done.stdout
