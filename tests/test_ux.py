"""Small things a new user trips over (issue 13, finding 19), each as the user meets it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from conftest import DATA, run_envcheck

BASE = DATA / "fake-2xa100.json"


def test_writing_a_report_file_says_so(tmp_path: Path) -> None:
    report = tmp_path / "report.md"
    result = run_envcheck("diff", str(BASE), str(BASE), "--format", "markdown", "-o", str(report))
    assert result.returncode == 0 and result.stdout == ""
    assert result.stderr == f"envcheck: wrote {report}\n"
    verify = run_envcheck("verify", "-p", "packaging", "-o", str(tmp_path / "v.txt"))
    assert verify.returncode == 0, verify.stderr
    assert f"wrote {tmp_path / 'v.txt'}" in verify.stderr


def test_verify_of_a_name_not_installed_is_an_error_with_a_suggestion() -> None:
    result = run_envcheck("verify", "-p", "packagin")
    assert result.returncode == 3
    assert result.stderr == ("envcheck: verify -p packagin: not installed "
                             "(did you mean packaging?)\n")


def test_rules_help_has_examples() -> None:
    assert "Examples:" in run_envcheck("rules", "--help").stdout


@pytest.mark.parametrize("command", ["snapshot", "lock", "comment"])
def test_commands_without_a_verdict_do_not_list_exit_1(command: str) -> None:
    text = run_envcheck(command, "--help").stdout
    assert "Exit codes:" in text
    assert "--fail-on" not in text.split("Exit codes:")[1]
    assert "\n  1 " not in text


def test_one_fingerprint_is_singular() -> None:
    result = run_envcheck("compare", str(BASE))
    assert "envcheck compare: 1 fingerprint in 1 group;" in result.stdout
    markdown = run_envcheck("compare", str(BASE), "--format", "markdown").stdout
    assert "1 fingerprint, 1 group;" in markdown


def test_check_names_itself() -> None:
    result = run_envcheck("check", str(BASE), "--fail-on", "never")
    assert result.stdout.startswith("envcheck check: "), result.stdout[:80]


def test_audit_of_another_interpreter_names_it() -> None:
    result = run_envcheck("audit", "--python", sys.executable, "--fail-on", "never")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"envcheck audit: {sys.executable} (")


def test_the_readme_block_pasted_into_envcheck_toml_works(tmp_path: Path) -> None:
    (tmp_path / "envcheck.toml").write_text(
        '[tool.envcheck]\nignore = ["env.OMP_NUM_THREADS"]\n\n'
        '[tool.envcheck.severity]\ncpu-cores = "benign"\n')
    document = json.loads(BASE.read_text())
    document["env"]["OMP_NUM_THREADS"] = "3"
    head = tmp_path / "head.json"
    head.write_text(json.dumps(document))
    result = run_envcheck("diff", str(BASE), str(head), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "OMP_NUM_THREADS" not in result.stdout
    bad = tmp_path / "bad" / "envcheck.toml"
    bad.parent.mkdir()
    bad.write_text("[tool.envcheck]\nignoree = []\n")
    result = run_envcheck("diff", str(BASE), str(head), "--config", str(bad))
    assert result.returncode == 2 and "ignoree" in result.stderr


def test_report_repr_says_what_it_holds() -> None:
    from envcheck.drift import diff
    from envcheck.model import load

    text = repr(diff(load(BASE), load(DATA / "cpu-torch.json")))
    assert text.startswith("<Report diff ") and "breaking" in text
