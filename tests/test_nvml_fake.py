"""The real pynvml and envcheck's ctypes binding read identical facts from a fake NVML.

``tests/fake_nvml/fake_nvml.c`` is compiled into ``libnvidia-ml.so.1``; a child
process started with ``LD_LIBRARY_PATH`` pointing at it (the loader reads that
variable only at start-up) dumps every value the probe reads as JSON, once
through ``pynvml`` (nvidia-ml-py) and once through
``src/envcheck/probe/_nvml_ctypes.py`` (loaded by path, so nothing else in
``envcheck`` is imported). The two dumps must equal each other and the values
the fake was told to report.
"""

from __future__ import annotations

import glob
import importlib.util
import json
import os
import pathlib
import shutil
import subprocess
import sys
import time
from types import ModuleType
from typing import Any, NamedTuple

import pytest

from fake_nvml import build_fake_nvml

REPO = pathlib.Path(__file__).resolve().parents[1]
SHIM = REPO / "src" / "envcheck" / "probe" / "_nvml_ctypes.py"
MIB = 1024 * 1024
USED_BYTES = 4 * MIB  # the fake reports 4 MiB in use on every GPU

# Runs in the child; must stay valid Python 3.8 (it also runs the shim there).
CHILD = r"""
import importlib.util
import json
import sys

mode, shim_path, marker = sys.argv[1:4]
if mode == "pynvml":
    import pynvml as nv
else:
    spec = importlib.util.spec_from_file_location("_nvml_ctypes", shim_path)
    nv = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(nv)


def typed(value):
    return [type(value).__name__, value]


def error_of(call):
    try:
        call()
    except nv.NVMLError as exc:
        return {"type": type(exc).__name__, "value": exc.value, "text": str(exc)}
    return None


def device(index):
    h = nv.nvmlDeviceGetHandleByIndex(index)
    memory = nv.nvmlDeviceGetMemoryInfo(h)
    attributes = nv.nvmlDeviceGetAttributes(h)
    pci = nv.nvmlDeviceGetPciInfo(h)
    return {
        "name": typed(nv.nvmlDeviceGetName(h)),
        "uuid": typed(nv.nvmlDeviceGetUUID(h)),
        "cc": typed(nv.nvmlDeviceGetCudaComputeCapability(h)),
        "memory": {
            "type": type(memory).__name__,
            "total": memory.total,
            "free": memory.free,
            "used": memory.used,
        },
        "attributes": {
            "type": type(attributes).__name__,
            "multiprocessorCount": attributes.multiprocessorCount,
            "memorySizeMB": attributes.memorySizeMB,
        },
        "pci": {
            "type": type(pci).__name__,
            "busId": typed(pci.busId),
            "domain": pci.domain,
            "bus": pci.bus,
            "device": pci.device,
        },
        "mig": typed(nv.nvmlDeviceGetMigMode(h)),
        "ecc": typed(nv.nvmlDeviceGetEccMode(h)),
        "persistence": typed(nv.nvmlDeviceGetPersistenceMode(h)),
        "power_limit": typed(nv.nvmlDeviceGetPowerManagementLimit(h)),
        "architecture": typed(nv.nvmlDeviceGetArchitecture(h)),
    }


open(marker, "w").close()  # about to call nvmlInit
init_error = error_of(nv.nvmlInit)
if init_error is not None:
    print(json.dumps({"init_error": init_error}))
    sys.exit(0)
count = nv.nvmlDeviceGetCount()
out = {
    "driver_version": typed(nv.nvmlSystemGetDriverVersion()),
    "cuda_version": typed(nv.nvmlSystemGetCudaDriverVersion()),
    "cuda_version_v2": typed(nv.nvmlSystemGetCudaDriverVersion_v2()),
    "nvml_version": typed(nv.nvmlSystemGetNVMLVersion()),
    "count": typed(count),
    "gpus": [device(i) for i in range(count)],
    "bad_index": error_of(lambda: nv.nvmlDeviceGetHandleByIndex(count)),
}
nv.nvmlShutdown()
out["after_shutdown"] = error_of(nv.nvmlDeviceGetCount)
print(json.dumps(out))
"""


class Gpu(NamedTuple):
    name: str
    cc: tuple[int, int]
    memory_mib: int
    sm_count: int
    uuid: str
    busid: str
    architecture: int  # NVML_DEVICE_ARCH_*

    def spec(self) -> str:
        """This GPU as one ``FAKE_NVML_GPUS`` entry."""
        cc = f"{self.cc[0]}.{self.cc[1]}"
        fields = [self.name, cc, str(self.memory_mib), str(self.sm_count), self.uuid, self.busid]
        return "|".join(fields)


class Case(NamedTuple):
    env: dict[str, str]
    driver: str
    cuda: int
    gpus: list[Gpu]


A100_0 = Gpu(
    "NVIDIA A100-SXM4-80GB", (8, 0), 81920, 108,
    "GPU-11111111-2222-3333-4444-555555555555", "00000000:07:00.0", 7,
)  # fmt: skip
A100_1 = A100_0._replace(uuid="GPU-66666666-7777-8888-9999-000000000000", busid="00000000:0F:00.0")
V100 = Gpu(
    "Tesla V100-SXM2-32GB", (7, 0), 32768, 80,
    "GPU-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "00000000:3B:00.0", 5,
)  # fmt: skip
H100 = Gpu(
    "NVIDIA H100 80GB HBM3", (9, 0), 81559, 132,
    "GPU-12345678-9abc-def0-1234-56789abcdef0", "00000001:C1:00.0", 9,
)  # fmt: skip

CASES = {
    "default": Case({}, "550.54.15", 12040, [A100_0, A100_1]),
    "v100_h100": Case(
        {
            "FAKE_NVML_GPUS": ";".join(g.spec() for g in (V100, H100)),
            "FAKE_NVML_DRIVER": "535.104.05",
            "FAKE_NVML_CUDA": "12020",
        },
        "535.104.05",
        12020,
        [V100, H100],
    ),
    "no_gpus": Case({"FAKE_NVML_GPUS": ""}, "550.54.15", 12040, []),
}


def expected_device(gpu: Gpu) -> dict[str, Any]:
    total = gpu.memory_mib * MIB
    domain, bus, rest = gpu.busid.split(":")
    return {
        "name": ["str", gpu.name],
        "uuid": ["str", gpu.uuid],
        "cc": ["tuple", list(gpu.cc)],
        "memory": {
            "type": "c_nvmlMemory_t",
            "total": total,
            "free": total - USED_BYTES,
            "used": USED_BYTES,
        },
        "attributes": {
            "type": "c_nvmlDeviceAttributes",
            "multiprocessorCount": gpu.sm_count,
            "memorySizeMB": gpu.memory_mib,
        },
        "pci": {
            "type": "nvmlPciInfo_t",
            "busId": ["str", gpu.busid],
            "domain": int(domain, 16),
            "bus": int(bus, 16),
            "device": int(rest.split(".")[0], 16),
        },
        "mig": ["list", [0, 0]],
        "ecc": ["list", [1, 1]],
        "persistence": ["int", 1],
        "power_limit": ["int", 400000],
        "architecture": ["int", gpu.architecture],
    }


def expected_output(case: Case) -> dict[str, Any]:
    return {
        "driver_version": ["str", case.driver],
        "cuda_version": ["int", case.cuda],
        "cuda_version_v2": ["int", case.cuda],
        "nvml_version": ["str", f"{case.cuda // 1000}.{case.driver}"],
        "count": ["int", len(case.gpus)],
        "gpus": [expected_device(g) for g in case.gpus],
        "bad_index": {"type": "NVMLError_InvalidArgument", "value": 2, "text": "Invalid Argument"},
        "after_shutdown": {"type": "NVMLError_Uninitialized", "value": 1, "text": "Uninitialized"},
    }


@pytest.fixture(scope="module")
def lib_dir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is needed to build the fake libnvidia-ml.so.1")
    return build_fake_nvml(tmp_path_factory.mktemp("fake_nvml"))


@pytest.fixture
def need_pynvml() -> None:
    pytest.importorskip("pynvml", reason="nvidia-ml-py is not installed")


def child_env(lib_dir: pathlib.Path, overrides: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAKE_NVML_")}
    previous = env.get("LD_LIBRARY_PATH")
    env["LD_LIBRARY_PATH"] = str(lib_dir) + (os.pathsep + previous if previous else "")
    env.update(overrides)
    return env


def child_command(mode: str, tmp_path: pathlib.Path, python: str) -> list[str]:
    script = tmp_path / "nvml_child.py"
    script.write_text(CHILD)
    return [python, str(script), mode, str(SHIM), str(tmp_path / f"{mode}.marker")]


def run_child(
    mode: str,
    lib_dir: pathlib.Path,
    tmp_path: pathlib.Path,
    overrides: dict[str, str],
    python: str = sys.executable,
) -> dict[str, Any]:
    result = subprocess.run(
        child_command(mode, tmp_path, python),
        env=child_env(lib_dir, overrides),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    output: dict[str, Any] = json.loads(result.stdout)
    return output


@pytest.mark.parametrize("case_name", sorted(CASES))
def test_ctypes_shim_reads_fake(
    case_name: str, lib_dir: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    case = CASES[case_name]
    assert run_child("shim", lib_dir, tmp_path, case.env) == expected_output(case)


@pytest.mark.parametrize("case_name", sorted(CASES))
@pytest.mark.usefixtures("need_pynvml")
def test_pynvml_and_shim_agree(
    case_name: str, lib_dir: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    case = CASES[case_name]
    real = run_child("pynvml", lib_dir, tmp_path, case.env)
    shim = run_child("shim", lib_dir, tmp_path, case.env)
    # The fake speaks the ABI nvidia-ml-py expects ...
    assert real == expected_output(case)
    # ... and the shim returns exactly what nvidia-ml-py returns.
    assert shim == real


def test_custom_gpus_spot_checks(lib_dir: pathlib.Path, tmp_path: pathlib.Path) -> None:
    """A few facts spelled out, in case expected_output() and the fake drift together."""
    out = run_child("shim", lib_dir, tmp_path, CASES["v100_h100"].env)
    v100, h100 = out["gpus"]
    assert out["driver_version"] == ["str", "535.104.05"]
    assert out["cuda_version_v2"] == ["int", 12020]
    assert v100["name"] == ["str", "Tesla V100-SXM2-32GB"]
    assert v100["cc"] == ["tuple", [7, 0]]
    assert v100["memory"]["total"] == 34359738368
    assert v100["attributes"]["multiprocessorCount"] == 80
    assert v100["architecture"] == ["int", 5]  # NVML_DEVICE_ARCH_VOLTA
    assert h100["cc"] == ["tuple", [9, 0]]
    assert h100["pci"]["busId"] == ["str", "00000001:C1:00.0"]
    assert h100["attributes"]["multiprocessorCount"] == 132
    assert h100["architecture"] == ["int", 9]  # NVML_DEVICE_ARCH_HOPPER


@pytest.mark.parametrize(
    ("code", "text", "error_type"),
    [(9, "Driver Not Loaded", "NVMLError_DriverNotLoaded"), (42, "Unknown Error", "NVMLError")],
)
@pytest.mark.parametrize("mode", ["pynvml", "shim"])
def test_init_error(
    mode: str,
    code: int,
    text: str,
    error_type: str,
    lib_dir: pathlib.Path,
    tmp_path: pathlib.Path,
) -> None:
    if mode == "pynvml":
        pytest.importorskip("pynvml", reason="nvidia-ml-py is not installed")
    out = run_child(mode, lib_dir, tmp_path, {"FAKE_NVML_INIT_ERROR": str(code)})
    # Code 42 is unknown to both bindings, so its text comes from the fake's nvmlErrorString.
    assert out == {"init_error": {"type": error_type, "value": code, "text": text}}


@pytest.mark.parametrize("mode", ["pynvml", "shim"])
def test_hang_blocks_in_init(mode: str, lib_dir: pathlib.Path, tmp_path: pathlib.Path) -> None:
    if mode == "pynvml":
        pytest.importorskip("pynvml", reason="nvidia-ml-py is not installed")
    marker = tmp_path / f"{mode}.marker"
    proc = subprocess.Popen(
        child_command(mode, tmp_path, sys.executable),
        env=child_env(lib_dir, {"FAKE_NVML_HANG": "1"}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), "child never reached nvmlInit"
        time.sleep(1.0)
        assert proc.poll() is None, "nvmlInit returned although FAKE_NVML_HANG=1"
    finally:
        proc.kill()
        proc.communicate()


def python38() -> str | None:
    """A working Python 3.8 interpreter, if this machine has one."""
    candidates = [shutil.which("python3.8"), *sorted(glob.glob(os.path.expanduser(
        "~/.pyenv/versions/3.8*/bin/python3.8")))]  # fmt: skip
    for candidate in candidates:
        if candidate is None:
            continue
        probe = subprocess.run(
            [candidate, "-c", "import sys; print(sys.version_info[:2] == (3, 8))"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0 and probe.stdout.strip() == "True":
            return candidate
    return None


def test_ctypes_shim_on_python38(lib_dir: pathlib.Path, tmp_path: pathlib.Path) -> None:
    python = python38()
    if python is None:
        pytest.skip("no Python 3.8 interpreter here")
    case = CASES["v100_h100"]
    assert run_child("shim", lib_dir, tmp_path, case.env, python=python) == expected_output(case)


def load_shim() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_nvml_ctypes_under_test", SHIM)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ctypes_shim_without_library(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path
) -> None:
    nvml = load_shim()
    missing = str(tmp_path / "libnvidia-ml.so.1")
    monkeypatch.setattr(nvml, "_library_candidates", lambda: [missing])

    with pytest.raises(nvml.NVMLError) as before_init:
        nvml.nvmlDeviceGetCount()
    assert before_init.value.value == 1  # NVML_ERROR_UNINITIALIZED, as pynvml

    with pytest.raises(nvml.NVMLError_LibraryNotFound) as not_found:
        nvml.nvmlInit()
    assert isinstance(not_found.value, nvml.NVMLError)
    assert not_found.value.value == 12
    assert str(not_found.value) == "NVML Shared Library Not Found"


def test_ctypes_shim_error_class() -> None:
    nvml = load_shim()
    assert nvml.NVMLError_LibraryNotFound().value == 12
    assert nvml.NVMLError(9).value == 9
    assert str(nvml.NVMLError(9)) == "Driver Not Loaded"
    # Unknown code and no library loaded to ask: pynvml's fallback text.
    assert str(nvml.NVMLError(77)) == "NVML Error with code 77"
    with pytest.raises(TypeError):
        nvml.NVMLError()
