"""``--deep``: files edited since install are shown by snapshot and diff, and explain the id.

A real venv with a pip-installed wheel; one of its files is then edited.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import run_envcheck
from distbuild import build_wheel


def test_edited_files_are_shown_and_explain_the_changed_id(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "env")],
                   check=True)
    python = str(tmp_path / "env" / "bin" / "python")
    subprocess.run([sys.executable, "-m", "pip", "--python", python, "install", "-q",
                    "--no-deps", "--no-index", str(build_wheel(tmp_path, "edited-pkg", "1.0"))],
                   check=True)

    def snapshot(name: str, *args: str) -> dict[str, object]:
        result = run_envcheck("snapshot", "--python", python, "--no-save", "-o",
                              str(tmp_path / name), *args)
        assert result.returncode == 0, result.stderr
        document: dict[str, object] = json.loads((tmp_path / name).read_text())
        return document

    plain, clean = snapshot("plain.json"), snapshot("clean.json", "--deep")
    assert plain["id"] == clean["id"]  # nothing edited: a deep snapshot adds nothing
    [module] = (tmp_path / "env").glob("lib/python*/site-packages/edited_pkg/__init__.py")
    module.write_text("VERSION = 'patched by hand'\n")
    edited = snapshot("edited.json", "--deep")
    assert edited["id"] != plain["id"]
    text = run_envcheck("snapshot", "--python", python, "--no-save", "--deep").stdout
    assert "edited-pkg: files differ from RECORD (1 modified: edited_pkg/__init__.py)" in text
    result = run_envcheck("diff", str(tmp_path / "plain.json"), str(tmp_path / "edited.json"),
                          "--format", "json", "--fail-on", "risky")
    assert result.returncode == 1
    [change] = json.loads(result.stdout)["changes"]
    assert (change["path"], change["rule"], change["after"]) == (
        "packages.edited-pkg.files_changed", "package-files-edited",
        {"modified": ["edited_pkg/__init__.py"]})
