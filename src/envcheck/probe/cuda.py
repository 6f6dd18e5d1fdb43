"""The CUDA libraries this environment would load, and any system toolkit.

Frameworks bundle their CUDA runtime in ``nvidia-*`` wheels, so those versions
are what matter; a system toolkit (``nvcc``) only compiles extensions and is
reported as a toolkit, never as "the CUDA version".
"""

from __future__ import annotations

import json
import os
import re

from ._common import access, getenv, glob, isdir, listdir, read_text, realpath, run, stat, uname

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds at start-up; annotations are strings
    from typing import Dict, Iterator, List, Optional

    from ._common import JSONDict

# Libraries whose version changes numerics or the kernels chosen.
_LIBRARY = re.compile(
    r"^lib(cudart|cudnn|cublas|cublasLt|nccl|cufft|curand|cusolver|cusparse|nvrtc|cuda|nvidia-ml)"
    r"\.so\.(\d+(?:\.\d+)*)$"
)
_NVCC_RELEASE = re.compile(r"release (\d+\.\d+), V(\d+(?:\.\d+)*)")
# What every name _LIBRARY matches starts with: a cheap test first, since a system
# library directory holds thousands of names.
_LIBRARY_PREFIXES = ("libcu", "libnccl", "libnvrtc", "libnvidia-ml")
# nvidia-ml-py is the NVML binding, not a CUDA library.
_NOT_CUDA_WHEELS = frozenset(("nvidia-ml-py", "nvidia-ml-py3"))


def nvidia_wheels(packages: Dict[str, JSONDict]) -> Dict[str, str]:
    return {
        name: dist["version"] for name, dist in packages.items()
        if name.startswith("nvidia-") and name not in _NOT_CUDA_WHEELS
    }


def _ld_so_conf_dirs(path: str = "/etc/ld.so.conf", depth: int = 0) -> Iterator[str]:
    try:
        lines = read_text(path).splitlines()
    except OSError:
        return
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line.startswith("include") and depth < 4:
            for included in glob(line.split(None, 1)[1].strip()):
                yield from _ld_so_conf_dirs(included, depth + 1)
        elif line.startswith("/"):
            yield line


def loader_dirs() -> List[str]:
    """The directories the dynamic loader searches, in its order (without the binary cache)."""
    machine = uname()[4]
    dirs = [d for d in (getenv("LD_LIBRARY_PATH") or "").split(":") if d]
    dirs += list(_ld_so_conf_dirs())
    dirs += ["/lib/%s-linux-gnu" % machine, "/usr/lib/%s-linux-gnu" % machine,
             "/lib64", "/usr/lib64", "/lib", "/usr/lib"]
    seen: List[str] = []
    for directory in dirs:
        if directory not in seen:
            seen.append(directory)
    return seen


def system_libraries(dirs: List[str]) -> Dict[str, JSONDict]:
    """The first, most specific ``libX.so.N[.M...]`` of each CUDA library on the loader path."""
    found: Dict[str, JSONDict] = {}
    listed = set()  # (device, inode): /lib/x86_64-linux-gnu is /usr/lib/... on merged-/usr
    for directory in dirs:
        try:
            st = stat(directory)
            if (st.st_dev, st.st_ino) in listed:
                continue  # listed under an earlier name: it can add no library
            listed.add((st.st_dev, st.st_ino))
            names = listdir(directory)  # noted: a library added or removed changes it
        except OSError:
            continue
        best: Dict[str, str] = {}
        for name in names:
            if not name.startswith(_LIBRARY_PREFIXES):
                continue
            match = _LIBRARY.match(name)
            if match and len(match.group(2)) > len(best.get(match.group(1), "")):
                best[match.group(1)] = match.group(2)
        for library, version in best.items():
            if library not in found:
                found[library] = {"version": version, "directory": directory}
    return dict(sorted(found.items()))


def _toolkit_roots() -> List[str]:
    roots = [getenv(v) or "" for v in ("CUDA_HOME", "CUDA_PATH")] + ["/usr/local/cuda"]
    return [r for r in roots if r and isdir(r)]


def _toolkit_from_files(root: str) -> Optional[JSONDict]:
    try:
        data = json.loads(read_text(os.path.join(root, "version.json")))
        return {"version": data["cuda"]["version"], "source": "version.json"}
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        match = re.search(r"(\d+\.\d+(?:\.\d+)?)", read_text(os.path.join(root, "version.txt")))
        if match:
            return {"version": match.group(1), "source": "version.txt"}
    except OSError:
        pass
    # Toolkits assembled from NVIDIA's wheels keep their dist-info folders.
    nvcc = glob(os.path.join(root, "dist-info", "nvidia_cuda_nvcc-*.dist-info"))
    if nvcc:
        version = os.path.basename(nvcc[0])[len("nvidia_cuda_nvcc-"):-len(".dist-info")]
        return {"version": version, "source": "dist-info"}
    return None


def _nvcc_version(nvcc: str, timeout: float) -> Optional[str]:
    out = run([nvcc, "--version"], timeout)
    match = _NVCC_RELEASE.search(out)
    return match.group(2) if match else None


def system_toolkit(timeout: float) -> Optional[JSONDict]:
    """A CUDA toolkit installed on the system: used to build extensions, not loaded by wheels."""
    for root in _toolkit_roots():
        facts = _toolkit_from_files(root)
        if facts:
            facts["root"] = realpath(root)
            return facts
    for directory in (getenv("PATH") or "").split(os.pathsep):
        nvcc = os.path.join(directory, "nvcc")
        # One path noted per PATH entry, not its directory: /usr/bin changes with every
        # package installed, nvcc (present or absent) only with the toolkit.
        if directory and access(nvcc, os.X_OK):
            version = _nvcc_version(nvcc, timeout)
            if version:
                return {"version": version, "source": "nvcc --version", "root": directory}
    return None


def collect_cuda(packages: Dict[str, JSONDict], timeout: float) -> JSONDict:
    return {
        "wheels": nvidia_wheels(packages),
        "system_libraries": system_libraries(loader_dirs()),
        "toolkit": system_toolkit(timeout),
    }
