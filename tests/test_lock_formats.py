"""``check`` against the locks people already have, written by the real tools.

One uv project (dependencies, an extra, a dev group, a Windows-only package) is
locked by ``uv lock`` and synced by ``uv sync`` into a real venv; the same
environment is then described by ``pip freeze``, ``uv pip compile``, ``pip lock``
and ``uv export`` (requirements.txt and pylock.toml). Every lock must pass on
the synced venv, and fail, naming the package, when one package is changed.
Everything resolves offline from wheels built here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import run_envcheck
from distbuild import build_wheel

UV = str(Path(sys.executable).with_name("uv"))
OFFLINE = ["--no-index", "--find-links"]
PYPROJECT = """\
[project]
name = "trainer"
version = "0.1.0"
requires-python = ">=3.9"
dependencies = ["alpha==1.0", "beta<2", "winonly; sys_platform == 'win32'"]

[project.optional-dependencies]
viz = ["gamma"]

[dependency-groups]
dev = ["devtool"]

[tool.uv]
package = false
"""


class Project:
    def __init__(self, root: Path) -> None:
        self.root, self.wheels = root, root / "wheels"
        self.python = str(root / "trainer" / ".venv" / "bin" / "python")
        self.env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never",
                    "UV_CACHE_DIR": str(root / "uv-cache")}

    def run(self, *command: str) -> str:
        result = subprocess.run(command, cwd=self.root / "trainer", env=self.env,
                                capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def uv_pip(self, *args: str) -> None:
        self.run(UV, "pip", *args, "--python", self.python, *OFFLINE, str(self.wheels))

    def check(self, lock: str, *args: str) -> tuple[int, dict[str, Any]]:
        result = run_envcheck("check", str(self.root / lock), "--python", self.python,
                              "--format", "json", *args)
        assert result.returncode in (0, 1), result.stderr
        return result.returncode, json.loads(result.stdout)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    root = tmp_path_factory.mktemp("locks")
    (root / "wheels").mkdir()
    for name, version, requires in (("alpha", "1.0", ("beta>=1",)), ("beta", "1.0", ()),
                                    ("beta", "2.0", ()), ("gamma", "1.0", ()),
                                    ("devtool", "1.0", ()), ("winonly", "1.0", ())):
        build_wheel(root / "wheels", name, version, requires=requires)
    (root / "trainer").mkdir()
    (root / "trainer" / "pyproject.toml").write_text(PYPROJECT)
    project = Project(root)
    wheels = str(project.wheels)
    project.run(UV, "lock", *OFFLINE, wheels)
    project.run(UV, "sync", *OFFLINE, wheels, "--python", sys.executable)
    (root / "uv.lock").write_text((root / "trainer" / "uv.lock").read_text())
    (root / "uv-export.txt").write_text(
        project.run(UV, "export", "--frozen", "--no-header"))
    (root / "pylock.uv.toml").write_text(
        project.run(UV, "export", "--frozen", "--format", "pylock.toml"))
    (root / "requirements.in").write_text("alpha==1.0\nbeta<2\n")
    (root / "requirements.txt").write_text(project.run(
        UV, "pip", "compile", *OFFLINE, wheels, "--generate-hashes", "--quiet",
        str(root / "requirements.in")))
    project.run(sys.executable, "-m", "pip", "lock", "--quiet", *OFFLINE, wheels, "-r",
                str(root / "requirements.in"), "-o", str(root / "pylock.toml"))
    (root / "freeze.txt").write_text(project.run(sys.executable, "-m", "pip", "--python",
                                                 project.python, "freeze"))
    return project


LOCKS = ["uv.lock", "uv-export.txt", "pylock.uv.toml", "requirements.txt", "pylock.toml",
         "freeze.txt"]


@pytest.mark.parametrize("lock", LOCKS)
def test_the_synced_environment_satisfies_every_lock(project: Project, lock: str) -> None:
    code, report = project.check(lock)
    assert code == 0 and report["changes"] == [], report
    assert "pip" not in report["unlocked"]  # installer tooling is never reported
    # the two locks of requirements.in alone do not name the dev tool: listed, not failed
    assert report["unlocked"] == (["devtool"] if lock in ("requirements.txt", "pylock.toml")
                                  else [])


@pytest.fixture
def changed(project: Project, request: pytest.FixtureRequest) -> Iterator[str]:
    """The synced venv with one package changed; put back afterwards."""
    change: str = request.param
    if change == "beta 2.0":
        project.uv_pip("install", "beta==2.0")
    elif change == "no alpha":
        project.run(UV, "pip", "uninstall", "--python", project.python, "alpha")
    yield change
    project.run(UV, "sync", *OFFLINE, str(project.wheels), "--python", sys.executable)


@pytest.mark.parametrize("changed", ["beta 2.0", "no alpha"], indirect=True)
def test_one_changed_package_fails_every_lock_and_is_named(project: Project,
                                                           changed: str) -> None:
    path = {"beta 2.0": "packages.beta.version", "no alpha": "packages.alpha"}[changed]
    for lock in LOCKS:
        code, report = project.check(lock)
        assert code == 1, (lock, report)
        assert [c["path"] for c in report["changes"]] == [path], (lock, report)


def test_unlocked_packages_fail_only_under_strict_and_extras_are_chosen(
        project: Project) -> None:
    project.uv_pip("install", "gamma==1.0")
    try:
        code, report = project.check("uv.lock")
        assert (code, report["unlocked"]) == (0, ["gamma"])
        assert project.check("uv.lock", "--strict")[0] == 1
        code, report = project.check("uv.lock", "--extra", "viz", "--strict")
        assert code == 0 and report["unlocked"] == []
    finally:
        project.run(UV, "sync", *OFFLINE, str(project.wheels), "--python", sys.executable)
    code, report = project.check("uv.lock", "--extra", "viz")
    assert code == 1 and [c["path"] for c in report["changes"]] == ["packages.gamma"]
    code, report = project.check("uv.lock", "--group", "none-of-them")
    assert code == 0 and report["unlocked"] == ["devtool"]  # dev group not chosen


def test_a_direct_reference_in_pip_freeze_is_compared_by_url(project: Project,
                                                               tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    gamma = build_wheel(elsewhere, "gamma", "1.0")
    project.run(UV, "pip", "install", "--python", project.python, f"gamma @ {gamma.as_uri()}")
    try:
        frozen = project.run(sys.executable, "-m", "pip", "--python", project.python, "freeze")
        assert f"gamma @ {gamma.as_uri()}" in frozen
        lock = project.root / "freeze-direct.txt"
        lock.write_text(frozen)
        assert project.check("freeze-direct.txt")[0] == 0
        other = build_wheel(project.wheels.parent, "gamma", "1.0")  # same name, other place
        lock.write_text(frozen.replace(gamma.as_uri(), other.as_uri()))
        code, report = project.check("freeze-direct.txt")
        assert code == 1
        assert [c["path"] for c in report["changes"]] == ["packages.gamma.direct_url.url"]
    finally:
        project.run(UV, "sync", *OFFLINE, str(project.wheels), "--python", sys.executable)


def test_a_wheel_pip_installed_from_a_file_url_satisfies_its_freeze_line(project: Project,
                                                                          tmp_path: Path) -> None:
    """pip keeps the archive's hash in direct_url.json and ``pip freeze`` writes it as a
    ``#sha256=`` fragment: the line must pass as it stands, and fail once the wheel at that
    path is another archive."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    gamma = build_wheel(elsewhere, "gamma", "1.0")
    pip_install = (sys.executable, "-m", "pip", "--python", project.python, "install",
                   "--quiet", "--no-index", "--no-deps", "--force-reinstall")
    project.run(*pip_install, f"gamma @ {gamma.as_uri()}")
    try:
        frozen = project.run(sys.executable, "-m", "pip", "--python", project.python, "freeze")
        assert f"gamma @ {gamma.as_uri()}#sha256=" in frozen
        (project.root / "freeze-hashed.txt").write_text(frozen)
        code, report = project.check("freeze-hashed.txt")
        assert (code, report["changes"]) == (0, []), report
        build_wheel(elsewhere, "gamma", "1.0", files={"gamma/__init__.py": b"OTHER = 1\n"})
        project.run(*pip_install, f"gamma @ {gamma.as_uri()}")
        code, report = project.check("freeze-hashed.txt")
        assert code == 1
        assert [c["path"] for c in report["changes"]] == [
            "packages.gamma.direct_url.archive_hashes"]
    finally:
        project.run(UV, "sync", *OFFLINE, str(project.wheels), "--python", sys.executable)


def test_pip_freeze_of_a_setup_py_only_develop_install_is_a_valid_lock(tmp_path: Path,
                                                                       python38: str) -> None:
    """``setup.py develop`` of a project that names itself only in setup.py: pip freeze
    writes ``-e DIR`` under a comment that names it, and the project's egg-info names it too."""
    venv_dir = tmp_path / "env"
    subprocess.run([python38, "-m", "venv", str(venv_dir)], check=True)
    python = str(venv_dir / "bin" / "python")
    for name in ("legacy", "other"):
        (tmp_path / name / "legpkg").mkdir(parents=True)
        (tmp_path / name / "legpkg" / "__init__.py").write_text("")
        (tmp_path / name / "setup.py").write_text(
            'from setuptools import setup\nsetup(name="legpkg", version="0.2", '
            'packages=["legpkg"])\n')
    subprocess.run([python, "setup.py", "-q", "develop"], cwd=tmp_path / "legacy", check=True,
                   capture_output=True)
    frozen = subprocess.run([python, "-m", "pip", "freeze"], capture_output=True, text=True,
                            check=True, cwd=tmp_path).stdout
    assert f"-e {tmp_path / 'legacy'}" in frozen and "(legpkg==0.2)" in frozen
    lock = tmp_path / "requirements.txt"
    lock.write_text(frozen)
    for text in (frozen, f"-e {tmp_path / 'legacy'}\n"):  # with pip's comment, and without
        lock.write_text(text)
        result = run_envcheck("check", str(lock), "--python", python, "--format", "json")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["changes"] == []
    subprocess.run([python, "setup.py", "-q", "develop"], cwd=tmp_path / "other", check=True,
                   capture_output=True)  # the same project name, developed from elsewhere
    lock.write_text(frozen)
    result = run_envcheck("check", str(lock), "--python", python, "--format", "json")
    assert result.returncode == 1, result.stderr
    assert [c["path"] for c in json.loads(result.stdout)["changes"]] == [
        "packages.legpkg.direct_url.url"]


def test_a_pep_751_lock_under_any_name_pip_lock_gives_it(project: Project) -> None:
    lock = project.root / "locked-by-pip.toml"
    project.run(sys.executable, "-m", "pip", "lock", "--quiet", *OFFLINE, str(project.wheels),
                "-r", str(project.root / "requirements.in"), "-o", str(lock))
    code, report = project.check(lock.name)
    assert (code, report["changes"], report["unlocked"]) == (0, [], ["devtool"]), report
    project.uv_pip("install", "beta==2.0")
    try:
        code, report = project.check(lock.name)
        assert code == 1 and [c["path"] for c in report["changes"]] == ["packages.beta.version"]
    finally:
        project.run(UV, "sync", *OFFLINE, str(project.wheels), "--python", sys.executable)
    other = run_envcheck("check", str(project.root / "trainer" / "pyproject.toml"))
    assert other.returncode == 3 and other.stderr.count("\n") == 1
    assert "not a pylock.toml" in other.stderr and "JSON" not in other.stderr


@pytest.mark.parametrize("name, what", [("poetry.lock", "a Poetry lock"),
                                        ("Pipfile.lock", "a Pipenv lock"),
                                        ("pdm.lock", "a PDM lock"),
                                        ("Cargo.lock", "does not know by its name")])
def test_a_lock_format_envcheck_does_not_read_is_named(tmp_path: Path, name: str,
                                                       what: str) -> None:
    (tmp_path / name).write_text("{}\n")
    result = run_envcheck("check", str(tmp_path / name))
    assert result.returncode == 3
    assert result.stderr.count("\n") == 1 and what in result.stderr
    assert "uv.lock" in result.stderr and "not JSON" not in result.stderr


def test_pep_751_groups_and_invalid_markers(tmp_path: Path) -> None:
    lock = tmp_path / "pylock.toml"
    lock.write_text('lock-version = "1.0"\ncreated-by = "hand"\ndefault-groups = ["dev"]\n'
                    '[[packages]]\nname = "pip"\nversion = "0"\n'
                    "marker = \"'dev' in dependency_groups\"\n"
                    '[[packages]]\nname = "never-here"\nversion = "1"\n'
                    "marker = \"'docs' in dependency_groups or 'x' in extras\"\n")
    result = run_envcheck("check", str(lock), "--format", "json")
    assert result.returncode == 1, result.stderr  # pip 0 is pinned through the dev group
    assert [c["path"] for c in json.loads(result.stdout)["changes"]] == ["packages.pip.version"]
    assert run_envcheck("check", str(lock), "--group", "none").returncode == 0
    lock.write_text(lock.read_text() + '[[packages]]\nname = "y"\nversion = "1"\n'
                    "marker = \"python_version ~= '3'\"\n")
    bad = run_envcheck("check", str(lock))
    assert bad.returncode == 3 and "cannot be evaluated" in bad.stderr
    assert bad.stderr.count("\n") == 1
