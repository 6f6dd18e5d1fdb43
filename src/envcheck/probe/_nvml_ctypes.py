"""A stdlib-only stand-in for the slice of ``pynvml`` that envcheck's probe uses.

Why one long module: it mirrors one C API (structures, constants, calls) the way
pynvml does, and the probe travels as source to other interpreters, where one
self-contained file is the unit.

The probe prefers the real bindings (``import pynvml`` from the ``nvidia-ml-py``
distribution). Inside foreign containers where they are absent it imports this
module instead, so it must run on any Python from 3.8 on with nothing but the
standard library. Every function here has the name, arguments and return shape
of its ``pynvml`` namesake:

* strings come back as ``str``;
* ``nvmlDeviceGetCudaComputeCapability`` gives a ``(major, minor)`` tuple;
* ``nvmlDeviceGetMigMode`` / ``nvmlDeviceGetEccMode`` give ``[current, pending]``;
* ``nvmlDeviceGetMemoryInfo``, ``nvmlDeviceGetAttributes`` and
  ``nvmlDeviceGetPciInfo`` give ctypes structures with pynvml's field names
  (char-array fields such as ``busId`` read back as ``str``);
* failures raise :class:`NVMLError` whose ``value`` is the ``nvmlReturn_t``
  code; a missing ``libnvidia-ml.so.1`` makes ``nvmlInit`` raise it with
  ``NVML_ERROR_LIBRARY_NOT_FOUND`` (12).
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from typing import Any, ClassVar

# ---- Constants (values from nvml.h, as pynvml spells them) -----------------

NVML_SUCCESS = 0
NVML_ERROR_UNINITIALIZED = 1
NVML_ERROR_INVALID_ARGUMENT = 2
NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_NO_PERMISSION = 4
NVML_ERROR_ALREADY_INITIALIZED = 5
NVML_ERROR_NOT_FOUND = 6
NVML_ERROR_INSUFFICIENT_SIZE = 7
NVML_ERROR_INSUFFICIENT_POWER = 8
NVML_ERROR_DRIVER_NOT_LOADED = 9
NVML_ERROR_TIMEOUT = 10
NVML_ERROR_IRQ_ISSUE = 11
NVML_ERROR_LIBRARY_NOT_FOUND = 12
NVML_ERROR_FUNCTION_NOT_FOUND = 13
NVML_ERROR_CORRUPTED_INFOROM = 14
NVML_ERROR_GPU_IS_LOST = 15
NVML_ERROR_RESET_REQUIRED = 16
NVML_ERROR_OPERATING_SYSTEM = 17
NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18
NVML_ERROR_MEMORY = 20
NVML_ERROR_UNKNOWN = 999

NVML_FEATURE_DISABLED = 0
NVML_FEATURE_ENABLED = 1
NVML_DEVICE_MIG_DISABLE = 0
NVML_DEVICE_MIG_ENABLE = 1

NVML_DEVICE_ARCH_KEPLER = 2
NVML_DEVICE_ARCH_MAXWELL = 3
NVML_DEVICE_ARCH_PASCAL = 4
NVML_DEVICE_ARCH_VOLTA = 5
NVML_DEVICE_ARCH_TURING = 6
NVML_DEVICE_ARCH_AMPERE = 7
NVML_DEVICE_ARCH_ADA = 8
NVML_DEVICE_ARCH_HOPPER = 9
NVML_DEVICE_ARCH_BLACKWELL = 10
NVML_DEVICE_ARCH_UNKNOWN = 0xFFFFFFFF

NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE = 80
NVML_SYSTEM_NVML_VERSION_BUFFER_SIZE = 80
NVML_DEVICE_NAME_V2_BUFFER_SIZE = 96
NVML_DEVICE_UUID_V2_BUFFER_SIZE = 96
NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE = 32
NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE = 16

# pynvml's own texts for the codes it knows; others come from nvmlErrorString.
_ERROR_TEXT = {
    NVML_ERROR_UNINITIALIZED: "Uninitialized",
    NVML_ERROR_INVALID_ARGUMENT: "Invalid Argument",
    NVML_ERROR_NOT_SUPPORTED: "Not Supported",
    NVML_ERROR_NO_PERMISSION: "Insufficient Permissions",
    NVML_ERROR_ALREADY_INITIALIZED: "Already Initialized",
    NVML_ERROR_NOT_FOUND: "Not Found",
    NVML_ERROR_INSUFFICIENT_SIZE: "Insufficient Size",
    NVML_ERROR_INSUFFICIENT_POWER: "Insufficient External Power",
    NVML_ERROR_DRIVER_NOT_LOADED: "Driver Not Loaded",
    NVML_ERROR_TIMEOUT: "Timeout",
    NVML_ERROR_IRQ_ISSUE: "Interrupt Request Issue",
    NVML_ERROR_LIBRARY_NOT_FOUND: "NVML Shared Library Not Found",
    NVML_ERROR_FUNCTION_NOT_FOUND: "Function Not Found",
    NVML_ERROR_CORRUPTED_INFOROM: "Corrupted infoROM",
    NVML_ERROR_GPU_IS_LOST: "GPU is lost",
    NVML_ERROR_RESET_REQUIRED: "GPU requires restart",
    NVML_ERROR_OPERATING_SYSTEM: "The operating system has blocked the request.",
    NVML_ERROR_LIB_RM_VERSION_MISMATCH: "RM has detected an NVML/RM version mismatch.",
    NVML_ERROR_MEMORY: "Insufficient Memory",
    NVML_ERROR_UNKNOWN: "Unknown Error",
}


# ---- Errors -------------------------------------------------------------------


class NVMLError(Exception):
    """An NVML call failed; ``value`` holds the ``nvmlReturn_t`` code.

    ``str()`` gives the same text pynvml's ``NVMLError`` does. Calls in this
    module raise the matching subclass below where there is one, so both
    ``except NVMLError`` with a test on ``.value`` and
    ``except NVMLError_LibraryNotFound`` work, as with pynvml.
    """

    _default_value: ClassVar[int | None] = None

    def __init__(self, value: int | None = None) -> None:
        if value is None:
            if self._default_value is None:
                raise TypeError("NVMLError needs an nvmlReturn_t value")
            value = self._default_value
        super().__init__(value)
        self.value: int = value

    def __str__(self) -> str:
        return _error_text(self.value)


# Subclasses for the codes callers commonly single out, named as pynvml names them.
class NVMLError_Uninitialized(NVMLError):
    _default_value = NVML_ERROR_UNINITIALIZED


class NVMLError_InvalidArgument(NVMLError):
    _default_value = NVML_ERROR_INVALID_ARGUMENT


class NVMLError_NotSupported(NVMLError):
    _default_value = NVML_ERROR_NOT_SUPPORTED


class NVMLError_NoPermission(NVMLError):
    _default_value = NVML_ERROR_NO_PERMISSION


class NVMLError_DriverNotLoaded(NVMLError):
    _default_value = NVML_ERROR_DRIVER_NOT_LOADED


class NVMLError_Timeout(NVMLError):
    _default_value = NVML_ERROR_TIMEOUT


class NVMLError_LibraryNotFound(NVMLError):
    _default_value = NVML_ERROR_LIBRARY_NOT_FOUND


class NVMLError_FunctionNotFound(NVMLError):
    _default_value = NVML_ERROR_FUNCTION_NOT_FOUND


class NVMLError_GpuIsLost(NVMLError):
    _default_value = NVML_ERROR_GPU_IS_LOST


class NVMLError_LibRmVersionMismatch(NVMLError):
    _default_value = NVML_ERROR_LIB_RM_VERSION_MISMATCH


class NVMLError_Unknown(NVMLError):
    _default_value = NVML_ERROR_UNKNOWN


_ERROR_CLASSES: dict[int, type[NVMLError]] = {
    cls._default_value: cls
    for cls in (
        NVMLError_Uninitialized,
        NVMLError_InvalidArgument,
        NVMLError_NotSupported,
        NVMLError_NoPermission,
        NVMLError_DriverNotLoaded,
        NVMLError_Timeout,
        NVMLError_LibraryNotFound,
        NVMLError_FunctionNotFound,
        NVMLError_GpuIsLost,
        NVMLError_LibRmVersionMismatch,
        NVMLError_Unknown,
    )
    if cls._default_value is not None
}


def _error(value: int) -> NVMLError:
    return _ERROR_CLASSES.get(value, NVMLError)(value)


def _error_text(value: int) -> str:
    text = _ERROR_TEXT.get(value)
    if text is not None:
        return text
    try:
        return nvmlErrorString(value)
    except NVMLError:
        return f"NVML Error with code {value}"


def _check(ret: int) -> None:
    if ret != NVML_SUCCESS:
        raise _error(ret)


# ---- Structures (pynvml's class and field names) ------------------------------------


class _Structure(ctypes.Structure):
    """Reads char-array fields back as ``str``, like pynvml's structures."""

    def __getattribute__(self, name: str) -> Any:
        value = super().__getattribute__(name)
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace")
        return value


class c_nvmlMemory_t(_Structure):
    """``nvmlMemory_t`` (v1): sizes in bytes."""

    _fields_ = (
        ("total", ctypes.c_ulonglong),
        ("free", ctypes.c_ulonglong),
        ("used", ctypes.c_ulonglong),
    )
    total: int
    free: int
    used: int


class nvmlPciInfo_t(_Structure):
    """``nvmlPciInfo_t`` as filled by ``nvmlDeviceGetPciInfo_v3``."""

    _fields_ = (
        ("busIdLegacy", ctypes.c_char * NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE),
        ("domain", ctypes.c_uint),
        ("bus", ctypes.c_uint),
        ("device", ctypes.c_uint),
        ("pciDeviceId", ctypes.c_uint),
        ("pciSubSystemId", ctypes.c_uint),
        ("busId", ctypes.c_char * NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE),
    )
    busIdLegacy: str
    domain: int
    bus: int
    device: int
    pciDeviceId: int
    pciSubSystemId: int
    busId: str


class c_nvmlDeviceAttributes(_Structure):
    """``nvmlDeviceAttributes_t`` as filled by ``nvmlDeviceGetAttributes_v2``."""

    _fields_ = (
        ("multiprocessorCount", ctypes.c_uint),
        ("sharedCopyEngineCount", ctypes.c_uint),
        ("sharedDecoderCount", ctypes.c_uint),
        ("sharedEncoderCount", ctypes.c_uint),
        ("sharedJpegCount", ctypes.c_uint),
        ("sharedOfaCount", ctypes.c_uint),
        ("gpuInstanceSliceCount", ctypes.c_uint),
        ("computeInstanceSliceCount", ctypes.c_uint),
        ("memorySizeMB", ctypes.c_ulonglong),
    )
    multiprocessorCount: int
    sharedCopyEngineCount: int
    sharedDecoderCount: int
    sharedEncoderCount: int
    sharedJpegCount: int
    sharedOfaCount: int
    gpuInstanceSliceCount: int
    computeInstanceSliceCount: int
    memorySizeMB: int


# ---- Library access ---------------------------------------------------------------

_c_uint_p = ctypes.POINTER(ctypes.c_uint)
_c_int_p = ctypes.POINTER(ctypes.c_int)
_Handle = ctypes.c_void_p  # opaque nvmlDevice_t

# C prototypes of the symbols used: name -> (restype, argtypes).
_PROTOTYPES: dict[str, tuple[Any, tuple[Any, ...]]] = {
    "nvmlInitWithFlags": (ctypes.c_int, (ctypes.c_uint,)),
    "nvmlShutdown": (ctypes.c_int, ()),
    "nvmlErrorString": (ctypes.c_char_p, (ctypes.c_int,)),
    "nvmlSystemGetDriverVersion": (ctypes.c_int, (ctypes.c_char_p, ctypes.c_uint)),
    "nvmlSystemGetNVMLVersion": (ctypes.c_int, (ctypes.c_char_p, ctypes.c_uint)),
    "nvmlSystemGetCudaDriverVersion": (ctypes.c_int, (_c_int_p,)),
    "nvmlSystemGetCudaDriverVersion_v2": (ctypes.c_int, (_c_int_p,)),
    "nvmlDeviceGetCount_v2": (ctypes.c_int, (_c_uint_p,)),
    "nvmlDeviceGetHandleByIndex_v2": (
        ctypes.c_int,
        (ctypes.c_uint, ctypes.POINTER(ctypes.c_void_p)),
    ),
    "nvmlDeviceGetName": (ctypes.c_int, (_Handle, ctypes.c_char_p, ctypes.c_uint)),
    "nvmlDeviceGetUUID": (ctypes.c_int, (_Handle, ctypes.c_char_p, ctypes.c_uint)),
    "nvmlDeviceGetCudaComputeCapability": (ctypes.c_int, (_Handle, _c_int_p, _c_int_p)),
    "nvmlDeviceGetMemoryInfo": (ctypes.c_int, (_Handle, ctypes.POINTER(c_nvmlMemory_t))),
    "nvmlDeviceGetAttributes_v2": (
        ctypes.c_int,
        (_Handle, ctypes.POINTER(c_nvmlDeviceAttributes)),
    ),
    "nvmlDeviceGetMigMode": (ctypes.c_int, (_Handle, _c_uint_p, _c_uint_p)),
    "nvmlDeviceGetEccMode": (ctypes.c_int, (_Handle, _c_uint_p, _c_uint_p)),
    "nvmlDeviceGetPersistenceMode": (ctypes.c_int, (_Handle, _c_uint_p)),
    "nvmlDeviceGetPowerManagementLimit": (ctypes.c_int, (_Handle, _c_uint_p)),
    "nvmlDeviceGetPciInfo_v3": (ctypes.c_int, (_Handle, ctypes.POINTER(nvmlPciInfo_t))),
    "nvmlDeviceGetArchitecture": (ctypes.c_int, (_Handle, _c_uint_p)),
}

_lib: ctypes.CDLL | None = None
_lib_lock = threading.Lock()
_functions: dict[str, Any] = {}


def _library_candidates() -> list[str]:
    """Names to try with ``ctypes.CDLL``, in order (pynvml's, plus the DLL by name)."""
    if sys.platform.startswith("win"):
        return [
            os.path.join(os.environ.get("WINDIR", "C:/Windows"), "System32/nvml.dll"),
            os.path.join(
                os.environ.get("PROGRAMFILES", "C:/Program Files"),
                "NVIDIA Corporation/NVSMI/nvml.dll",
            ),
            "nvml.dll",
        ]
    return ["libnvidia-ml.so.1"]


def _load_library() -> None:
    global _lib
    with _lib_lock:
        if _lib is not None:
            return
        for name in _library_candidates():
            try:
                _lib = ctypes.CDLL(name)
            except OSError:
                continue
            return
    raise _error(NVML_ERROR_LIBRARY_NOT_FOUND)


def _function(name: str) -> Any:
    """The library's ``name`` with its prototype set; pynvml's error codes if not."""
    fn = _functions.get(name)
    if fn is not None:
        return fn
    with _lib_lock:
        if _lib is None:
            raise _error(NVML_ERROR_UNINITIALIZED)
        try:
            fn = getattr(_lib, name)
        except AttributeError:
            raise _error(NVML_ERROR_FUNCTION_NOT_FOUND) from None
        fn.restype, fn.argtypes = _PROTOTYPES[name]
        _functions[name] = fn
        return fn


def _call(name: str, *args: Any) -> None:
    _check(_function(name)(*args))


def _get_string(name: str, size: int, *args: Any) -> str:
    buf = ctypes.create_string_buffer(size)
    _call(name, *args, buf, size)
    return buf.value.decode("utf-8", "replace")


def _get_uint(name: str, handle: _Handle) -> int:
    value = ctypes.c_uint()
    _call(name, handle, ctypes.byref(value))
    return value.value


def _get_uint_pair(name: str, handle: _Handle) -> list[int]:
    current = ctypes.c_uint()
    pending = ctypes.c_uint()
    _call(name, handle, ctypes.byref(current), ctypes.byref(pending))
    return [current.value, pending.value]


# ---- Public API (pynvml names and return shapes) ------------------------------


def nvmlInitWithFlags(flags: int) -> None:
    _load_library()
    _call("nvmlInitWithFlags", flags)


def nvmlInit() -> None:
    nvmlInitWithFlags(0)


def nvmlShutdown() -> None:
    _call("nvmlShutdown")


def nvmlErrorString(result: int) -> str:
    text = _function("nvmlErrorString")(result)
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else ""


def nvmlSystemGetDriverVersion() -> str:
    return _get_string("nvmlSystemGetDriverVersion", NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE)


def nvmlSystemGetNVMLVersion() -> str:
    return _get_string("nvmlSystemGetNVMLVersion", NVML_SYSTEM_NVML_VERSION_BUFFER_SIZE)


def nvmlSystemGetCudaDriverVersion() -> int:
    version = ctypes.c_int()
    _call("nvmlSystemGetCudaDriverVersion", ctypes.byref(version))
    return version.value


def nvmlSystemGetCudaDriverVersion_v2() -> int:
    version = ctypes.c_int()
    _call("nvmlSystemGetCudaDriverVersion_v2", ctypes.byref(version))
    return version.value


def nvmlDeviceGetCount() -> int:
    count = ctypes.c_uint()
    _call("nvmlDeviceGetCount_v2", ctypes.byref(count))
    return count.value


def nvmlDeviceGetHandleByIndex(index: int) -> ctypes.c_void_p:
    handle = ctypes.c_void_p()
    _call("nvmlDeviceGetHandleByIndex_v2", index, ctypes.byref(handle))
    return handle


def nvmlDeviceGetName(handle: ctypes.c_void_p) -> str:
    return _get_string("nvmlDeviceGetName", NVML_DEVICE_NAME_V2_BUFFER_SIZE, handle)


def nvmlDeviceGetUUID(handle: ctypes.c_void_p) -> str:
    return _get_string("nvmlDeviceGetUUID", NVML_DEVICE_UUID_V2_BUFFER_SIZE, handle)


def nvmlDeviceGetCudaComputeCapability(handle: ctypes.c_void_p) -> tuple[int, int]:
    major = ctypes.c_int()
    minor = ctypes.c_int()
    _call("nvmlDeviceGetCudaComputeCapability", handle, ctypes.byref(major), ctypes.byref(minor))
    return (major.value, minor.value)


def nvmlDeviceGetMemoryInfo(handle: ctypes.c_void_p) -> c_nvmlMemory_t:
    memory = c_nvmlMemory_t()
    _call("nvmlDeviceGetMemoryInfo", handle, ctypes.byref(memory))
    return memory


def nvmlDeviceGetAttributes_v2(handle: ctypes.c_void_p) -> c_nvmlDeviceAttributes:
    attributes = c_nvmlDeviceAttributes()
    _call("nvmlDeviceGetAttributes_v2", handle, ctypes.byref(attributes))
    return attributes


def nvmlDeviceGetAttributes(handle: ctypes.c_void_p) -> c_nvmlDeviceAttributes:
    return nvmlDeviceGetAttributes_v2(handle)


def nvmlDeviceGetMigMode(handle: ctypes.c_void_p) -> list[int]:
    return _get_uint_pair("nvmlDeviceGetMigMode", handle)


def nvmlDeviceGetEccMode(handle: ctypes.c_void_p) -> list[int]:
    return _get_uint_pair("nvmlDeviceGetEccMode", handle)


def nvmlDeviceGetPersistenceMode(handle: ctypes.c_void_p) -> int:
    return _get_uint("nvmlDeviceGetPersistenceMode", handle)


def nvmlDeviceGetPowerManagementLimit(handle: ctypes.c_void_p) -> int:
    return _get_uint("nvmlDeviceGetPowerManagementLimit", handle)


def nvmlDeviceGetPciInfo_v3(handle: ctypes.c_void_p) -> nvmlPciInfo_t:
    info = nvmlPciInfo_t()
    _call("nvmlDeviceGetPciInfo_v3", handle, ctypes.byref(info))
    return info


def nvmlDeviceGetPciInfo(handle: ctypes.c_void_p) -> nvmlPciInfo_t:
    return nvmlDeviceGetPciInfo_v3(handle)


def nvmlDeviceGetArchitecture(handle: ctypes.c_void_p) -> int:
    return _get_uint("nvmlDeviceGetArchitecture", handle)
