"""``mlflow:RUN_ID``, ``mlflow:runs:/RUN_ID`` and ``mlflow:EXPERIMENT``: fingerprints logged
on MLflow runs (``envcheck.integrations.mlflow.log_fingerprint``). A run is one input; an
experiment is a fleet of every run that carries one (``envcheck compare``)."""

from __future__ import annotations

import os

from ..errors import UsageError
from ..model import Fingerprint
from .base import Member, Request

PREFIX = "mlflow:"


class MlflowSource:
    kind = "fingerprint logged on an MLflow run"
    expected_only = False

    def claims(self, spec: str) -> bool:
        return spec.startswith(PREFIX)

    def load(self, spec: str, request: Request) -> Fingerprint:
        from ..integrations import mlflow

        # MLflow draws download progress bars on stderr, which carries one line per error.
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        what, artifact = mlflow.parse_spec(spec)
        if artifact is None and not mlflow.is_run(what):
            raise UsageError(f"{spec}: not a run id; an experiment is many runs: "
                             f"envcheck compare {spec}")
        return mlflow.load_run(what, artifact=artifact)

    def members(self, spec: str, request: Request) -> list[Member]:
        from ..integrations import mlflow

        what, artifact = mlflow.parse_spec(spec)
        if artifact is not None or mlflow.is_run(what):
            return [(spec, lambda: self.load(spec, request))]
        return mlflow.experiment_members(what)
