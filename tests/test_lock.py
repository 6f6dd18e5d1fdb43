"""Lockfiles and the check gate: envcheck lock, envcheck check, envcheck.check()."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from envcheck.errors import InputError
from envcheck.model.pins import PinnedLock
from envcheck.sources.registry import expected
from envcheck.sources.requirements import requirement_pins

from conftest import DATA, run_envcheck
from distbuild import make_dist


def test_locking_twice_gives_identical_bytes_without_volatile_facts(tmp_path: Path) -> None:
    first = run_envcheck("lock", "train", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    lock = tmp_path / "lockfiles" / "train.json"
    content = lock.read_bytes()
    assert run_envcheck("lock", "train", cwd=tmp_path).returncode == 0
    assert lock.read_bytes() == content
    document = json.loads(content)
    text = content.decode()
    assert "hostname" not in text and sys.prefix not in text and '"created"' not in text
    assert document["packages"]["torch"]["version"] == "2.13.0+cpu"
    assert "location" not in document["packages"]["torch"]
    assert document["meta"] == {"kind": "lock"}
    assert list(tmp_path.joinpath("lockfiles").iterdir()) == [lock]  # no temporary files


def test_check_passes_on_the_same_environment_and_fails_on_drift(tmp_path: Path) -> None:
    assert run_envcheck("lock", "train", cwd=tmp_path).returncode == 0
    same = run_envcheck("check", cwd=tmp_path)  # the only lock is the default
    assert same.returncode == 0, same.stdout + same.stderr
    assert "No differences." in same.stdout
    drifted = run_envcheck("check", "lockfiles/train.json", "--report", "report.json",
                           cwd=tmp_path, env={"TF_DETERMINISTIC_OPS": "1"})
    assert drifted.returncode == 1
    assert "env.TF_DETERMINISTIC_OPS" in drifted.stdout
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["summary"]["breaking"] == 1


def test_check_needs_a_lock_name_when_ambiguous(tmp_path: Path) -> None:
    (tmp_path / "lockfiles").mkdir()
    result = run_envcheck("check", cwd=tmp_path)
    assert result.returncode == 2
    assert "name the lock to check" in result.stderr


def test_bad_lock_names_are_refused(tmp_path: Path) -> None:
    result = run_envcheck("lock", "../escape", cwd=tmp_path)
    assert result.returncode == 2
    assert not (tmp_path.parent / "escape.json").exists()


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_requirements_with_hashes_markers_includes_and_continuations(tmp_path: Path) -> None:
    _write(tmp_path / "base.txt", "idna==3.7\n")
    requirements = _write(tmp_path / "requirements.txt", (
        "# compiled\n"
        "-r base.txt\n"
        "--index-url https://example.org/simple\n"
        "Jinja2==3.1.6 \\\n"
        "    --hash=sha256:aaaa \\\n"
        "    --hash=sha256:bbbb\n"
        "torch==2.13.0+cpu ; sys_platform == 'linux'  # the CPU build\n"
        "pywin32==306 ; sys_platform == 'win32'\n"
    ))
    packages = requirement_pins(str(requirements))
    assert {k: v.version for k, v in packages.items()} == {
        "idna": "3.7", "jinja2": "3.1.6", "torch": "2.13.0+cpu"}


@pytest.mark.parametrize("line, message", [
    ("numpy>=1.26\n", "numpy is not pinned with =="),
    ("-e ./src\n", "cannot tell the name of the project"),
    ("x==1 ; python_version ~= '3'\n", "cannot be evaluated"),
    ("not a requirement ===\n", "not a requirement"),
])
def test_requirements_that_are_not_locks(tmp_path: Path, line: str, message: str) -> None:
    path = _write(tmp_path / "requirements.txt", line)
    with pytest.raises(InputError, match=message):
        requirement_pins(str(path))


def test_check_against_requirements_and_pylock(tmp_path: Path) -> None:
    inspect = json.loads(subprocess.run([sys.executable, "-m", "pip", "inspect"],
                                        capture_output=True, text=True, check=True).stdout)
    pins = {d["metadata"]["name"]: d["metadata"]["version"] for d in inspect["installed"]}
    pins["jinja2"] = "2.11.3"  # drift: a minor version behind
    del pins["idna"]  # extra on the live side: listed, not a failure
    requirements = _write(tmp_path / "requirements.txt",
                          "".join(f"{n}=={v}\n" for n, v in pins.items()))
    result = run_envcheck("check", str(requirements), "--format", "json", cwd=tmp_path)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert {c["path"]: c["severity"] for c in report["changes"]} == {
        "packages.jinja2.version": "risky"}
    assert report["unlocked"] == ["idna"]
    assert "python" in report["unknown_sections"]
    entries = "".join(f'[[packages]]\nname = "{n}"\nversion = "{v}"\n' for n, v in pins.items())
    windows_only = ('[[packages]]\nname = "pywin32"\nversion = "306"\n'
                    "marker = \"sys_platform == 'win32'\"\n")
    pylock = _write(tmp_path / "pylock.toml",
                    'lock-version = "1.0"\ncreated-by = "test"\n' + entries + windows_only)
    from_pylock = json.loads(run_envcheck("check", str(pylock), "--format", "json",
                                          cwd=tmp_path).stdout)
    assert from_pylock["changes"] == report["changes"]
    from_toml, from_txt = expected(str(pylock)), expected(str(requirements))
    assert isinstance(from_toml, PinnedLock) and isinstance(from_txt, PinnedLock)
    assert from_toml.pins.keys() == from_txt.pins.keys()


def test_training_script_first_line_stops_a_wrong_environment(tmp_path: Path) -> None:
    assert run_envcheck("lock", "train", cwd=tmp_path).returncode == 0
    script = _write(tmp_path / "train.py", (
        "import envcheck\n"
        "try:\n"
        "    envcheck.check('lockfiles/train.json')\n"
        "except envcheck.DriftError as error:\n"
        "    print('STOPPED', error.report.summary()['breaking'], error)\n"
        "    raise SystemExit(1)\n"
        "print('TRAINING')\n"
    ))
    good = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, check=False)
    assert good.stdout.strip() == "TRAINING", good.stderr
    extra = tmp_path / "extra"
    make_dist(extra, "lightgbm", "4.5.0")  # a package the test environment lacks
    bad = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                         text=True, check=False,
                         env={**os.environ, "PYTHONPATH": str(extra), "NCCL_ALGO": "Tree",
                              "XLA_FLAGS": "--xla_gpu_deterministic_ops"})
    assert bad.returncode == 1
    assert bad.stdout.startswith("STOPPED 1 the environment differs from lockfiles/train.json")
    assert "env.XLA_FLAGS" in bad.stdout


def test_markers_are_judged_for_the_target_interpreter(tmp_path: Path, python38: str) -> None:
    inspect = json.loads(subprocess.run([python38, "-m", "pip", "inspect"], capture_output=True,
                                        text=True, check=True, cwd=tmp_path).stdout)
    pins = "".join(f"{d['metadata']['name']}=={d['metadata']['version']}\n"
                   for d in inspect["installed"])
    requirements = _write(tmp_path / "requirements.txt", pins + (
        "numpy==2.4.6 ; python_version >= '3.11'\n"      # not for a 3.8 target
        "toml==0.10.2 ; python_version < '3.9'\n"))     # for a 3.8 target only
    result = run_envcheck("check", str(requirements), "--python", python38, "--format", "json")
    changes = {c["path"]: c for c in json.loads(result.stdout)["changes"]}
    assert set(changes) == {"packages.toml"}, changes
    assert changes["packages.toml"]["before"] == "0.10.2"


def test_check_reads_stdin_and_includes_in_every_spelling(tmp_path: Path) -> None:
    assert run_envcheck("lock", "train", cwd=tmp_path).returncode == 0
    lock = (tmp_path / "lockfiles" / "train.json").read_text()
    assert run_envcheck("check", "-", stdin=lock, cwd=tmp_path).returncode == 0
    _write(tmp_path / "a.txt", "idna==3.7\n-r b.txt\n")
    _write(tmp_path / "b.txt", "--requirement=a.txt\n-rc.txt\n")  # a cycle, and -rFILE
    _write(tmp_path / "c.txt", "jinja2==3.1.6\n")
    assert {k: v.version for k, v in requirement_pins(str(tmp_path / "a.txt")).items()} \
        == {"idna": "3.7", "jinja2": "3.1.6"}


def test_lock_into_an_unwritable_place_is_exit_4(tmp_path: Path) -> None:
    (tmp_path / "lockfiles").write_text("a file where the folder should be")
    result = run_envcheck("lock", "train", cwd=tmp_path)
    assert result.returncode == 4 and "Traceback" not in result.stderr
    report = run_envcheck("check", "-", "--report", "artifacts/deep/report.json",
                          stdin=(DATA / "cpu-torch.json").read_text(), cwd=tmp_path)
    assert (tmp_path / "artifacts" / "deep" / "report.json").exists(), report.stderr


def test_check_api_validates_fail_on_and_counts_what_it_does_not_list(tmp_path: Path) -> None:
    import envcheck
    from envcheck.errors import UsageError

    with pytest.raises(UsageError, match="fail_on must be one of"):
        envcheck.check(str(DATA / "cpu-torch.json"), fail_on="breakng")
