"""Context on real environments: a framework's settings matter only where it is installed.

A real venv holding only numpy (installed by pip, as a user would) is
fingerprinted with and without the settings of frameworks it does not have;
none of them may fail a job, and each says why.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run_envcheck
from distbuild import build_wheel

ABSENT_FRAMEWORK_SETTINGS = {
    "TF_DETERMINISTIC_OPS": "no TensorFlow on either side",
    "TF_ENABLE_ONEDNN_OPTS": "no TensorFlow on either side",
    "XLA_FLAGS": "no JAX or TensorFlow on either side",
    "MKL_CBWR": "no MKL-backed library on either side",
    "CUDA_VISIBLE_DEVICES": "no GPU and no CUDA build of a framework on either side",
    "CUBLAS_WORKSPACE_CONFIG": "no GPU and no CUDA build of a framework on either side",
}


@pytest.fixture(scope="module")
def numpy_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import numpy

    root = tmp_path_factory.mktemp("numpy-venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / "env")],
                   check=True)
    python = root / "env" / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                    "--no-deps", f"numpy=={numpy.__version__}"], check=True)
    return python


def _snapshot(python: Path, out: Path, **env: str) -> Path:
    result = run_envcheck("snapshot", "--python", str(python), "--no-save", "-o", str(out),
                          env=env)
    assert result.returncode == 0, result.stderr
    return out


def test_settings_of_absent_frameworks_never_fail_a_numpy_job(numpy_venv: Path,
                                                              tmp_path: Path) -> None:
    base = _snapshot(numpy_venv, tmp_path / "base.json")
    settings = {name: "1" for name in ABSENT_FRAMEWORK_SETTINGS}
    head = _snapshot(numpy_venv, tmp_path / "head.json", **settings)
    result = run_envcheck("diff", str(base), str(head), "--format", "json", "--fail-on", "risky")
    assert result.returncode == 0, result.stdout + result.stderr
    changes = {c["path"]: c for c in json.loads(result.stdout)["changes"]}
    for name, why in ABSENT_FRAMEWORK_SETTINGS.items():
        assert changes[f"env.{name}"]["severity"] == "benign", changes[f"env.{name}"]
        assert changes[f"env.{name}"]["reason"] == why


def test_numpy_settings_are_recorded_and_judged_where_numpy_is(numpy_venv: Path,
                                                                 tmp_path: Path) -> None:
    base = _snapshot(numpy_venv, tmp_path / "base.json")
    head = _snapshot(numpy_venv, tmp_path / "head.json", NPY_DISABLE_CPU_FEATURES="X86_V3",
                     OPENBLAS_NUM_THREADS="1")
    assert json.loads(head.read_text())["env"]["NPY_DISABLE_CPU_FEATURES"] == "X86_V3"
    result = run_envcheck("diff", str(base), str(head), "--format", "json")
    changes = {c["path"]: c for c in json.loads(result.stdout)["changes"]}
    assert changes["env.NPY_DISABLE_CPU_FEATURES"]["severity"] == "risky"
    assert changes["env.NPY_DISABLE_CPU_FEATURES"]["reference"] == "numpy/numpy#23523"
    # numpy's wheels bundle OpenBLAS (read from numpy's own build configuration).
    assert changes["env.OPENBLAS_NUM_THREADS"]["rule"] == "env-openblas-threads"
    assert changes["env.OPENBLAS_NUM_THREADS"]["severity"] == "risky"


def test_a_cuda_wheel_without_gpu_or_cuda_build_is_benign(numpy_venv: Path,
                                                           tmp_path: Path) -> None:
    base = _snapshot(numpy_venv, tmp_path / "base.json")
    wheel = build_wheel(tmp_path, "nvidia-cublas-cu12", "12.1.3.1")
    venv = numpy_venv.parent.parent
    subprocess.run([sys.executable, "-m", "pip", "--python", str(numpy_venv), "install", "-q",
                    "--no-deps", "--no-index", str(wheel)], check=True)
    try:
        head = _snapshot(numpy_venv, tmp_path / "head.json")
    finally:
        subprocess.run([sys.executable, "-m", "pip", "--python", str(numpy_venv), "uninstall",
                        "-q", "-y", "nvidia-cublas-cu12"], check=True, cwd=venv)
    result = run_envcheck("diff", str(base), str(head), "--format", "json")
    assert result.returncode == 0, result.stdout
    [change] = json.loads(result.stdout)["changes"]
    assert (change["path"], change["severity"], change["reason"]) == (
        "packages.nvidia-cublas-cu12", "benign",
        "no GPU and no CUDA build of a framework on either side")


def test_npy_promotion_state_fails_only_where_numpy_reads_it(numpy_venv: Path,
                                                             tmp_path: Path) -> None:
    """NumPy 1.24 to 2.1 switch promotion on NPY_PROMOTION_STATE; 2.2 and later warn that they
    ignore it (numpy/numpy#27156). Each venv's numpy is asked what it does with the setting."""
    old = tmp_path / "old"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(old)], check=True)
    old_python = old / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(old_python), "install", "-q",
                    "--no-deps", "numpy==1.24.4"], check=True)
    probe = ("import numpy as np, warnings; warnings.simplefilter('ignore');"
             "print((np.float32(3) + 3.0).dtype)")
    for python, dtype, severity in ((numpy_venv, "float32", "benign"),
                                    (old_python, "float64", "breaking")):
        legacy = subprocess.run([str(python), "-c", probe], capture_output=True, text=True,
                                check=True, env={"NPY_PROMOTION_STATE": "legacy"})
        assert legacy.stdout.strip() == dtype  # float64: legacy promotion in effect
        base = _snapshot(python, tmp_path / "base.json")
        head = _snapshot(python, tmp_path / "head.json", NPY_PROMOTION_STATE="legacy")
        result = run_envcheck("diff", str(base), str(head), "--format", "json")
        [change] = json.loads(result.stdout)["changes"]
        assert (change["path"], change["severity"]) == ("env.NPY_PROMOTION_STATE", severity)
        assert change["rule"] == "env-numpy-promotion"
        assert ("2.2 and later ignore it" in change["reason"]) == (severity == "benign")
