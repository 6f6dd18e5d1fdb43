"""What the Dockerfile relies on, without an engine: the pip wheel check and a
reproducible envcheck wheel. (The images themselves are built in test_docker.py.)"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT, run_envcheck

VERIFY = ROOT / "image" / "verify-wheel.py"
BUILD_LOCK = ROOT / "lockfiles" / "build-requirements.txt"


def _pip_pin() -> tuple[str, str]:
    """(version, a sha256) of the first pip pin in the build lock."""
    lines = BUILD_LOCK.read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith("pip=="))
    version = lines[index].split("==", 1)[1].split()[0]
    digest = lines[index + 1].split("sha256:", 1)[1].split()[0]
    return version, digest


def _wheel(directory: Path, version: str, payload: bytes) -> Path:
    wheel = directory / f"pip-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("pip/__init__.py", payload)
    return wheel


def test_a_doctored_pip_wheel_is_refused_before_it_runs(tmp_path: Path) -> None:
    version, _ = _pip_pin()
    doctored = _wheel(tmp_path, version, b"import os; os.system('touch /tmp/pwned')\n")
    result = subprocess.run([sys.executable, "-I", str(VERIFY), str(BUILD_LOCK), str(doctored)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert "refusing to run it" in result.stderr and version in result.stderr
    unknown = _wheel(tmp_path, "0.0.1", b"")
    assert subprocess.run([sys.executable, "-I", str(VERIFY), str(BUILD_LOCK), str(unknown)],
                          capture_output=True, check=False).returncode == 1


def test_a_wheel_with_the_locked_hash_passes(tmp_path: Path) -> None:
    """The check accepts exactly what the lock pins: here a lock written for this file."""
    version, _ = _pip_pin()
    wheel = _wheel(tmp_path, version, b"# the real pip\n")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    lock = tmp_path / "build-requirements.txt"
    lock.write_text(f"pip=={version} ; python_full_version >= '3.10' \\\n"
                    f"    --hash=sha256:{'0' * 64} \\\n    --hash=sha256:{digest}\n"
                    f"setuptools==1.0 \\\n    --hash=sha256:{'1' * 64}\n")
    result = subprocess.run([sys.executable, "-I", str(VERIFY), str(lock), str(wheel)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_the_dockerfile_verifies_pip_before_running_it() -> None:
    run = (ROOT / "Dockerfile").read_text()
    verify = run.index("image/verify-wheel.py lockfiles/build-requirements.txt")
    first_use = run.index("pip /opt/build/bin/python install")
    assert verify < first_use


@pytest.mark.parametrize("epoch", ["1704067200"])
def test_the_envcheck_wheel_is_reproducible(tmp_path: Path, epoch: str) -> None:
    """With SOURCE_DATE_EPOCH (as the Dockerfile sets it) two builds are byte-identical, so
    the installed envcheck (its direct_url archive hash) is the same in two images."""
    digests = []
    for attempt in ("one", "two"):
        source = tmp_path / attempt / "src-tree"
        source.mkdir(parents=True)
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(ROOT / name, source / name)
        shutil.copytree(ROOT / "src", source / "src",
                        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        out = tmp_path / attempt / "dist"
        env = {**os.environ, "SOURCE_DATE_EPOCH": epoch, "PIP_NO_INDEX": "1"}
        built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                                "--no-build-isolation", "-w", str(out), str(source)],
                               capture_output=True, text=True, env=env, check=False)
        assert built.returncode == 0, built.stderr
        (wheel,) = out.glob("envcheck-*.whl")
        digests.append(hashlib.sha256(wheel.read_bytes()).hexdigest())
    assert digests[0] == digests[1]


def _home() -> str:
    """The ``home`` of this test venv's pyvenv.cfg: where its base interpreter lives."""
    for line in (Path(sys.prefix) / "pyvenv.cfg").read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "home":
            return value.strip()
    raise AssertionError("the tests run in a virtualenv")


def test_envcheck_python_base_is_the_interpreter_the_venv_was_made_from() -> None:
    """What the image sets: `snapshot` describes the base's Python, not envcheck's venv."""
    result = run_envcheck("snapshot", "--no-save", "-o", "-",
                          env={"ENVCHECK_PYTHON": "base", "VIRTUAL_ENV": ""})
    assert result.returncode == 0, result.stderr
    python = json.loads(result.stdout)["python"]
    assert os.path.dirname(python["executable"]) == _home()
    assert python["virtualenv"] is False


def test_envcheck_python_names_an_interpreter(python38: str) -> None:
    result = run_envcheck("snapshot", "--no-save", "-o", "-", env={"ENVCHECK_PYTHON": python38})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["python"]["version"].startswith("3.8.")
