"""GPUs and the driver, through NVML.

nvidia-ml-py's ``pynvml`` is used when it imports; inside foreign images,
where it usually does not, a small ctypes binding with the same function names
reads the same library. NVML never creates a CUDA context, and every call runs
under a time limit because a wedged driver can block forever.
"""

from __future__ import annotations

import os
import sys
import warnings

from ._common import Errors, call_with_timeout

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds at start-up; annotations are strings
    from typing import Any, Callable, List, Optional, Tuple

    from ._common import JSONDict

# NVML return codes that mean "no usable NVIDIA driver here", with the words a user needs.
_UNAVAILABLE = {
    9: "NVIDIA driver not loaded",
    12: "no NVML library (libnvidia-ml.so.1): no NVIDIA driver installed",
    18: "GPU lost / driver in a bad state",
    4: "permission denied opening the NVIDIA device",
}
_ARCHITECTURES = {
    2: "kepler", 3: "maxwell", 4: "pascal", 5: "volta", 6: "turing", 7: "ampere",
    8: "ada", 9: "hopper", 10: "blackwell",
}


_NVML_LIBRARY = "libnvidia-ml.so.1"


def _may_be_loadable() -> bool:
    """Whether ``dlopen`` could find NVML, from looking where the loader looks.

    ``LD_LIBRARY_PATH``, ``/etc/ld.so.cache`` and the default directories; a loaded
    NVIDIA kernel driver or an unreadable cache (musl has none) means "maybe", and
    then ``dlopen`` decides. Spares importing ctypes where there is no driver.
    """
    if os.path.exists("/proc/driver/nvidia"):
        return True
    for directory in os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep):
        if os.path.exists(os.path.join(directory or ".", _NVML_LIBRARY)):
            return True
    try:
        with open("/etc/ld.so.cache", "rb") as handle:
            if _NVML_LIBRARY.encode() + b"\0" in handle.read():
                return True
    except OSError:
        return True
    return any(os.path.exists(os.path.join(directory, _NVML_LIBRARY))
               for directory in ("/lib64", "/usr/lib64", "/lib", "/usr/lib"))


def library_missing() -> bool:
    """True when no NVIDIA driver library can be loaded: then pynvml is not even imported.

    Most laptops and CPU nodes have no driver; checking with one ``dlopen`` (and
    before it, a look at the loader's paths) keeps the probe's start-up free of
    the binding's import cost there.
    """
    if not sys.platform.startswith("linux"):
        return False
    if not _may_be_loadable():
        return True
    import ctypes

    try:
        ctypes.CDLL(_NVML_LIBRARY)
    except OSError:
        return True
    return False


def load_binding(use_pynvml: bool = True) -> Tuple[Any, str]:
    """Return (NVML module, its name): nvidia-ml-py when installed (and ``use_pynvml``), else our
    ctypes binding."""
    if not use_pynvml:
        from . import _nvml_ctypes
        return _nvml_ctypes, "ctypes"
    try:
        with warnings.catch_warnings():
            # The deprecated ``pynvml`` distribution warns on import; it is audited elsewhere.
            warnings.simplefilter("ignore")
            import pynvml  # type: ignore[import-not-found,unused-ignore]
        return pynvml, "nvidia-ml-py"
    except ImportError:
        from . import _nvml_ctypes
        return _nvml_ctypes, "ctypes"


def _text(value: Any) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


def _optional(call: Callable[[], Any]) -> Any:
    """Per-field reads: a field the GPU or driver does not support is simply absent."""
    try:
        return call()
    except Exception:
        return None


def _device(nvml: Any, index: int) -> JSONDict:
    handle = nvml.nvmlDeviceGetHandleByIndex(index)
    cc = _optional(lambda: nvml.nvmlDeviceGetCudaComputeCapability(handle))
    memory = _optional(lambda: nvml.nvmlDeviceGetMemoryInfo(handle))
    attributes = _optional(lambda: nvml.nvmlDeviceGetAttributes(handle))
    pci = _optional(lambda: nvml.nvmlDeviceGetPciInfo(handle))
    mig = _optional(lambda: nvml.nvmlDeviceGetMigMode(handle))
    ecc = _optional(lambda: nvml.nvmlDeviceGetEccMode(handle))
    power = _optional(lambda: nvml.nvmlDeviceGetPowerManagementLimit(handle))
    persistence = _optional(lambda: nvml.nvmlDeviceGetPersistenceMode(handle))
    arch = _optional(lambda: nvml.nvmlDeviceGetArchitecture(handle))
    return {
        "index": index,
        "name": _text(nvml.nvmlDeviceGetName(handle)),
        "uuid": _optional(lambda: _text(nvml.nvmlDeviceGetUUID(handle))),
        "compute_capability": "%d.%d" % tuple(cc) if cc else None,
        "architecture": _ARCHITECTURES.get(arch) if arch is not None else None,
        "memory_total_mib": int(memory.total) // (1024 * 1024) if memory else None,
        "multiprocessors": getattr(attributes, "multiprocessorCount", None),
        "mig_mode": bool(mig[0]) if mig else None,
        "ecc": bool(ecc[0]) if ecc else None,
        "persistence_mode": bool(persistence) if persistence is not None else None,
        "power_limit_w": round(power / 1000.0, 1) if power is not None else None,
        "pci_bus_id": _text(pci.busId) if pci else None,
    }


def _cuda_version(value: Optional[int]) -> Optional[str]:
    return None if not value else "%d.%d" % (value // 1000, (value % 1000) // 10)


def visible_order(gpus: List[JSONDict], setting: Optional[str]) -> None:
    """Mark which GPUs CUDA will see, and as which device index (``visible_as``).

    Follows CUDA's rules for ``CUDA_VISIBLE_DEVICES``: entries are indices or
    (prefixes of) UUIDs, and the list ends at the first entry that matches no
    device. Indices are NVML's (PCI bus) order, which CUDA uses only with
    ``CUDA_DEVICE_ORDER=PCI_BUS_ID``; the fingerprint records both settings.
    """
    if setting is None:
        for gpu in gpus:
            gpu["visible_as"] = gpu["index"]
        return
    for gpu in gpus:
        gpu["visible_as"] = None
    for position, entry in enumerate(item.strip() for item in setting.split(",")):
        match: Optional[JSONDict] = None
        if entry.isdigit():
            match = next((g for g in gpus if g["index"] == int(entry)), None)
        elif entry:
            match = next((g for g in gpus if g.get("uuid") and g["uuid"].startswith(entry)), None)
        if match is None or match["visible_as"] is not None:
            return
        match["visible_as"] = position


def collect_nvml(errors: Errors, timeout: float,
                 use_pynvml: bool = True) -> Tuple[JSONDict, List[JSONDict]]:
    """Return (driver facts, GPUs); on a machine without NVIDIA, an ``errors`` entry explains.
    ``use_pynvml`` False: the ctypes binding even where nvidia-ml-py is importable."""
    if library_missing():
        errors.add("gpus", _UNAVAILABLE[12], "unavailable")
        return {}, []
    nvml, binding = load_binding(use_pynvml)
    driver: JSONDict = {"binding": binding}

    def read() -> List[JSONDict]:
        nvml.nvmlInit()
        try:
            driver["driver_version"] = _text(nvml.nvmlSystemGetDriverVersion())
            driver["driver_cuda_version"] = _cuda_version(
                _optional(lambda: nvml.nvmlSystemGetCudaDriverVersion_v2())
                or _optional(lambda: nvml.nvmlSystemGetCudaDriverVersion())
            )
            driver["nvml_version"] = _optional(lambda: _text(nvml.nvmlSystemGetNVMLVersion()))
            return [_device(nvml, i) for i in range(nvml.nvmlDeviceGetCount())]
        finally:
            _optional(nvml.nvmlShutdown)

    try:
        gpus = call_with_timeout(read, timeout, "NVML")
    except nvml.NVMLError as exc:
        code = getattr(exc, "value", None)
        kind = "unavailable" if code in (9, 12) else "error"
        message = _UNAVAILABLE.get(code, "") if isinstance(code, int) else ""
        errors.add("gpus", message or "NVML error: %s" % exc, kind)
        return driver, []
    visible_order(gpus, os.environ.get("CUDA_VISIBLE_DEVICES"))
    return driver, gpus
