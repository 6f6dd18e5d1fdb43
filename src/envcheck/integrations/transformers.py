"""Hugging Face ``transformers.Trainer``: one callback checks every rank at the start of training.

::

    from transformers import Trainer
    from envcheck.integrations.transformers import EnvcheckCallback

    trainer = Trainer(model, args, train_dataset=data,
                      callbacks=[EnvcheckCallback(lock="lockfiles/train.json")])
    trainer.train()         # DriftError on every rank when an environment drifted

At the start of training, on every rank: the rank is checked against ``lock`` (when
given), every rank is compared with :func:`envcheck.distributed.verify_ranks` (when the
job is distributed), and the world's process zero logs the fingerprint with the run: on
the MLflow run and the W&B run the Trainer reports to (``report_to``), otherwise as
``envcheck/fingerprint.json`` in ``args.output_dir``. On drift every rank raises
:class:`envcheck.errors.DriftError` with the report before the first step. ``transformers``
is imported only by this module (``pip install 'envcheck[transformers]'``).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from . import require
from ._training import Outcome, TrainingCheck, log_to_directory

__all__ = ["EnvcheckCallback"]

transformers: Any = require("transformers", "transformers")
_log = logging.getLogger("envcheck.integrations")


class EnvcheckCallback(TrainingCheck, transformers.TrainerCallback):  # type: ignore[misc]  # imported above
    """Check the environment of every rank at the start of training; stop all on drift.

    ``lock``: a lockfile, fingerprint or user's lock the ranks must match (as
    ``envcheck check``). ``fail_on``: breaking, risky, any or never. ``numerics``: also
    run the numeric canaries on every rank and compare what they compute. ``log``:
    log the fingerprint with the run (from the world's process zero). After training
    starts, ``outcome`` holds what was found and ``logged`` where the fingerprint went.
    """

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        outcome = self.check()
        if self.log and state.is_world_process_zero:
            self.logged = log_fingerprint(list(args.report_to or []), str(args.output_dir),
                                          outcome)
        if outcome.ranks is not None:
            _log.info("envcheck: %d ranks checked, %d distinct environments",
                      outcome.ranks.members, len(outcome.ranks.groups))


def log_fingerprint(report_to: list[str], directory: str, outcome: Outcome) -> list[str]:
    """Log the fingerprint on the active MLflow and W&B runs the Trainer reports to, or
    else as a file in ``directory``; where it went (``mlflow:RUN_ID``, ``wandb:RUN_ID``,
    a path). The Trainer's own reporting callbacks start those runs just before this one
    runs, as they come first in its callback list."""
    fingerprint = outcome.fingerprint
    logged: list[str] = []
    if "mlflow" in report_to and "mlflow" in sys.modules:
        from . import mlflow

        active = mlflow.mlflow.active_run()
        if active is not None:
            mlflow.log_fingerprint(fingerprint=fingerprint)
            logged.append(f"mlflow:{active.info.run_id}")
    if "wandb" in report_to and "wandb" in sys.modules:
        from . import wandb

        if wandb.wandb.run is not None:
            wandb.log_fingerprint(fingerprint=fingerprint)
            logged.append(f"wandb:{wandb.wandb.run.id}")
    if not logged:
        logged.append(log_to_directory(directory, fingerprint))
    return logged
