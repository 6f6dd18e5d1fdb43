"""``envcheck compare``: a fleet of fingerprints, its majority, and the odd nodes out."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from envcheck.fleet import compare
from envcheck.model import Fingerprint

from conftest import DATA, run_envcheck

BASE: dict[str, Any] = json.loads((DATA / "fake-2xa100.json").read_text())


def _node(directory: Path, index: int, **env: str) -> Path:
    document = copy.deepcopy(BASE)
    document["meta"]["hostname"] = f"node-{index:02d}"
    document["env"].update(env)
    path = directory / f"node-{index:02d}.json"
    path.write_text(json.dumps(document))
    return path


def test_the_odd_node_out_is_named_with_its_differences(tmp_path: Path) -> None:
    for i in range(12):
        _node(tmp_path, i, **({"NCCL_ALGO": "Tree"} if i == 7 else {}))
    result = run_envcheck("compare", str(tmp_path), "--format", "json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["members"] == 12
    assert [g["count"] for g in report["groups"]] == [11, 1]
    outlier = report["outliers"][0]
    assert outlier["members"] == [str(tmp_path / "node-07.json")]
    assert [(c["path"], c["severity"]) for c in outlier["changes"]] == [
        ("env.NCCL_ALGO", "breaking")]
    text = run_envcheck("compare", str(tmp_path)).stdout
    assert "12 fingerprints in 2 groups" in text
    assert "node-07.json vs baseline" in text
    assert "[breaking] env.NCCL_ALGO: (none) -> Tree" in text


def test_identical_fleet_and_explicit_baseline(tmp_path: Path) -> None:
    paths = [_node(tmp_path, i) for i in range(3)]
    same = run_envcheck("compare", *map(str, paths))
    assert same.returncode == 0
    assert "All fingerprints match the baseline." in same.stdout
    reference = tmp_path.parent / f"{tmp_path.name}-reference.json"
    reference.write_text(json.dumps({**copy.deepcopy(BASE),
                                     "env": {**BASE["env"], "OMP_NUM_THREADS": "4"}}))
    against = run_envcheck("compare", str(tmp_path), "--baseline", str(reference),
                           "--format", "json", "--fail-on", "risky")
    assert against.returncode == 1
    report = json.loads(against.stdout)
    assert report["baseline"]["member"] == str(reference)
    assert report["outliers"][0]["members"] == [str(p) for p in paths]
    markdown = run_envcheck("compare", str(tmp_path), "--baseline", str(reference),
                            "--format", "markdown").stdout
    assert markdown.startswith("<!-- envcheck-report:compare -->")  # its own comment


def test_each_differing_group_is_diffed_once() -> None:
    loads: dict[str, int] = {}

    def member(name: str, document: dict[str, Any]) -> tuple[str, Any]:
        def load() -> Fingerprint:
            loads[name] = loads.get(name, 0) + 1
            return Fingerprint.from_dict(copy.deepcopy(document))
        return name, load

    drifted = copy.deepcopy(BASE)
    drifted["env"]["PYTHONHASHSEED"] = "0"
    members = [member(f"n{i}", BASE) for i in range(50)]
    members += [member(f"d{i}", drifted) for i in range(5)]
    report = compare(members)
    assert len(report.outliers) == 1 and report.outliers[0].group.members[0] == "d0"
    # Every member is read once for its id; only one representative per group again.
    assert sum(loads.values()) == 55 + 2
    assert report.summary() == {"breaking": 0, "risky": 5, "benign": 0}


def test_empty_directory_is_an_input_error(tmp_path: Path) -> None:
    result = run_envcheck("compare", str(tmp_path))
    assert result.returncode == 3
    assert "no *.json fingerprints" in result.stderr


def test_stdin_is_refused_and_history_members_work(tmp_path: Path) -> None:
    refused = run_envcheck("compare", "-", stdin="{}")
    assert refused.returncode == 2 and "not stdin" in refused.stderr
    home = {"ENVCHECK_HOME": str(tmp_path / "home")}
    assert run_envcheck("snapshot", "-o", "/dev/null", env=home).returncode == 0
    from_history = run_envcheck("compare", "@last", "@0", "--format", "json", env=home)
    assert from_history.returncode == 0, from_history.stderr
    assert json.loads(from_history.stdout)["groups"][0]["count"] == 2
