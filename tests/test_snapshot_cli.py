"""``envcheck snapshot`` run as a subprocess, the way people run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

import envcheck
from envcheck.model import TOP_LEVEL_KEYS, load

from conftest import find_python, run_envcheck


def test_summary_names_every_section() -> None:
    result = run_envcheck("snapshot")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("envcheck fingerprint ")
    for label in ("python", "packages", "frameworks", "cuda", "gpus", "cpu", "os", "settings"):
        assert f"\n  {label} " in out
    assert "torch 2.13.0+cpu (cpu build)" in out
    assert "system toolkit" not in out or "not what the frameworks load" in out


def test_json_output_file_and_stdout(tmp_path: Path) -> None:
    target = tmp_path / "fp.json"
    result = run_envcheck("snapshot", "-o", str(target))
    assert result.returncode == 0
    assert result.stdout == ""
    assert f"wrote {target}" in result.stderr
    document = json.loads(target.read_text())
    assert set(TOP_LEVEL_KEYS) <= set(document)
    assert len(document["id"]) == 64
    assert document["packages"]["torch"]["version"] == "2.13.0+cpu"
    assert load(target).id == document["id"]
    to_stdout = run_envcheck("snapshot", "-o", "-")
    assert json.loads(to_stdout.stdout)["id"] == document["id"]  # stable across runs
    as_format = run_envcheck("snapshot", "--format", "json")
    assert json.loads(as_format.stdout)["id"] == document["id"]


def test_python_api_round_trip(tmp_path: Path) -> None:
    fingerprint = envcheck.snapshot()
    path = tmp_path / "api.json"
    path.write_text(fingerprint.to_json())
    loaded = envcheck.load(path)
    assert loaded.id == fingerprint.id
    assert loaded.packages == fingerprint.packages


@pytest.mark.parametrize("kind, message", [
    ("missing", "no such file"),
    ("not-executable", "permission denied"),
    ("directory", "is a directory"),
    ("true", "not a working Python interpreter"),
    ("false", "not a working Python interpreter"),
])
def test_python_that_is_not_a_python(tmp_path: Path, kind: str, message: str) -> None:
    plain = tmp_path / "plain.txt"
    plain.write_text("print('hi')\n")
    python = {"missing": str(tmp_path / "nope"), "not-executable": str(plain),
              "directory": str(tmp_path), "true": "/bin/true", "false": "/bin/false"}[kind]
    result = run_envcheck("snapshot", "--python", python)
    assert result.returncode == 3
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"envcheck: --python {python}: ")
    assert message in lines[0]


def test_python_too_old_is_named() -> None:
    python27 = find_python("2.7")
    if python27 is None:
        pytest.skip("no Python 2.7 interpreter on this machine")
    result = run_envcheck("snapshot", "--python", python27)
    assert result.returncode == 3
    assert "needs Python 3.8 or newer, found 2.7" in result.stderr


def test_probe_runs_on_python_38(python38: str) -> None:
    result = run_envcheck("snapshot", "--python", python38, "-o", "-")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["python"]["version"].startswith("3.8.")
    assert document["python"]["wheel_tag"].startswith("cp38-cp38-")
    assert not [e for e in document["errors"] if e["kind"] == "error"]
    expected = subprocess.run([python38, "-m", "pip", "inspect"],
                              capture_output=True, text=True, check=True, cwd="/").stdout
    versions = {canonicalize_name(d["metadata"]["name"]): d["metadata"]["version"]
                for d in json.loads(expected)["installed"]}
    assert {name: p["version"] for name, p in document["packages"].items()} == versions


def _vermin(path: Path) -> subprocess.CompletedProcess[str]:
    vermin = Path(sys.executable).parent / "vermin"
    return subprocess.run([str(vermin), "--no-tips", "--violations", "-t=3.8-",
                           "--no-parse-comments", str(path)],
                          capture_output=True, text=True, check=False)


def test_probe_source_is_python_38_compatible(tmp_path: Path) -> None:
    # The checker itself must catch a 3.9-only call, or its silence proves nothing.
    newer = tmp_path / "newer.py"
    newer.write_text("'envcheck'.removeprefix('env')\n")
    assert _vermin(newer).returncode != 0
    result = _vermin(Path(envcheck.__file__).parent / "probe")
    assert result.returncode == 0, result.stdout + result.stderr


def test_active_virtualenv_is_the_default_target(tmp_path: Path) -> None:
    venv.EnvBuilder(with_pip=False).create(tmp_path / "other")
    result = run_envcheck("snapshot", "-o", "-", env={"VIRTUAL_ENV": str(tmp_path / "other")})
    assert result.returncode == 0, result.stderr
    assert "fingerprinting the active environment" in result.stderr
    assert json.loads(result.stdout)["python"]["prefix"] == str(tmp_path / "other")
    # envcheck's own environment active: no redirection, no note.
    own = run_envcheck("snapshot", "-o", "-", env={"VIRTUAL_ENV": sys.prefix})
    assert own.stderr == ""
    assert json.loads(own.stdout)["python"]["prefix"] == sys.prefix


def test_unwritable_output_is_exit_4(tmp_path: Path) -> None:
    result = run_envcheck("snapshot", "-o", str(tmp_path / "missing-dir" / "fp.json"))
    assert result.returncode == 4
    assert result.stderr.startswith("envcheck: ")
    assert "cannot write" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_help_has_examples_and_exit_codes() -> None:
    result = run_envcheck("snapshot", "--help")
    assert result.returncode == 0
    assert "Examples:" in result.stdout
    assert "Exit codes:" in result.stdout
    assert "--python" in result.stdout


def test_usage_error_is_exit_2() -> None:
    result = run_envcheck("snapshot", "--format", "yaml")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_hostile_strings_cannot_drive_the_terminal(tmp_path: Path) -> None:
    site = tmp_path / "site"
    from distbuild import make_dist

    make_dist(site, "evil", "1.0")
    env = dict(os.environ, PYTHONPATH=str(site), TF_DETERMINISTIC_OPS="1\x1b[2J\x1b]0;pwned\x07")
    result = subprocess.run([sys.executable, "-m", "envcheck", "snapshot"], capture_output=True,
                            text=True, env=env, check=True)
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "TF_DETERMINISTIC_OPS=1\\x1b[2J\\x1b]0;pwned\\x07" in result.stdout
