"""Dask: a real LocalCluster on 127.0.0.1 with process workers, and one worker started with
another setting (TF_DETERMINISTIC_OPS, which a rule judges breaking)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from envcheck.errors import DriftError, UsageError
from envcheck.fleet import FleetReport

from conftest import run_envcheck

distributed = pytest.importorskip("distributed")
from envcheck.integrations.dask import EnvcheckPlugin, check_cluster  # noqa: E402

ODD_SETTING = {"TF_DETERMINISTIC_OPS": "1"}
WAIT_S = 180.0  # a bound on hanging on a loaded machine, not a timing assertion


def _start_worker(scheduler: str, name: str, extra_env: dict[str, str], tmp: Path,
                  ) -> subprocess.Popen[bytes]:
    env = dict(os.environ, **extra_env)
    log = (tmp / f"{name}.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_worker", scheduler, "--name", name,
         "--nthreads", "1", "--nworkers", "1", "--host", "127.0.0.1", "--no-dashboard",
         "--local-directory", str(tmp / name)],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any, Path]]:
    """Two process workers as LocalCluster starts them, and a third, ``odd``, with ODD_SETTING."""
    tmp = tmp_path_factory.mktemp("dask")
    saved = {key: os.environ.pop(key) for key in ODD_SETTING if key in os.environ}
    local = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", scheduler_port=0,
        dashboard_address=None, local_directory=str(tmp / "local"))
    client = distributed.Client(local)
    odd = _start_worker(local.scheduler_address, "odd", ODD_SETTING, tmp)
    try:
        client.wait_for_workers(3, timeout=WAIT_S)
        yield client, local, tmp
    finally:
        _stop(odd)
        client.close()
        local.close()
        os.environ.update(saved)


def test_check_cluster_names_the_odd_worker_with_its_difference(
        cluster: tuple[Any, Any, Path]) -> None:
    client, local, _ = cluster
    with pytest.raises(DriftError) as raised:
        check_cluster(client)
    report = raised.value.report
    assert isinstance(report, FleetReport)
    odd_address = next(address for address, info in
                       client.scheduler_info(n_workers=-1)["workers"].items()
                       if info["name"] == "odd")
    odd = f"worker odd ({odd_address})"
    assert [o.group.members for o in report.outliers] == [[odd]]
    assert report.baseline.startswith("client (")
    baseline = next(g for g in report.groups if g.id == report.baseline_id)
    assert f"scheduler ({local.scheduler_address})" in baseline.members
    assert sum(m.startswith("worker ") for m in baseline.members) == 2
    changes = {c.path: c for c in report.outliers[0].report.changes}
    assert changes["env.TF_DETERMINISTIC_OPS"].after == "1"
    assert changes["env.TF_DETERMINISTIC_OPS"].severity.value == "breaking"
    assert odd in str(raised.value) and "env.TF_DETERMINISTIC_OPS" in str(raised.value)


def test_check_cluster_against_the_majority_reports_without_raising(
        cluster: tuple[Any, Any, Path]) -> None:
    client, _, _ = cluster
    report = check_cluster(client, fail_on="never", baseline="majority")
    assert report.members == 5  # client, scheduler, three workers
    assert report.outliers and report.outliers[0].group.members[0].startswith("worker odd (")
    with pytest.raises(UsageError, match="baseline must be one of"):
        check_cluster(client, baseline="nobody")


def test_compare_dask_address_from_the_cli(cluster: tuple[Any, Any, Path]) -> None:
    client, local, _ = cluster
    odd_address = next(address for address, info in
                       client.scheduler_info(n_workers=-1)["workers"].items()
                       if info["name"] == "odd")
    spec = local.scheduler_address.replace("tcp://", "dask://")
    done = run_envcheck("compare", spec, "--format", "json")
    assert done.returncode == 1, done.stderr  # drift at breaking
    report = json.loads(done.stdout)
    assert report["members"] == 4  # the scheduler and three workers
    [outlier] = report["outliers"]
    assert outlier["members"] == [f"worker odd ({odd_address})"]
    assert {c["path"]: c["severity"] for c in outlier["changes"]}[
        "env.TF_DETERMINISTIC_OPS"] == "breaking"


def test_plugin_refuses_a_worker_that_joins_with_another_setting(
        cluster: tuple[Any, Any, Path]) -> None:
    client, local, tmp = cluster
    client.register_plugin(EnvcheckPlugin())
    late = _start_worker(local.scheduler_address, "late", {}, tmp)
    refused = _start_worker(local.scheduler_address, "odd-late", ODD_SETTING, tmp)
    try:
        refused.wait(timeout=WAIT_S)  # closed by the plugin, nanny included
        deadline = time.monotonic() + WAIT_S
        verdicts: dict[str, dict[str, Any]] = {}
        while time.monotonic() < deadline and len(verdicts) < 2:
            verdicts = {event["worker"].split(" (")[0]: event
                        for _, event in client.get_events("envcheck")}
            time.sleep(0.5)
        assert verdicts["worker odd-late"]["verdict"] == "refused"
        assert "env.TF_DETERMINISTIC_OPS: (none) -> 1 [breaking]" in \
            verdicts["worker odd-late"]["message"]
        assert verdicts["worker late"]["verdict"] == "accepted"
        names = {info["name"] for info in client.scheduler_info(n_workers=-1)["workers"].values()}
        assert "late" in names and "odd-late" not in names
    finally:
        _stop(late)
        _stop(refused)
