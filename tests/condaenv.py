"""Conda environments for the tests: a real interpreter's prefix with conda-meta records.

No conda channel is reachable here, so each package's ``conda-meta/*.json`` is
written as conda writes a ``PrefixRecord`` (conda/models/records.py): the
``PackageRecord`` fields (name, version, build, build_number, channel, subdir, fn,
url, md5, sha256, size, depends, constrains, license, timestamp), then
``files``, ``paths_data``, ``link``, ``requested_spec`` and the cache paths.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any, NamedTuple

CONDA_FORGE = "https://conda.anaconda.org/conda-forge"


class Package(NamedTuple):
    name: str
    version: str
    build: str
    build_number: int = 0
    subdir: str = "linux-64"
    channel: str = CONDA_FORGE
    files: tuple[str, ...] = ()

    @property
    def fn(self) -> str:
        return f"{self.name}-{self.version}-{self.build}.conda"

    @property
    def url(self) -> str:
        return f"{self.channel}/{self.subdir}/{self.fn}"

    @property
    def md5(self) -> str:
        return hashlib.md5(self.url.encode()).hexdigest()

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.url.encode()).hexdigest()


# What a conda-forge environment with MKL, CUDA 12.4, cuDNN 9 and NCCL holds (names,
# versions and build strings as conda-forge publishes them).
MKL_STACK = (
    Package("_openmp_mutex", "4.5", "2_kmp_llvm", 2),
    Package("llvm-openmp", "18.1.8", "hf5423f3_0"),
    Package("mkl", "2023.2.0", "h84fe81f_50496", 50496),
    Package("libblas", "3.9.0", "20_linux64_mkl", 20),
    Package("libcblas", "3.9.0", "20_linux64_mkl", 20),
    Package("liblapack", "3.9.0", "20_linux64_mkl", 20),
    Package("cuda-version", "12.4", "h3060b56_3", 3, subdir="noarch"),
    Package("cudnn", "9.1.1.17", "hbc370b7_0"),
    Package("nccl", "2.21.5.1", "h3a97aeb_0"),
    Package("libzlib", "1.3.1", "h4ab18f5_1", 1),
)
# The same environment after switching to OpenBLAS with GNU OpenMP.
OPENBLAS_STACK = (
    *(p._replace(build=p.build.replace("_mkl", "_openblas").replace("kmp_llvm", "gnu"))
      for p in MKL_STACK if p.name not in ("mkl", "llvm-openmp")),
    Package("libopenblas", "0.3.27", "pthreads_hac2b453_1", 1),
    Package("libgomp", "14.1.0", "h77fa898_1", 1),
)


def prefix_record(package: Package) -> dict[str, Any]:
    """The conda-meta document conda writes when it links ``package`` into a prefix."""
    return {
        "build": package.build,
        "build_number": package.build_number,
        "channel": f"{package.channel}/{package.subdir}",
        "constrains": [],
        "depends": [],
        "extracted_package_dir": f"/opt/conda/pkgs/{package.fn[:-6]}",
        "files": list(package.files),
        "fn": package.fn,
        "license": "BSD-3-Clause",
        "link": {"source": f"/opt/conda/pkgs/{package.fn[:-6]}", "type": 1},
        "md5": package.md5,
        "name": package.name,
        "package_tarball_full_path": f"/opt/conda/pkgs/{package.fn}",
        "paths_data": {"paths": [{"_path": f, "path_type": "hardlink",
                                  "sha256": hashlib.sha256(f.encode()).hexdigest(),
                                  "size_in_bytes": 0} for f in package.files],
                       "paths_version": 1},
        "requested_spec": package.name,
        "sha256": package.sha256,
        "size": 12345,
        "subdir": package.subdir,
        "timestamp": 1716000000000,
        "url": package.url,
        "version": package.version,
    }


def write_records(prefix: Path, packages: tuple[Package, ...]) -> None:
    meta = prefix / "conda-meta"
    meta.mkdir(parents=True, exist_ok=True)
    (meta / "history").write_text("")
    for package in packages:
        (meta / f"{package.fn[:-6]}.json").write_text(json.dumps(prefix_record(package)))


def make_env(python: str, prefix: Path, packages: tuple[Package, ...]) -> Path:
    """A real interpreter's prefix (``python -m venv``) that is a conda environment too."""
    subprocess.run([python, "-m", "venv", "--without-pip", str(prefix)], check=True,
                   capture_output=True)
    write_records(prefix, packages)
    return prefix / "bin" / "python"
