"""Text that cannot be encoded (undecodable bytes, lone surrogates) never crashes a command.

Reproduces finding 1 of issue 13: one non-UTF-8 byte in a variable or a path, or a
``\\ud800`` escape in a fingerprint, made every command exit 70.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from envcheck.model import Fingerprint, loads
from envcheck.safetext import safe_text, safe_value

from conftest import DATA, run_envcheck

BAD_BYTE = "\udcff"  # how Python keeps the byte 0xff of a non-UTF-8 variable or path


def test_safe_text_spells_out_lone_surrogates() -> None:
    assert safe_text("a" + BAD_BYTE + "b") == "a\\xffb"
    assert safe_text("\ud800") == "\\ud800"
    plain = "tf 2.13 ü 😀"
    assert safe_text(plain) is plain
    assert safe_value({"k\ud800": ["x" + BAD_BYTE, 1, None]}) == {"k\\ud800": ["x\\xff", 1, None]}


def test_a_lone_surrogate_in_a_document_is_made_visible_and_digested() -> None:
    document = json.loads((DATA / "fake-2xa100.json").read_text())
    document["env"]["OMP_NUM_THREADS"] = "\ud800"
    document["python"]["sys_path"] = ["/x" + BAD_BYTE]  # a volatile part: not digested
    fingerprint = Fingerprint.from_dict(document)
    assert fingerprint.data["env"]["OMP_NUM_THREADS"] == "\\ud800"
    assert fingerprint.data["python"]["sys_path"] == ["/x\\xff"]
    fingerprint.to_json().encode("utf-8")
    again = loads(json.dumps(document))
    assert again.id == fingerprint.id


@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "github"])
def test_surrogate_escape_in_a_fingerprint_file(tmp_path: Path, fmt: str) -> None:
    base = DATA / "fake-2xa100.json"
    document = json.loads(base.read_text())
    document["env"]["OMP_NUM_THREADS"] = "\ud800"
    head = tmp_path / "head.json"
    head.write_text(json.dumps(document))  # ASCII JSON: the escape "\ud800" itself
    assert "\\ud800" in head.read_text()
    result = run_envcheck("diff", str(base), str(head), "--format", fmt)
    assert result.returncode == 0, result.stderr
    assert "ud800" in result.stdout
    commands = [["audit", str(head)], ["check", str(head), "--fail-on", "never"]]
    if fmt != "github":  # compare has no workflow-annotation format
        commands.append(["compare", str(base), str(head)])
    for command in commands:
        result = run_envcheck(*command, "--format", fmt)
        assert result.returncode in (0, 1), (command, result.stderr)
        assert "internal error" not in result.stderr


def test_undecodable_bytes_in_variables_and_paths(tmp_path: Path) -> None:
    env = {"OMP_NUM_THREADS": BAD_BYTE, "PYTHONPATH": str(tmp_path / ("d" + BAD_BYTE))}
    result = run_envcheck("snapshot", "-o", "-", env=env)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["env"]["OMP_NUM_THREADS"] == "\\xff"
    assert str(tmp_path / "d\\xff") in document["python"]["sys_path"]
    assert run_envcheck("diff", "@last", ".", env=env).returncode == 0
    lock = run_envcheck("lock", "odd", env=env, cwd=tmp_path)
    assert lock.returncode == 0, lock.stderr
    written = (tmp_path / "lockfiles" / "odd.json").read_text(encoding="utf-8")
    assert json.loads(written)["env"]["OMP_NUM_THREADS"] == "\\xff"
    for command in (["check", str(tmp_path / "lockfiles" / "odd.json")], ["audit"]):
        result = run_envcheck(*command, env=env, cwd=tmp_path)
        assert result.returncode in (0, 1), (command, result.stderr)
        assert "internal error" not in result.stderr


def test_undecodable_bytes_through_another_interpreter() -> None:
    result = run_envcheck("snapshot", "--python", sys.executable, "-o", "-",
                          env={"OMP_NUM_THREADS": BAD_BYTE})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["env"]["OMP_NUM_THREADS"] == "\\xff"
