"""Installed distributions, read from their metadata directories on ``sys.path``.

The result agrees with ``pip inspect`` on names and versions: the same
directories are searched in the same order, the first copy of a name wins, and
the same invalid leftovers are ignored. Every later copy of a name is kept as
``shadowed``, because it is installed but never imported.
"""

from __future__ import annotations

import contextlib
import json
import os
import re

from ._common import (
    Errors,
    covered,
    exists,
    isdir,
    read_bytes,
    read_text,
    realpath,
    redact,
    scandir,
    stat,
)

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds at start-up; annotations are strings
    from typing import Any, Dict, Iterator, List, Optional, Tuple

    from ._common import JSONDict

# pip skips these names: stdlib modules that once shipped egg-info files.
_STDLIB_DISTS = frozenset(("python", "wsgiref", "argparse"))
# PEP 508 project names; pip ignores metadata folders whose name is not one
# (pip's own interrupted installs leave ``~orch.dist-info`` behind).
_VALID_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
_NORMALIZE = re.compile(r"[-_.]+")
# Only Name and Version are read from METADATA, straight from its header block.
# Files may use CRLF line ends (pip's own METADATA does).
_NAME = re.compile(r"^Name:[ \t]*([^\r\n]*?)[ \t\r]*$", re.MULTILINE | re.IGNORECASE)
_VERSION = re.compile(r"^Version:[ \t]*([^\r\n]*?)[ \t\r]*$", re.MULTILINE | re.IGNORECASE)
_WHEEL_TAG = re.compile(r"^Tag:[ \t]*([^\r\n]*?)[ \t\r]*$", re.MULTILINE | re.IGNORECASE)
_WHEEL_PURELIB = re.compile(r"^Root-Is-Purelib:[ \t]*true", re.MULTILINE | re.IGNORECASE)
_WHEEL_BUILD = re.compile(r"^Build:[ \t]*([^\r\n]*?)[ \t\r]*$", re.MULTILINE | re.IGNORECASE)
# Files in RECORD that the installer writes, not the wheel: they differ between
# pip and uv, and between machines (paths), so they stay out of the build digest.
_INSTALLER_FILES = frozenset((
    "INSTALLER", "REQUESTED", "direct_url.json", "RECORD",
    "uv_cache.json",  # uv's own bookkeeping: the same wheel, another installer
))


def normalize_name(name: str) -> str:
    """PEP 503 normalised name."""
    return _NORMALIZE.sub("-", name).lower()


def parse_headers(text: str) -> Dict[str, List[str]]:
    """Parse the RFC 822 header block of METADATA / PKG-INFO (keys lower-cased)."""
    headers: Dict[str, List[str]] = {}
    last: Optional[str] = None
    end = text.find("\n\n")
    for line in (text if end < 0 else text[:end]).splitlines():
        if not line.strip():
            break
        if line[0] in " \t" and last is not None:
            headers[last][-1] += "\n" + line.strip()
            continue
        key, sep, value = line.partition(":")
        if not sep:
            continue
        last = key.strip().lower()
        headers.setdefault(last, []).append(value.strip())
    return headers


def read_header_block(path: str) -> str:
    """Read METADATA up to its blank line; the long description is never needed."""
    data = read_bytes(path, 32768)
    if len(data) == 32768 and b"\n\n" not in data and b"\r\n\r\n" not in data:
        data = read_bytes(path)  # a header block longer than 32 KiB: read it all
    return data.decode("utf-8", errors="replace").replace("\r\n", "\n")


def _metadata_dirs(location: str, errors: Errors) -> Iterator[Tuple[str, str]]:
    """Yield (metadata path, format) for one sys.path entry, in directory order."""
    try:
        entries = scandir(location)
    except (FileNotFoundError, NotADirectoryError):
        return  # zip files and missing entries (python3X.zip) hold no installs
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        errors.add("packages", "cannot list sys.path entry %s: %s" % (location, reason))
        return
    links: List[str] = []
    for entry in entries:
        lower = entry.name.lower()
        if lower.endswith(".dist-info"):
            yield entry.path, "dist-info"
        elif lower.endswith(".egg-info"):
            yield entry.path, "egg-info"
        elif lower.endswith(".egg") and entry.is_dir():
            yield os.path.join(entry.path, "EGG-INFO"), "egg"
        elif lower.endswith(".egg-link"):
            links.append(entry.path)
    # Legacy ``setup.py develop`` installs: pip reads them after the directory.
    for link in links:
        target = _egg_link_target(link)
        if target:
            for path, fmt in _metadata_dirs(target, errors):
                yield path, fmt + "+egg-link"


def _egg_link_target(link: str) -> Optional[str]:
    try:
        lines = [line.strip() for line in read_text(link).splitlines()]
    except OSError:
        return None
    target = next((line for line in lines if line), "")
    return os.path.join(os.path.dirname(link), target) if target else None


def _metadata_file(info_path: str, fmt: str) -> str:
    if fmt.startswith("dist-info"):
        return os.path.join(info_path, "METADATA")
    if isdir(info_path):
        return os.path.join(info_path, "PKG-INFO")
    return info_path  # a single-file ``NAME.egg-info`` is its own PKG-INFO


def _first_line(path: str, covered_by: str) -> Optional[str]:
    try:
        return read_text(path, 4096, covered_by).strip() or None
    except OSError:
        return None


def _wheel_facts(info_path: str) -> Optional[JSONDict]:
    try:
        text = read_text(info_path + os.sep + "WHEEL", 16384, covered_by=info_path)
    except OSError:
        return None
    build = _WHEEL_BUILD.search(text)
    return {
        "tags": _WHEEL_TAG.findall(text),
        "root_is_purelib": bool(_WHEEL_PURELIB.search(text)),
        "build": build.group(1) if build else None,
    }


def direct_url_facts(info_path: str) -> Optional[JSONDict]:
    """What ``direct_url.json`` says about where a package came from, credentials removed."""
    try:
        raw = json.loads(read_text(info_path + os.sep + "direct_url.json",
                                   covered_by=info_path))
    except (OSError, ValueError):
        return None
    return direct_url_from_dict(raw)


def direct_url_from_dict(raw: Any) -> Optional[JSONDict]:
    """The facts of a PEP 610 ``direct_url.json`` document (also found in ``pip inspect``)."""
    if not isinstance(raw, dict):
        return None
    facts: JSONDict = {"url": redact(str(raw.get("url", "")))}
    dir_info = raw.get("dir_info")
    if isinstance(dir_info, dict):
        facts["editable"] = bool(dir_info.get("editable", False))
    vcs = raw.get("vcs_info")
    if isinstance(vcs, dict):
        facts["vcs"] = vcs.get("vcs")
        facts["commit_id"] = vcs.get("commit_id")
        facts["requested_revision"] = vcs.get("requested_revision")
    archive = raw.get("archive_info")
    if isinstance(archive, dict):
        hashes = archive.get("hashes")
        if isinstance(hashes, dict) and hashes:
            facts["archive_hashes"] = {str(k): str(v) for k, v in sorted(hashes.items())}
        elif isinstance(archive.get("hash"), str):
            algo, _, digest = archive["hash"].partition("=")
            facts["archive_hashes"] = {algo: digest}
    return facts


def _installer_file(line: bytes) -> bool:
    path = line.rsplit(b",", 2)[0]
    return path.rsplit(b"/", 1)[-1].decode("utf-8", "replace") in _INSTALLER_FILES


def record_digest(info_path: str) -> Tuple[str, int]:
    """Digest of the wheel's files as RECORD lists them, and how many files it lists.

    Only lines with a hash inside the install root count: scripts (``../bin``)
    embed the interpreter's path, and the installer's own files differ between
    pip and uv, so neither says anything about the build. Bytes are compared
    as they are (no csv parsing): this runs over torch's 20,000-line RECORD.
    """
    import hashlib  # here, not at the top: only a cache miss needs OpenSSL loaded (2 ms)

    lines = read_bytes(info_path + os.sep + "RECORD").splitlines()
    kept = sorted(
        line for line in lines
        # A line without a hash ends in ",," (path,hash,size).
        if line and not line.endswith(b",") and not line.startswith((b"../", b'"../'))
        and not (b".dist-info/" in line and _installer_file(line))
    )
    digest = hashlib.sha256(b"\n".join(kept)).hexdigest()
    return "sha256:" + digest, sum(1 for line in lines if line)


def _read_distribution(
    info_path: str, fmt: str, location: str, errors: Errors
) -> Optional[JSONDict]:
    meta_path = _metadata_file(info_path, fmt)
    try:
        block = read_header_block(meta_path)
    except FileNotFoundError:
        errors.add("packages", "%s: no metadata file, skipped" % info_path, "skipped")
        return None
    except OSError as exc:
        errors.add("packages", "%s: metadata unreadable (%s), skipped" % (info_path, exc.strerror))
        return None
    end = block.find("\n\n")
    header = block if end < 0 else block[:end]
    name_match, version_match = _NAME.search(header), _VERSION.search(header)
    name = name_match.group(1) if name_match else ""
    version = version_match.group(1) if version_match else ""
    if not name or not version:
        errors.add("packages", "%s: metadata has no Name or Version, skipped" % info_path,
                   "skipped")
        return None
    dist: JSONDict = {"name": name, "version": version, "location": location, "format": fmt}
    if fmt.startswith("dist-info"):
        # What the package cache keys the facts on is what the witness notes (``covered``).
        covered(info_path)
        dist["installer"] = _first_line(info_path + os.sep + "INSTALLER", info_path)
        dist["requested"] = exists(info_path + os.sep + "REQUESTED", covered_by=info_path)
        dist["wheel"] = _wheel_facts(info_path)
        direct_url = direct_url_facts(info_path)
        if direct_url is not None:
            dist["direct_url"] = direct_url
        try:
            dist["record_digest"], dist["files"] = record_digest(info_path)
        except FileNotFoundError:
            dist["record_digest"], dist["files"] = None, None
        except OSError as exc:
            dist["record_digest"], dist["files"] = None, None
            errors.add("packages", "%s: RECORD unreadable (%s)" % (info_path, exc.strerror))
    elif fmt.endswith("+egg-link"):
        # A ``setup.py develop`` install lives in its project, as pip reports it: location
        # is the project directory and direct_url a file URL of it (pip inspect).
        from urllib.parse import quote

        project = os.path.dirname(info_path.rstrip(os.sep)) if isdir(info_path) \
            else os.path.dirname(info_path)
        dist["location"] = project
        dist["direct_url"] = {"url": redact("file://" + quote(project)), "editable": True}
    return dist


class PackageCache:
    """Facts from an earlier run, reused while the files they came from are unchanged.

    Two kinds. Distributions: the signature is the stat (mtime, size, inode, ctime) of the
    dist-info folder, its METADATA and its RECORD; installers rewrite RECORD and
    METADATA and add or remove files in the folder, which changes its mtime. Files
    (``file_facts``): what a reader took from one file, such as the literals of
    ``torch/version.py``, under that file's stat. A cache is only ever an
    optimisation: an unreadable one is ignored, and entries not used again are
    dropped when it is saved.
    """

    # Raised whenever what is read from a distribution changes, so that facts cached
    # by an older envcheck are read again (3: uv_cache.json left out of record_digest).
    VERSION = 3

    def __init__(self, document: Optional[Dict[str, Any]] = None) -> None:
        if not isinstance(document, dict) or document.get("version") != self.VERSION:
            document = {}
        dists, files = document.get("dists"), document.get("files")
        self.old: Dict[str, Any] = dists if isinstance(dists, dict) else {}
        self.old_files: Dict[str, Any] = files if isinstance(files, dict) else {}
        self.new: Dict[str, Any] = {}
        self.new_files: Dict[str, Any] = {}
        self._pending: Dict[str, List[int]] = {}
        self.hits = 0
        self.file_hits = 0

    @property
    def changed(self) -> bool:
        return (self.hits != len(self.new) or len(self.new) != len(self.old)
                or self.file_hits != len(self.new_files)
                or len(self.new_files) != len(self.old_files))

    def to_json(self) -> Dict[str, Any]:
        return {"version": self.VERSION, "dists": self.new, "files": self.new_files}

    @staticmethod
    def _stat(path: str) -> List[int]:
        st = stat(path)  # noted: a hit reads nothing else, so these stats are its witness
        # ctime too: an edit with its mtime set back still changes it.
        return [st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns]

    @classmethod
    def signature(cls, info_path: str) -> List[int]:
        values: List[int] = []
        for path in (info_path, info_path + os.sep + "METADATA", info_path + os.sep + "RECORD"):
            values += cls._stat(path)
        return values

    def read(self, info_path: str, fmt: str, location: str,
             errors: Errors) -> Optional[JSONDict]:
        if fmt != "dist-info":
            return _read_distribution(info_path, fmt, location, errors)
        try:
            signature = self.signature(info_path)
        except OSError:
            return _read_distribution(info_path, fmt, location, errors)
        entry = self.old.get(info_path)
        if (isinstance(entry, list) and len(entry) == 2 and entry[0] == signature
                and isinstance(entry[1], dict) and isinstance(entry[1].get("version"), str)):
            self.hits += 1
            self.new[info_path] = entry
            return dict(entry[1], location=location)
        dist = _read_distribution(info_path, fmt, location, errors)
        if dist is not None and dist.get("record_digest") is not None:
            # A copy: the caller adds ``shadowed`` to the dict it gets back.
            self.new[info_path] = [signature, dict(dist)]
        return dist

    def file_facts(self, path: str) -> Any:
        """What ``remember_file`` stored for ``path`` while it is unchanged, else None.

        On a miss the file's stat is taken now, before the caller reads it, so a
        write during the read leaves an entry that no later stat matches.
        """
        try:
            signature = self._stat(path)
        except OSError:
            return None
        entry = self.old_files.get(path)
        if isinstance(entry, list) and len(entry) == 2 and entry[0] == signature:
            self.file_hits += 1
            self.new_files[path] = entry
            return entry[1]
        self._pending[path] = signature
        return None

    def remember_file(self, path: str, facts: Any) -> None:
        """Keep ``facts`` for ``path`` if JSON carries them exactly (no tuples, bytes, NaN)."""
        signature = self._pending.pop(path, None)
        if signature is None:
            return
        try:
            exact = json.loads(json.dumps(facts)) == facts
        except (TypeError, ValueError):
            exact = False
        if exact:
            self.new_files[path] = [signature, facts]


def load_cache(path: str) -> PackageCache:
    # Read unnoted: the cache only decides hits, each checked against signatures that are
    # noted, and it is rewritten after the run, which would spoil any witness of it.
    try:
        with open(path, "rb") as handle:
            return PackageCache(json.loads(handle.read().decode("utf-8", errors="replace")))
    except (OSError, ValueError, RecursionError):  # a damaged cache is an empty one
        return PackageCache()


def save_cache(cache: PackageCache, path: str) -> None:
    """Write the cache atomically; failures are ignored (it is only a cache)."""
    if not cache.changed:
        return
    # Not the PID alone: containers sharing a home are all PID 1.
    temporary = "%s.%d.%s.tmp" % (path, os.getpid(), os.urandom(4).hex())
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(temporary, "w", encoding="utf-8") as handle:
            # dumps, not dump: json.dump streams through the pure-Python encoder, 4x slower
            # (40 ms for 2,000 distributions, paid whenever one of them changed).
            handle.write(json.dumps(cache.to_json(), separators=(",", ":")))
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)


def iter_distributions(paths: List[str], errors: Errors,
                       cache: Optional[PackageCache] = None) -> Iterator[Tuple[str, JSONDict]]:
    """Every installed distribution on ``paths`` in import order, leftovers skipped."""
    for location in paths:
        if not location:
            continue  # '' is the working directory of a probe fed on stdin
        for info_path, fmt in _metadata_dirs(location, errors):
            stem = os.path.basename(info_path if fmt != "egg" else os.path.dirname(info_path))
            dir_name = os.path.splitext(stem)[0].split("-", 1)[0]
            if not _VALID_NAME.match(dir_name):
                errors.add("packages", "%s: not a valid distribution (a leftover?), ignored"
                           % info_path, "skipped")
                continue
            if cache is None:
                dist = _read_distribution(info_path, fmt, location, errors)
            else:
                dist = cache.read(info_path, fmt, location, errors)
            if dist is not None:
                yield normalize_name(dist["name"]), dist


def file_url_path(url: str) -> str:
    """The path of a ``file://`` URL as ``urllib.parse`` reads it (``unquote`` of
    ``urlsplit(url).path``). A plain ``file:///path`` (no host, escape, query, fragment,
    space or control character) is its own path: urllib, with ipaddress, costs the
    probe 2 ms to import, and an editable install of a project reaches here."""
    path = url[len("file://"):]
    if path.startswith("/") and not any(c in path for c in "%?#") and min(path) > " ":
        return path
    from urllib.parse import unquote, urlsplit

    return unquote(urlsplit(url).path)


def _same_install(first: JSONDict, later: JSONDict) -> bool:
    """Metadata of the install already found, not a second copy: another metadata folder in
    the same directory (Debian ships cryptography with a dist-info and an egg-info), or the
    ``*.egg-info`` setuptools leaves in the source tree of an editable install (``src/``)."""
    if str(later["location"]) == str(first["location"]):
        return True
    url = (first.get("direct_url") or {}).get("url") or ""
    if not (first.get("direct_url") or {}).get("editable") or not url.startswith("file://"):
        return False
    project = realpath(file_url_path(url))
    location = realpath(str(later["location"]))
    return location == project or location.startswith(project + os.sep)


def collect_packages(paths: List[str], errors: Errors,
                     cache: Optional[PackageCache] = None) -> Dict[str, Any]:
    """Map normalised name -> the imported copy's facts, with later copies as ``shadowed``."""
    packages: Dict[str, JSONDict] = {}
    for key, dist in iter_distributions(paths, errors, cache):
        if key in _STDLIB_DISTS:
            continue
        first = packages.get(key)
        if first is None:
            packages[key] = dist
            continue
        if _same_install(first, dist):
            continue
        first.setdefault("shadowed", []).append({
            "version": dist["version"],
            "location": dist["location"],
            "record_digest": dist.get("record_digest"),
        })
    return dict(sorted(packages.items()))


# What ``envcheck verify`` reads by the probe's own rules (the same discovery, the same
# header parsing), under public names: verify/ imports these and nothing private.
NAME_FIELD, VERSION_FIELD, VALID_NAME, STDLIB_DISTS = _NAME, _VERSION, _VALID_NAME, _STDLIB_DISTS
metadata_dirs, metadata_file = _metadata_dirs, _metadata_file
