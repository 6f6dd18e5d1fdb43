"""The click-free path for everyday ``envcheck snapshot`` forms agrees with click."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import click
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envcheck.cli import cli
from envcheck.console import SNAPSHOT_DEFAULTS, quick_snapshot_params

from conftest import run_envcheck


def click_params(args: list[str]) -> dict[str, object]:
    """What click's own parser makes of ``snapshot ARGS``."""
    command = cli.get_command(click.Context(cli), "snapshot")
    assert command is not None
    with command.make_context("snapshot", list(args)) as context:
        return dict(context.params)


ACCEPTED = [
    [],
    ["-o", "fp.json"],
    ["--output", "fp.json"],
    ["--output=fp.json"],
    ["-o", "-"],
    ["--format", "json"],
    ["--format=text"],
    ["--no-save"],
    ["--no-cache"],
    ["--python", "/opt/venv/bin/python"],
    ["--python=python3.8", "--no-save", "-o", "out dir/fp.json", "--format", "json"],
]

DECLINED = [
    ["--help"],
    ["-h"],
    ["-o"],  # no value: click says so
    ["-o", "--no-save"],  # click would take the flag as the file name
    ["-ofp.json"],  # short option with its value attached
    ["-o=fp.json"],  # click reads the value "=fp.json"
    ["--output="],
    ["--format", "xml"],
    ["--format", "JSON"],
    ["--no-save=1"],
    ["--no-save", "--no-save"],
    ["-o", "a", "--output", "b"],
    ["--timeout", "5"],
    ["--deep"],
    ["--image", "python:3.11"],
    ["extra"],
    ["--"],
    ["--no-sav"],  # click accepts no abbreviations either, but says so itself
]


@pytest.mark.parametrize("args", ACCEPTED, ids=" ".join)
def test_quick_parser_agrees_with_click(args: list[str]) -> None:
    assert quick_snapshot_params(["snapshot", *args]) == click_params(args)


@pytest.mark.parametrize("args", DECLINED, ids=" ".join)
def test_quick_parser_leaves_the_rest_to_click(args: list[str]) -> None:
    assert quick_snapshot_params(["snapshot", *args]) is None


@pytest.mark.parametrize("argv", [[], ["diff", "a", "b"], ["--version"], ["Snapshot"],
                                  ["--no-save", "snapshot"]])
def test_other_commands_go_to_click(argv: list[str]) -> None:
    assert quick_snapshot_params(argv) is None


def test_defaults_are_clicks_defaults() -> None:
    assert click_params([]) == SNAPSHOT_DEFAULTS


TOKENS = st.sampled_from([
    "-o", "--output", "--format", "--python", "--no-save", "--no-cache", "--timeout",
    "json", "text", "xml", "-", "fp.json", "--output=x", "--format=json", "--format=",
    "-o=x", "-ox", "--", "--deep", "", "=", "-", "--no-save=",
])


@settings(max_examples=400, deadline=None)
@given(st.lists(TOKENS, max_size=6))
def test_whatever_the_quick_parser_accepts_click_reads_the_same(args: list[str]) -> None:
    params = quick_snapshot_params(["snapshot", *args])
    if params is None:
        return  # click's to parse or reject
    try:
        expected = click_params(args)
    except click.UsageError as exc:  # pragma: no cover - a failure, reported with the args
        pytest.fail(f"quick parser accepted {args!r}, click rejects it: {exc}")
    assert params == expected


def test_the_everyday_snapshot_never_imports_click(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from envcheck.entry import main\n"
        "code = main(sys.argv[1:])\n"
        "print('click' in sys.modules, code)\n"
    )
    out = tmp_path / "fp.json"
    quick = subprocess.run([sys.executable, "-c", script, "snapshot", "--no-save", "-o", str(out)],
                           capture_output=True, text=True, check=True)
    assert quick.stdout.split() == ["False", "0"]
    assert json.loads(out.read_text())["schema"] == 1
    # An option the quick parser leaves alone: the same snapshot, through click.
    slow = subprocess.run([sys.executable, "-c", script, "snapshot", "--no-save", "--timeout",
                           "60", "-o", str(out)], capture_output=True, text=True, check=True)
    assert slow.stdout.split() == ["True", "0"]


def test_every_command_loads_and_a_typo_gets_a_suggestion() -> None:
    listed = run_envcheck("--help")
    assert listed.returncode == 0, listed.stderr
    names = cli.list_commands(click.Context(cli))
    assert "diff" in names and "snapshot" in names
    for name in names:  # each command's module defines the command of its name
        command = cli.get_command(click.Context(cli), name)
        assert command is not None and command.name == name
        assert f"  {name} " in listed.stdout
    typo = run_envcheck("dif", "a.json", "b.json")
    assert typo.returncode == 2
    assert "No such command 'dif'" in typo.stderr and "'diff'" in typo.stderr


def test_both_paths_write_the_same_fingerprint() -> None:
    quick = run_envcheck("snapshot", "--no-save", "--format", "json")
    through_click = run_envcheck("snapshot", "--no-save", "--format", "json", "--timeout", "60")
    assert quick.returncode == through_click.returncode == 0, quick.stderr + through_click.stderr
    assert json.loads(quick.stdout)["id"] == json.loads(through_click.stdout)["id"]


def test_errors_on_the_quick_path_are_one_line_with_the_documented_code(tmp_path: Path) -> None:
    not_python = tmp_path / "python"
    not_python.write_text("#!/bin/sh\necho hello\n")
    not_python.chmod(0o755)
    result = run_envcheck("snapshot", "--no-save", "--python", str(not_python))
    assert result.returncode == 3
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("envcheck: ")
    unwritable = run_envcheck("snapshot", "--no-save", "-o", str(tmp_path / "no" / "such" / "f"))
    assert unwritable.returncode == 4
    assert unwritable.stderr.count("\n") == 1 and "Traceback" not in unwritable.stderr


@pytest.mark.parametrize("extra", [[], ["--timeout", "60"]], ids=["quick", "click"])
def test_json_on_an_ascii_stdout_stays_json(extra: list[str]) -> None:
    result = run_envcheck("snapshot", "--no-save", "--format", "json", *extra,
                          env={"PYTHONIOENCODING": "ascii", "OMP_NUM_THREADS": "vier-ü"})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["env"]["OMP_NUM_THREADS"] == "vier-ü"


@pytest.mark.parametrize("extra", [[], ["--timeout", "60"]], ids=["quick", "click"])
def test_a_closed_stdout_is_141_on_either_path(extra: list[str]) -> None:
    process = subprocess.Popen([sys.executable, "-m", "envcheck", "snapshot", "--no-save",
                                "--format", "json", *extra], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader goes away before the snapshot is written
    assert process.wait(timeout=120) == 141
    assert b"Traceback" not in process.stderr.read()
    process.stderr.close()


def test_no_home_directory_at_all_is_a_warning_not_a_folder_named_tilde(
        request: pytest.FixtureRequest) -> None:
    """A user with no $HOME and no passwd entry (a bare container uid): snapshot still works."""
    system_python = "/usr/bin/python3"
    if os.geteuid() != 0 or not os.access(system_python, os.X_OK):
        pytest.skip("needs root (to run as a uid with no passwd entry) and /usr/bin/python3")
    work = Path(tempfile.mkdtemp(prefix="envcheck-nohome-"))  # reachable by any uid
    work.chmod(0o777)
    request.addfinalizer(lambda: shutil.rmtree(work, ignore_errors=True))
    src = Path(__file__).resolve().parents[1] / "src"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(src),
           "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run(
        [system_python, "-m", "envcheck", "snapshot", "-o", str(work / "fp.json")],
        cwd=work, env=env, capture_output=True, text=True, timeout=120,
        user=54321, group=54321, check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads((work / "fp.json").read_text())["schema"] == 1
    assert "set ENVCHECK_HOME" in result.stderr
    assert sorted(p.name for p in work.iterdir()) == ["fp.json"]
