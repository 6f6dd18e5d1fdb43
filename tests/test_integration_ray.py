"""Ray: a real cluster of two nodes started on this machine with `ray start`, the second
node with another setting (TF_DETERMINISTIC_OPS, judged breaking). Every port is picked free,
each node has its own loopback address, and both are stopped at the end.

On the 2-core CI machine kind, shared with other suites, a raylet can miss the 30 s that Ray
gives a node to register (a constant in ray/_private/node.py): a node that did is started again.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from envcheck.errors import DriftError
from envcheck.fleet import FleetReport

from conftest import run_envcheck

ray = pytest.importorskip("ray")
from envcheck.integrations.ray import check_cluster  # noqa: E402

HEAD_IP = "127.0.0.2"  # not "127.0.0.1": Ray swaps that for a LAN address
NODE_IP = "127.0.0.3"  # the second node: its own address, so reports tell the two apart
ODD_SETTING = {"TF_DETERMINISTIC_OPS": "1"}
# Ray gives tasks that ask for no CPUs OMP_NUM_THREADS=1; the driver gets the same.
SHARED = {"OMP_NUM_THREADS": "1", "RAY_raylet_start_wait_time_s": "120"}
WAIT_S = 420.0  # a bound on hanging on a loaded machine, not a timing assertion
_SESSION: list[str] = []  # the cluster's temp dir, for its logs
STARTS = 3  # tries for a node that missed Ray's registration window


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _ray_start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """One node in the foreground (--block), in its own process group so it can be stopped
    whole without `ray stop`, which would stop every Ray node on the machine."""
    low = _free_port()
    ports = [f"--node-manager-port={_free_port()}", f"--object-manager-port={_free_port()}",
             f"--dashboard-agent-listen-port={_free_port()}",
             f"--dashboard-agent-grpc-port={_free_port()}",
             f"--metrics-export-port={_free_port()}", f"--runtime-env-agent-port={_free_port()}",
             f"--min-worker-port={low}", f"--max-worker-port={low + 20}"]
    command = [str(Path(sys.executable).with_name("ray")), "start", "--block", "--num-cpus=1",
               "--object-store-memory=80000000", "--disable-usage-stats", *ports, *args]
    return subprocess.Popen(command, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def _stop(process: subprocess.Popen[bytes]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            continue
        time.sleep(2)  # the node's children leave after the leader


def _started(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A node that said it started, tried again when it missed the registration window."""
    deadline = time.monotonic() + WAIT_S
    for attempt in range(1, STARTS + 1):
        node = _ray_start(args, env, log)
        while b"Ray runtime started" not in log.read_bytes():
            if node.poll() is not None:
                break
            if time.monotonic() > deadline:
                _stop(node)
                pytest.fail(f"a Ray node did not start within {WAIT_S:g} s:\n"
                            + log.read_text(errors="replace")[-2000:])
            time.sleep(1)
        else:
            return node
        _stop(node)
        if attempt == STARTS or b"timed out during startup" not in log.read_bytes():
            pytest.fail(f"a Ray node failed to start:\n{log.read_text(errors='replace')[-2000:]}")
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """The head's Ray Client address; the driver (this process) is connected for the module."""
    # Unix socket paths must stay short: a temp dir of our own directly under /tmp.
    tmp = Path(tempfile.mkdtemp(prefix="ecray-", dir="/tmp"))
    _SESSION[:] = [str(tmp)]
    env = {k: v for k, v in os.environ.items() if k not in ODD_SETTING and
           not k.startswith("RAY_")}
    env.update(SHARED)
    gcs, client_port = _free_port(), _free_port()
    nodes: list[subprocess.Popen[bytes]] = []
    previous = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = SHARED["OMP_NUM_THREADS"]  # the driver, as its tasks
    try:
        nodes.append(_started(
            ["--head", f"--node-ip-address={HEAD_IP}", f"--port={gcs}",
             "--include-dashboard=false", f"--dashboard-port={_free_port()}",
             f"--ray-client-server-port={client_port}", f"--temp-dir={tmp}"],
            env, tmp / "head.log"))
        nodes.append(_started(
            [f"--address={HEAD_IP}:{gcs}", f"--node-ip-address={NODE_IP}"],
            dict(env, **ODD_SETTING), tmp / "node.log"))
        deadline = time.monotonic() + WAIT_S
        while True:
            try:
                ray.init(address=f"{HEAD_IP}:{gcs}", _node_ip_address=HEAD_IP,
                         log_to_driver=False, logging_level="ERROR")
                break
            except (ConnectionError, RuntimeError):
                if time.monotonic() > deadline or nodes[0].poll() is not None:
                    raise
                time.sleep(2)
        while len([n for n in ray.nodes() if n["Alive"]]) < 2:
            assert time.monotonic() < deadline, f"nodes: {ray.nodes()}"
            time.sleep(1)
        yield f"{HEAD_IP}:{client_port}"
    finally:
        ray.shutdown()
        for node in reversed(nodes):
            _stop(node)
        shutil.rmtree(tmp, ignore_errors=True)
        if previous is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = previous


def _client_server_logs() -> str:
    """What the head's Ray Client servers logged (its per-connection servers' reasons)."""
    session = Path(_SESSION[0]) / "session_latest"
    return "".join(f"\n== {path.name}\n{path.read_text(errors='replace')[:6000]}"
                   for path in sorted((session / "logs").glob("ray_client_server*")))


def _labels() -> dict[str, str]:
    """Each alive node's label by its IP."""
    return {n["NodeManagerAddress"]: f"node {n['NodeID'][:12]} ({n['NodeManagerAddress']})"
            for n in ray.nodes() if n["Alive"]}


def test_check_cluster_names_the_odd_node_with_its_difference(cluster: str) -> None:
    with pytest.raises(DriftError) as raised:
        check_cluster()
    report = raised.value.report
    assert isinstance(report, FleetReport)
    assert report.members == 3  # the driver and both nodes
    labels = _labels()
    odd = labels[NODE_IP]
    [outlier] = report.outliers
    assert outlier.group.members == [odd]
    baseline = next(g for g in report.groups if g.id == report.baseline_id)
    assert labels[HEAD_IP] in baseline.members  # the head computes as the driver does
    changes = {c.path: c for c in outlier.report.changes}
    assert changes["env.TF_DETERMINISTIC_OPS"].severity.value == "breaking"
    assert changes["env.TF_DETERMINISTIC_OPS"].after == "1"
    assert odd in str(raised.value) and "env.TF_DETERMINISTIC_OPS" in str(raised.value)


def test_compare_ray_address_fingerprints_every_node_from_the_cli(cluster: str) -> None:
    done = run_envcheck("compare", f"ray://{cluster}", "--format", "json")
    assert done.returncode == 1, done.stderr + _client_server_logs()  # drift at breaking
    document = json.loads(done.stdout)
    labels = _labels()
    groups = {tuple(g["members"]) for g in document["groups"]}
    assert groups == {(labels[HEAD_IP],), (labels[NODE_IP],)}
    [outlier] = document["outliers"]
    changes = {c["path"]: c for c in outlier["changes"]}
    assert changes["env.TF_DETERMINISTIC_OPS"]["severity"] == "breaking"


def test_a_cluster_is_not_one_environment() -> None:
    done = run_envcheck("diff", "ray://127.0.0.2:1", ".")
    assert done.returncode == 2
    assert done.stderr.strip().endswith("a cluster is many environments: "
                                        "envcheck compare ray://127.0.0.2:1")
    assert run_envcheck("compare", "ray://").returncode == 2
