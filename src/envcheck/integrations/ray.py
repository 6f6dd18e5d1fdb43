"""Ray: fingerprint every alive node through Ray itself, one task pinned to each node.

::

    import ray
    from envcheck.integrations.ray import check_cluster

    ray.init(address="auto")
    report = check_cluster()          # DriftError naming the odd nodes

The task runs the probe in a child of the node's own worker interpreter, with
the environment Ray gives tasks there: nothing needs envcheck installed on the
nodes. ``ray`` is imported only by this module (``pip install 'envcheck[ray]'``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..config import Config
from ..errors import TargetError, UsageError
from ..fleet import FleetReport
from . import require
from ._fleet import Member, check_fail_on, check_members, client_member, constant
from ._remote import DEFAULT_TIMEOUT, probe_arguments, probe_task, to_fingerprint

ray: Any = require("ray", "ray")

__all__ = ["BASELINES", "check_cluster", "cluster_members", "connected", "constant", "node_label"]

BASELINES = ("client", "majority")
CLIENT_ATTEMPTS = 3
# How Ray Client reports that the head's server for this connection died as it started
# (psutil's error when the proxy looks at the server it just forked, already a zombie).
_SERVER_DIED = ("client server failed", "ZombieProcess", "Proxy failed to Connect to backend")


def node_label(node_id: str, address: str) -> str:
    """How a node is named in reports: ``node 3f2a9c01b7de (10.0.0.5)``, as ``ray status`` does."""
    return f"node {node_id[:12]} ({address})"


@contextmanager
def connected(address: str | None) -> Iterator[None]:
    """Connected to Ray: as already initialised, or to ``address`` for the duration."""
    if ray.is_initialized():
        yield
        return
    # Through Ray Client (ray://) the head starts a server per connection, which can fail
    # to start on a loaded head; the next connection gets a new one.
    attempts = CLIENT_ATTEMPTS if (address or "").startswith("ray://") else 1
    for attempt in range(1, attempts + 1):
        try:
            ray.init(address=address or "auto", log_to_driver=False, logging_level="ERROR",
                     configure_logging=False)
            break
        except (ConnectionError, RuntimeError, ValueError) as exc:
            lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
            if attempt < attempts and any(sign in str(exc) for sign in _SERVER_DIED):
                ray.shutdown()
                time.sleep(attempt)
                continue
            raise TargetError(f"ray {address or 'auto'}: cannot connect "
                              f"({lines[-1] if lines else type(exc).__name__})") from exc
    try:
        yield
    finally:
        ray.shutdown()


def cluster_members(timeout: float = DEFAULT_TIMEOUT) -> list[Member]:
    """Every alive node with the fingerprint a task sees there, in node-id order."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    nodes = sorted((n for n in ray.nodes() if n.get("Alive")), key=lambda n: n["NodeID"])
    task = ray.remote(probe_task())
    arguments = probe_arguments(timeout)
    pending = [(node_label(node["NodeID"], node.get("NodeManagerAddress", "?")),
                task.options(num_cpus=0, max_retries=0, scheduling_strategy=(
                    NodeAffinitySchedulingStrategy(node["NodeID"], soft=False))).remote(*arguments))
               for node in nodes]
    members: list[Member] = []
    for label, ref in pending:
        try:
            result = ray.get(ref, timeout=timeout + 60)  # the worker may need to start first
        except Exception as exc:  # Ray raises many kinds here; each names the node
            raise TargetError(f"{label}: the probe task failed ({type(exc).__name__}: "
                              f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''})"
                              ) from exc
        members.append((label, to_fingerprint(result, label)))
    return members


def check_cluster(fail_on: str = "breaking", baseline: str = "client",
                  address: str | None = None, config: Config | None = None,
                  timeout: float = DEFAULT_TIMEOUT) -> FleetReport:
    """Compare this process (the driver) and every alive node of the Ray cluster.

    Uses the current Ray connection, or connects to ``address`` (default
    ``auto``) for the duration. ``baseline``: ``client`` (this process, the
    default) or ``majority``. Returns the fleet report, or raises
    :class:`envcheck.errors.DriftError` (with ``.report``) at ``fail_on``.
    """
    check_fail_on(fail_on)
    if baseline not in BASELINES:
        raise UsageError(f"baseline must be one of {', '.join(BASELINES)}, not {baseline!r}")
    own = client_member()
    with connected(address):
        members = cluster_members(timeout)
    return check_members([own, *members], own if baseline == "client" else None, fail_on,
                         config)
