"""Weights & Biases: the fingerprint on a run, as an artifact and a config key.

::

    import wandb
    from envcheck.integrations.wandb import log_fingerprint

    run = wandb.init(project="resnet")
    log_fingerprint()      # artifact envcheck-fingerprint (envcheck/fingerprint.json),
                           # config envcheck.id

Works in offline mode (``WANDB_MODE=offline``): the artifact is recorded with the
run and uploaded by ``wandb sync``. ``wandb`` is imported only by this module
(``pip install 'envcheck[wandb]'``).
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from ..errors import UsageError
from ..model import Fingerprint
from . import ARTIFACT, fingerprint_now, require

wandb: Any = require("wandb", "wandb")

__all__ = ["ARTIFACT_NAME", "ARTIFACT_TYPE", "log_fingerprint"]

ARTIFACT_NAME = "envcheck-fingerprint"
ARTIFACT_TYPE = "envcheck-fingerprint"


def log_fingerprint(run: Any = None, numerics: bool = False,
                    fingerprint: Fingerprint | None = None) -> Fingerprint:
    """Log this environment's fingerprint on the active run (or ``run``) and return it.

    The artifact holds ``envcheck/fingerprint.json``; the run's config gets
    ``envcheck: {id, numerics_id}`` so runs can be grouped and filtered by environment.
    """
    run = run if run is not None else wandb.run
    if run is None:
        raise UsageError("no active W&B run: call wandb.init() first, or pass run")
    if fingerprint is None:
        fingerprint = fingerprint_now(numerics)
    artifact = wandb.Artifact(ARTIFACT_NAME, type=ARTIFACT_TYPE,
                              metadata={"id": fingerprint.id})
    with tempfile.TemporaryDirectory(prefix="envcheck-wandb-") as directory:
        path = os.path.join(directory, "fingerprint.json")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(fingerprint.to_json())
        artifact.add_file(path, name=ARTIFACT)  # copied into W&B's staging area now
        run.log_artifact(artifact)
    keys = {"id": fingerprint.id}
    numerics_id = fingerprint.data.get("numerics_id")  # the model's, beside "id"
    if numerics_id:
        keys["numerics_id"] = str(numerics_id)
    run.config.update({"envcheck": keys}, allow_val_change=True)
    return fingerprint
