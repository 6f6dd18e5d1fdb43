"""The command line: parse, call, render, exit. With console.py, the only code that touches
stdout and stderr.

Why one long module: it is every click command, each a thin parse-call-render-exit
over the layers below, and the options several commands share are defined once here;
splitting it would spread one command line over files without moving any logic.

Exit codes (every command):
  0  success; nothing at or above --fail-on
  1  a difference at or above --fail-on
  2  usage error: bad options or configuration
  3  an input or target could not be read
  4  a result could not be written
  70 internal error (a bug in envcheck)
  130 interrupted (Ctrl-C); 141 the reader of stdout went away (| head)
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from . import __version__
from .console import (
    SNAPSHOT_DEFAULTS,
    Interrupted,
    StdoutClosed,
    default_python,
    guarded,
    progress_bar,
    run_snapshot,
    write_output,
    write_stdout,
)
from .console import warn as _warn
from .errors import ExitCode, InputError, OutputError, UsageError
from .model.severity import FAIL_ON

if TYPE_CHECKING:
    from .config import Config
    from .model import Fingerprint
    from .model.report import Report

F = TypeVar("F", bound=Callable[..., Any])

EXIT_CODES_HELP = """\b
Exit codes:
  0  success; nothing at or above --fail-on
  1  a difference at or above --fail-on
  2  usage error
  3  an input or target could not be read
  4  a result could not be written
  70 internal error (a bug: please report it)
  130 interrupted; 141 stdout closed early (| head)"""
# For the commands that judge nothing (no --fail-on): no exit 1.
EXIT_CODES_NO_VERDICT_HELP = """\b
Exit codes:
  0  success
  2  usage error
  3  an input or target could not be read
  4  a result could not be written
  70 internal error (a bug: please report it)
  130 interrupted; 141 stdout closed early (| head)"""


def _python_option(func: F) -> F:
    return click.option(
        "--python", "python", metavar="PATH",
        help="Fingerprint the interpreter at PATH (the probe runs there, fed on stdin). "
             "Default: the active virtualenv/conda env if envcheck runs outside it, else "
             "envcheck's own interpreter.",
    )(func)


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError as exc:
            # click answers EPIPE with exit status 1, which means drift here: carry it
            # past click as an exception click does not handle.
            raise StdoutClosed from exc
        except KeyboardInterrupt as exc:
            # click would print an empty line first: the one line is guarded's.
            raise Interrupted from exc


@click.group(cls=_Group,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="envcheck")
def cli() -> None:
    """Fingerprint ML training environments and tell whether two differ in ways that
    change results.

    \b
    Examples:
      envcheck snapshot                      summary of this environment
      envcheck snapshot -o train.json        save the fingerprint as JSON
      envcheck snapshot --python .venv/bin/python
      envcheck diff laptop.json cluster.json
      envcheck diff origin/main:lockfiles/train.json lockfiles/train.json --format markdown
      envcheck lock train && envcheck check lockfiles/train.json
      envcheck compare fingerprints/
    """


@cli.command(epilog=EXIT_CODES_NO_VERDICT_HELP)
@_python_option
@click.option("-o", "--output", metavar="FILE",
              help="Write the fingerprint as JSON to FILE ('-' for stdout).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]),
              default=SNAPSHOT_DEFAULTS["fmt"], show_default=True,
              help="What to print on stdout when -o is not given.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=SNAPSHOT_DEFAULTS["timeout"],
              show_default=True,
              help="Seconds to wait for a probe in another interpreter.")
@click.option("--nvml-timeout", type=click.FloatRange(min=0.1),
              default=SNAPSHOT_DEFAULTS["nvml_timeout"], show_default=True,
              help="Seconds to wait for the NVIDIA driver before reporting it as hung.")
@click.option("--no-cache", is_flag=True,
              help="Re-read every package's metadata instead of reusing facts of unchanged "
                   "ones from the last snapshot.")
@click.option("--image", metavar="IMAGE",
              help="Fingerprint a Docker image: the probe runs in a new container (no "
                   "network, always removed) with the image's own Python.")
@click.option("--container", "container_name", metavar="NAME_OR_ID",
              help="Fingerprint a running Docker container (the probe runs through exec).")
@click.option("--image-python", metavar="PATH",
              help="The interpreter inside the image or container (default: python3, "
                   "then python on its PATH).")
@click.option("--gpus", is_flag=True,
              help="With --image: pass the GPUs to the container (like docker run --gpus all) "
                   "so NVML inside sees them.")
@click.option("--no-save", is_flag=True,
              help="Do not add this snapshot to the local history (envcheck history).")
@click.option("--deep", is_flag=True,
              help="Also verify installed files against RECORD and record per package the "
                   "files changed since install (not with --image/--container).")
@click.option("--numerics", is_flag=True,
              help="Also run the numeric canaries (in a child process of the target "
                   "interpreter) and record what they computed, bit for bit, and the "
                   "libraries actually loaded.")
@click.option("--numerics-timeout", type=click.FloatRange(min=0.1),
              default=SNAPSHOT_DEFAULTS["numerics_timeout"], show_default=True,
              help="Seconds the canaries may take; one still running then is recorded as "
                   "an error.")
def snapshot(python: str | None, output: str | None, fmt: str, timeout: float,
             nvml_timeout: float, no_cache: bool, image: str | None,
             container_name: str | None, image_python: str | None, gpus: bool,
             no_save: bool, deep: bool, numerics: bool, numerics_timeout: float) -> None:
    """Fingerprint an environment: packages and their builds, frameworks, CUDA, GPUs, CPU,
    OS and the settings that steer numerics.

    \b
    Examples:
      envcheck snapshot
      envcheck snapshot -o fingerprint.json
      envcheck snapshot --format json | jq .frameworks
      envcheck snapshot --python /opt/conda/envs/train/bin/python -o train.json
      envcheck snapshot --image IMAGE -o image.json
      envcheck snapshot --container trainer-0
      envcheck snapshot --numerics -o a.json   (then: envcheck explain a.json elsewhere)
    """
    run_snapshot(python, output, fmt, timeout, nvml_timeout, no_cache, image, container_name,
                 image_python, gpus, no_save, deep, numerics, numerics_timeout)


def _use_color() -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return sys.stdout.isatty()


def _report_options(formats: tuple[str, ...]) -> Callable[[F], F]:
    """The options every judging command shares: format, threshold, configuration, output."""
    def decorate(func: F) -> F:
        for option in reversed((
            click.option("--format", "fmt", type=click.Choice(formats), default="text",
                         show_default=True, help="Report format."),
            click.option("--fail-on", type=click.Choice(FAIL_ON),
                         default="breaking", show_default=True,
                         help="Exit 1 when a difference is at or above this severity."),
            click.option("--config", "config_path", metavar="FILE",
                         help="Configuration file (default: envcheck.toml or [tool.envcheck] "
                              "in pyproject.toml, searched upward)."),
            click.option("-o", "--output", metavar="FILE",
                         help="Write the report to FILE instead of stdout."),
            click.option("--show-benign", is_flag=True,
                         help="List benign differences in text output."),
            click.option("--all", "show_all", is_flag=True,
                         help="List everything: benign differences and every name of a "
                              "collapsed group (packages on one side only, other packages)."),
        )):
            func = option(func)
        return func
    return decorate


def _use_mlflow_uri(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value:  # MLflow's own setting: its client reads it wherever it is created
        os.environ["MLFLOW_TRACKING_URI"] = value


_mlflow_option = click.option(
    "--mlflow-uri", metavar="URI", expose_value=False, callback=_use_mlflow_uri,
    help="MLflow tracking server for mlflow: inputs (default: $MLFLOW_TRACKING_URI).")


def _config(config_path: str | None) -> Config:
    from . import config as configuration

    return configuration.load_file(Path(config_path)) if config_path else configuration.discover()


def _emit(text: str, output: str | None) -> None:
    if output is None:
        write_stdout(text)
    else:
        write_output(text, output)
        if output != "-":
            _warn(f"wrote {output}")  # as snapshot -o does: a silent success looks like none


def _verdict(fails: bool) -> int:
    return int(ExitCode.DRIFT) if fails else int(ExitCode.OK)


def _render(report: Report, fmt: str, output: str | None, show_benign: bool,
            show_all: bool = False) -> str:
    from .render import ReportFormat
    from .render.report import RenderOptions, render_report

    options = RenderOptions(color=output is None and _use_color(), show_benign=show_benign,
                            show_all=show_all)
    return render_report(report, ReportFormat(fmt), options)


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("a", metavar="A")
@click.argument("b", metavar="B")
@_report_options(("text", "json", "markdown", "github"))
@_python_option
@_mlflow_option
def diff(a: str, b: str, fmt: str, fail_on: str, config_path: str | None, output: str | None,
         show_benign: bool, show_all: bool, python: str | None) -> int:
    """Compare two environments and judge every difference: breaking, risky or benign,
    with the reason and where it is documented.

    \b
    A and B may each be:
      FILE          a fingerprint (envcheck snapshot -o FILE) or a `pip inspect` report
      -             a fingerprint on stdin
      .             the live environment (or --python PATH)
      REV:PATH      a file at a git revision, e.g. origin/main:lockfiles/train.json
      github:REF:PATH  the same through the GitHub API ($GITHUB_REPOSITORY, $GITHUB_TOKEN)
      docker:IMAGE  a Docker image, probed in a new container that is always removed
      docker-container:NAME  a running Docker container
      @last, @prev, @N, @YYYY-MM-DD   an earlier snapshot from the local history

    \b
    Examples:
      envcheck diff laptop.json cluster.json
      envcheck diff @last .                  what changed since the last snapshot?
      envcheck diff docker:pytorch:24.03 docker:pytorch:24.05
      envcheck diff lockfiles/train.json .
      envcheck diff origin/main:lockfiles/train.json lockfiles/train.json --format markdown
      envcheck diff a.json b.json --format json --fail-on risky
    """
    from .drift import diff as compare
    from .sources.base import Request
    from .sources.registry import resolve

    if a == "-" and b == "-":
        raise UsageError("only one of A and B can be '-' (stdin)")
    config = _config(config_path)
    if "." in (a, b) and python is None:
        python = default_python()
    report = compare(resolve(a, Request(python=python)), resolve(b, Request(python=python)), config,
                     labels=(a, b))
    _emit(_render(report, fmt, output, show_benign, show_all), output)
    return _verdict(report.fails(fail_on))


@cli.command(epilog=EXIT_CODES_NO_VERDICT_HELP)
@click.argument("name")
@click.option("-o", "--output", metavar="FILE", help="Write here instead of lockfiles/NAME.json.")
@_python_option
def lock(name: str, output: str | None, python: str | None) -> None:
    """Record this environment as lockfiles/NAME.json: a fingerprint without what differs
    between identical machines (hostname, time, paths, UUIDs). Locking the same
    environment twice gives identical bytes.

    \b
    Examples:
      envcheck lock train                    # writes lockfiles/train.json
      envcheck lock train --python /opt/venv/bin/python
      envcheck check lockfiles/train.json    # later, at the start of the job
    """
    from .lock import lock_path, render_lock
    from .sources.live import live

    destination = output or lock_path(name)
    if output is None:
        _make_parent(destination)
    fingerprint = live(python or default_python())
    write_output(render_lock(fingerprint), destination)
    if destination != "-":
        _warn(f"wrote {destination} (fingerprint {fingerprint.short_id})")


def _make_parent(path: str) -> None:
    """Create the folder of a report file (``artifacts/envcheck.json``) if needed."""
    parent = os.path.dirname(path)
    if parent and path != "-":
        try:
            os.makedirs(parent, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"{parent}: cannot create ({exc.strerror or exc})") from exc


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("lock_file", metavar="[LOCK]", required=False)
@_report_options(("text", "json", "markdown", "github"))
@click.option("--report", "report_path", metavar="FILE",
              help="Also write the JSON report to FILE (for the job's artifacts).")
@click.option("--strict", is_flag=True,
              help="With a requirements.txt, pylock.toml or uv.lock: also fail on installed "
                   "packages the lock does not name.")
@click.option("--extra", "extras", multiple=True, metavar="NAME",
              help="pylock.toml, uv.lock: the environment has this extra too (repeatable).")
@click.option("--group", "groups", multiple=True, metavar="NAME",
              help="pylock.toml, uv.lock: the dependency groups installed (repeatable; "
                   "default: the lock's default groups).")
@_python_option
def check(lock_file: str | None, fmt: str, fail_on: str, config_path: str | None,
          output: str | None, show_benign: bool, show_all: bool, report_path: str | None,
          strict: bool, extras: tuple[str, ...], groups: tuple[str, ...],
          python: str | None) -> int:
    """Check the live environment against a lock: the first step of a training job.

    \b
    LOCK is a lockfile (envcheck lock) or fingerprint, judged like diff (--fail-on), or
    a user's lock: requirements.txt (pip freeze, pip-compile, uv pip compile), PEP 751
    pylock.toml (pip lock, uv export) or uv.lock. A user's lock is a contract: any
    pinned package not installed as pinned fails (exit 1) whatever its severity, which
    still says how much it matters for numerics; packages it does not name are listed
    (--strict fails on them); pip, setuptools and wheel only if it pins them.
    Also a conda environment.yml, explicit spec (conda list --explicit --md5),
    conda-lock.yml or pixi.lock (pixi.lock#ENV picks the environment; the platform is
    the checked one's). Default LOCK: the only lockfiles/*.json.

    \b
    Examples:
      envcheck check lockfiles/train.json
      pip freeze > requirements.txt && envcheck check requirements.txt
      envcheck check uv.lock --group dev --extra cuda
      envcheck check lockfiles/train.json --report artifacts/envcheck.json
    """
    from .gate import against_lock
    from .lock import default_lock
    from .render.report import render_json
    from .sources.live import live

    lock_file = lock_file or default_lock()
    config = _config(config_path)
    from .model.pins import Selection

    selection = Selection(frozenset(extras), frozenset(groups) if groups else None)
    report = against_lock(lock_file, live(python or default_python()), config, strict=strict,
                          selection=selection)
    report.command = "check"
    if report_path:
        _make_parent(report_path)
        write_output(render_json(report), report_path)
        _warn(f"wrote {report_path}")
    _emit(_render(report, fmt, output, show_benign, show_all), output)
    return _verdict(report.fails(fail_on))


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@_report_options(("text", "json", "markdown"))
@click.option("--baseline", metavar="INPUT",
              help="Compare against this fingerprint instead of the majority.")
@_mlflow_option
def compare(inputs: tuple[str, ...], fmt: str, fail_on: str, config_path: str | None,
            output: str | None, show_benign: bool, show_all: bool, baseline: str | None) -> int:
    """Compare a fleet: N fingerprints (one per machine or rank), grouped by id, the
    majority as baseline, and every odd one out with what differs and why.

    \b
    INPUT is a fingerprint file, a directory of *.json fingerprints, REV:PATH,
    docker:IMAGE or @REF from the local history; or many at once: every run of an
    MLflow experiment that carries a fingerprint (mlflow:EXPERIMENT), the scheduler
    and workers of a Dask cluster (dask://HOST:PORT).

    \b
    Examples:
      envcheck compare fingerprints/                  # one file per node
      envcheck compare node-*.json --baseline lockfiles/train.json
      envcheck compare fingerprints/ --format markdown -o fleet.md
      envcheck compare mlflow:my-experiment --mlflow-uri http://127.0.0.1:5000
      envcheck compare dask://scheduler:8786
    """
    from .fleet import compare as compare_fleet
    from .render import ReportFormat
    from .render.fleet import render_fleet
    from .sources.registry import fleet_members, resolve

    def loader(spec: str) -> Callable[[], Fingerprint]:
        if spec == "-":
            raise UsageError("compare reads files, directories, REV:PATH, docker: and @refs, "
                             "not stdin")
        if os.path.isfile(spec):
            return functools.partial(resolve, spec)  # re-read on demand: memory stays flat
        return functools.cache(functools.partial(resolve, spec))  # probe or fetch once

    members = []
    for spec in _expand(inputs):
        many = fleet_members(spec)  # an experiment's runs, a cluster's workers
        members += many if many is not None else [(spec, loader(spec))]
    base = (baseline, loader(baseline)) if baseline else None
    report = compare_fleet(members, base, _config(config_path))
    _emit(render_fleet(report, ReportFormat(fmt), show_benign or show_all), output)
    return _verdict(report.fails(fail_on))


def _expand(inputs: tuple[str, ...]) -> list[str]:
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


@cli.command(epilog=EXIT_CODES_HELP)
@click.option("-p", "--package", "packages", multiple=True, metavar="NAME",
              help="Verify only this package (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("--fail-on", type=click.Choice(["modified", "any", "never"]), default="modified",
              show_default=True,
              help="Exit 1 on modified or missing files; 'any' also on added files and "
                   "unverifiable packages.")
@click.option("-o", "--output", metavar="FILE", help="Write the report to FILE.")
@click.option("--no-cache", is_flag=True, help="Hash every file, ignoring the hash cache.")
@_python_option
def verify(packages: tuple[str, ...], fmt: str, fail_on: str, output: str | None,
           no_cache: bool, python: str | None) -> int:
    """Check every installed file against its package's RECORD (hash and size): files
    edited, deleted or added since install. pip does not do this.

    Hashing uses every core; a cache keyed by path, size, mtime, ctime and inode makes a
    second run over unchanged files fast. A package without RECORD is reported as
    unverifiable, never as clean.

    \b
    Examples:
      envcheck verify
      envcheck verify -p torch -p numpy
      envcheck verify --format json -o verify.json
    """
    from .verify import verify_interpreter

    with progress_bar("verifying") as progress:
        report = verify_interpreter(python, packages, use_cache=not no_cache,
                                    progress=progress)
    if report.not_found:  # a typo must not pass as "nothing modified"
        missing = report.not_found[0]
        close = report.close_matches.get(missing)
        hint = f" (did you mean {' or '.join(close)}?)" if close else ""
        raise InputError(f"verify -p {missing}: not installed{hint}")
    if fmt == "json":
        import json

        text = json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
    else:
        from .render.verify_text import render_verify

        text = render_verify(report)
    _emit(text, output)
    counts = report.counts
    failed = {"never": False, "any": not report.clean,
              "modified": bool(counts["modified"] or counts["missing"])}[fail_on]
    return _verdict(failed)


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("base", metavar="BASE")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown", "github"]),
              default="text", show_default=True, help="Report format.")
@click.option("--fail-on", type=click.Choice(["breaking", "risky", "any", "never"]),
              default="breaking", show_default=True,
              help="Exit 1 when a canary computes other bits (a breaking difference).")
@click.option("-o", "--output", metavar="FILE", help="Write the report to FILE instead of stdout.")
@click.option("--numerics-timeout", type=click.FloatRange(min=0.1),
              default=SNAPSHOT_DEFAULTS["numerics_timeout"], show_default=True,
              help="Seconds each run of the canaries may take.")
@_python_option
def explain(base: str, fmt: str, fail_on: str, output: str | None, numerics_timeout: float,
            python: str | None) -> int:
    """Why does this machine compute other bits than BASE? Reruns each canary that
    differs with one setting at a time changed to BASE's value (thread counts,
    OPENBLAS_CORETYPE, MKL_CBWR, ONEDNN_MAX_CPU_ISA, NPY_DISABLE_CPU_FEATURES,
    TF_ENABLE_ONEDNN_OPTS, ATEN_CPU_CAPABILITY, TF32 switches...) and names the one that
    reproduces BASE's bits, or lists what it tried.

    \b
    BASE is any input that carries numerics: a file from snapshot --numerics, @last,
    REV:path, docker:IMAGE (measured now).

    \b
    Examples:
      envcheck snapshot --numerics -o base.json      (on the reference machine)
      envcheck explain base.json                     (on this one)
    """
    from .explain import explain as run_explain
    from .render import ReportFormat
    from .render.explain import render_explanation
    from .sources.base import Request
    from .sources.docker import PREFIXES, container
    from .sources.registry import resolve

    target = python or default_python() or sys.executable
    if base.startswith(PREFIXES):  # measured now, inside the image or container
        base_fp = container(base, numerics_timeout=numerics_timeout)
    else:
        base_fp = resolve(base, Request(python=python))
    explanation = run_explain(base_fp.data, base, target, numerics_timeout)
    _emit(render_explanation(explanation, ReportFormat(fmt)), output)
    return _verdict(explanation.fails(fail_on))


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("source", metavar="[INPUT]", default=".")
@_report_options(("text", "json", "markdown", "github"))
@click.option("--deep", is_flag=True,
              help="Also verify installed files against RECORD (live environment only).")
@_python_option
def audit(source: str, fmt: str, fail_on: str, config_path: str | None, output: str | None,
          show_benign: bool, show_all: bool, deep: bool, python: str | None) -> int:
    """Look for settings that keep this machine's own runs from repeating: cuBLAS without
    a fixed workspace, TF32 forced on, no hash seed, unpinned thread counts, shadowed
    packages, a driver too old for the framework's CUDA, mismatched nvidia-* wheels.

    \b
    INPUT is anything diff accepts; default: the live environment.

    \b
    Examples:
      envcheck audit
      envcheck audit --deep                  also files edited since install
      envcheck audit lockfiles/train.json --format markdown
    """
    from .audit import audit as run_audit
    from .audit import file_findings
    from .sources.base import Request
    from .sources.registry import resolve

    if source == "." and python is None:
        python = default_python()
    config = _config(config_path)
    if deep and source != ".":
        raise UsageError("--deep reads installed files: it needs the live environment ('.')")
    extra = None
    if deep:
        from .verify import verify_interpreter

        with progress_bar("verifying") as progress:
            extra = file_findings(verify_interpreter(python, progress=progress))
    label = python if source == "." and python else source  # the interpreter audited
    report = run_audit(resolve(source, Request(python=python)), label=label, extra=extra)
    report.changes = [c for c in report.changes if not config.ignores_path(c.path)]
    _emit(_render(report, fmt, output, show_benign, show_all), output)
    return _verdict(report.fails(fail_on))


@cli.command(epilog=EXIT_CODES_NO_VERDICT_HELP)
@click.argument("body_file", metavar="REPORT.md")
@click.option("--repo", metavar="OWNER/NAME", envvar="GITHUB_REPOSITORY",
              help="Repository (default: $GITHUB_REPOSITORY).")
@click.option("--pr", "pr_number", type=int, metavar="N",
              help="Pull request number (default: from $GITHUB_EVENT_PATH).")
@click.option("--api-url", envvar="GITHUB_API_URL", default="https://api.github.com",
              show_default=True, help="GitHub API root (default: $GITHUB_API_URL).")
@click.option("--author", default="auto", show_default=True,
              help="Only a comment by this login is updated: 'auto' is the token's own "
                   "(a personal token's login, else github-actions[bot]); '' for any author.")
@click.option("--id", "use", default="", metavar="ID",
              help="Which use this is, when one pull request gets several reports of a kind.")
@click.option("--skip-read-only", is_flag=True,
              help="A read-only token (a pull request from a fork) warns instead of failing.")
def comment(body_file: str, repo: str | None, pr_number: int | None, api_url: str,
            author: str, use: str, skip_read_only: bool) -> None:
    """Create or update the pull request's envcheck comment (found by its hidden marker:
    one per report kind and --id).

    The token comes from $GITHUB_TOKEN only, never from the command line.

    \b
    Examples:
      envcheck diff base.json head.json --format markdown -o report.md
      GITHUB_TOKEN=... envcheck comment report.md --repo me/project --pr 42
    """
    from .github import ReadOnlyToken, check_repository, pull_request_number, token_login
    from .pr_comment import upsert_comment
    from .reader import parse_json, read_bytes, read_text

    if not repo:
        raise UsageError("--repo OWNER/NAME is needed (or $GITHUB_REPOSITORY)")
    check_repository(repo)
    if pr_number is None:
        event_path = os.environ.get("GITHUB_EVENT_PATH")
        if event_path:
            pr_number = pull_request_number(parse_json(read_bytes(event_path), event_path))
        if pr_number is None:
            raise UsageError("--pr N is needed (no pull request in $GITHUB_EVENT_PATH)")
    token = os.environ.get("GITHUB_TOKEN", "")
    body = read_text(body_file)
    try:
        if author == "auto" and token:
            author = token_login(api_url, token)
        result = upsert_comment(repo, pr_number, body, token, api_url, author or None, use=use)
    except ReadOnlyToken as exc:
        if not skip_read_only:
            raise
        _warn(f"warning: no comment: {exc}")
        return
    _warn(f"{result.action} comment {result.comment_id} on {repo}#{pr_number}")


@cli.command(epilog=EXIT_CODES_HELP)
@click.option("--base", metavar="SPEC", help="Expected side: github:REF:PATH, REV:PATH or FILE.")
@click.option("--head", metavar="SPEC", help="Actual side, read the same way.")
@click.option("--lock", metavar="LOCK", help="Instead: check --python against this lock.")
@click.option("--config", "config_spec", metavar="SPEC",
              help="Configuration to apply (the base branch's, e.g. github:main:pyproject.toml); "
                   "default: none, never the working directory's.")
@click.option("--fail-on", type=click.Choice(("breaking", "risky", "any", "never")),
              default="breaking", show_default=True)
@click.option("--id", "use", default="", metavar="ID", help="Which use this is (its marker).")
@click.option("-o", "--output", required=True, metavar="FILE",
              help="Where the Markdown report goes (written on error too).")
@_python_option
def review(base: str | None, head: str | None, lock: str | None, config_spec: str | None,
           fail_on: str, use: str, output: str, python: str | None) -> int:
    """The pull-request verdict the action posts: always a Markdown report, also on error.

    \b
    github:REF:PATH is read through the GitHub API as data ($GITHUB_REPOSITORY,
    $GITHUB_TOKEN, $GITHUB_API_URL), so a pull request cannot supply its own base or
    configuration. A lockfile on one side only is a change (risky), not an error.

    \b
    Examples:
      envcheck review --base github:main:lockfiles/train.json \\
        --head github:$SHA:lockfiles/train.json --config github:main:pyproject.toml -o r.md
      envcheck review --lock lockfiles/ci.json --python "$(command -v python3)" -o r.md
    """
    from .render.escape import terminal
    from .review import error_markdown
    from .review import review as run_review

    try:
        verdict = run_review(base, head, lock, python, config_spec, fail_on, use)
    except Exception as exc:  # a bug: still replace the comment, then report it as one
        write_output(error_markdown(exc, int(ExitCode.INTERNAL)), output)
        raise
    write_output(verdict.markdown, output)
    if verdict.error is not None:
        _warn(f"{terminal(verdict.error)} (the report says so too: {output})")
    return verdict.status


@cli.command()
@click.option("--interpreter", metavar="PATH",
              help="Only this interpreter's entries (default: all).")
@click.option("-n", "--limit", type=click.IntRange(min=1), default=20, show_default=True,
              help="How many of the newest entries to list.")
@click.option("--prune", is_flag=True, help="Remove old entries instead of listing.")
@click.option("--keep", type=click.IntRange(min=1), metavar="N",
              help="With --prune: keep the newest N entries of each interpreter.")
@click.option("--older-than", type=click.IntRange(min=0), metavar="DAYS",
              help="With --prune: remove entries older than DAYS days.")
def history(interpreter: str | None, limit: int, prune: bool, keep: int | None,
            older_than: int | None) -> None:
    """List the local history of snapshots: when, which interpreter, the fingerprint id,
    and what changed since the previous entry of the same interpreter.

    Every `envcheck snapshot` adds an entry (unless --no-save); diff, check and compare
    accept @last, @prev, @N (N entries back) and @YYYY-MM-DD as inputs.

    \b
    Examples:
      envcheck history
      envcheck diff @last .                  what changed since the last snapshot?
      envcheck history --prune --keep 100
    """
    from .render.escape import terminal
    from .store import History

    if (keep or older_than is not None) and not prune:
        raise UsageError("--keep and --older-than go with --prune")
    with History() as store:
        if prune:
            if keep is None and older_than is None:
                raise UsageError("--prune needs --keep N or --older-than DAYS")
            removed = store.prune(keep=keep, older_than_days=older_than)
            _warn(f"removed {removed} entr{'y' if removed == 1 else 'ies'} from {store.path}")
            return
        entries = store.recovering(lambda: store.entries(interpreter=interpreter, limit=limit))
    if not entries:
        _warn("no snapshots in the history yet: run envcheck snapshot")
        return
    write_stdout("".join(f"#{entry.number:<5} {entry.taken_at:%Y-%m-%d %H:%M} "
                         f"{entry.fingerprint_id[:12]}  {terminal(entry.interpreter)}\n"
                         f"       {terminal(entry.summary)}\n" for entry in entries))


@cli.command()
def rules() -> None:
    """List the rule catalog: what each rule judges, how severe, and its reference.

    \b
    Examples:
      envcheck rules                         every rule, in the order they are tried
      envcheck rules | grep -A2 tf32         why a TF32 change is judged as it is
      # move a rule's severity in envcheck.toml:  [severity] cpu-cores = "benign"
    """
    from .rules.catalog import CATALOG

    lines = []
    for rule in CATALOG:
        when = rule.when.name if rule.when else None
        condition = f" (when {when}; otherwise {rule.otherwise.value})" \
            if when and rule.otherwise else f" (when {when})" if when else ""
        lines += [f"{rule.id}  [{rule.section}] {rule.severity.value}{condition}",
                  f"    matches {', '.join(rule.subjects)}; {rule.reason}",
                  f"    see {rule.reference}"]
    write_stdout("".join(f"{line}\n" for line in lines))


def main(argv: list[str] | None = None) -> int:
    """Run the click application; :func:`envcheck.entry.main` sends everything here but the
    everyday forms of ``snapshot``."""
    def run() -> int:
        try:
            returned = cli.main(args=argv, prog_name="envcheck", standalone_mode=False)
        except click.exceptions.Abort:
            _warn("aborted")
            return int(ExitCode.ABORTED)
        except click.ClickException as exc:
            exc.show()
            return int(ExitCode.USAGE) if isinstance(exc, click.UsageError) else exc.exit_code
        return returned if isinstance(returned, int) else 0

    return guarded(run)


if __name__ == "__main__":
    sys.exit(main())
