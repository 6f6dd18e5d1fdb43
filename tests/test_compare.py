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


def _torch_pins(document: dict[str, Any], version: str, cudnn: str) -> None:
    document["packages"]["torch"]["version"] = version
    document["frameworks"]["torch"].update(version=version, cuda="12.1",
                                           nvidia_requirements={"nvidia-cudnn-cu12": cudnn})
    document["packages"]["nvidia-cudnn-cu12"] = {"name": "nvidia-cudnn-cu12", "version": cudnn}


def test_an_outliers_differences_are_grouped_as_diff_groups_them(tmp_path: Path) -> None:
    """The odd node out runs another Python minor (numpy's wheel tags follow), another torch
    (its nvidia-* pins follow), a CPU without AVX-512, and five extra packages: a few lines,
    causes first with their effects under them, as ``diff`` shows them."""
    def node(index: int, odd: bool) -> None:
        document = copy.deepcopy(BASE)
        document["meta"]["hostname"] = f"node-{index:02d}"
        _torch_pins(document, "2.3.1", "8.9.2.26")
        if odd:
            document["python"]["version"] = "3.12.7"
            numpy = document["packages"]["numpy"]
            numpy["wheel"]["tags"] = [t.replace("cp311", "cp312") for t in numpy["wheel"]["tags"]]
            _torch_pins(document, "2.4.0", "9.1.0.70")
            document["cpu"]["flags"] = [f for f in document["cpu"]["flags"]
                                        if not f.startswith("avx512")]
            for extra in ("einops", "rich", "tqdm", "wandb", "zarr"):
                document["packages"][extra] = {"name": extra, "version": "1.0"}
        (tmp_path / f"node-{index:02d}.json").write_text(json.dumps(document))

    for i in range(4):
        node(i, odd=i == 3)
    text = run_envcheck("compare", str(tmp_path)).stdout
    outlier = text.split("vs baseline:", 1)[1].split("\n\noutlier machines", 1)[0]
    lines = outlier.strip().splitlines()[1:]
    # One line for the seven AVX-512 flags; one for the five packages; effects under causes.
    flags = [line for line in lines if "cpu.flags" in line]
    assert len(flags) == 1 and flags[0].count("avx512") == 7, flags
    assert [line for line in lines if "5 packages only in" in line] != []
    assert not [line for line in lines if "packages.einops" in line]
    assert not [line for line in lines if line.lstrip().startswith("[")
                and ("wheel.tags" in line or "nvidia-cudnn-cu12.version" in line)], lines
    python = lines.index(next(line for line in lines if "] python.version:" in line))
    assert lines[python + 1].strip() == "with it: packages.numpy.wheel.tags"
    torch = lines.index(next(line for line in lines if "] packages.torch.version:" in line))
    assert "packages.nvidia-cudnn-cu12.version" in lines[torch + 1]
    assert lines[0].startswith("  [breaking] packages.torch.version")  # the framework first
    # Markdown: the same items, one row each.
    markdown = run_envcheck("compare", str(tmp_path), "--format", "markdown").stdout \
        .replace("&#46;", ".")
    rows = [row for row in markdown.splitlines() if row.startswith("| ") and "cpu.flags" in row]
    assert len(rows) == 1 and rows[0].count("avx512") == 7
    assert "with it: <code>packages.numpy.wheel.tags</code>" in markdown
