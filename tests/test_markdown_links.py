"""Audit and compare Markdown keep everything from outside inside <code> (issue 13, 11).

GitHub links ``#123``, ``owner/repo#1`` and 40-hex commit SHAs in text, entities or not;
inside <code> it links nothing. A hostile fingerprint plants all three in the strings an
audit quotes (GPU names, package names, versions, paths) and in compare's member names.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

from conftest import DATA, run_envcheck

SHA = "0123456789abcdef0123456789abcdef01234567"
HOSTILE = f"x #123 owner/repo#1 {SHA}"
# What would be linked if it stood outside <code> (the catalog's own references, such as
# pytorch/pytorch#67384, are meant to be links and are not among these).
AUTOLINKED = re.compile(r"#123|repo#1|" + SHA)


def _outside_code(markdown: str) -> str:
    """The text a reader sees outside <code> spans, entities decoded."""
    return html.unescape(re.sub(r"<code>.*?</code>", "", markdown))


def _hostile_fingerprint(path: Path) -> Path:
    document = json.loads((DATA / "fake-2xa100.json").read_text())
    for gpu in document["gpus"]:
        gpu["name"] = f"NVIDIA A100 {HOSTILE}"
    document["env"]["TORCH_ALLOW_TF32_CUBLAS_OVERRIDE"] = "1"
    package = document["packages"]["numpy"]
    package["location"] = f"/site/{HOSTILE}"
    package["shadowed"] = [{"version": f"1.0 {HOSTILE}", "location": f"/other/{HOSTILE}"}]
    path.write_text(json.dumps(document))
    return path


def test_audit_markdown_quotes_outside_strings_only_in_code(tmp_path: Path) -> None:
    fingerprint = _hostile_fingerprint(tmp_path / "fp.json")
    result = run_envcheck("audit", str(fingerprint), "--format", "markdown", "--fail-on", "never")
    assert result.returncode == 0, result.stderr
    assert "shadowed" in result.stdout and "TF32" in result.stdout  # the findings are there
    assert not AUTOLINKED.search(_outside_code(result.stdout)), _outside_code(result.stdout)


def test_compare_markdown_quotes_member_names_only_in_code(tmp_path: Path) -> None:
    fleet = tmp_path / "fleet"
    fleet.mkdir()
    base = json.loads((DATA / "fake-2xa100.json").read_text())
    for name in ("a", "b"):
        (fleet / f"{name}.json").write_text(json.dumps(base))
    base["env"]["OMP_NUM_THREADS"] = "3"
    (fleet / f"node #123 owner.repo#1 {SHA}.json").write_text(json.dumps(base))
    result = run_envcheck("compare", str(fleet), "--format", "markdown")
    assert result.returncode == 0, result.stderr
    assert "OMP_NUM_THREADS" in result.stdout
    assert not AUTOLINKED.search(_outside_code(result.stdout)), _outside_code(result.stdout)
