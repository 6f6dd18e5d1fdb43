"""Typed views of a fingerprint's sections, for mypy: import this only under TYPE_CHECKING.

``Fingerprint.data`` is a ``dict[str, Any]``: it comes from JSON and is checked by
shape (``fingerprint._SHAPES``), not by class. Code that reads a section
annotates it with a view from here, and mypy then checks every key it reads and
the type of every value::

    if TYPE_CHECKING:
        from .model.sections import OsSection

    os_info: OsSection = fingerprint.data.get("os") or {}
    system = os_info.get("system")          # str | None; a misspelt key is an error

Nothing here exists at run time (the snapshot path never imports typing for it).
Every key may be absent, from an older envcheck or another probe, and most
values may be null (a probe that could not tell), so every view is
``total=False`` and every value ``X | None``.
"""

from __future__ import annotations

from typing import TypedDict, Union

# A parsed JSON document, before anything has checked its shape. Use it (or ``object``)
# for input not yet validated, and narrow with isinstance; ``Fingerprint.data`` stays a
# ``dict[str, Any]`` because it *is* validated, by shape, and the views below type it.
JSONValue = Union[str, int, float, bool, None, list["JSONValue"], dict[str, "JSONValue"]]
JSONObject = dict[str, JSONValue]


class ProbeError(TypedDict, total=False):
    """One item of ``errors``: what a probe could not find out, and why."""

    section: str | None  # the section it concerns: gpus, cuda, ...
    kind: str | None  # error, warning
    message: str | None


class Libc(TypedDict, total=False):
    name: str | None  # glibc, musl
    version: str | None


class Distribution(TypedDict, total=False):
    id: str | None  # os-release ID: debian, ubuntu, rhel
    name: str | None
    version: str | None


class OsSection(TypedDict, total=False):
    """``os``: the operating system."""

    system: str | None  # Linux, Darwin, Windows
    kernel: str | None
    kernel_build: str | None
    container: str | None  # docker, podman, ... when inside one
    distribution: Distribution | None
    libc: Libc | None


class PythonBuild(TypedDict, total=False):
    """``python.build``: how the interpreter was built, from platform.python_build()."""

    number: str | None  # the build's tag or branch: "main", "tags/v3.12.3"
    date: str | None
    compiler: str | None  # "GCC 12.2.0"


class PythonSection(TypedDict, total=False):
    """``python``: the interpreter."""

    version: str | None
    implementation: str | None
    executable: str | None
    prefix: str | None
    base_prefix: str | None
    virtualenv: bool | None
    conda_env: str | None
    platform: str | None
    wheel_tag: str | None
    free_threaded: bool | None
    sys_path: list[str] | None
    build: PythonBuild | None


class CpuSection(TypedDict, total=False):
    """``cpu``: the processor as the process sees it."""

    architecture: str | None  # x86_64, aarch64
    vendor: str | None
    model: str | None
    flags: list[str] | None  # instruction-set extensions
    logical_cores: int | None
    physical_cores: int | None
    usable_cores: int | None  # affinity and cgroup limits applied
    cgroup_cpu_limit: float | None
    memory_total_mib: int | None


class GpuInfo(TypedDict, total=False):
    """One item of ``gpus``."""

    index: int | None
    name: str | None
    uuid: str | None
    pci_bus_id: str | None
    architecture: str | None
    compute_capability: str | None  # "8.0"
    memory_total_mib: int | None
    multiprocessors: int | None
    ecc: bool | None
    mig_mode: bool | None
    persistence_mode: bool | None
    power_limit_w: float | None
    visible_as: int | None  # the index this process sees (CUDA_VISIBLE_DEVICES)


class CudaToolkit(TypedDict, total=False):
    root: str | None
    source: str | None  # where the version was read: dist-info, version.json, nvcc
    version: str | None


class CudaLibrary(TypedDict, total=False):
    directory: str | None
    version: str | None


class LinkedLibrary(TypedDict, total=False):
    """A library a framework's binaries load, as the dynamic loader would find it."""

    kind: str | None  # cudart, cudnn, blas, ...
    file: str | None  # None: not found
    directory: str | None
    via: str | None  # rpath, runpath, LD_LIBRARY_PATH, ldconfig, ...


class CudaSection(TypedDict, total=False):
    """``cuda``: the driver, the toolkit and the libraries found."""

    binding: str | None  # how NVML was reached
    driver_version: str | None
    driver_cuda_version: str | None  # the newest CUDA the driver supports
    nvml_version: str | None
    toolkit: CudaToolkit | None
    system_libraries: dict[str, CudaLibrary] | None  # cudart, cudnn, nccl, ...
    framework_libraries: dict[str, dict[str, LinkedLibrary]] | None  # framework -> its libs
    wheels: dict[str, str] | None  # nvidia-* wheel -> version


class FrameworkInfo(TypedDict, total=False):
    """One value of ``frameworks`` (torch, tensorflow, jax, numpy, scipy): None when its
    files could not be read. Which keys are present depends on the framework."""

    distribution: str | None
    version: str | None
    build: str | None  # cpu, cuda, rocm, xpu
    cuda: str | None  # the CUDA it was built for
    cudnn: str | None
    hip: str | None
    git_revision: str | None
    debug: bool | None
    nvidia_requirements: dict[str, str] | None  # nvidia-* wheel -> specifier it pins
    cuda_compute_capabilities: list[str] | None  # tensorflow
    jaxlib: str | None  # jax
    plugins: dict[str, str] | None  # jax: plugin distribution -> version
    blas: str | None
    blas_version: str | None
    lapack: str | None
    lapack_version: str | None
    mkl: bool | None  # torch
    mkldnn: bool | None  # torch


class ShadowedCopy(TypedDict, total=False):
    """A copy of a distribution further down sys.path, never imported."""

    version: str | None
    location: str | None


class WheelFacts(TypedDict, total=False):
    """``packages.*.wheel``: what the distribution's WHEEL file says."""

    tags: list[str]  # py3-none-any, cp312-cp312-manylinux_2_28_x86_64, ...
    root_is_purelib: bool | None
    build: str | None  # the build tag, if any


class DirectUrl(TypedDict, total=False):
    """``packages.*.direct_url``: PEP 610's direct_url.json, credentials removed."""

    url: str | None
    editable: bool | None  # dir_info
    vcs: str | None  # vcs_info: git, hg, ...
    commit_id: str | None
    requested_revision: str | None
    archive_hashes: dict[str, str] | None  # archive_info: algorithm -> digest


class PackageEntry(TypedDict, total=False):
    """One value of ``packages``: an installed distribution (``version`` always a string)."""

    name: str
    version: str
    location: str | None  # the sys.path entry
    installer: str | None
    requested: bool | None
    format: str | None  # dist-info, egg-info, egg
    files: int | None
    record_digest: str | None
    wheel: WheelFacts | None
    direct_url: DirectUrl | None
    shadowed: list[ShadowedCopy] | None
    files_changed: dict[str, list[str]] | None  # deep snapshots: modified, missing, added


class CondaRecord(TypedDict, total=False):
    """One value of ``conda``: an installed conda package, from its conda-meta record."""

    name: str
    version: str
    build: str | None
    build_number: int | None
    channel: str | None
    subdir: str | None  # linux-64, noarch, ...
    md5: str | None
    sha256: str | None
    python: str | None  # the Python distribution it installed, if any


class SystemPackage(TypedDict, total=False):
    """One value of ``system_packages.packages``: a dpkg or RPM package."""

    version: str | None
    architecture: str | None
    manager: str | None  # dpkg, rpm


class SystemPackagesSection(TypedDict, total=False):
    """``system_packages``: the OS packages that carry CUDA, BLAS or OpenMP libraries."""

    packages: dict[str, SystemPackage] | None
    alternatives: dict[str, str] | None  # Debian alternatives: link -> chosen file


# ``packages``: normalised name -> entry; ``frameworks``: name -> info (None: unreadable);
# ``gpus``: one per device; ``env``: allow-listed variable -> value (None: not set).
Packages = dict[str, PackageEntry]
Frameworks = dict[str, "FrameworkInfo | None"]
Gpus = list[GpuInfo]
Environment = dict[str, "str | None"]
Conda = dict[str, CondaRecord]  # conda record name -> record
