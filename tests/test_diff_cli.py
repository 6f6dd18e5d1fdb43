"""``envcheck diff`` as a subprocess: inputs, exit codes, configuration, formats."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import DATA, run_envcheck

BASE = DATA / "fake-2xa100.json"


def _write(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(json.dumps(document))
    return path


def _variant(tmp_path: Path, name: str, **env: str | None) -> Path:
    document = json.loads(BASE.read_text())
    document["env"].update(env)
    return _write(tmp_path / name, document)


def test_identical_inputs_exit_0() -> None:
    result = run_envcheck("diff", str(BASE), str(BASE))
    assert result.returncode == 0
    assert "No differences." in result.stdout


def test_breaking_exits_1_and_fail_on_levels(tmp_path: Path) -> None:
    head = _variant(tmp_path, "head.json", NCCL_ALGO="Tree")
    assert run_envcheck("diff", str(BASE), str(head)).returncode == 1
    assert run_envcheck("diff", str(BASE), str(head), "--fail-on", "never").returncode == 0
    risky = _variant(tmp_path, "risky.json", OMP_NUM_THREADS="3")
    assert run_envcheck("diff", str(BASE), str(risky)).returncode == 0
    assert run_envcheck("diff", str(BASE), str(risky), "--fail-on", "risky").returncode == 1
    benign = _variant(tmp_path, "benign.json", PYTORCH_CUDA_ALLOC_CONF="x")
    assert run_envcheck("diff", str(BASE), str(benign), "--fail-on", "risky").returncode == 0
    assert run_envcheck("diff", str(BASE), str(benign), "--fail-on", "any").returncode == 1


def test_json_format_and_output_file(tmp_path: Path) -> None:
    head = _variant(tmp_path, "head.json", NCCL_ALGO="Tree")
    result = run_envcheck("diff", str(BASE), str(head), "--format", "json", "-o",
                          str(tmp_path / "report.json"))
    assert result.returncode == 1 and result.stdout == ""
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["summary"] == {"breaking": 1, "risky": 0, "benign": 0}
    assert report["changes"][0]["path"] == "env.NCCL_ALGO"


def test_stdin_and_live_environment(tmp_path: Path) -> None:
    live = run_envcheck("snapshot", "-o", "-").stdout
    result = run_envcheck("diff", "-", ".", stdin=live)
    assert result.returncode == 0, result.stderr
    assert "No differences." in result.stdout
    both = run_envcheck("diff", "-", "-", stdin=live)
    assert both.returncode == 2 and "only one of A and B" in both.stderr


def test_git_revision_inputs(tmp_path: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
                       cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    lock = tmp_path / "lockfiles" / "train.json"
    lock.parent.mkdir()
    lock.write_text(BASE.read_text())
    git("add", ".")
    git("commit", "-qm", "lock")
    changed = json.loads(BASE.read_text())
    changed["packages"]["torch"]["version"] = "2.14.0+cpu"
    _write(lock, changed)
    result = run_envcheck("diff", "HEAD:lockfiles/train.json", "lockfiles/train.json",
                          "--format", "markdown", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("<!-- envcheck-report:diff -->")
    assert "packages&#46;torch&#46;version" in result.stdout
    # check's report has its own comment on the pull request, not the diff's.
    checked = run_envcheck("check", "lockfiles/train.json", "--format", "markdown",
                           "--fail-on", "never", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith("<!-- envcheck-report:check -->")
    missing = run_envcheck("diff", "HEAD:nope.json", "lockfiles/train.json", cwd=tmp_path)
    assert missing.returncode == 3
    assert missing.stderr.startswith("envcheck: HEAD:nope.json: not found in git")


def test_pip_inspect_report_compares_packages_only(tmp_path: Path) -> None:
    inspect = subprocess.run([sys.executable, "-m", "pip", "inspect"], capture_output=True,
                             text=True, check=True, cwd=tmp_path).stdout
    report_path = tmp_path / "inspect.json"
    report_path.write_text(inspect)
    live = tmp_path / "live.json"
    assert run_envcheck("snapshot", "-o", str(live), cwd=tmp_path).returncode == 0
    result = run_envcheck("diff", str(report_path), str(live), "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["changes"] == []
    assert report["unknown_sections"] == ["python", "frameworks", "cuda", "gpus", "cpu", "os",
                                          "env", "conda", "system_packages"]


@pytest.mark.parametrize("content, message", [
    (None, "no such file"),
    ("not json {", "not JSON"),
    ('{"schema": 7, "packages": {}}', "written by a newer envcheck (schema 7)"),
    ('{"hello": "world"}', "not a fingerprint"),
    ('{"installed": [{"metadata": {}}], "pip_version": "24"}', "not a pip inspect report"),
])
def test_unreadable_inputs_exit_3(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "input.json"
    if content is not None:
        path.write_text(content)
    result = run_envcheck("diff", str(BASE), str(path))
    assert result.returncode == 3
    assert result.stderr == f"envcheck: {path}: " + result.stderr.split(": ", 2)[2]
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def _config_case(tmp_path: Path, text: str, name: str = "envcheck.toml"
                 ) -> subprocess.CompletedProcess[str]:
    # latin-1 keeps "\xff" a raw byte: a file that is not UTF-8
    (tmp_path / name).write_bytes(text.encode("latin-1"))
    head = _variant(tmp_path, "head.json", OMP_NUM_THREADS="3", NCCL_ALGO="Tree")
    return run_envcheck("diff", str(BASE), str(head), "--format", "json", cwd=tmp_path)


def test_configuration_found_upward_changes_verdicts(tmp_path: Path) -> None:
    result = _config_case(tmp_path, '[tool.envcheck]\nignore = ["env.NCCL_ALGO"]\n'
                                    '[tool.envcheck.severity]\nenv-threads = "breaking"\n',
                          name="pyproject.toml")
    assert result.returncode == 1, result.stderr
    changes = json.loads(result.stdout)["changes"]
    assert [(c["path"], c["severity"]) for c in changes] == [("env.OMP_NUM_THREADS", "breaking")]


@pytest.mark.parametrize("text, message", [
    ("ignroe = []\n", "unknown key 'ignroe'"),
    ("ignore = 'env'\n", "'ignore' must be a list of strings"),
    ("[severity]\nno-such-rule = 'risky'\n", "unknown rule 'no-such-rule'"),
    ("[severity]\nenv-threads = 'fatal'\n", "'fatal' is not one of breaking, risky, benign"),
    ("ignore = [\n", "not valid TOML"),
    ("ignore = ['\xff']\n", "not valid TOML"),
])
def test_bad_configuration_is_exit_2_naming_it(tmp_path: Path, text: str, message: str) -> None:
    result = _config_case(tmp_path, text)
    assert result.returncode == 2
    assert message in result.stderr
    assert "envcheck.toml" in result.stderr
    assert "Traceback" not in result.stderr


def test_rules_command_lists_the_catalog() -> None:
    result = run_envcheck("rules")
    assert result.returncode == 0
    assert "torch-local-label  [packages] breaking" in result.stdout
    assert "see pytorch/pytorch#133093" in result.stdout


def test_python_api_diff() -> None:
    import envcheck

    a = envcheck.load(BASE)
    document = copy.deepcopy(a.data)
    document["env"]["NCCL_PROTO"] = "Simple"
    from envcheck.model import Fingerprint

    report = envcheck.diff(a, Fingerprint.from_dict(document))
    assert [c.rule for c in report.changes] == ["env-nccl-algorithm"]
    assert report.fails("breaking")


@pytest.mark.parametrize("pyproject", ["tool = 5\n", "[tool]\nenvcheck = 5\n"])
def test_odd_pyproject_tables_are_usage_errors(tmp_path: Path, pyproject: str) -> None:
    (tmp_path / "pyproject.toml").write_text(pyproject)
    result = run_envcheck("diff", str(BASE), str(BASE), cwd=tmp_path)
    assert result.returncode == 2
    assert "must be a table" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("document", [
    {"schema": 1, "packages": {"a": {"version": "1", "shadowed": [1]}}},
    {"schema": 1, "packages": {"a": {"version": "1." + "9" * 5000}}},
    {"schema": 1, "packages": {}, "cpu": {"flags": [{"a": 1}]}},
])
def test_hostile_documents_never_crash(tmp_path: Path, document: dict[str, Any]) -> None:
    path = _write(tmp_path / "hostile.json", document)
    for command in (("diff", str(BASE), str(path)), ("audit", str(path))):
        result = run_envcheck(*command)
        assert result.returncode in (0, 1, 3), result.stderr
        assert "Traceback" not in result.stderr
