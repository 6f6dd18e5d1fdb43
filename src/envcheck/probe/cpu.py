"""The CPU: what it is, which instruction sets steer numerics, and how much of it we may use."""

from __future__ import annotations

import os

from ._common import read_text, uname

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds at start-up; annotations are strings
    from typing import Any, Dict, List, Optional, Set

    from ._common import JSONDict

# Instruction sets that MKL, oneDNN, OpenBLAS and numpy dispatch on.
NUMERIC_FLAGS = (
    "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512cd", "avx512bw", "avx512dq",
    "avx512vl", "avx512_vnni", "avx512_bf16", "avx512_fp16", "avx_vnni", "amx_tile", "amx_bf16",
    "amx_int8", "amx_fp16",
    # Arm: NEON is ``asimd`` in /proc/cpuinfo.
    "asimd", "asimdhp", "sve", "sve2", "bf16", "i8mm", "sme",
)


def _cpuinfo() -> List[Dict[str, str]]:
    """/proc/cpuinfo as one dict per logical processor."""
    blocks: List[Dict[str, str]] = [{}]
    for line in read_text("/proc/cpuinfo").splitlines():
        if not line.strip():
            if blocks[-1]:
                blocks.append({})
            continue
        key, _, value = line.partition(":")
        blocks[-1][key.strip().lower()] = value.strip()
    return [b for b in blocks if b]


def _cgroup_cpu_limit() -> Optional[float]:
    """CPUs allowed by a cgroup quota (containers, Kubernetes), None when unlimited."""
    try:
        quota, period = read_text("/sys/fs/cgroup/cpu.max").split()[:2]
        return None if quota == "max" else round(int(quota) / int(period), 2)
    except (OSError, ValueError):
        pass
    try:
        quota_us = int(read_text("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"))
        period_us = int(read_text("/sys/fs/cgroup/cpu/cpu.cfs_period_us"))
        return None if quota_us <= 0 else round(quota_us / period_us, 2)
    except (OSError, ValueError):
        return None


def _affinity() -> Optional[int]:
    getter = getattr(os, "sched_getaffinity", None)
    return len(getter(0)) if getter else None


def _psutil() -> Any:
    """psutil, for systems without /proc and /sys; None when it is not installed."""
    try:
        import psutil
    except ImportError:
        return None
    return psutil


def _per_cpu_files(relative: str) -> List[str]:
    """``/sys/devices/system/cpu/cpu[0-9]*/RELATIVE`` that exist, sorted (as ``glob`` gives
    them, without its import and its patterns compiled on every snapshot)."""
    root = "/sys/devices/system/cpu"
    try:
        names = sorted(n for n in os.listdir(root) if n.startswith("cpu") and n[3:].isdigit())
    except OSError:
        return []
    paths = [os.path.join(root, name, relative) for name in names]
    return [path for path in paths if os.path.exists(path)]


def _physical_cores(blocks: List[Dict[str, str]]) -> Optional[int]:
    # Linux reads the same files psutil reads, without its ~20 ms import.
    siblings = set()
    for name in ("core_cpus_list", "thread_siblings_list"):  # the newer name, else the older
        for path in _per_cpu_files("topology/" + name):
            try:
                siblings.add(read_text(path).strip())
            except OSError:
                continue
        if siblings:
            break
    if siblings:
        return len(siblings)
    cores: Set[str] = {
        "%s/%s" % (b.get("physical id", "0"), b["core id"]) for b in blocks if "core id" in b
    }
    if cores:
        return len(cores)
    psutil = _psutil()
    count: Optional[int] = psutil.cpu_count(logical=False) if psutil is not None else None
    return count


def _memory_total_mib() -> Optional[int]:
    try:
        for line in read_text("/proc/meminfo").splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    psutil = _psutil()
    return int(psutil.virtual_memory().total) // (1024 * 1024) if psutil is not None else None


def _processor() -> str:
    """``platform.processor()``: only where /proc/cpuinfo names no model (it may run uname -p)."""
    import platform

    return platform.processor()


def collect_cpu() -> JSONDict:
    try:
        blocks = _cpuinfo()
    except OSError:
        blocks = []
    first = blocks[0] if blocks else {}
    flags = set((first.get("flags") or first.get("features") or "").split())
    return {
        "architecture": uname()[4],
        "vendor": first.get("vendor_id") or first.get("cpu implementer"),
        "model": first.get("model name") or first.get("cpu model") or _processor() or None,
        "flags": [f for f in NUMERIC_FLAGS if f in flags],
        "logical_cores": os.cpu_count(),
        "physical_cores": _physical_cores(blocks),
        "usable_cores": _affinity(),
        "cgroup_cpu_limit": _cgroup_cpu_limit(),
        "memory_total_mib": _memory_total_mib(),
    }
