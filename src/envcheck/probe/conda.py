"""Conda and pixi environments: every record under ``conda-meta/`` of the target prefix.

The libraries that decide numerics in a conda environment (``libblas`` built for
MKL or OpenBLAS, ``mkl``, ``cudnn``, ``nccl``, ``cuda-version``, the OpenMP
runtime) are not Python distributions, so pip's view misses them. conda writes
one JSON document per installed package (its ``PrefixRecord``): name, version,
build string and number, channel, subdir, archive hashes and the files it
installed. pixi writes the same documents.
"""

from __future__ import annotations

import json
import os
import re
import sys

from ._common import getsize, isdir, listdir, read_text, redact
from .packages import normalize_name

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds at start-up; annotations are strings
    from typing import Any, Dict, List, Optional, Tuple

    from ._common import Errors, JSONDict
    from .packages import PackageCache

# A record's own hashes are of the package archive; a longer value is not a hash.
_HEX = re.compile(r"^[0-9a-f]{32}$|^[0-9a-f]{64}$")
_DIST_INFO = re.compile(r"(?:^|/)site-packages/([^/]+?)-[^/-]+\.(?:dist|egg)-info/")
# Channel URLs may carry an anaconda.org token: /t/<token>/.
_CHANNEL_TOKEN = re.compile(r"/t/[^/]+")
_BUILD_PARTS = re.compile(r"[_\-*.]+")
_MAX_RECORD_BYTES = 256 << 20  # torch's record lists every file: tens of MB, not more


# Packages whose build string names a variant: conda-forge's BLAS packages
# (libblas 3.9.0 20_linux64_mkl vs 20_linux64_openblas) and OpenMP mutex (2_gnu vs
# 2_kmp_llvm), the defaults channel's ``blas`` metapackage (1.0 mkl vs openblas).
_VARIANTS: Dict[str, Tuple[str, ...]] = {
    **dict.fromkeys(("libblas", "libcblas", "liblapack", "liblapacke", "blas"),
                    ("mkl", "openblas", "blis", "newaccelerate", "accelerate", "netlib",
                     "flexiblas")),
    "_openmp_mutex": ("llvm", "gnu", "intel"),
}


def build_variant(name: str, build: Any) -> Optional[str]:
    """The variant a build string names (``mkl`` in ``20_linux64_mkl``), for the packages
    that have variants; a build glob from a lock (``*mkl``) names one too."""
    parts = _BUILD_PARTS.split(str(build or "").lower())
    return next((v for v in _VARIANTS.get(name, ()) if v in parts), None)


def conda_prefix() -> Optional[str]:
    """The conda prefix of this interpreter, or of the base of a venv made from one."""
    for prefix in (sys.prefix, getattr(sys, "base_prefix", sys.prefix)):
        if isdir(os.path.join(prefix, "conda-meta")):
            return prefix
    return None


def channel_name(channel: Any, subdir: Any) -> Optional[str]:
    """``conda-forge`` from ``https://conda.anaconda.org/conda-forge/linux-64``: the canonical
    name, since mirrors serve one channel under many hosts."""
    if not isinstance(channel, str) or not channel:
        return None
    value = _CHANNEL_TOKEN.sub("", redact(channel)).rstrip("/")
    if isinstance(subdir, str) and subdir and value.endswith("/" + subdir):
        value = value[:-len(subdir) - 1]
    scheme, sep, rest = value.partition("://")
    if sep and scheme != "file":
        path = rest.partition("/")[2]
        return path or rest
    return value


def python_distribution(files: Any) -> Optional[str]:
    """The Python distribution a conda package installed (its ``*.dist-info`` folder), if any."""
    if not isinstance(files, list):
        return None
    for path in files:
        # A substring test first: torch's record lists tens of thousands of files.
        if isinstance(path, str) and ("-info/" in path):
            match = _DIST_INFO.search(path)
            if match:
                return normalize_name(match.group(1))
    return None


def record_facts(data: Any) -> Optional[JSONDict]:
    """The facts that identify one installed conda package, from its PrefixRecord."""
    if not isinstance(data, dict) or not isinstance(data.get("name"), str) \
            or not isinstance(data.get("version"), str):
        return None
    facts: JSONDict = {
        "name": data["name"],
        "version": data["version"],
        "build": data.get("build") if isinstance(data.get("build"), str) else None,
        "build_number": data.get("build_number") if isinstance(data.get("build_number"), int)
        else None,
        "channel": channel_name(data.get("channel"), data.get("subdir")),
        "subdir": data.get("subdir") if isinstance(data.get("subdir"), str) else None,
    }
    for key in ("md5", "sha256"):
        value = data.get(key)
        if isinstance(value, str) and _HEX.match(value.lower()):
            facts[key] = value.lower()
    python = python_distribution(data.get("files"))
    if python:
        facts["python"] = python
    return facts


def _read_record(path: str, cache: Optional[PackageCache]) -> Optional[JSONDict]:
    known = cache.file_facts(path) if cache is not None else None
    if isinstance(known, dict):
        return known
    if getsize(path) > _MAX_RECORD_BYTES:
        raise ValueError("%s: larger than %d MiB" % (path, _MAX_RECORD_BYTES >> 20))
    facts = record_facts(json.loads(read_text(path)))
    if facts is not None and cache is not None:
        cache.remember_file(path, facts)
    return facts


def collect_conda(errors: Errors, cache: Optional[PackageCache] = None,
                  prefix: Optional[str] = None) -> Dict[str, Any]:
    """Every conda-meta record of the prefix by package name; {} outside a conda prefix."""
    prefix = prefix if prefix is not None else conda_prefix()
    if prefix is None:
        return {}
    meta = os.path.join(prefix, "conda-meta")
    try:
        names: List[str] = sorted(n for n in listdir(meta) if n.endswith(".json"))
    except OSError as exc:
        errors.add("conda", "cannot list %s: %s" % (meta, exc.strerror or exc))
        return {}
    records: Dict[str, Any] = {}
    for name in names:
        path = os.path.join(meta, name)
        try:
            facts = _read_record(path, cache)
        except (OSError, ValueError) as exc:  # JSONDecodeError and UnicodeDecodeError too
            errors.add("conda", "%s: %s" % (name, exc))
            continue
        if facts is None:
            errors.add("conda", "%s: not a conda package record (no name or version)" % name)
            continue
        records.setdefault(facts["name"], facts)
    return records
