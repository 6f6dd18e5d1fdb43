"""Framework builds, read from the files the packages ship, never by importing them.

Importing torch or tensorflow takes seconds, may initialise CUDA and may crash
on a broken install; the facts that matter are written into small generated
modules (``torch/version.py``, ``tensorflow/python/platform/build_info.py``,
``numpy/__config__.py``) that ``ast`` reads safely. What a module held is kept in
the package cache under the module file's stat, so an unchanged environment is
described without parsing (or even importing ``ast``).
"""

from __future__ import annotations

import os
import re

from ._common import Errors, exists, isdir, listdir, read_bytes, read_text, readlink
from .packages import PackageCache, parse_headers

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds at start-up; annotations are strings
    import ast
    from typing import Any, Callable, Dict, Optional

    from ._common import JSONDict

# Every distribution that installs the ``tensorflow`` import package.
TENSORFLOW_DISTS = (
    "tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tensorflow-intel", "tensorflow-macos",
    "tensorflow-aarch64", "tensorflow-rocm", "intel-tensorflow", "tf-nightly", "tf-nightly-cpu",
    "tf-nightly-gpu",
)
# The packages whose presence and versions matter most (rules and the report's order).
FRAMEWORK_PACKAGES = (
    "torch", *TENSORFLOW_DISTS, "jax", "jaxlib", "jax-cuda*-plugin", "jax-cuda*-pjrt",
    "jax-rocm*-plugin", "jax-rocm*-pjrt", "numpy", "scipy",
)
_JAX_PLUGIN = re.compile(r"^jax-(cuda|rocm)(\d+)-(plugin|pjrt)$")
_NVIDIA_REQUIREMENT = re.compile(r"^(nvidia-[a-z0-9-]+)\s*(?:\[[^\]]*\])?\s*([^;]*)")


def _literal(node: ast.AST) -> Any:
    """Evaluate the literal parts of an expression; anything computed becomes None."""
    import ast  # already imported by module_assignments: a dictionary lookup

    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Dict):
        return {
            _literal(k): _literal(v) for k, v in zip(node.keys, node.values) if k is not None
        }
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal(item) for item in node.elts]
    if isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords:
        # ``collections.OrderedDict([...])`` in older TensorFlow, ``_cleanup({...})`` in numpy.
        inner = _literal(node.args[0])
        if isinstance(inner, list) and all(isinstance(p, list) and len(p) == 2 for p in inner):
            return {p[0]: p[1] for p in inner}
        return inner
    return None


def module_assignments(path: str, cache: Optional[PackageCache] = None) -> Dict[str, Any]:
    """Top-level ``NAME = literal`` (and annotated) assignments of a Python file."""
    known = cache.file_facts(path) if cache is not None else None
    if isinstance(known, dict):
        return known
    import ast  # only on a cache miss: the import alone costs milliseconds

    tree = ast.parse(read_text(path), filename=path)
    values: Dict[str, Any] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                if isinstance(target, ast.Name):
                    values[target.id] = _literal(stmt.value)
        elif (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)
              and stmt.value is not None):
            values[stmt.target.id] = _literal(stmt.value)
    if cache is not None:
        cache.remember_file(path, values)
    return values


def _package_file(dist: JSONDict, *parts: str) -> str:
    return os.path.join(dist["location"], *parts)


def _nvidia_requirements(dist: JSONDict) -> Dict[str, str]:
    """The ``nvidia-*`` wheels a framework pins: the CUDA libraries it was built against."""
    meta = _package_file(dist, _info_dir_name(dist), "METADATA")
    try:
        headers = parse_headers(read_text(meta))
    except OSError:
        return {}
    pins: Dict[str, str] = {}
    for requirement in headers.get("requires-dist", []):
        match = _NVIDIA_REQUIREMENT.match(requirement.strip())
        if match and "extra ==" not in requirement:
            pins[match.group(1)] = match.group(2).strip()
    return pins


def _info_dir_name(dist: JSONDict) -> str:
    # Wheels name the folder NAME-VERSION.dist-info with NAME's '-' as '_'.
    for candidate in (dist["name"].replace("-", "_"), dist["name"]):
        name = "%s-%s.dist-info" % (candidate, dist["version"])
        if isdir(_package_file(dist, name)):
            return name
    return "%s-%s.dist-info" % (dist["name"], dist["version"])


def _build_kind(cuda: Optional[str], rocm: Optional[str] = None, xpu: Optional[str] = None) -> str:
    if cuda:
        return "cuda"
    if rocm:
        return "rocm"
    if xpu:
        return "xpu"
    return "cpu"


def _cached_text_facts(path: str, read: Callable[[str], JSONDict],
                       cache: Optional[PackageCache]) -> JSONDict:
    """``read(path)``, remembered under the file's stat like ``module_assignments``."""
    known = cache.file_facts(path) if cache is not None else None
    if isinstance(known, dict):
        return known
    try:
        facts = read(path)
    except OSError:
        facts = {}
    if cache is not None:
        cache.remember_file(path, facts)
    return facts


def _aten_config(path: str) -> JSONDict:
    """``#define AT_MKL_ENABLED() 1`` lines of the ``ATen/Config.h`` torch ships: whether
    its BLAS/LAPACK is MKL and whether oneDNN (MKLDNN) kernels are built in."""
    defines = dict(re.findall(r"^#define (AT_[A-Z_]+)\(\) (\d)", read_text(path), re.MULTILINE))
    if not defines:
        return {}
    mkl = defines.get("AT_MKL_ENABLED") == "1"
    with_blas = defines.get("AT_BUILD_WITH_BLAS") == "1"
    return {"mkl": mkl, "mkldnn": defines.get("AT_MKLDNN_ENABLED") == "1",
            "blas": "mkl" if mkl else ("other" if with_blas else None)}


def _torch(dist: JSONDict, cache: Optional[PackageCache] = None) -> JSONDict:
    info = module_assignments(_package_file(dist, "torch", "version.py"), cache)
    pins = _nvidia_requirements(dist)
    cudnn = next((v for k, v in pins.items() if k.startswith("nvidia-cudnn")), None)
    aten = _cached_text_facts(_package_file(dist, "torch", "include", "ATen", "Config.h"),
                              _aten_config, cache)
    return {
        "distribution": dist["name"],
        "version": info.get("__version__", dist["version"]),
        "build": _build_kind(info.get("cuda"), info.get("hip"), info.get("xpu")),
        "cuda": info.get("cuda"),
        "hip": info.get("hip"),
        "cudnn": cudnn.lstrip("=") if cudnn else None,
        "git_revision": info.get("git_version"),
        "debug": info.get("debug"),
        "nvidia_requirements": pins,
        "blas": aten.get("blas"),
        "mkl": aten.get("mkl"),
        "mkldnn": aten.get("mkldnn"),
    }


_TF_GIT_VERSION = re.compile(rb"v\d+\.\d+\.\d+[0-9A-Za-z.-]*?-g([0-9a-f]{7,40})\x00")


def _tf_git_version(path: str) -> JSONDict:
    """TensorFlow's ``tf.version.GIT_VERSION`` (``v2.21.0-rc1-5-ga481b10260d``) is a string
    compiled into its session wrapper (about 1 MB), not written to any Python file."""
    found = _TF_GIT_VERSION.search(read_bytes(path))
    return {"git_version": found.group(0)[:-1].decode("ascii")} if found else {}


def _tensorflow(dist: JSONDict, cache: Optional[PackageCache] = None) -> JSONDict:
    build_info = module_assignments(
        _package_file(dist, "tensorflow", "python", "platform", "build_info.py"), cache
    ).get("build_info") or {}
    is_cuda = bool(build_info.get("is_cuda_build"))
    is_rocm = bool(build_info.get("is_rocm_build"))
    return {
        "distribution": dist["name"],
        "version": dist["version"],
        "build": _build_kind("yes" if is_cuda else None, "yes" if is_rocm else None),
        "cuda": build_info.get("cuda_version") if is_cuda else None,
        "cudnn": build_info.get("cudnn_version") if is_cuda else None,
        "cuda_compute_capabilities": build_info.get("cuda_compute_capabilities"),
        "git_revision": _cached_text_facts(
            _package_file(dist, "tensorflow", "python", "client", "_pywrap_tf_session.so"),
            _tf_git_version, cache).get("git_version"),
        "nvidia_requirements": _nvidia_requirements(dist),
    }


def _jax(packages: Dict[str, JSONDict]) -> JSONDict:
    jax = packages.get("jax")
    jaxlib = packages.get("jaxlib")
    plugins = {key: dist["version"] for key, dist in packages.items() if _JAX_PLUGIN.match(key)}
    result: JSONDict = {
        "version": jax["version"] if jax else None,
        "jaxlib": jaxlib["version"] if jaxlib else None,
        "plugins": plugins,
        "cuda": None,
        "cudnn": None,
    }
    # Old jaxlib wheels carry the build in their local label: 0.4.1+cuda11.cudnn86.
    label = (jaxlib or {}).get("version", "").partition("+")[2]
    for part in label.split("."):
        if part.startswith("cuda"):
            result["cuda"] = part[4:]
        elif part.startswith("cudnn"):
            result["cudnn"] = part[5:]
    for key in plugins:
        match = _JAX_PLUGIN.match(key)
        if match and match.group(1) == "cuda" and not result["cuda"]:
            result["cuda"] = match.group(2)
    result["build"] = "cuda" if result["cuda"] else "rocm" if any("rocm" in k for k in plugins) \
        else "cpu"
    return result


def blas_backend(config: Dict[str, Any]) -> JSONDict:
    """BLAS/LAPACK backend from a numpy/scipy ``__config__.py``, meson or distutils era."""
    meson = config.get("CONFIG")
    if isinstance(meson, dict):
        deps = meson.get("Build Dependencies") or {}
        blas = deps.get("blas") or {}
        lapack = deps.get("lapack") or {}
        return {
            "blas": blas.get("name"),
            "blas_version": blas.get("version"),
            "lapack": lapack.get("name"),
            "lapack_version": lapack.get("version"),
        }
    # distutils era: ``blas_opt_info = {...}``, ``openblas64__info = {...}``, ...
    found = sorted(name for name, value in config.items() if name.endswith("_info") and value)
    text = " ".join(found)
    backend = next((b for b in ("mkl", "openblas", "blis", "accelerate", "atlas") if b in text),
                   None)
    return {"blas": backend, "blas_version": None, "lapack": backend, "lapack_version": None}


ALTERNATIVES = "/etc/alternatives"
# What a build names when it links the generic libblas.so.3 / liblapack.so.3 (Debian's
# python3-numpy and python3-scipy): the implementation is whatever the alternative says.
_GENERIC_BLAS = (None, "blas", "cblas", "lapack", "generic")


def _variant(target: str) -> str:
    """``/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3`` -> ``openblas-pthread``;
    the reference BLAS (``blas/``, ``lapack/``) -> ``reference``; MKL's ``libmkl_rt.so``
    -> ``mkl``."""
    if os.path.basename(target).startswith("libmkl"):
        return "mkl"
    directory = os.path.basename(os.path.dirname(target))
    return "reference" if directory in ("blas", "lapack") else directory


def debian_alternatives_blas(alternatives: str = ALTERNATIVES) -> JSONDict:
    """The BLAS and LAPACK that ``libblas.so.3`` and ``liblapack.so.3`` mean on a Debian or
    Ubuntu system: update-alternatives' links ``/etc/alternatives/libblas.so.3-<triplet>``
    (links read, nothing run). {} where there are none."""
    import sys

    triplet = getattr(sys.implementation, "_multiarch", None)
    facts: JSONDict = {}
    for soname, key in (("libblas.so.3", "blas"), ("liblapack.so.3", "lapack")):
        names = ["%s-%s" % (soname, triplet)] if triplet else []
        try:
            names += sorted(n for n in listdir(alternatives)
                            if n.startswith(soname + "-") and n not in names)
        except OSError:
            return {}
        for name in names:
            try:
                target = readlink(os.path.join(alternatives, name))
            except OSError:
                continue
            facts[key] = _variant(target)
            break
    return facts


def _system_blas(dist: JSONDict, backend: JSONDict, alternatives: str) -> JSONDict:
    """A Debian-packaged numpy or scipy (``dist-packages`` of the system Python) names the
    generic BLAS it was built against; the one it loads is the alternatives' choice."""
    location = str(dist.get("location") or "")
    if not location.startswith("/usr/") or "dist-packages" not in location \
            or backend.get("blas") not in _GENERIC_BLAS:
        return {}
    return debian_alternatives_blas(alternatives)


def _versioneer(dist: JSONDict, package: str, cache: Optional[PackageCache]) -> JSONDict:
    """numpy 1.22-1.25 compute ``git_revision`` from versioneer's ``_version.py``, whose
    facts sit in a JSON string (``version_json``)."""
    path = _package_file(dist, package, "_version.py")
    if not exists(path):
        return {}
    import json

    try:
        facts = json.loads(str(module_assignments(path, cache).get("version_json") or ""))
    except ValueError:
        return {}
    if not isinstance(facts, dict):
        return {}
    return {"version": facts.get("version"), "git_revision": facts.get("full-revisionid")}


def _numeric(dist: JSONDict, package: str, cache: Optional[PackageCache] = None,
             alternatives: str = ALTERNATIVES) -> JSONDict:
    version = module_assignments(_package_file(dist, package, "version.py"), cache)
    if not isinstance(version.get("git_revision"), str):
        version = {**version, **_versioneer(dist, package, cache)}
    config = module_assignments(_package_file(dist, package, "__config__.py"), cache)
    result: JSONDict = {
        "version": version.get("full_version") or version.get("version") or dist["version"],
        "git_revision": version.get("git_revision"),
    }
    backend = blas_backend(config)
    result.update(backend)
    result.update(_system_blas(dist, backend, alternatives))
    return result


def collect_frameworks(packages: Dict[str, JSONDict], errors: Errors,
                       cache: Optional[PackageCache] = None) -> Dict[str, Any]:
    frameworks: Dict[str, Any] = {}

    def read(name: str, reader: Callable[[], JSONDict]) -> None:
        frameworks[name] = errors.guard("frameworks.%s" % name, reader, None)

    if "torch" in packages:
        read("torch", lambda: _torch(packages["torch"], cache))
    tf_dist = next((packages[d] for d in TENSORFLOW_DISTS if d in packages), None)
    if tf_dist is not None:
        read("tensorflow", lambda: _tensorflow(tf_dist, cache))
    if "jax" in packages or "jaxlib" in packages:
        read("jax", lambda: _jax(packages))
    if "numpy" in packages:
        read("numpy", lambda: _numeric(packages["numpy"], "numpy", cache))
    if "scipy" in packages:
        read("scipy", lambda: _numeric(packages["scipy"], "scipy", cache))
    return frameworks
