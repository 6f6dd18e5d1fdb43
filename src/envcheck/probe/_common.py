"""Helpers shared by the probe's collectors.

The probe runs inside the environment being described, often an interpreter
or container envcheck does not control, so this module (like every module of
the probe) uses the standard library alone and runs on CPython 3.8.
"""

from __future__ import annotations

import os
import re

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds at start-up; annotations are strings
    from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar

    T = TypeVar("T")
    JSONDict = Dict[str, Any]


class ProbeTimeout(Exception):
    """A bounded call did not finish in time."""


class Errors:
    """Collects the parts that could not be read; a failed part never fails the probe."""

    def __init__(self) -> None:
        self.entries: List[JSONDict] = []

    def add(self, section: str, message: str, kind: str = "error") -> None:
        self.entries.append({"section": section, "kind": kind, "message": message})

    def guard(self, section: str, collect: Callable[[], T], default: T) -> T:
        """Run one collector; turn any exception into an ``errors`` entry."""
        try:
            return collect()
        except ProbeTimeout as exc:
            self.add(section, str(exc), "timeout")
            if WITNESS is not None:  # the next run may well finish in time
                WITNESS.incomplete = True
        except PermissionError as exc:
            self.add(section, "permission denied: %s" % (exc.filename or exc), "permission")
        except Exception as exc:
            self.add(section, "%s: %s" % (type(exc).__name__, exc))
        return default


def call_with_timeout(func: Callable[[], T], seconds: float, what: str) -> T:
    """Run ``func`` in a daemon thread and give up after ``seconds``.

    Used for calls into native libraries (NVML) that can hang in the kernel
    driver; a hung daemon thread does not keep the process alive.
    """
    import threading  # only the NVML calls need it

    box: Dict[str, Any] = {}

    def runner() -> None:
        try:
            box["value"] = func()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=runner, name="envcheck-probe-" + what, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise ProbeTimeout("%s did not answer within %.1f s" % (what, seconds))
    if "error" in box:
        raise box["error"]
    value: T = box["value"]
    return value


def uname() -> Tuple[str, str, str, str, str]:
    """(system, node, release, version, machine), as ``platform.uname()`` gives them.

    ``os.uname()`` where it exists: importing ``platform`` costs milliseconds.
    """
    if hasattr(os, "uname"):
        info = os.uname()
        return info.sysname, info.nodename, info.release, info.version, info.machine
    import platform  # Windows

    system, node, release, version, machine, _ = platform.uname()
    return system, node, release, version, machine


class Witness:
    """What a probe's answer was read from: every path it looked at, with that path's stat
    signature (None where nothing was there), and every environment variable it read.

    While all of them are unchanged the same probe gives the same answer, so envcheck
    can reuse the answer without running the probe again (``envcheck.memo``). A path is
    stat'ed *before* it is read: a write during the read leaves a signature that no
    later stat matches. Collectors reach files and variables only through the helpers
    below, which note them here while a witness is active (a test holds them to it).
    """

    def __init__(self) -> None:
        self.paths: Dict[str, Optional[List[int]]] = {}
        self.env: Dict[str, Optional[str]] = {}
        # The working directory, where the answer depends on it (a relative PYTHONPATH
        # entry, made absolute against it by ``site`` at start-up); None where it does not.
        self.cwd: Optional[str] = None
        # Set where the answer may differ from run to run with nothing noted changing
        # (a timeout, a failure to note the interpreter): such a witness never holds.
        self.incomplete = False

    def note(self, path: str) -> Optional[List[int]]:
        """Note ``path`` (once is enough: the first signature is the one read against)."""
        if path not in self.paths:
            self.paths[path] = signature(path)
        return self.paths[path]

    def getenv(self, name: str) -> Optional[str]:
        value = os.environ.get(name)
        self.env.setdefault(name, value)
        return value

    def to_json(self) -> JSONDict:
        recorded: JSONDict = {"paths": self.paths, "env": self.env}
        if self.cwd is not None:
            recorded["cwd"] = self.cwd
        if self.incomplete:
            recorded["incomplete"] = True
        return recorded


def signature(path: str) -> Optional[List[int]]:
    """A path's identity and last change (device, inode, size, mtime, ctime), following
    symbolic links; None when there is nothing to stat. ctime: an edit that sets mtime back
    still changes it. Also what ``envcheck.memo`` compares a witness against."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return _signature_of(st)


def _signature_of(st: os.stat_result) -> List[int]:
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def witness_holds(recorded: Any) -> bool:
    """Whether every path and variable a witness noted (``Witness.to_json()``) is as it was
    then; anything that is not such a record does not hold."""
    if not isinstance(recorded, dict):
        return False
    paths, env = recorded.get("paths"), recorded.get("env")
    if not isinstance(paths, dict) or not isinstance(env, dict) or recorded.get("incomplete"):
        return False
    for name, value in env.items():
        if os.environ.get(name) != value:
            return False
    cwd = recorded.get("cwd")
    if cwd is not None:
        try:
            if os.getcwd() != cwd:
                return False
        except OSError:  # the working directory was removed
            return False
    # signature() inlined: this loop is the whole cost of a reused answer (one stat per
    # noted path, 6,600 of them for 2,000 distributions).
    stat = os.stat
    for path, noted in paths.items():
        try:
            st = stat(path)
        except (OSError, ValueError):
            if noted is not None:
                return False
            continue
        if not (isinstance(noted, list) and len(noted) == 5 and noted[3] == st.st_mtime_ns
                and noted[1] == st.st_ino and noted[4] == st.st_ctime_ns
                and noted[2] == st.st_size and noted[0] == st.st_dev):
            return False
    return True


# The witness of the probe running now, if any (set by ``probe.collect``).
WITNESS: Optional[Witness] = None


def watch(path: str) -> None:
    """Note that the answer depends on ``path`` (its contents, listing or absence)."""
    if WITNESS is not None:
        WITNESS.note(path)


def getenv(name: str, default: Optional[str] = None) -> Optional[str]:
    """``os.environ.get``, noted by the active witness."""
    value = WITNESS.getenv(name) if WITNESS is not None else os.environ.get(name)
    return default if value is None else value


def covered(path: str) -> None:
    """Note ``path``, whose signature stands for files read beside it: a dist-info folder
    for its INSTALLER, WHEEL, REQUESTED and direct_url.json, as the package cache keys
    a distribution's facts on the folder, METADATA and RECORD alone (installers add and
    remove those files, which changes the folder's mtime, and rewrite RECORD). Noting
    each would double the witness of a large environment."""
    watch(path)


def exists(path: str, covered_by: Optional[str] = None) -> bool:
    """``os.path.exists``; with ``covered_by``, that path is noted instead (``covered``)."""
    if covered_by is not None:
        covered(covered_by)
        return os.path.exists(path)
    if WITNESS is not None:
        return WITNESS.note(path) is not None
    return os.path.exists(path)


def stat(path: str) -> os.stat_result:
    """``os.stat`` (raising as it does), noted from the same call: no second stat."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        watch(path)
        raise
    if WITNESS is not None and path not in WITNESS.paths:
        WITNESS.paths[path] = _signature_of(st)
    return st


def getsize(path: str) -> int:
    return stat(path).st_size


def access(path: str, mode: int) -> bool:
    """``os.access``; the path's signature changes with its mode (ctime) or replacement."""
    watch(path)
    return os.access(path, mode)


def realpath(path: str) -> str:
    """``os.path.realpath``, noting ``path``: its signature follows symbolic links, so a
    link retargeted to another file (another inode) no longer matches."""
    watch(path)
    return os.path.realpath(path)


def readlink(path: str) -> str:
    """``os.readlink``, noting the link (its target's identity, by ``signature``). A link
    retargeted while dangling both times is seen only through its directory's listing,
    which every caller here notes (``listdir``) before reading the links in it."""
    watch(path)
    return os.readlink(path)


def open_fd(path: str) -> int:
    """``os.open(path, O_RDONLY)``, noted (readers that seek: ELF headers)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        watch(path)
        raise
    if WITNESS is not None and path not in WITNESS.paths:
        WITNESS.paths[path] = _signature_of(os.fstat(fd))
    return fd


def _has_magic(text: str) -> bool:
    return any(c in text for c in "*?[")


def glob(pattern: str) -> List[str]:
    """``glob.glob`` (sorted), noting each directory listed and each literal path tried,
    never each absent match: one stat per directory however many names it holds."""
    head, tail = os.path.split(pattern)
    if not _has_magic(pattern):
        watch(pattern)
        return [pattern] if os.path.lexists(pattern) else []
    dirs = glob(head) if head and _has_magic(head) else [head]
    found: List[str] = []
    for directory in dirs:
        if not _has_magic(tail):
            candidate = os.path.join(directory, tail)
            watch(candidate)
            if os.path.lexists(candidate):
                found.append(candidate)
            continue
        try:
            names = listdir(directory or os.curdir)
        except OSError:
            continue
        import fnmatch  # only where a pattern is globbed (ld.so.conf includes, frameworks)

        hidden = tail.startswith(".")
        found.extend(os.path.join(directory, name) for name in fnmatch.filter(names, tail)
                     if hidden or not name.startswith("."))
    return sorted(found)


def run(argv: List[str], timeout: float) -> str:
    """The standard output of a program, run with the executable noted (its replacement
    or upgrade changes its signature)."""
    import subprocess  # only for the rare answer no file holds (nvcc --version)

    watch(argv[0])
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          check=False).stdout


def isdir(path: str) -> bool:
    watch(path)
    return os.path.isdir(path)


def isfile(path: str) -> bool:
    watch(path)
    return os.path.isfile(path)


def scandir(path: str) -> List[os.DirEntry[str]]:
    """The entries of a directory (its listing noted: adding or removing one changes its
    mtime); raises as ``os.scandir`` does."""
    watch(path)
    with os.scandir(path) as entries:
        return list(entries)


def listdir(path: str) -> List[str]:
    watch(path)
    return os.listdir(path)


def read_bytes(path: str, limit: Optional[int] = None, covered_by: Optional[str] = None,
               ) -> bytes:
    """Read a file with raw ``os`` calls: a third of ``open()``'s cost, which adds up over
    thousands of small metadata files. ``covered_by``: note that path instead (``covered``)."""
    if covered_by is not None:
        covered(covered_by)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        if covered_by is None:
            watch(path)
        raise
    try:
        if covered_by is None and WITNESS is not None and path not in WITNESS.paths:
            # The open file's own stat: the inode read below, without a second path lookup.
            WITNESS.paths[path] = _signature_of(os.fstat(fd))
        if limit is not None:
            return os.read(fd, limit)
        chunks: List[bytes] = []
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
    finally:
        os.close(fd)


def read_text(path: str, limit: Optional[int] = None, covered_by: Optional[str] = None) -> str:
    """Read a text file as UTF-8, keeping undecodable bytes visible instead of failing."""
    return read_bytes(path, limit, covered_by).decode("utf-8", errors="replace")


def _pattern(pattern: str, flags: int = 0) -> Tuple[str, int]:
    """A pattern and its flags, compiled when ``redact`` first runs: most probes redact
    nothing (the values come from the package cache), and compiling these costs 1.5 ms."""
    return pattern, flags


# Credentials never enter a fingerprint. Every value from outside that is kept
# (allow-listed variables, image labels and ENV, direct_url.json URLs) passes
# ``redact``, which removes each shape below; tests/test_redact.py has one case per shape.
#
# 1. URL userinfo: ``scheme://user:password@host`` keeps only the host. The userinfo
#    ends at the last '@' of the authority; a password may itself hold '@' (p@ss) or,
#    against the RFC, '/' (pa/ss): both are removed whole.
_URL_USERINFO = _pattern(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?:[^\s/@]*@|[^\s/@:]*:[^\s@]*@)+")
# 2. The same without a scheme: ``user:password@host:port`` (proxies, Redis, AMQP).
_BARE_USERINFO = _pattern(r"(?<![\w/:.@%+-])[\w.%+-]+:[^\s/@:]+@(?=[\w-])")
# Names that say "this value is a secret", inside a value: query parameters, flags,
# JSON keys, key=value pairs. Not "pass" alone (XLA's --xla_disable_hlo_passes).
_SECRET_WORD = (r"(?:token|secret|passw(?:or)?d|passphrase|pwd|api[_-]?key|access[_-]?key"
                r"|private[_-]?key|client[_-]?key|credential|auth(?!or)|signature|session)")
# 3. Query parameters: ``?token=...``, presigned S3 (X-Amz-Signature, -Credential,
#    -Security-Token), Google (X-Goog-Signature, ``key=``), Azure SAS (``sig=``).
_QUERY_SECRET = _pattern(
    r"(?P<name>[?&;](?:[^=&#\s]*%s[^=&#\s]*|sig|key)=)[^&#\s]*" % _SECRET_WORD, re.IGNORECASE)
# 4. Flags and pairs: ``--token=abc``, ``--api-key abc`` (XLA_FLAGS and friends),
#    ``password: abc``, and JSON ``"password": "abc"`` (TF_CONFIG).
_FLAG_SECRET = _pattern(
    r"(?P<name>(?<![\w-])-{1,2}[\w-]*%s[\w-]*(?:=|\s+))(?!-)[^\s,;&]+" % _SECRET_WORD,
    re.IGNORECASE)
_JSON_SECRET = _pattern(
    r"""(?P<name>(?P<q>["'])[^"'\s]*%s[^"'\s]*(?P=q)\s*:\s*)(?:(?P<v>["'])(?:\\.|(?!(?P=v)).)*(?P=v)|[^\s,}\]]+)"""
    % _SECRET_WORD, re.IGNORECASE)
_PAIR_SECRET = _pattern(
    r"(?P<name>(?<![\w-])[\w.-]*%s[\w.-]*\s*[=:]\s*)(?![\"'\s])[^\s,;&]+" % _SECRET_WORD,
    re.IGNORECASE)
# 5. Token shapes, wherever they appear.
_TOKEN_SHAPES = _pattern(
    r"\b(?:hf_[A-Za-z0-9]{20,}"                      # Hugging Face
    r"|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}"  # GitHub
    r"|glpat-[A-Za-z0-9_-]{20,}"                     # GitLab
    r"|AKIA[0-9A-Z]{16}|ASIA[0-9A-Z]{16}"            # AWS access key ids
    r"|xox[abprs]-[A-Za-z0-9-]{10,}"                 # Slack
    r"|sk-[A-Za-z0-9_-]{20,}"                        # OpenAI-style
    r"|pypi-[A-Za-z0-9_-]{20,}"                      # PyPI (pypi-AgEI...)
    r"|npm_[A-Za-z0-9]{30,}"                         # npm
    r"|AIza[0-9A-Za-z_-]{30,}"                       # Google API keys
    r"|[sr]k_(?:live|test)_[0-9A-Za-z]{10,}"         # Stripe
    r"|eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"  # JWT
    r")"
)
REDACTED = "<redacted>"


# In the order they apply, with what each match becomes.
_REDACTIONS = (
    (_URL_USERINFO, r"\g<scheme>"), (_BARE_USERINFO, ""),
    (_QUERY_SECRET, r"\g<name>" + REDACTED), (_JSON_SECRET, r'\g<name>"%s"' % REDACTED),
    (_FLAG_SECRET, r"\g<name>" + REDACTED), (_PAIR_SECRET, r"\g<name>" + REDACTED),
    (_TOKEN_SHAPES, REDACTED),
)
_compiled_redactions: Optional[List[Tuple[re.Pattern[str], str]]] = None


def redact(value: str) -> str:
    """``value`` with every credential shape above replaced by ``<redacted>``."""
    global _compiled_redactions
    redactions = _compiled_redactions
    if redactions is None:  # built whole, then published: threads never see half of it
        redactions = [(re.compile(*pattern), replacement)
                      for pattern, replacement in _REDACTIONS]
        _compiled_redactions = redactions
    for compiled, replacement in redactions:
        value = compiled.sub(replacement, value)
    return value


# AUTH, but not the AUTHOR(S) of image labels (org.opencontainers.image.authors).
_SECRET_NAME = re.compile(r"TOKEN|KEY|SECRET|PASS|PWD|CRED|AUTH(?!ORS?\b)", re.IGNORECASE)


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))
