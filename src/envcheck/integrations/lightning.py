"""PyTorch Lightning: one callback checks every rank at the start of fit.

::

    from lightning.pytorch import Trainer
    from envcheck.integrations.lightning import EnvcheckCallback

    trainer = Trainer(strategy="ddp", callbacks=[EnvcheckCallback(lock="lockfiles/train.json")])
    trainer.fit(model)      # DriftError on every rank when an environment drifted

At the start of fit, on every rank: the rank is checked against ``lock`` (when given),
every rank is compared with :func:`envcheck.distributed.verify_ranks` (when the job is
distributed), and global rank 0 logs the fingerprint with the run: as an artifact and
tag on the run of an ``MLFlowLogger``, as an artifact and config key on the run of a
``WandbLogger``, otherwise as ``envcheck/fingerprint.json`` in the trainer's log dir. On
drift every rank raises :class:`envcheck.errors.DriftError` with the report, and fit
stops on all of them. ``lightning`` (or the older ``pytorch_lightning``) is imported
only by this module (``pip install 'envcheck[lightning]'``).
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from . import MissingExtraError
from ._training import Outcome, TrainingCheck, log_to_directory

__all__ = ["EnvcheckCallback"]


def _lightning() -> Any:
    """``lightning.pytorch``, or ``pytorch_lightning`` where only that is installed."""
    try:
        return importlib.import_module("lightning.pytorch")
    except ImportError:
        try:
            return importlib.import_module("pytorch_lightning")
        except ImportError as exc:
            raise MissingExtraError(f"lightning is not installed ({exc}); "
                                    "pip install 'envcheck[lightning]'") from exc


pl: Any = _lightning()
_loggers: Any = importlib.import_module(f"{pl.__name__}.loggers")
_log = logging.getLogger("envcheck.integrations")


class EnvcheckCallback(TrainingCheck, pl.Callback):  # type: ignore[misc]  # Lightning, imported above
    """Check the environment of every rank at the start of fit; stop all of them on drift.

    ``lock``: a lockfile, fingerprint or user's lock the ranks must match (as
    ``envcheck check``). ``fail_on``: breaking, risky, any or never. ``numerics``: also
    run the numeric canaries on every rank and compare what they compute. ``log``:
    log the fingerprint with the run (from global rank 0). After fit starts,
    ``outcome`` holds what was found and ``logged`` where the fingerprint went.
    """

    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        # log_dir broadcasts from rank 0: every rank asks, before any rank can stop.
        directory = (trainer.log_dir or trainer.default_root_dir) if self.log else None
        outcome = self.check()
        if self.log and trainer.is_global_zero:
            self.logged = log_fingerprint(trainer.loggers, str(directory), outcome)
        if outcome.ranks is not None:
            _log.info("envcheck: %d ranks checked, %d distinct environments",
                      outcome.ranks.members, len(outcome.ranks.groups))


def log_fingerprint(loggers: list[Any], directory: str, outcome: Outcome) -> list[str]:
    """Log the fingerprint with each MLflow and W&B logger, or else as a file in
    ``directory``; where it went (``mlflow:RUN_ID``, ``wandb:RUN_ID``, a path)."""
    fingerprint = outcome.fingerprint
    logged: list[str] = []
    for logger in loggers:
        if isinstance(logger, _loggers.MLFlowLogger):
            from . import mlflow

            run_id = logger.run_id  # creates the run when fit has not yet
            mlflow.log_fingerprint(run_id, fingerprint=fingerprint, client=logger.experiment)
            logged.append(f"mlflow:{run_id}")
        elif isinstance(logger, _loggers.WandbLogger):
            from . import wandb

            run = logger.experiment
            wandb.log_fingerprint(run, fingerprint=fingerprint)
            logged.append(f"wandb:{run.id}")
    if not logged:
        logged.append(log_to_directory(directory, fingerprint))
    return logged
