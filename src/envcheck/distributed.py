"""Every rank of a distributed job: fingerprint each, compare them all, stop together on drift.

Call :func:`verify_ranks` on every rank after ``torch.distributed.init_process_group``::

    import envcheck.distributed

    report = envcheck.distributed.verify_ranks(fail_on="breaking")

Each rank fingerprints itself. The ranks then exchange only small things first,
``(id, hostname, rank)``; the largest group of ranks sharing an id is the
majority (ties: the group of the lowest rank). Full fingerprints travel only
when ids differ, and then only one per distinct id, broadcast from the lowest
rank holding it, so a thousand identical ranks exchange a few bytes each. Every
rank builds the same :class:`envcheck.fleet.FleetReport` and so reaches the same
verdict: when it fails, every rank raises :class:`envcheck.errors.DriftError`
together and the job stops instead of hanging. The error's message is one line of
rank numbers and counts; the comparison is its ``report``, which
:func:`envcheck.render.ranks.render_ranks` (or ``drift_message``) renders.

torch is imported only inside :func:`verify_ranks`; importing this module is cheap.
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from .errors import DriftError, EnvcheckError, UsageError
from .fleet import FleetReport, Loader, compare, measured_key
from .model import Fingerprint, loads
from .model.fleet import RANK_MEMBER, rank_member, rank_ranges
from .model.severity import FAIL_ON, ORDER, FailOn
from .sources.live import live

if TYPE_CHECKING:
    import torch
    from torch.distributed.distributed_c10d import ProcessGroup, Store

    from .config import Config

# ``dist`` below is the torch.distributed module, passed along rather than imported in
# each helper so that a test can stand in for a backend it cannot start (NCCL): Any,
# since a module cannot be annotated but by a Protocol no stand-in would satisfy.

__all__ = ["FAIL_ON", "NotInitializedError", "RankTimeoutError", "drift_summary",
           "verify_ranks"]

_BARRIER_RANKS = re.compile(r"Ranks? ([\d, ]+) failed to pass monitoredBarrier")
_KEY_PREFIX = "envcheck/verify_ranks"
# verify_ranks calls so far per group (by its ranks): every rank of a group makes
# the same calls in the same order, as collectives require, so the count agrees.
_calls: dict[tuple[int, ...], int] = {}


class NotInitializedError(UsageError):
    """verify_ranks was called without a usable torch.distributed process group."""


class RankTimeoutError(EnvcheckError):
    """Not every rank reached verify_ranks within the timeout."""

    def __init__(self, message: str, missing: Sequence[int] = ()) -> None:
        super().__init__(message)
        self.missing = list(missing)


# Launchers give each rank its own GPU (SLURM --gpus-per-task, torchrun with
# CUDA_VISIBLE_DEVICES per local rank): that difference is the point, not drift.
PER_RANK_ENV = ("CUDA_VISIBLE_DEVICES",)


def without_device_assignment(fingerprint: Fingerprint) -> Fingerprint:
    """The fingerprint without the per-rank device mapping, so identical ranks share an id."""
    data = dict(fingerprint.data)
    data["env"] = {k: v for k, v in (data.get("env") or {}).items() if k not in PER_RANK_ENV}
    data["gpus"] = [{k: v for k, v in gpu.items() if k != "visible_as"}
                    for gpu in data.get("gpus") or [] if isinstance(gpu, dict)]
    return Fingerprint.from_dict(data, "this rank")


def member_name(rank: int, host: str) -> str:
    """How a rank is named in reports: ``rank 3 (host-a)``."""
    return rank_member(rank, host)


def verify_ranks(fail_on: FailOn | str = FailOn.BREAKING, group: ProcessGroup | None = None,
                 timeout: float = 120.0,
                 fingerprint: Fingerprint | None = None,
                 config: Config | None = None, numerics: bool = False,
                 numerics_timeout: float = 120.0) -> FleetReport:
    """Compare the environments of every rank in ``group`` (default: the whole job).

    Collective: every rank of ``group`` must call it, with the same arguments.
    Returns the same report on every rank, or raises :class:`DriftError` on every
    rank when a difference is at or above ``fail_on`` (breaking, risky, any,
    never): its message is :func:`drift_summary`, its ``report`` the comparison
    (``envcheck.render.ranks.drift_message(exc.report)`` names the odd ranks' hosts
    and changes). Raises :class:`RankTimeoutError` naming the ranks that did not arrive
    within ``timeout`` seconds, and :class:`NotInitializedError` when
    ``torch.distributed`` has no process group. With NCCL, set the CUDA device
    first (``torch.cuda.set_device``), as for any object collective.

    Each rank's own device assignment (``CUDA_VISIBLE_DEVICES``, which GPU it
    sees) is left out of the comparison: launchers set it per rank on purpose.

    ``numerics``: also run the numeric canaries on every rank (in a child process,
    bounded by ``numerics_timeout``) and exchange their digests: ranks that compute
    other bits are named even when their environments look the same.
    """
    threshold = FailOn.parse(fail_on)
    if timeout <= 0:
        raise UsageError(f"timeout must be positive, not {timeout!r}")
    dist = _distributed()
    rank = int(dist.get_rank())
    try:
        ranks = [int(r) for r in dist.get_process_group_ranks(group)]
    except (KeyError, ValueError, RuntimeError):  # new_group() hands non-members a sentinel
        ranks = []
    if rank not in ranks:
        raise UsageError(f"rank {rank} is not a member of the process group it was given; "
                         "call verify_ranks on the group's members only")
    if fingerprint is None:  # this interpreter, as envcheck.snapshot() takes it
        fingerprint = live(None, numerics_timeout=numerics_timeout if numerics else None)
    fingerprint = without_device_assignment(fingerprint)
    key = measured_key if numerics else None
    own_key = measured_key(fingerprint) if numerics else fingerprint.id
    host = platform.node() or "unknown host"

    _arrive(dist, group, ranks, rank, timeout)

    entries = [json.loads(data) for data in _all_gather_bytes(
        dist, json.dumps([own_key, host, rank]).encode(), group, len(ranks))]
    members = sorted((_entry(e) for e in entries), key=lambda m: m[2])
    representatives: dict[str, int] = {}
    for member_id, _, member_rank in members:
        representatives.setdefault(member_id, member_rank)

    fingerprints = {own_key: fingerprint}
    if len(representatives) > 1:
        # One broadcast per distinct id, from the lowest rank holding it: traffic grows
        # with the number of distinct environments, not with the number of ranks.
        # (a gather pads every rank's contribution to the largest one, so gathering
        # nothing from the others would still move a fingerprint per rank.)
        for member_id, source in representatives.items():
            payload = fingerprint.to_json(indent=None).encode() if source == rank else b""
            received = _broadcast_bytes(dist, payload, source, group)
            if source != rank:
                fingerprints[member_id] = loads(received, f"rank {source}")

    loaders = [(member_name(member_rank, member_host), _constant(fingerprints[member_id]))
               for member_id, member_host, member_rank in members]
    report = compare(loaders, config=config, key=key)
    if report.fails(threshold):
        raise DriftError(drift_summary(report), report)
    return report


# ---- torch.distributed ----------------------------------------------------------------

def _device(dist: Any, group: ProcessGroup | None) -> torch.device:
    """Where collective tensors live: the current CUDA device for NCCL, else the CPU."""
    import torch

    if str(dist.get_backend(group)).lower() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


# Bytes through plain tensor collectives: torch's *_object collectives need numpy to
# turn tensors back into bytes, and a torch job need not have numpy. JSON, not pickle.

def _all_gather_bytes(dist: Any, payload: bytes, group: ProcessGroup | None,
                      size: int) -> list[bytes]:
    import torch

    device = _device(dist, group)
    length = torch.tensor([len(payload)], dtype=torch.int64, device=device)
    lengths = [torch.zeros(1, dtype=torch.int64, device=device) for _ in range(size)]
    dist.all_gather(lengths, length, group=group)
    longest = max(int(n.item()) for n in lengths)
    mine = torch.zeros(longest, dtype=torch.uint8, device=device)
    if payload:
        mine[:len(payload)] = torch.frombuffer(bytearray(payload), dtype=torch.uint8)
    gathered = [torch.zeros(longest, dtype=torch.uint8, device=device) for _ in range(size)]
    dist.all_gather(gathered, mine, group=group)
    return [bytes(t[:int(n.item())].cpu().tolist()) for t, n in zip(gathered, lengths)]


def _broadcast_bytes(dist: Any, payload: bytes, source: int,
                     group: ProcessGroup | None) -> bytes:
    import torch

    device = _device(dist, group)
    length = torch.tensor([len(payload)], dtype=torch.int64, device=device)
    dist.broadcast(length, src=source, group=group)
    buffer = torch.zeros(int(length.item()), dtype=torch.uint8, device=device)
    if payload:
        buffer[:] = torch.frombuffer(bytearray(payload), dtype=torch.uint8)
    dist.broadcast(buffer, src=source, group=group)
    return bytes(buffer.cpu().tolist())


def _distributed() -> Any:
    """``torch.distributed``, imported now, with an initialised default process group."""
    try:
        import torch.distributed as dist
    except ImportError as exc:
        raise NotInitializedError(
            "verify_ranks needs torch (torch.distributed could not be imported: "
            f"{exc}); call torch.distributed.init_process_group first") from exc
    if not dist.is_available():
        raise NotInitializedError("this torch build has no torch.distributed support")
    if not dist.is_initialized():
        raise NotInitializedError(
            "torch.distributed is not initialised: call torch.distributed.init_process_group "
            "first, on every rank")
    return dist


def _arrive(dist: Any, group: ProcessGroup | None, ranks: list[int], rank: int,
            timeout: float) -> None:
    """Wait until every rank of the group has reached verify_ranks, or name those that did not.

    Each rank leaves a key in the job's store on arrival, so that every rank, not
    only the one that ran the barrier, can tell who is missing. gloo has
    ``monitored_barrier``; other backends (NCCL) wait on those keys instead of
    hanging in the first collective.
    """
    group_key = hashlib.sha256(repr(ranks).encode()).hexdigest()[:16]
    call = _calls.get(tuple(ranks), 0)
    _calls[tuple(ranks)] = call + 1
    keys = [f"{_KEY_PREFIX}/{group_key}/{call}/{r}" for r in ranks]
    store = _store(dist)
    if store is not None:
        try:
            store.set(keys[ranks.index(rank)], "arrived")
        except RuntimeError:
            store = None
    wait = timedelta(seconds=timeout)
    try:
        if dist.get_backend(group) == dist.Backend.GLOO:
            dist.monitored_barrier(group, timeout=wait, wait_all_ranks=True)
        elif store is not None:
            store.wait(keys, wait)
    except RuntimeError as exc:  # DistError, DistStoreError and gloo's errors are all here
        missing = _missing(store, keys, ranks) or _barrier_ranks(str(exc))
        raise RankTimeoutError(timeout_message(missing, len(ranks), timeout, exc),
                               missing) from exc


def _store(dist: Any) -> Store | None:
    """The job's key-value store, or None where this torch does not expose it."""
    try:
        store: Store = dist.distributed_c10d._get_default_store()
    except (AttributeError, RuntimeError, ValueError):
        return None
    return store


def _missing(store: Store | None, keys: list[str], ranks: list[int]) -> list[int]:
    if store is None:
        return []
    try:
        return [r for r, key in zip(ranks, keys) if not store.check([key])]
    except RuntimeError:
        return []


def _barrier_ranks(message: str) -> list[int]:
    """The ranks gloo's monitored_barrier names (rank 0 of the group knows them)."""
    found = _BARRIER_RANKS.search(message)
    if not found:
        return []
    return sorted({int(part) for part in found.group(1).replace(",", " ").split()})


def _entry(entry: Any) -> tuple[str, str, int]:
    member_id, host, rank = entry
    return str(member_id), str(host), int(rank)


def _constant(fingerprint: Fingerprint) -> Loader:
    return lambda: fingerprint


# ---- text ---------------------------------------------------------------------------

def _rank_numbers(members: Sequence[str]) -> list[int]:
    return [int(found.group(1)) for found in map(RANK_MEMBER.match, members) if found]


def drift_summary(report: FleetReport) -> str:
    """One line from the report's data, for :class:`DriftError`: which ranks differ from
    the majority and how many differences of each severity. No host names or values:
    rendering the comparison (``report``) is the caller's."""
    odd = _rank_numbers([m for o in report.outliers for m in o.group.members])
    baseline = next(g for g in report.groups if g.id == report.baseline_id)
    majority = _rank_numbers(baseline.members)
    counts = ", ".join(f"{sum(o.report.summary()[level.value] for o in report.outliers)} "
                       f"{level.value}" for level in ORDER)
    return (f"{'rank' if len(odd) == 1 else 'ranks'} {rank_ranges(odd)} of {report.members} "
            f"{'differs' if len(odd) == 1 else 'differ'} from the majority "
            f"({'rank' if len(majority) == 1 else 'ranks'} {rank_ranges(majority)}): "
            f"{counts}; the comparison is the error's report")


def timeout_message(missing: Sequence[int], expected: int, timeout: float,
                    error: BaseException | None = None) -> str:
    """One line: which ranks did not reach verify_ranks, and the timeout."""
    seconds = f"{timeout:g} s"
    if missing:
        noun = "rank" if len(missing) == 1 else "ranks"
        return (f"{noun} {rank_ranges(missing)} of {expected} did not reach "
                f"envcheck.distributed.verify_ranks within {seconds}")
    cause = str(error).strip().splitlines()[0] if error is not None and str(error).strip() else ""
    return (f"not every rank of {expected} reached envcheck.distributed.verify_ranks within "
            f"{seconds}" + (f": {cause}" if cause else ""))
