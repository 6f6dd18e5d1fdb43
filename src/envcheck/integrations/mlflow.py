"""MLflow: a fingerprint on every run, and runs as inputs to diff, check and compare.

::

    import mlflow
    from envcheck.integrations.mlflow import log_fingerprint

    with mlflow.start_run():
        log_fingerprint()       # artifact envcheck/fingerprint.json, tag envcheck.id

    $ envcheck diff mlflow:RUN_A mlflow:RUN_B
    $ envcheck compare mlflow:my-experiment

The tracking server is MLflow's own choice (``MLFLOW_TRACKING_URI``) unless a
``tracking_uri`` is given. ``mlflow`` is imported only by this module
(``pip install 'envcheck[mlflow]'``).
"""

from __future__ import annotations

import functools
import os
import re
import tempfile
from collections.abc import Callable
from typing import Any

from ..errors import InputError, UsageError
from ..model import Fingerprint
from . import ARTIFACT, fingerprint_now, require

mlflow: Any = require("mlflow", "mlflow")

__all__ = ["ARTIFACT", "ID_TAG", "NUMERICS_TAG", "experiment_members", "load_run",
           "log_fingerprint", "parse_spec"]

ID_TAG = "envcheck.id"
NUMERICS_TAG = "envcheck.numerics_id"
_RUN_ID = re.compile(r"[0-9a-f]{32}\Z")


def log_fingerprint(run_id: str | None = None, numerics: bool = False,
                    fingerprint: Fingerprint | None = None, client: Any = None) -> Fingerprint:
    """Log this environment's fingerprint on the active run (or ``run_id``) and return it.

    The artifact ``envcheck/fingerprint.json`` holds the whole fingerprint; the tag
    ``envcheck.id`` lets a person search runs by environment (``envcheck.numerics_id``
    too when the fingerprint carries measured numerics).
    """
    if run_id is None:
        active = mlflow.active_run()
        if active is None:
            raise UsageError("no active MLflow run: call mlflow.start_run() first, "
                             "or pass run_id")
        run_id = str(active.info.run_id)
    if fingerprint is None:
        fingerprint = fingerprint_now(numerics)
    client = client if client is not None else mlflow.MlflowClient()
    client.log_text(run_id, fingerprint.to_json(), ARTIFACT)
    client.set_tag(run_id, ID_TAG, fingerprint.id)
    numerics_id = fingerprint.data.get("numerics_id")  # the model's, beside "id"
    if numerics_id:
        client.set_tag(run_id, NUMERICS_TAG, str(numerics_id))
    return fingerprint


def parse_spec(spec: str) -> tuple[str, str | None]:
    """``mlflow:RUN_ID``, ``mlflow:runs:/RUN_ID[/PATH]`` or ``mlflow:EXPERIMENT``:
    (``run`` or ``experiment``, what) and, for ``runs:/``, the artifact path."""
    rest = spec.partition(":")[2]
    if rest.startswith("runs:/"):
        run_id, _, path = rest[len("runs:/"):].strip("/").partition("/")
        if not run_id:
            raise UsageError(f"{spec}: name a run (mlflow:runs:/RUN_ID)")
        return run_id, path or None
    if not rest:
        raise UsageError(f"{spec}: name a run (mlflow:RUN_ID) or an experiment "
                         "(mlflow:EXPERIMENT)")
    return rest, None


def is_run(what: str) -> bool:
    """Run ids are 32 lowercase hex digits; anything else names an experiment."""
    return bool(_RUN_ID.match(what))


def load_run(run_id: str, tracking_uri: str | None = None, artifact: str | None = None,
             client: Any = None) -> Fingerprint:
    """The fingerprint logged on ``run_id``; InputError (exit 3) when there is none."""
    what = f"mlflow:{run_id}"
    client = client if client is not None else _client(tracking_uri)
    _call(lambda: client.get_run(run_id), what, "no such run")
    with tempfile.TemporaryDirectory(prefix="envcheck-mlflow-") as directory:
        try:
            local = client.download_artifacts(run_id, artifact or ARTIFACT, directory)
        except Exception as exc:  # MLflow raises OSError, MlflowException and more here
            raise InputError(f"{what}: the run has no envcheck fingerprint ({artifact or ARTIFACT}"
                             "); log one with envcheck.integrations.mlflow.log_fingerprint"
                             ) from exc
        from ..reader import read_bytes
        from ..sources.document import from_json

        return from_json(read_bytes(local), what)


def experiment_members(name: str, tracking_uri: str | None = None,
                       ) -> list[tuple[str, Callable[[], Fingerprint]]]:
    """Every run of experiment ``name`` (or id) that carries a fingerprint, oldest first,
    labelled ``mlflow:RUN_ID (run name)``; each fingerprint is fetched when first needed."""
    client = _client(tracking_uri)
    what = f"mlflow:{name}"
    experiment = _call(lambda: client.get_experiment_by_name(name), what, "cannot read it")
    if experiment is None and name.isdigit():
        experiment = _call(lambda: client.get_experiment(name), what, "no such experiment")
    if experiment is None:
        raise InputError(f"{what}: no such run or experiment")
    runs: list[Any] = []
    token = None
    while True:
        page = _call(functools.partial(
            client.search_runs, [experiment.experiment_id], filter_string=f"tags.`{ID_TAG}` != ''",
            order_by=["attributes.start_time ASC"], max_results=1000, page_token=token),
            what, "cannot list its runs")
        runs += list(page)
        token = page.token
        if not token:
            break
    if not runs:
        raise InputError(f"{what}: no run of this experiment carries an envcheck fingerprint")
    members = []
    for run in runs:
        run_id = str(run.info.run_id)
        label = f"mlflow:{run_id} ({run.info.run_name})" if run.info.run_name \
            else f"mlflow:{run_id}"
        members.append((label, _cached(run_id, client)))
    return members


def _cached(run_id: str, client: Any) -> Callable[[], Fingerprint]:
    return functools.cache(functools.partial(load_run, run_id, client=client))


def _client(tracking_uri: str | None) -> Any:
    return mlflow.MlflowClient(tracking_uri=tracking_uri or os.environ.get("MLFLOW_TRACKING_URI"))


def _call(call: Callable[[], Any], what: str, why: str) -> Any:
    exception = mlflow.exceptions.MlflowException
    try:
        return call()
    except exception as exc:
        first = str(exc.message if hasattr(exc, "message") else exc).strip().splitlines()
        detail = first[0][:300] if first else type(exc).__name__
        if getattr(exc, "error_code", "") == "RESOURCE_DOES_NOT_EXIST":
            raise InputError(f"{what}: {why}") from exc
        raise InputError(f"{what}: {why} ({detail})") from exc
