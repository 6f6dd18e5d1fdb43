"""Ray: a real cluster started on this machine with `ray start`, its node with another setting
than the driver (TF_DETERMINISTIC_OPS, judged breaking). Every port is picked free, the node
has its own loopback address, and it is stopped at the end.

One node, not two: on the 2-core CI machine kind, shared with other suites, a second raylet
repeatedly missed the 30 s that Ray gives a node to register (a constant in ray/_private/node.py).
"""

from __future__ import annotations

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

ray = pytest.importorskip("ray")
from envcheck.integrations.ray import check_cluster  # noqa: E402

HEAD_IP = "127.0.0.2"  # not "127.0.0.1": Ray swaps that for a LAN address
ODD_SETTING = {"TF_DETERMINISTIC_OPS": "1"}
WAIT_S = 420.0  # a bound on hanging on a loaded machine, not a timing assertion


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


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """The head's Ray Client address; the driver (this process) is connected for the module."""
    # Unix socket paths must stay short: a temp dir of our own directly under /tmp.
    tmp = Path(tempfile.mkdtemp(prefix="ecray-", dir="/tmp"))
    env = {k: v for k, v in os.environ.items() if k not in ODD_SETTING and
           not k.startswith("RAY_")}
    env["RAY_raylet_start_wait_time_s"] = "120"  # 30 s is too short on a loaded 2-core machine
    gcs, client_port = _free_port(), _free_port()
    head = _ray_start(["--head", f"--node-ip-address={HEAD_IP}", f"--port={gcs}",
                       "--include-dashboard=false", f"--dashboard-port={_free_port()}",
                       f"--ray-client-server-port={client_port}", f"--temp-dir={tmp}"],
                      dict(env, **ODD_SETTING), tmp / "head.log")
    try:
        deadline = time.monotonic() + WAIT_S
        while b"Ray runtime started" not in (tmp / "head.log").read_bytes():
            assert head.poll() is None, (tmp / "head.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "the Ray head did not start in time"
            time.sleep(1)
        while True:
            try:
                ray.init(address=f"{HEAD_IP}:{gcs}", _node_ip_address=HEAD_IP,
                         log_to_driver=False, logging_level="ERROR")
                break
            except (ConnectionError, RuntimeError):
                if time.monotonic() > deadline or head.poll() is not None:
                    raise
                time.sleep(2)
        yield f"{HEAD_IP}:{client_port}"
    finally:
        ray.shutdown()
        _stop(head)
        shutil.rmtree(tmp, ignore_errors=True)


def test_check_cluster_names_the_odd_node_with_its_difference(cluster: str) -> None:
    with pytest.raises(DriftError) as raised:
        check_cluster()
    report = raised.value.report
    assert isinstance(report, FleetReport)
    assert report.members == 2  # the driver and the node
    [node] = [n for n in ray.nodes() if n["Alive"]]
    odd = f"node {node['NodeID'][:12]} ({HEAD_IP})"
    [outlier] = report.outliers
    assert outlier.group.members == [odd]
    changes = {c.path: c for c in outlier.report.changes}
    assert changes["env.TF_DETERMINISTIC_OPS"].severity.value == "breaking"
    assert changes["env.TF_DETERMINISTIC_OPS"].after == "1"
    assert odd in str(raised.value) and "env.TF_DETERMINISTIC_OPS" in str(raised.value)
