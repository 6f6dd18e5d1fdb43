"""``envcheck check``: the live environment against a lock, the first step of a job."""

from __future__ import annotations

import click

from ..console import default_python, warn, write_output
from ..gate import against_lock
from ..lock import default_lock
from ..model.pins import Selection
from ..render.report import render_json
from ..sources.live import live
from .common import (
    EXIT_CODES_HELP,
    emit,
    load_config,
    make_parent,
    python_option,
    render,
    report_options,
    verdict,
)


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("lock_file", metavar="[LOCK]", required=False)
@report_options(("text", "json", "markdown", "github"))
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
@python_option
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
    lock_file = lock_file or default_lock()
    config = load_config(config_path)
    selection = Selection(frozenset(extras), frozenset(groups) if groups else None)
    report = against_lock(lock_file, live(python or default_python()), config, strict=strict,
                          selection=selection)
    report.command = "check"
    if report_path:
        make_parent(report_path)
        write_output(render_json(report), report_path)
        warn(f"wrote {report_path}")
    emit(render(report, fmt, output, show_benign, show_all), output)
    return verdict(report.fails(fail_on))
