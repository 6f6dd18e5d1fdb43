"""GPUs end to end: ``envcheck snapshot`` reading a compiled fake ``libnvidia-ml.so.1``.

The real nvidia-ml-py (or, in an interpreter without it, envcheck's ctypes binding)
loads the fake through ``LD_LIBRARY_PATH``; only the driver library is a stand-in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import run_envcheck
from fake_nvml import build_fake_nvml

V100_H100 = ("Tesla V100-SXM2-16GB|7.0|16384|80|GPU-aaaaaaaa-0000-0000-0000-000000000001|"
             "00000000:3B:00.0;NVIDIA H100 80GB HBM3|9.0|81559|132|"
             "GPU-bbbbbbbb-0000-0000-0000-000000000002|00000000:86:00.0")


@pytest.fixture(scope="module")
def fake_nvml_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_fake_nvml(tmp_path_factory.mktemp("nvml"))


def _snapshot(libdir: Path, *args: str, **env: str) -> tuple[dict[str, Any], str]:
    result = run_envcheck("snapshot", "-o", "-", *args,
                          env={"LD_LIBRARY_PATH": str(libdir), **env})
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document, result.stderr


def test_gpus_and_driver_through_nvidia_ml_py(fake_nvml_dir: Path) -> None:
    document, _ = _snapshot(fake_nvml_dir)
    assert document["cuda"]["binding"] == "nvidia-ml-py"
    assert document["cuda"]["driver_version"] == "550.54.15"
    assert document["cuda"]["driver_cuda_version"] == "12.4"
    gpus = document["gpus"]
    assert [g["name"] for g in gpus] == ["NVIDIA A100-SXM4-80GB"] * 2
    first = gpus[0]
    assert first["compute_capability"] == "8.0"
    assert first["architecture"] == "ampere"
    assert first["memory_total_mib"] == 81920
    assert first["multiprocessors"] == 108
    assert first["mig_mode"] is False and first["ecc"] is True
    assert first["persistence_mode"] is True and first["power_limit_w"] == 400.0
    assert first["pci_bus_id"] == "00000000:07:00.0"
    assert first["uuid"] == "GPU-11111111-2222-3333-4444-555555555555"
    assert [g["visible_as"] for g in gpus] == [0, 1]
    assert not [e for e in document["errors"] if e["section"] == "gpus"]


def test_summary_lists_the_gpus(fake_nvml_dir: Path) -> None:
    result = run_envcheck("snapshot", env={"LD_LIBRARY_PATH": str(fake_nvml_dir),
                                           "FAKE_NVML_GPUS": V100_H100})
    assert "[0] Tesla V100-SXM2-16GB, compute capability 7.0, 16384 MiB, 80 SMs" in result.stdout
    assert "[1] NVIDIA H100 80GB HBM3, compute capability 9.0" in result.stdout
    assert "driver 550.54.15 (supports CUDA 12.4)" in result.stdout


@pytest.mark.parametrize("setting, visible", [
    ("1", [None, 0]),
    ("1,0", [1, 0]),
    ("GPU-bbbbbbbb", [None, 0]),
    ("0,7,1", [0, None]),  # CUDA stops at the first entry that names no device
    ("", [None, None]),
])
def test_cuda_visible_devices_order_and_subset(fake_nvml_dir: Path, setting: str,
                                               visible: list[int | None]) -> None:
    document, _ = _snapshot(fake_nvml_dir, FAKE_NVML_GPUS=V100_H100,
                            CUDA_VISIBLE_DEVICES=setting)
    assert [g["visible_as"] for g in document["gpus"]] == visible
    assert document["env"]["CUDA_VISIBLE_DEVICES"] == setting


def test_ctypes_binding_in_an_interpreter_without_pynvml(fake_nvml_dir: Path,
                                                         python38: str) -> None:
    probe = subprocess.run([python38, "-c", "import pynvml"], capture_output=True, check=False)
    assert probe.returncode != 0, "this check needs an interpreter without nvidia-ml-py"
    with_binding, _ = _snapshot(fake_nvml_dir, FAKE_NVML_GPUS=V100_H100)
    without, _ = _snapshot(fake_nvml_dir, "--python", python38, FAKE_NVML_GPUS=V100_H100)
    assert without["cuda"]["binding"] == "ctypes"
    assert without["gpus"] == with_binding["gpus"]
    assert without["cuda"]["driver_version"] == with_binding["cuda"]["driver_version"]


def test_driver_not_loaded_is_an_error_entry(fake_nvml_dir: Path) -> None:
    document, _ = _snapshot(fake_nvml_dir, FAKE_NVML_INIT_ERROR="9")
    assert document["gpus"] == []
    assert {"section": "gpus", "kind": "unavailable",
            "message": "NVIDIA driver not loaded"} in document["errors"]


def test_no_driver_library_at_all(tmp_path: Path) -> None:
    document, _ = _snapshot(tmp_path)  # an empty LD_LIBRARY_PATH entry: no NVML anywhere
    assert document["gpus"] == []
    entry = next(e for e in document["errors"] if e["section"] == "gpus")
    assert entry["kind"] == "unavailable"
    assert "no NVML library" in entry["message"]


def test_a_hung_driver_is_bounded(fake_nvml_dir: Path) -> None:
    started = time.monotonic()
    document, _ = _snapshot(fake_nvml_dir, "--nvml-timeout", "1", FAKE_NVML_HANG="1")
    elapsed = time.monotonic() - started
    assert document["gpus"] == []
    assert {"section": "gpus", "kind": "timeout",
            "message": "NVML did not answer within 1.0 s"} in document["errors"]
    # The rest of the fingerprint is intact, and the process did not wait for the driver.
    assert "torch" in document["packages"]
    assert elapsed < 60


def _preflight(libdir: Path) -> list[str]:
    """``library_missing()`` in a fresh interpreter, and whether it imported ctypes."""
    script = ("import sys\nfrom envcheck.probe.gpus import library_missing\n"
              "print(library_missing(), 'ctypes' in sys.modules)\n")
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True, env={**os.environ, "LD_LIBRARY_PATH": str(libdir)},
                          ).stdout.split()


def test_no_driver_library_is_known_without_loading_ctypes(tmp_path: Path) -> None:
    if any(os.path.exists(p) for p in ("/proc/driver/nvidia", "/usr/lib/x86_64-linux-gnu/"
                                       "libnvidia-ml.so.1")):
        pytest.skip("this machine has an NVIDIA driver")
    assert _preflight(tmp_path) == ["True", "False"]


def test_a_library_on_the_loader_path_is_really_loaded(tmp_path: Path,
                                                       fake_nvml_dir: Path) -> None:
    assert _preflight(fake_nvml_dir) == ["False", "True"]
    # A file of the right name that is no library: dlopen, not the name, decides.
    (tmp_path / "libnvidia-ml.so.1").write_bytes(b"not an ELF file")
    assert _preflight(tmp_path) == ["True", "True"]
