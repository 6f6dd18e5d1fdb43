"""System packages that carry numerics libraries: CUDA, cuDNN, NCCL, cuBLAS, BLAS/LAPACK, OpenMP.

dpkg's database on Debian and Ubuntu; RPM's, SQLite or Berkeley DB (``rpm_db``).

Training images install cuDNN and NCCL as Debian packages (``libcudnn9-cuda-12``,
``libnccl2``), and a BLAS through apt (``libopenblas0-pthread`` vs the reference
``libblas3``), where no Python tool looks. dpkg's status database is a text file:
it is read here, nothing is executed. Debian picks the BLAS that ``libblas.so.3``
means with the alternatives system; the link's target is recorded too.
"""

from __future__ import annotations

import os
import re

from ._common import listdir, read_text, readlink, uname
from .rpm_db import rpm_packages, rpmdb_path

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds at start-up; annotations are strings
    from typing import Any, Dict, Optional

    from ._common import Errors, JSONDict

DPKG_STATUS = "/var/lib/dpkg/status"
ALTERNATIVES = "/etc/alternatives"
# Package names that carry the libraries, as Debian, Ubuntu and NVIDIA's repositories name
# them (libcudnn9-cuda-12, libnccl2, cuda-cudart-12-4, libcublas-12-4, libopenblas0-pthread,
# libblas3, libmkl-rt, libgomp1, libomp5-16, ...).
# Only their paragraphs are parsed: most of a status file (hundreds of KB) is never split.
_INTERESTING = re.compile(
    r"(libcudnn\S*|libnccl\S*|cuda-(?:cudart|libraries|runtime|toolkit|nvrtc|cccl|nvjitlink)\S*"
    r"|libcu(?:blas|fft|rand|solver|sparse|dart|da)\S*|libnvrtc\S*|nvidia-cuda\S*"
    # Debian's libnvjitlink12 and libnvblas12, its contrib installer of cuDNN (nvidia-cudnn).
    r"|libnvjitlink\S*|libnvblas\S*|nvidia-cudnn\S*"
    r"|libblas\S*|libcblas\S*|liblapack\S*|libopenblas\S*|libblis\S*|libatlas\S*|libmkl\S*"
    r"|intel-mkl\S*|intel-oneapi-mkl\S*|libgomp\d*|libomp\S*|libiomp\S*|intel-openmp\S*"
    # RPM names: openblas-openmp, flexiblas-netlib, blas, lapack, atlas, libgomp.
    r"|(?:open)?blas(?:64)?(?:[-_]\S+)?|lapack\S*|flexiblas\S*|atlas(?:-\S+)?)$")
# Inside a paragraph: "Field: value" lines; continuation lines start with a space.
_FIELD = re.compile(r"^([A-Za-z-]+):[ \t]*(.*)$", re.MULTILINE)
_ALTERNATIVE = re.compile(r"^(libblas\.so\.3|liblapack\.so\.3|libcblas\.so\.3)(?:-|$)")


def parse_dpkg_status(text: str) -> Dict[str, JSONDict]:
    """Installed packages of interest: name -> {version, architecture, manager}."""
    found: Dict[str, JSONDict] = {}
    # str.find over the text: a regular expression anchored at every line start costs
    # milliseconds on a full system's status file.
    position = 0 if text.startswith("Package: ") else text.find("\nPackage: ")
    while position >= 0:
        start = position + (0 if position == 0 and text.startswith("Package: ") else 1)
        line_end = text.find("\n", start)
        name = text[start + 9:line_end if line_end >= 0 else len(text)].strip()
        position = text.find("\nPackage: ", start + 9)
        if not _INTERESTING.match(name):
            continue
        end = text.find("\n\n", start)
        paragraph = text[start:] if end < 0 else text[start:end]
        fields = dict((m.group(1).lower(), m.group(2).strip())
                      for m in _FIELD.finditer(paragraph))
        if not fields.get("status", "").endswith(" installed"):
            continue
        architecture = fields.get("architecture")
        # Multi-arch systems may hold one package for two architectures: name:arch.
        key = name if name not in found else "%s:%s" % (name, architecture)
        found[key] = {"version": fields.get("version"), "architecture": architecture,
                      "manager": "dpkg"}
    return dict(sorted(found.items()))


def blas_alternatives(directory: str = ALTERNATIVES) -> Dict[str, str]:
    """Which file ``libblas.so.3`` and ``liblapack.so.3`` mean, as Debian's alternatives say."""
    try:
        names = listdir(directory)
    except OSError:
        return {}
    chosen: Dict[str, str] = {}
    for name in sorted(names):
        match = _ALTERNATIVE.match(name)
        if match:
            try:
                target = readlink(os.path.join(directory, name))
            except OSError:
                continue
            # /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 -> "openblas-pthread"
            chosen[match.group(1)] = os.path.basename(os.path.dirname(target))
    return chosen


def collect_system_packages(errors: Optional[Errors] = None, status: str = DPKG_STATUS,
                            alternatives: str = ALTERNATIVES,
                            rpmdb: Optional[str] = None) -> Dict[str, Any]:
    """{"packages": {...}, "alternatives": {...}} from dpkg's database and RPM's (SQLite or
    Berkeley DB); empty where there is neither."""
    if uname()[0] != "Linux":
        return {}
    result: Dict[str, Any] = {}
    text: Optional[str]
    try:
        text = read_text(status)
    except OSError:
        text = None
    if text is not None:
        result["packages"] = parse_dpkg_status(text)
        result["alternatives"] = blas_alternatives(alternatives)
    rpmdb = rpmdb or rpmdb_path()
    if rpmdb is not None:
        packages = result.setdefault("packages", {})
        try:
            for name, facts in rpm_packages(rpmdb):
                if _INTERESTING.match(name):
                    packages.setdefault(name if name not in packages
                                        else "%s:%s" % (name, facts["architecture"]), facts)
        except Exception as exc:  # no sqlite3 module, a locked or damaged database
            if errors is not None:
                errors.add("system_packages", "%s: %s: %s" % (rpmdb, type(exc).__name__, exc))
        result["packages"] = dict(sorted(packages.items()))
    return result
