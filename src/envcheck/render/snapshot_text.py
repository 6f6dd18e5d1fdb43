"""The short, readable summary ``envcheck snapshot`` prints by default."""

from __future__ import annotations

from ..model import Fingerprint
from ..probe.conda import build_variant
from .escape import terminal

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..model.sections import (
        Conda,
        CpuSection,
        CudaSection,
        FrameworkInfo,
        Gpus,
        OsSection,
        Packages,
        ProbeError,
        SystemPackagesSection,
    )

_ISA_SHOWN = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "asimd", "sve")


def _framework_line(name: str, info: FrameworkInfo) -> str:
    parts = [f"{name} {info.get('version')}"]
    build = info.get("build")
    if build:
        details = [f"{build} build"]
        if info.get("cuda"):
            details.append(f"CUDA {info.get('cuda')}")
        if info.get("cudnn"):
            details.append(f"cuDNN {info.get('cudnn')}")
        parts.append("(" + ", ".join(details) + ")")
    if info.get("blas"):
        version = f" {info.get('blas_version')}" if info.get("blas_version") else ""
        parts.append(f"(BLAS {info.get('blas')}{version})")
    if info.get("git_revision"):
        parts.append(f"git {str(info.get('git_revision'))[:10]}")
    return " ".join(parts)


def _cuda_lines(cuda: CudaSection) -> list[str]:
    lines = []
    if cuda.get("driver_version"):
        lines.append(f"driver {cuda.get('driver_version')} (supports CUDA "
                     f"{cuda.get('driver_cuda_version') or '?'})")
    wheels = cuda.get("wheels") or {}
    if wheels:
        lines.append("wheels " + ", ".join(f"{k} {v}" for k, v in sorted(wheels.items())))
    libraries = cuda.get("system_libraries") or {}
    if libraries:
        lines.append("system libraries " + ", ".join(
            f"{k} {v.get('version')}" for k, v in sorted(libraries.items())))
    resolved = cuda.get("framework_libraries") or {}
    if resolved:
        lines.append("frameworks load " + "; ".join(
            f"{framework}: " + ", ".join(f"{entry.get('file') or name + ' (not found)'}"
                                         for name, entry in sorted(linked.items()))
            for framework, linked in sorted(resolved.items())))
    toolkit = cuda.get("toolkit")
    if toolkit:
        lines.append(f"system toolkit {toolkit.get('version')} (nvcc, for building extensions; "
                     "not what the frameworks load)")
    return lines or ["none found"]


def _conda_lines(records: Conda) -> list[str]:
    """The records that decide numerics, in two lines: BLAS and OpenMP, then CUDA."""
    def show(name: str) -> str | None:
        record = records.get(name)
        if not isinstance(record, dict):
            return None
        return f"{name} {record.get('version')}={record.get('build')}"

    channels = sorted({str(r.get("channel")) for r in records.values()
                       if isinstance(r, dict) and r.get("channel")})
    blas = next((build_variant(n, (records.get(n) or {}).get("build"))
                 for n in ("libblas", "blas") if n in records), None)
    openmp = build_variant("_openmp_mutex", (records.get("_openmp_mutex") or {}).get("build"))
    first = [f"{len(records)} records" + (f" from {', '.join(channels[:3])}" if channels else ""),
             f"BLAS {blas or 'unknown'}", *filter(None, map(show, ("libblas", "mkl",
                                                                 "libopenblas")))]
    if openmp:
        first.append(f"OpenMP {openmp}")
    cuda = list(filter(None, map(show, ("cuda-version", "cudatoolkit", "cudnn", "nccl"))))
    return [", ".join(first)] + ([", ".join(cuda)] if cuda else [])


def _system_packages_line(system: SystemPackagesSection) -> str:
    packages = system.get("packages") or {}
    shown = [f"{name} {info.get('version')}" for name, info in sorted(packages.items())
             if isinstance(info, dict)]
    alternatives = system.get("alternatives") or {}
    chosen = [f"{link} -> {target}" for link, target in sorted(alternatives.items())]
    return ", ".join(shown + chosen) or "none that carry CUDA, BLAS or OpenMP libraries"


def _gpu_lines(gpus: Gpus, errors: list[ProbeError]) -> list[str]:
    if not gpus:
        reason = next((e.get("message") for e in errors if e.get("section") == "gpus"), None)
        return [f"none ({reason})" if reason else "none"]
    return [
        f"[{g.get('index')}] {g.get('name')}, compute capability {g.get('compute_capability')}, "
        f"{g.get('memory_total_mib')} MiB, {g.get('multiprocessors') or '?'} SMs"
        + ("" if g.get("visible_as") is not None else " (hidden by CUDA_VISIBLE_DEVICES)")
        for g in gpus
    ]


def _cpu_line(cpu: CpuSection) -> str:
    flags = [f for f in cpu.get("flags") or [] if f in _ISA_SHOWN]
    return (f"{cpu.get('model')} ({cpu.get('architecture')}), "
            f"{cpu.get('usable_cores')} of {cpu.get('logical_cores')} cores usable"
            + (f", {' '.join(flags).upper()}" if flags else ""))


def _os_line(os_info: OsSection) -> str:
    distribution = (os_info.get("distribution") or {}).get("name") or os_info.get("system")
    libc = os_info.get("libc") or {}
    line = (f"{distribution}, {libc.get('name')} {libc.get('version')}, "
            f"kernel {os_info.get('kernel')}")
    return line + (f", in {os_info.get('container')}" if os_info.get("container") else "")


def _edited_lines(packages: Packages) -> list[str]:
    """Deep snapshots: each package whose files differ from its RECORD."""
    lines = []
    for name, package in sorted(packages.items()):
        changed = package.get("files_changed")
        if isinstance(changed, dict) and changed:
            counts = ", ".join(f"{len(files)} {kind}" for kind, files in sorted(changed.items())
                               if isinstance(files, list))
            files = [f for listed in changed.values() if isinstance(listed, list)
                     for f in listed]
            more = ", ..." if len(files) > 1 else ""
            lines.append(f"{name}: files differ from RECORD ({counts}: {files[0]}{more})"
                         if files else f"{name}: files differ from RECORD")
    return lines


def render_snapshot(fingerprint: Fingerprint) -> str:
    data = fingerprint.data
    python = fingerprint.python
    packages = fingerprint.packages
    shadowed = sum(1 for p in packages.values() if p.get("shadowed"))
    settings = {k: v for k, v in fingerprint.env.items() if v is not None}
    rows: list[tuple[str, list[str]]] = [
        ("python", [f"{python.get('implementation')} {python.get('version')}, "
                    f"{python.get('wheel_tag')}"
                    + (", virtualenv" if python.get("virtualenv") else "")
                    + (f", conda env {python.get('conda_env')}" if python.get("conda_env")
                       else "")]),
        ("packages", [f"{len(packages)} distribution{'' if len(packages) == 1 else 's'}"
                      + (f", {shadowed} with shadowed copies" if shadowed else ""),
                      *_edited_lines(packages)]),
        *([("conda", _conda_lines(fingerprint.conda))] if fingerprint.conda else []),
        ("frameworks", [_framework_line(name, info)
                        for name, info in sorted(fingerprint.frameworks.items()) if info]
         or ["none found"]),
        ("cuda", _cuda_lines(fingerprint.cuda)),
        ("gpus", _gpu_lines(fingerprint.gpus, fingerprint.errors)),
        ("cpu", [_cpu_line(fingerprint.cpu)]),
        ("os", [_os_line(fingerprint.os)]),
        *([("system", [_system_packages_line(fingerprint.system_packages)])]
          if fingerprint.system_packages else []),
        ("settings", [f"{k}={v}" for k, v in sorted(settings.items())]
         or ["none of the numerics settings are set"]),
    ]
    image = data.get("image") or data.get("container")
    if isinstance(image, dict):
        tags = image.get("repo_tags") or [image.get("image") or image.get("name")]
        rows.insert(0, ("image", [f"{', '.join(map(str, tags))} ({str(image.get('id'))[:19]})"]))
    numerics = data.get("numerics")
    if isinstance(numerics, dict):
        canaries = numerics.get("canaries") or {}
        sensitive = sorted(n for n, r in canaries.items() if isinstance(r, dict)
                           and (r.get("thread_sensitive") or r.get("deterministic") is False))
        rows.append(("numerics", [f"{len(canaries)} canaries, numerics id "
                                  f"{str(data.get('numerics_id'))[:12]}"]
                     + ([f"thread-sensitive or run-to-run different here: {', '.join(sensitive)}"]
                        if sensitive else [])))
    notes = [e for e in fingerprint.errors if e.get("section") != "gpus"]
    if notes:
        rows.append(("notes", [f"{e.get('section')}: {e.get('message')}" for e in notes]))
    out = [f"envcheck fingerprint {fingerprint.short_id}"]
    for label, lines in rows:
        for i, line in enumerate(lines):
            out.append(f"  {label if i == 0 else '':<11} {terminal(line)}")
    return "\n".join(out) + "\n"
