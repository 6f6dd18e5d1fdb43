"""Shared fixtures: the CLI run as a real subprocess, and paths to real interpreters."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the tests' own helper modules

ROOT = Path(__file__).resolve().parents[1]


def run_envcheck(
    *args: str,
    env: Mapping[str, str] | None = None,
    python: str = sys.executable,
    stdin: str | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m envcheck ARGS`` as a user would, capturing both streams."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(
        [python, "-m", "envcheck", *args], capture_output=True, text=True, env=full_env,
        input=stdin, cwd=cwd, timeout=300, check=False,
    )


def uv_path() -> str:
    """The uv of the test environment (its lock has it): beside this interpreter, where a
    venv that is not activated keeps it, else on PATH. Never a skip: CI must have it."""
    beside = Path(sys.executable).with_name("uv")
    found = str(beside) if beside.exists() else shutil.which("uv")
    assert found, "uv is part of the test environment (lockfiles/requirements-test.txt)"
    return found


def find_python(version: str) -> str | None:
    """An interpreter of ``version`` (``"3.8"``): pyenv's builds first, then PATH (not shims)."""
    pyenv = Path(os.environ.get("PYENV_ROOT", "/root/.pyenv")) / "versions"
    for candidate in sorted(pyenv.glob(f"{version}.*/bin/python{version}")):
        return str(candidate)
    found = shutil.which(f"python{version}")
    return found if found and "/shims/" not in found else None


@pytest.fixture(scope="session", autouse=True)
def envcheck_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Caches and history of this test session live in a temporary ENVCHECK_HOME."""
    home = tmp_path_factory.mktemp("envcheck-home")
    os.environ["ENVCHECK_HOME"] = str(home)
    return home


@pytest.fixture(scope="module", autouse=True)
def environment_restored() -> Iterator[None]:
    """Each test module starts from the environment the session started with.

    Frameworks change os.environ behind a test's back: Dask's nannies, run inside the
    test process by LocalCluster, set OMP_NUM_THREADS, MKL_NUM_THREADS and
    OPENBLAS_NUM_THREADS to 1, and every later snapshot would inherit them.
    """
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="session")
def python38() -> str:
    path = find_python("3.8")
    if path is None:
        pytest.skip("no Python 3.8 interpreter on this machine")
    return path


DATA = Path(__file__).parent / "data"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true",
                     help="rewrite tests/golden/* from the current renderers")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))
