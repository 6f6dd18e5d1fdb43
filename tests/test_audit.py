"""``envcheck audit``: reproducibility risks of one machine, with what to set instead."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from envcheck.audit import audit
from envcheck.model import Fingerprint
from envcheck.rules import Severity

from conftest import DATA, run_envcheck

GPU: dict[str, Any] = json.loads((DATA / "fake-2xa100.json").read_text())
CPU: dict[str, Any] = json.loads((DATA / "cpu-torch.json").read_text())


def _findings(document: dict[str, Any]) -> dict[str, tuple[Severity, str]]:
    report = audit(Fingerprint.from_dict(copy.deepcopy(document)))
    return {c.path: (c.severity, c.check) for c in report.findings}


def _with(base: dict[str, Any], **env: str | None) -> dict[str, Any]:
    document = copy.deepcopy(base)
    document["env"].update(env)
    return document


def test_gpu_machine_without_cublas_workspace_or_hash_seed() -> None:
    findings = _findings(GPU)
    assert findings["env.CUBLAS_WORKSPACE_CONFIG"] == (Severity.RISKY, "audit-cublas-workspace")
    assert findings["env.PYTHONHASHSEED"] == (Severity.RISKY, "audit-hash-seed")
    settled = _findings(_with(GPU, CUBLAS_WORKSPACE_CONFIG=":4096:8", PYTHONHASHSEED="0"))
    assert "env.CUBLAS_WORKSPACE_CONFIG" not in settled and "env.PYTHONHASHSEED" not in settled
    assert "env.CUBLAS_WORKSPACE_CONFIG" not in _findings(CPU)  # no GPU: nothing to fix


@pytest.mark.parametrize("cc, value, severity", [
    ("8.0", "1", Severity.BREAKING), ("9.0", "1", Severity.BREAKING),
    ("7.0", "1", Severity.BENIGN),
])
def test_tf32_override_is_explained_against_the_gpu(cc: str, value: str,
                                                    severity: Severity) -> None:
    document = _with(GPU, TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=value)
    for gpu in document["gpus"]:
        gpu["compute_capability"] = cc
    report = audit(Fingerprint.from_dict(document))
    finding = next(c for c in report.findings if c.check == "audit-tf32-override")
    assert finding.severity is severity
    assert ("A100" in finding.reason) == (severity is Severity.BREAKING)


def test_threads_unset_on_a_big_machine() -> None:
    document = copy.deepcopy(CPU)
    document["cpu"]["usable_cores"] = 64
    assert _findings(document)["env.OMP_NUM_THREADS"] == (Severity.RISKY, "audit-threads")
    assert "env.OMP_NUM_THREADS" not in _findings(_with(document, OMP_NUM_THREADS="16"))


def test_shadowed_and_deprecated_pynvml() -> None:
    document = copy.deepcopy(CPU)
    document["packages"]["jinja2"]["shadowed"] = [{"version": "2.11", "location": "/old"}]
    document["packages"]["pynvml"] = {"name": "pynvml", "version": "11.5.0"}
    document["packages"]["nvidia-ml-py"] = {"name": "nvidia-ml-py", "version": "12.535.1"}
    report = audit(Fingerprint.from_dict(document))
    shadowed = next(c for c in report.findings if c.path == "packages.jinja2.shadowed")
    assert shadowed.now == "2.11 at /old" and "is the one imported" in shadowed.reason
    pynvml = next(c for c in report.findings if c.check == "audit-pynvml")
    assert "beside nvidia-ml-py" in pynvml.reason


def test_driver_too_old_and_mismatched_nvidia_wheels() -> None:
    document = copy.deepcopy(GPU)
    document["frameworks"]["torch"].update(cuda="12.4", build="cuda", nvidia_requirements={
        "nvidia-cudnn-cu12": "==9.1.0.70", "nvidia-cublas-cu12": "==12.4.5.8"})
    document["packages"]["nvidia-cudnn-cu12"] = {"name": "nvidia-cudnn-cu12",
                                                 "version": "8.9.2.26"}
    document["cuda"]["driver_cuda_version"] = "12.2"
    findings = _findings(document)
    assert findings["frameworks.torch.cuda"] == (Severity.BREAKING, "audit-driver-too-old")
    assert findings["packages.nvidia-cudnn-cu12.version"] == (Severity.BREAKING,
                                                             "audit-nvidia-wheels")
    assert findings["packages.nvidia-cublas-cu12"] == (Severity.BREAKING, "audit-nvidia-wheels")
    document["cuda"]["driver_cuda_version"] = "12.4"
    assert "frameworks.torch.cuda" not in _findings(document)


def test_cli_exit_codes_and_formats() -> None:
    risky_only = run_envcheck("audit", str(DATA / "cpu-torch.json"))
    assert risky_only.returncode == 0
    assert risky_only.stdout.startswith("envcheck audit: ")
    assert "env.PYTHONHASHSEED: now unset; suggested 0" in risky_only.stdout
    strict = run_envcheck("audit", str(DATA / "cpu-torch.json"), "--fail-on", "risky",
                          "--format", "json")
    assert strict.returncode == 1
    assert json.loads(strict.stdout)["kind"] == "audit"
    live = run_envcheck("audit", env={"PYTHONHASHSEED": "0"}, cwd=DATA)
    assert "env.PYTHONHASHSEED" not in live.stdout


def test_audit_applies_and_validates_configuration(tmp_path: Path) -> None:
    config = tmp_path / "envcheck.toml"
    config.write_text('ignore = ["env.PYTHONHASHSEED"]\n')
    result = run_envcheck("audit", str(DATA / "cpu-torch.json"), "--config", str(config))
    assert result.returncode == 0 and "PYTHONHASHSEED" not in result.stdout
    missing = run_envcheck("audit", str(DATA / "cpu-torch.json"), "--config",
                           str(tmp_path / "absent.toml"))
    assert missing.returncode == 2


def test_the_checks_are_a_catalog_of_data() -> None:
    """Every check has an id, a reference and its outcomes' severities and reasons as data;
    every reason is filled from what the detector found (no placeholder left)."""
    from envcheck.audit import CATALOG, CHECKS, FILES_CHANGED

    ids = [check.id for check in CATALOG]
    assert len(ids) == len(set(ids)) and all(i.startswith("audit-") for i in ids)
    assert all(check.reference and check.outcomes for check in CATALOG)
    assert all(check.detect is not None for check in CHECKS) and FILES_CHANGED.detect is None
    document = copy.deepcopy(GPU)
    document["env"].update(TORCH_ALLOW_TF32_CUBLAS_OVERRIDE="1", NVIDIA_TF32_OVERRIDE="0")
    document["cpu"]["usable_cores"] = 64
    report = audit(Fingerprint.from_dict(document))
    assert report.findings and not [f for f in report.findings if "{" in f.reason]
    for finding in report.findings:
        check = next(c for c in CATALOG if c.id == finding.check)
        assert finding.reference == check.reference
        assert finding.severity in {o.severity for o in check.outcomes.values()}


def test_the_json_report_keeps_the_diff_shape() -> None:
    """``audit --format json`` is a public contract: the diff report's shape, the target as
    ``a``, "recommended" as ``b``, each finding a change with before = now."""
    result = run_envcheck("audit", str(DATA / "cpu-torch.json"), "--format", "json",
                          "--fail-on", "never")
    document = json.loads(result.stdout)
    assert list(document) == ["schema", "kind", "a", "b", "summary", "unknown_sections",
                              "changes"]
    assert document["kind"] == "audit" and document["b"]["label"] == "recommended"
    assert document["a"]["id"] == document["b"]["id"] and document["unknown_sections"] == []
    seed = next(c for c in document["changes"] if c["path"] == "env.PYTHONHASHSEED")
    assert seed == {"path": "env.PYTHONHASHSEED", "before": "unset", "after": "0",
                    "severity": "risky", "reason": seed["reason"],
                    "reference": "https://docs.python.org/3/using/cmdline.html"
                                 "#envvar-PYTHONHASHSEED",
                    "rule": "audit-hash-seed", "kind": "audit", "cause": None}


def test_deep_findings_advise_the_tool_that_installed_the_files() -> None:
    """pip restores a wheel's files; a Debian package's (checked against dpkg's md5sums)
    only apt restores, and pip would refuse an externally managed Python anyway."""
    from envcheck.audit import file_findings
    from envcheck.verify import Modified, PackageResult, VerifyReport

    edited = [Modified("numpy/__init__.py", "md5=x", "md5=y", None, 10)]
    report = VerifyReport(packages=[
        PackageResult("numpy", "1.24.2", "/usr/lib/python3/dist-packages", 5, edited,
                      packaged_by="python3-numpy"),
        PackageResult("torch", "2.5.0", "/venv/site-packages", 5, list(edited)),
        PackageResult("six", "1.16.0", "/venv/site-packages", 5, added=["six_extra.py"]),
    ])
    findings = {f.path: f for f in file_findings(report)}
    debian = findings["packages.numpy.files"]
    assert "`apt-get install --reinstall python3-numpy` restores them" in debian.reason
    assert "pip" not in debian.reason and debian.severity is Severity.BREAKING
    wheel = findings["packages.torch.files"]
    assert "`pip install --force-reinstall --no-deps torch==2.5.0`" in wheel.reason
    assert findings["packages.six.files"].severity is Severity.RISKY
    assert {f.check for f in findings.values()} == {"audit-files-changed"}
