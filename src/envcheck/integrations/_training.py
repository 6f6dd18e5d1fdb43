"""What every training-loop callback does at the start of training, on every rank.

1. Fingerprint this rank (with measured numerics when asked).
2. Check it against the lock, when one is given.
3. When the job is distributed (an initialised ``torch.distributed`` group of more
   than one rank): compare every rank with :func:`envcheck.distributed.verify_ranks`
   (which names ranks that never arrive), then tell every rank which ranks failed the lock.

Every rank reaches the same verdict and raises :class:`~envcheck.errors.DriftError`
together, so a job never hangs with one rank stopped and the others waiting in a
collective. Ranks that differ from each other are named first (verify_ranks' report);
then ranks that differ from the lock.

The caller then logs the fingerprint with :func:`log_fingerprint` from global rank 0.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from typing import Any

from ..config import Config
from ..distributed import member_name, verify_ranks
from ..errors import DriftError, EnvcheckError
from ..fleet import FleetReport
from ..gate import against_lock
from ..model import Fingerprint
from ..model.report import Report
from ..model.severity import FailOn, Severity
from ..output import write_text
from ..render.escape import terminal, value_text
from ..render.ranks import drift_message
from . import ARTIFACT, fingerprint_now

__all__ = ["Outcome", "TrainingCheck", "log_to_directory", "start_of_training"]


@dataclass(frozen=True)
class Outcome:
    """What the start-of-training check found on this rank (no drift at ``fail_on``)."""

    fingerprint: Fingerprint
    lock: Report | None  # this rank against the lock; None without a lock
    ranks: FleetReport | None  # every rank compared; None when the job is not distributed


class TrainingCheck:
    """What every training-loop callback takes and keeps; each loop's callback inherits it
    beside that loop's own callback base and calls :meth:`check` from its start hook."""

    def __init__(self, lock: str | None = None, fail_on: FailOn | str = "breaking",
                 numerics: bool = False, log: bool = True, config: Config | None = None,
                 timeout: float = 120.0) -> None:
        super().__init__()
        self.lock = lock
        self.fail_on = FailOn.parse(fail_on)
        self.numerics = numerics
        self.log = log
        self.config = config
        self.timeout = timeout
        self.outcome: Outcome | None = None
        self.logged: list[str] = []

    def check(self) -> Outcome:
        """:func:`start_of_training` with these options, kept in ``outcome``."""
        self.outcome = start_of_training(self.lock, self.fail_on, self.numerics, self.config,
                                         self.timeout)
        return self.outcome


def start_of_training(lock: str | None = None, fail_on: FailOn | str = FailOn.BREAKING,
                      numerics: bool = False, config: Config | None = None,
                      timeout: float = 120.0) -> Outcome:
    """Check this rank at the start of training; DriftError on every rank on drift.

    Collective when the job is distributed: every rank must call it.
    """
    threshold = FailOn.parse(fail_on)
    fingerprint = fingerprint_now(numerics)
    report: Report | None = None
    problem = ""
    if lock is not None:
        try:
            report = against_lock(lock, fingerprint, config)
        except EnvcheckError as exc:  # every rank must still reach the collectives below
            problem = f"cannot check against {terminal(lock)}: {exc}"
        else:
            if report.fails(threshold):
                problem = lock_message(lock, report)
    dist = _process_group()
    if dist is None:
        if problem:
            raise DriftError(problem, report)
        return Outcome(fingerprint, report, None)
    # verify_ranks first: it names ranks that never arrive instead of waiting in a collective.
    try:
        ranks = verify_ranks(threshold, fingerprint=fingerprint, config=config,
                             numerics=numerics, timeout=timeout)
    except DriftError as exc:  # the callback's message names the odd ranks and their changes
        if not isinstance(exc.report, FleetReport):
            raise
        raise DriftError(drift_message(exc.report), exc.report) from None
    failing = _ranks_where(dist, bool(problem))
    if failing:
        rank = int(dist.get_rank())
        names = f"rank{'s' if len(failing) > 1 else ''} {', '.join(map(str, failing))}"
        message = (problem or f"{names} of {int(dist.get_world_size())} "
                   f"{'fails' if len(failing) == 1 else 'fail'} the lock {terminal(lock or '')}")
        if rank in failing and len(failing) < int(dist.get_world_size()):
            message = f"{member_name(rank, platform.node() or 'unknown host')}: {message}"
        raise DriftError(message, report if report is not None else ranks)
    return Outcome(fingerprint, report, ranks)


def lock_message(lock: str, report: Report, limit: int = 3) -> str:
    """One line: how this environment differs from ``lock``, the worst changes first."""
    changes = sorted((c for c in report.changes if c.severity is not Severity.BENIGN),
                     key=lambda c: -c.severity.rank) or list(report.changes)
    shown = "; ".join(f"{c.path}: {value_text(c.before)} -> {value_text(c.after)} "
                      f"[{c.severity.value}]" for c in changes[:limit])
    more = f" (+{len(changes) - limit} more)" if len(changes) > limit else ""
    counts = ", ".join(f"{n} {k}" for k, n in report.summary().items() if n)
    return terminal(f"the environment differs from {lock} ({counts}): {shown}{more}")


def log_to_directory(directory: str | os.PathLike[str], fingerprint: Fingerprint) -> str:
    """Write the fingerprint as ``DIRECTORY/envcheck/fingerprint.json``; its path."""
    path = os.path.join(os.fspath(directory), *ARTIFACT.split("/"))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_text(path, fingerprint.to_json())
    return path


# ---- torch.distributed -----------------------------------------------------------------

def _process_group() -> Any:
    """``torch.distributed`` when this process is one rank of several; None otherwise.

    Imported only when the trainer already imported it: a job without torch.distributed
    is not distributed.
    """
    import sys

    dist = sys.modules.get("torch.distributed")
    if dist is None or not dist.is_available() or not dist.is_initialized():
        return None
    return dist if int(dist.get_world_size()) > 1 else None


def _ranks_where(dist: Any, flag: bool) -> list[int]:
    """The ranks where ``flag`` is true, known to every rank (one small all_gather)."""
    import torch

    device = (torch.device("cuda", torch.cuda.current_device())
              if str(dist.get_backend()).lower() == "nccl" else torch.device("cpu"))
    size = int(dist.get_world_size())
    mine = torch.tensor([1 if flag else 0], dtype=torch.int64, device=device)
    gathered = [torch.zeros(1, dtype=torch.int64, device=device) for _ in range(size)]
    dist.all_gather(gathered, mine)
    return [rank for rank, value in enumerate(gathered) if int(value.item())]
