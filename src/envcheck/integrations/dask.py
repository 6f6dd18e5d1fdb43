"""Dask: fingerprint the client, the scheduler and every worker through Dask itself.

::

    from dask.distributed import Client
    from envcheck.integrations.dask import EnvcheckPlugin, check_cluster

    client = Client("tcp://scheduler:8786")
    report = check_cluster(client)              # DriftError naming the odd workers
    client.register_plugin(EnvcheckPlugin())    # check, and refuse, each worker as it joins

Workers are fingerprinted by a task that runs the probe in a child of the
worker's own interpreter: nothing needs envcheck installed on the workers.
``distributed`` is imported only by this module (``pip install 'envcheck[dask]'``).
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import logging
import time
from collections.abc import Callable
from typing import Any

from ..config import Config
from ..errors import DriftError, TargetError, UsageError
from ..fleet import FleetReport
from ..model import Fingerprint
from . import require
from ._fleet import Member, check_fail_on, check_members, client_member, constant, drift_message
from ._remote import DEFAULT_TIMEOUT, probe_arguments, probe_task, to_fingerprint

require("distributed", "dask")
from distributed.diagnostics.plugin import SchedulerPlugin  # noqa: E402

__all__ = [
    "BASELINES",
    "EnvcheckPlugin",
    "check_cluster",
    "cluster_members",
    "connect",
    "constant",
    "worker_label",
]

BASELINES = ("client", "scheduler", "majority")
logger = logging.getLogger("envcheck.dask")


def worker_label(address: str, name: object = None) -> str:
    """How a worker is named in reports: ``worker NAME (ADDRESS)``, as a person finds it."""
    if name is None or str(name) == address:
        return f"worker {address}"
    return f"worker {name} ({address})"


def connect(address: str, timeout: float = DEFAULT_TIMEOUT) -> Any:
    """A client of the scheduler at ``address`` (``tcp://HOST:PORT``), not set as default."""
    client: Any = importlib.import_module("distributed").Client  # untyped
    return client(address, timeout=timeout, set_as_default=False)


def cluster_members(client: Any, timeout: float = DEFAULT_TIMEOUT) -> list[Member]:
    """The scheduler and every worker, each with its fingerprint, workers in address order."""
    task, arguments = probe_task(), probe_arguments(timeout)
    scheduler = client.scheduler.address
    members: list[Member] = [(f"scheduler ({scheduler})", _run(
        lambda: client.run_on_scheduler(task, *arguments), f"scheduler ({scheduler})"))]
    names = {address: info.get("name")
             for address, info in client.scheduler_info(n_workers=-1)["workers"].items()}
    results: dict[str, Any] = client.run(task, *arguments, on_error="return")
    for address in sorted(results):
        label = worker_label(address, names.get(address))
        members.append((label, _run(functools.partial(results.__getitem__, address), label)))
    return members


def _run(call: Callable[[], Any], what: str) -> Fingerprint:
    try:
        result = call()
    except (OSError, TimeoutError) as exc:
        raise TargetError(f"{what}: cannot run the probe there ({exc})") from exc
    if isinstance(result, BaseException):
        raise TargetError(f"{what}: the probe task failed ({type(result).__name__}: {result})")
    return to_fingerprint(result, what)


def check_cluster(client: Any, fail_on: str = "breaking", baseline: str = "client",
                  config: Config | None = None, timeout: float = DEFAULT_TIMEOUT) -> FleetReport:
    """Compare this process, the scheduler and every worker of ``client``'s cluster.

    ``baseline``: ``client`` (this process, the default), ``scheduler``, or
    ``majority`` (the largest group of identical members). Returns the fleet
    report (``envcheck.render.fleet`` renders it as ``envcheck compare`` does),
    or raises :class:`envcheck.errors.DriftError` (with ``.report``) when a
    difference is at or above ``fail_on``.
    """
    check_fail_on(fail_on)
    if baseline not in BASELINES:
        raise UsageError(f"baseline must be one of {', '.join(BASELINES)}, not {baseline!r}")
    own = client_member()
    members = [own, *cluster_members(client, timeout)]
    chosen = {"client": own, "scheduler": members[1], "majority": None}[baseline]
    return check_members(members, chosen, fail_on, config)


class EnvcheckPlugin(SchedulerPlugin):
    """Checks each worker as it joins the scheduler, against a baseline fingerprint.

    ``baseline``: a fingerprint (``envcheck.load("lockfiles/train.json")``), or
    None for the environment of the process that creates the plugin. A worker
    that differs at or above ``fail_on`` is refused (closed with its nanny) and
    named in a warning; below it, the differences are logged. Either way each
    verdict is a Dask event under the topic ``envcheck`` (``client.get_events``).
    """

    name = "envcheck"

    def __init__(self, baseline: Fingerprint | None = None, fail_on: str = "breaking",
                 config: Config | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        check_fail_on(fail_on)
        if baseline is None:
            self.label, baseline = client_member(timeout)
        else:
            self.label = f"fingerprint {baseline.short_id}"
        self.baseline = baseline.data  # plain data: the plugin is pickled to the scheduler
        self.fail_on = fail_on
        self.config = config
        self.timeout = timeout
        self._pending: set[asyncio.Task[None]] = set()

    def add_worker(self, scheduler: Any, worker: str) -> None:
        # Not awaited here: the scheduler answers the worker's registration only after
        # its plugins' hooks, and the worker serves the probe only once registered.
        task = asyncio.get_running_loop().create_task(self._check(scheduler, worker))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _check(self, scheduler: Any, worker: str) -> None:
        state = scheduler.workers.get(worker)
        label = worker_label(worker, getattr(state, "name", None))
        try:
            fingerprint = await self._fingerprint(scheduler, worker, label)
            report = check_members([(label, fingerprint)], (self.label,
                                   Fingerprint(self.baseline)), self.fail_on, self.config)
        except DriftError as exc:
            self._record(scheduler, label, "refused", exc.report, str(exc))
            scheduler.close_worker(worker)
            return
        except TargetError as exc:  # cannot tell: keep the worker, say why
            scheduler.log_event(self.name, {"worker": label, "verdict": "unknown",
                                            "message": str(exc)})
            logger.warning("envcheck: %s", exc)
            return
        verdict = "accepted with differences" if report.outliers else "accepted"
        message = drift_message(report) if report.outliers else f"{label} matches the baseline"
        self._record(scheduler, label, verdict, report, message)

    async def _fingerprint(self, scheduler: Any, worker: str, label: str) -> Fingerprint:
        # Untyped in distributed: bound as Any rather than ignoring each call.
        pickle: Any = importlib.import_module("distributed.protocol.pickle")
        serialize: Any = importlib.import_module("distributed.protocol.serialize")

        responses = await scheduler.broadcast(
            msg={"op": "run", "function": pickle.dumps(probe_task()),
                 "args": pickle.dumps(probe_arguments(self.timeout)), "wait": True,
                 "kwargs": pickle.dumps({})},
            workers=[worker], on_error="return_pickle")
        response = responses.get(worker)
        if isinstance(response, bytes):
            raise TargetError(f"{label}: cannot run the probe there ({pickle.loads(response)})")
        if not isinstance(response, dict) or response.get("status") != "OK":
            raise TargetError(f"{label}: the probe task failed "
                              f"({(response or {}).get('exception', 'no answer')})")
        result = response["result"]
        if isinstance(result, serialize.Serialized):  # relayed by the scheduler still serialized
            result = serialize.deserialize(result.header, result.frames)
        return to_fingerprint(result, label)

    def _record(self, scheduler: Any, label: str, verdict: str, report: object,
                message: str) -> None:
        details = report.to_dict() if isinstance(report, FleetReport) else {}
        scheduler.log_event(self.name, {"worker": label, "verdict": verdict, "time": time.time(),
                                        "message": message, "report": details})
        log = logger.info if verdict == "accepted" else logger.warning
        log("envcheck: %s %s: %s", label, verdict, message)
