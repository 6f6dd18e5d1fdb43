"""One edited byte in a real installed package: found by verify, audit --deep and a deep diff."""

from __future__ import annotations

import json
import subprocess
import venv
from pathlib import Path

import pytest

from conftest import run_envcheck
from distbuild import build_wheel


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    root = tmp_path_factory.mktemp("verify-venv")
    venv.EnvBuilder(with_pip=True).create(root / "env")
    python = str(root / "env" / "bin" / "python")
    wheel = build_wheel(root, "demo-pkg", "1.0")
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-index", "--no-deps",
                    str(wheel)], check=True)
    module = next((root / "env" / "lib").glob("python3*/site-packages/demo_pkg/__init__.py"))
    return python, module


def test_one_edited_byte_is_found_everywhere(installed: tuple[str, Path],
                                             tmp_path: Path) -> None:
    python, module = installed
    clean = run_envcheck("verify", "--python", python, "-p", "demo-pkg")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "All installed files match their RECORD." in clean.stdout
    assert " files in 1 package: 0 modified" in clean.stdout  # counted in good English
    before = tmp_path / "before.json"
    assert run_envcheck("snapshot", "--python", python, "--deep", "--no-save", "-o",
                        str(before)).returncode == 0

    original = module.read_bytes()
    module.write_bytes(original.replace(b"1.0", b"1.1"))  # one byte, same size
    try:
        found = run_envcheck("verify", "--python", python, "-p", "demo-pkg")
        assert found.returncode == 1
        assert "modified: demo_pkg/__init__.py" in found.stdout
        as_json = json.loads(run_envcheck("verify", "--python", python, "-p", "demo-pkg",
                                          "--format", "json").stdout)
        assert as_json["counts"]["modified"] == 1

        audited = run_envcheck("audit", "--deep", "--python", python, "--fail-on", "risky")
        assert audited.returncode == 1
        assert "packages.demo-pkg.files: now 1 modified" in audited.stdout
        assert "pip install --force-reinstall --no-deps demo-pkg==1.0" in audited.stdout

        after = tmp_path / "after.json"
        assert run_envcheck("snapshot", "--python", python, "--deep", "--no-save", "-o",
                            str(after)).returncode == 0
        compared = run_envcheck("diff", str(before), str(after), "--format", "json")
        changes = {c["path"]: c for c in json.loads(compared.stdout)["changes"]}
        edited = changes["packages.demo-pkg.files_changed"]
        assert edited["after"] == {"modified": ["demo_pkg/__init__.py"]}
        assert edited["severity"] == "risky" and edited["rule"] == "package-files-edited"
    finally:
        module.write_bytes(original)


def test_deep_needs_the_live_environment() -> None:
    result = run_envcheck("audit", "--deep", "some.json")
    assert result.returncode == 2
    assert "needs the live environment" in result.stderr
