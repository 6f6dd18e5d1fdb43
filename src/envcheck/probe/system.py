"""The interpreter and the operating system around it."""

from __future__ import annotations

import os
import sys

from . import _common
from ._common import getenv, glob, isdir, listdir, read_text, realpath, uname, watch

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds at start-up; annotations are strings
    from typing import Dict, Optional, Tuple

    from ._common import JSONDict


def libc() -> Tuple[Optional[str], Optional[str]]:
    """(name, version) of the C library: glibc's libm results changed in 2.28."""
    try:
        name, version = os.confstr("CS_GNU_LIBC_VERSION").split()  # type: ignore[union-attr]
        return name, version
    except (AttributeError, ValueError, OSError):
        pass
    musl = glob("/lib/ld-musl-*.so.1")
    if musl:
        return "musl", None
    import platform  # neither glibc nor musl: let platform search the binary

    name, version = platform.libc_ver()
    return (name or None), (version or None)


def _arch() -> str:
    import sysconfig  # the interpreter's facts alone: the OS facts do not need it

    return sysconfig.get_platform().split("-", 1)[-1].replace("-", "_").replace(".", "_")


def wheel_tag() -> str:
    """The most specific wheel tag this interpreter accepts (``packaging.tags.sys_tags()[0]``)."""
    import sysconfig  # the interpreter's facts alone: the OS facts do not need it

    impl = {"cpython": "cp", "pypy": "pp"}.get(sys.implementation.name, "py")
    version = "%d%d" % sys.version_info[:2]
    interpreter = impl + version
    if impl == "cp":
        threaded = "t" if sysconfig.get_config_var("Py_GIL_DISABLED") else ""
        debug = "d" if hasattr(sys, "gettotalrefcount") else ""
        abi = "cp%s%s%s" % (version, debug, threaded)
    else:
        soabi = sysconfig.get_config_var("SOABI") or "none"
        abi = soabi.split("-")[0].replace(".", "_").replace("-", "_")
    system = uname()[0]
    if system == "Linux":
        name, libc_version = libc()
        arch = _arch()
        if name == "glibc" and libc_version:
            major, minor = libc_version.split(".")[:2]
            plat = "manylinux_%s_%s_%s" % (major, minor, arch)
        else:
            plat = "linux_%s" % arch
    elif system == "Darwin":
        import platform

        release = (platform.mac_ver()[0] or "10.0").split(".")
        mac_major = int(release[0])
        mac_minor = 0 if mac_major >= 11 else int(release[1])
        plat = "macosx_%d_%d_%s" % (mac_major, mac_minor, uname()[4])
    else:
        plat = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return "%s-%s-%s" % (interpreter, abi, plat)


def _conda_env() -> Optional[str]:
    if isdir(os.path.join(sys.prefix, "conda-meta")):
        return getenv("CONDA_DEFAULT_ENV") or os.path.basename(sys.prefix)
    return None


# CPython's sys.version, "3.11.7 (main, Dec  8 2023, 18:56:58) [GCC 12.2.0]", read with
# the expression the platform module uses (3.8 to 3.13), which costs milliseconds to import.
_SYS_VERSION = (
    r"([\w.+]+)\s*\(#?([^,]+)(?:,\s*([\w ]*)(?:,\s*([\w :]*))?)?\)\s*\[([^\]]+)\]?")


def python_build() -> Tuple[str, str, str, str]:
    """(version, build number, build date, compiler): ``platform.python_version()``,
    ``python_build()`` and ``python_compiler()``."""
    import re  # compiled only where the interpreter is probed, not the OS

    match = re.match(_SYS_VERSION, sys.version, re.ASCII) \
        if sys.implementation.name == "cpython" else None
    if match is None:
        import platform

        number, date = platform.python_build()
        return platform.python_version(), number, date, platform.python_compiler()
    version, number, date, clock, compiler = match.groups()
    if len(version.split(".")) == 2:
        version += ".0"
    date = "" if date is None else ("%s %s" % (date, clock) if clock else date)
    return version, number, date, compiler


# The variables that steer how the interpreter starts: where its sys.path comes from.
STARTUP_VARIABLES = ("PYTHONPATH", "PYTHONHOME", "PYTHONNOUSERSITE", "PYTHONUSERBASE",
                     "PYTHONSAFEPATH", "PYTHONPLATLIBDIR", "HOME")


def _libc_file() -> Optional[str]:
    """The C library this process has mapped (its version is in the wheel tag): an
    upgrade replaces the file. /proc/self/maps is this process's own, so read unnoted."""
    try:
        with open("/proc/self/maps", "rb") as handle:
            maps = handle.read(1 << 20)
    except OSError:
        return None
    for line in maps.splitlines():
        path = line.partition(b" /")[2]
        name = path.rpartition(b"/")[2]
        if name.startswith((b"libc.so", b"libc-", b"ld-musl")):
            return "/" + path.decode("utf-8", "replace")
    return None


def note_interpreter() -> None:
    """Note what decides this interpreter's identity and its sys.path, so that a cached
    python section (sys.path above all) can be trusted without starting it: the
    executable (resolved), pyvenv.cfg, the stdlib's os.py (a patch upgrade of the base
    interpreter), every site-packages directory ``site`` considers (present or absent)
    with the ``*.pth`` files in them and the directories their lines name, the
    sitecustomize and usercustomize it imported, and the variables read at start-up.
    A sitecustomize.py added anywhere on sys.path shows in that directory's listing,
    which the packages collector notes. A few dozen stats; only under a witness."""
    witness = _common.WITNESS
    if witness is None:
        return
    for name in STARTUP_VARIABLES:
        getenv(name)
    # site makes each PYTHONPATH entry absolute at start-up: a relative one names
    # another directory from another working directory, and so does an empty one
    # (``:/opt/lib``, ``/a::/b``), which is the working directory itself.
    pythonpath = getenv("PYTHONPATH")
    if pythonpath and any(not os.path.isabs(entry) for entry in pythonpath.split(os.pathsep)):
        witness.cwd = os.getcwd()
    if sys.executable:
        realpath(sys.executable)
        home = os.path.dirname(sys.executable)
        for directory in (home, os.path.dirname(home)):  # where site looks for it
            watch(os.path.join(directory, "pyvenv.cfg"))
    stdlib_os = getattr(os, "__file__", None)
    if stdlib_os:
        watch(stdlib_os)
    libc_file = _libc_file()
    if libc_file:
        watch(libc_file)
    # site is imported at start-up (unless -S): these are attribute lookups and a few
    # joins, nothing is read.
    site = sys.modules.get("site")
    if site is not None:
        directories = list(getattr(site, "getsitepackages", lambda: [])())
        if getattr(site, "ENABLE_USER_SITE", False):
            directories.append(site.getusersitepackages())
        for directory in directories:
            _note_pth_files(directory)
        # What .pth ``import`` lines and sitecustomize loaded from those directories may
        # have changed sys.path too (a few modules at most; the stdlib is os.py's).
        roots = tuple(os.path.join(d, "") for d in directories)
        for module in list(sys.modules.values()):
            path = getattr(module, "__file__", None)
            if isinstance(path, str) and path.startswith(roots):
                watch(path)
    for name in ("sitecustomize", "usercustomize"):
        path = getattr(sys.modules.get(name), "__file__", None)
        if isinstance(path, str):
            watch(path)


def _note_pth_files(directory: str) -> None:
    """Note a site directory (listing noted even where it is absent), its ``*.pth`` files,
    and every directory a ``.pth`` line names: site adds only those that exist."""
    try:
        names = listdir(directory)
    except OSError:
        return
    for name in sorted(names):
        if not name.endswith(".pth") or name.startswith("."):
            continue
        try:
            lines = read_text(os.path.join(directory, name)).splitlines()
        except OSError:
            continue
        for line in lines:
            line = line.rstrip()
            if line and not line.startswith(("#", "import ", "import\t")):
                watch(os.path.join(directory, line))


def collect_python() -> JSONDict:
    import sysconfig  # the interpreter's facts alone: the OS facts do not need it

    version, build_number, build_date, compiler = python_build()
    return {
        "implementation": sys.implementation.name,
        "version": version,
        "build": {"number": build_number, "date": build_date, "compiler": compiler},
        "free_threaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
        "executable": sys.executable,
        "prefix": sys.prefix,
        "base_prefix": getattr(sys, "base_prefix", sys.prefix),
        "virtualenv": getattr(sys, "base_prefix", sys.prefix) != sys.prefix,
        "conda_env": _conda_env(),
        "wheel_tag": wheel_tag(),
        "platform": sysconfig.get_platform(),
        "sys_path": list(sys.path),
    }


def os_release() -> Dict[str, str]:
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        try:
            text = read_text(path)
        except OSError:
            continue
        fields = {}
        for line in text.splitlines():
            key, sep, value = line.partition("=")
            if sep:
                fields[key.strip()] = value.strip().strip("\"'")
        return fields
    return {}


def container() -> Optional[str]:
    """Which container runtime, if any, this process runs under."""
    if os.path.exists("/.dockerenv"):
        return "docker"
    if os.path.exists("/run/.containerenv"):
        return "podman"
    if "KUBERNETES_SERVICE_HOST" in os.environ:
        return "kubernetes"
    try:
        cgroup = read_text("/proc/1/cgroup", 65536)
    except OSError:
        return None
    for marker, runtime in (("kubepods", "kubernetes"), ("docker", "docker"),
                            ("libpod", "podman"), ("containerd", "containerd"), ("lxc", "lxc")):
        if marker in cgroup:
            return runtime
    return None


def collect_os() -> JSONDict:
    release = os_release()
    name, version = libc()
    system, _, kernel, kernel_build, _ = uname()
    return {
        "system": system,
        "kernel": kernel,
        "kernel_build": kernel_build,
        "distribution": {
            "id": release.get("ID"),
            "version": release.get("VERSION_ID"),
            "name": release.get("PRETTY_NAME"),
        },
        "libc": {"name": name, "version": version},
        "container": container(),
    }
