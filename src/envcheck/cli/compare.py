"""``envcheck compare``: a fleet of fingerprints, the majority as baseline."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable

import click

from ..errors import InputError, UsageError
from ..fleet import compare as compare_fleet
from ..model import Fingerprint
from ..render import ReportFormat
from ..render.fleet import render_fleet
from ..sources.registry import fleet_members, resolve
from .common import EXIT_CODES_HELP, emit, load_config, mlflow_option, report_options, verdict


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@report_options(("text", "json", "markdown"))
@click.option("--baseline", metavar="INPUT",
              help="Compare against this fingerprint instead of the majority.")
@mlflow_option
def compare(inputs: tuple[str, ...], fmt: str, fail_on: str, config_path: str | None,
            output: str | None, show_benign: bool, show_all: bool, baseline: str | None) -> int:
    """Compare a fleet: N fingerprints (one per machine or rank), grouped by id, the
    majority as baseline, and every odd one out with what differs and why.

    \b
    INPUT is a fingerprint file, a directory of *.json fingerprints, REV:PATH,
    docker:IMAGE or @REF from the local history; or many at once: every run of an
    MLflow experiment that carries a fingerprint (mlflow:EXPERIMENT), the scheduler
    and workers of a Dask cluster (dask://HOST:PORT), every node of a Ray cluster
    (ray://HOST:PORT, its Ray Client address).

    \b
    Examples:
      envcheck compare fingerprints/                  # one file per node
      envcheck compare node-*.json --baseline lockfiles/train.json
      envcheck compare fingerprints/ --format markdown -o fleet.md
      envcheck compare mlflow:my-experiment --mlflow-uri http://127.0.0.1:5000
      envcheck compare dask://scheduler:8786
      envcheck compare ray://head:10001
    """
    members = []
    for spec in expand(inputs):
        many = fleet_members(spec)  # an experiment's runs, a cluster's workers
        members += many if many is not None else [(spec, _loader(spec))]
    base = (baseline, _loader(baseline)) if baseline else None
    report = compare_fleet(members, base, load_config(config_path))
    emit(render_fleet(report, ReportFormat(fmt), show_benign or show_all, show_all), output)
    return verdict(report.fails(fail_on))


def _loader(spec: str) -> Callable[[], Fingerprint]:
    if spec == "-":
        raise UsageError("compare reads files, directories, REV:PATH, docker: and @refs, "
                         "not stdin")
    if os.path.isfile(spec):
        return functools.partial(resolve, spec)  # re-read on demand: memory stays flat
    return functools.cache(functools.partial(resolve, spec))  # probe or fetch once


def expand(inputs: tuple[str, ...]) -> list[str]:
    """Directories become their *.json files, sorted; everything else is kept as given."""
    expanded: list[str] = []
    for spec in inputs:
        if os.path.isdir(spec):
            found = sorted(os.path.join(spec, f) for f in os.listdir(spec) if f.endswith(".json"))
            if not found:
                raise InputError(f"{spec}: no *.json fingerprints in this directory")
            expanded += found
        else:
            expanded.append(spec)
    return expanded
