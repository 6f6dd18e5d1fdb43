"""Lockfiles: committed fingerprints, and standard locks as the expected side of a check.

A lockfile is a fingerprint without what differs between identical machines
(hostname, time, paths, UUIDs, the probe's own errors), written with sorted
keys and stable formatting: locking one environment twice gives identical
bytes, so a git diff of a lockfile shows only real change.

``envcheck check`` also accepts a ``requirements.txt`` of ``==`` pins (``--hash``
lines allowed) or a PEP 751 ``pylock.toml``: they describe packages only, and
the other sections are reported as not compared.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import InputError
from .model import SCHEMA_VERSION, Fingerprint, identity_view, read_document

LOCK_DIR = "lockfiles"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def lock_path(name: str, directory: str = LOCK_DIR) -> str:
    """``lockfiles/NAME.json``, refusing names that would escape the directory."""
    if not _NAME.match(name):
        from .errors import UsageError

        raise UsageError(f"lock name {name!r}: use letters, digits, '.', '_' and '-' only")
    return os.path.join(directory, name if name.endswith(".json") else f"{name}.json")


def lock_document(fingerprint: Fingerprint) -> dict[str, Any]:
    """The stable part of a fingerprint, ready to commit."""
    document: dict[str, Any] = {"schema": SCHEMA_VERSION}
    document.update(identity_view(fingerprint.data))
    document["errors"] = []
    document["id"] = fingerprint.id
    document["digests"] = fingerprint.data["digests"]
    document["meta"] = {"kind": "lock"}
    return document


def render_lock(fingerprint: Fingerprint) -> str:
    """Canonical lockfile text: sorted keys, two-space indent, one trailing newline."""
    return json.dumps(lock_document(fingerprint), sort_keys=True, indent=2,
                      ensure_ascii=False) + "\n"


# ---- standard locks -------------------------------------------------------------------

def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """Requirement lines with continuations joined and comments removed, with line numbers."""
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        pending += line
        if pending.strip():
            yield start, pending.strip()
        pending = ""
    if pending.strip():
        yield start, pending.strip()


Markers = dict[str, str]
_INCLUDE = re.compile(r"^(-r|--requirement|-c|--constraint)(?:\s*=\s*|\s+|(?<=-r)|(?<=-c))(\S.*)$")


def parse_requirements(path: str, markers: Markers | None = None,
                       seen: frozenset[str] = frozenset()) -> dict[str, Any]:
    """``name==version`` pins of a requirements file (and the files it includes with -r).

    Environment markers are evaluated for ``markers`` (the target interpreter's
    environment; default: this one's).
    """
    from packaging.requirements import InvalidRequirement, Requirement

    from .probe.packages import normalize_name

    text = read_document(path)
    packages: dict[str, Any] = {}
    for number, line in _logical_lines(text):
        where = f"{path}:{number}"
        include = _INCLUDE.match(line)
        if include:
            if include.group(1) in ("-c", "--constraint"):
                continue  # constraints limit versions; they do not install anything
            target = os.path.join(os.path.dirname(path), include.group(2).strip())
            if os.path.realpath(target) in seen | {os.path.realpath(path)}:
                continue  # an include cycle
            packages.update(parse_requirements(target, markers,
                                               seen | {os.path.realpath(path)}))
            continue
        if line.startswith("-"):
            if line.startswith(("-e ", "--editable")):
                raise InputError(f"{where}: editable requirements cannot be checked: pin a "
                                 "version instead")
            continue  # index options, --hash on their own line, ...
        spec = re.split(r"\s--hash[=\s]", line, maxsplit=1)[0].strip()
        try:
            requirement = Requirement(spec)
        except InvalidRequirement as exc:
            raise InputError(f"{where}: not a requirement ({exc})") from exc
        if requirement.marker is not None and not requirement.marker.evaluate(markers):
            continue
        pins = [s for s in requirement.specifier if s.operator in ("==", "===")]
        if len(pins) != 1 or "*" in pins[0].version or requirement.url:
            raise InputError(f"{where}: {requirement.name} is not pinned with == (a lock needs "
                             "exact versions)")
        packages[normalize_name(requirement.name)] = {"name": requirement.name,
                                                      "version": pins[0].version}
    return packages


def parse_pylock(path: str, markers: Markers | None = None) -> dict[str, Any]:
    """The packages of a PEP 751 ``pylock.toml`` that apply to this interpreter."""
    from packaging.markers import InvalidMarker, Marker

    from .config import tomllib
    from .probe.packages import normalize_name

    try:
        document = tomllib.loads(read_document(path))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML ({exc})") from exc
    entries = document.get("packages")
    if not isinstance(entries, list) or "lock-version" not in document:
        raise InputError(f"{path}: not a pylock.toml (no lock-version or [[packages]])")
    packages: dict[str, Any] = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise InputError(f"{path}: packages[{index}] has no name")
        marker = entry.get("marker")
        try:
            if isinstance(marker, str) and not Marker(marker).evaluate(markers):
                continue
        except InvalidMarker as exc:
            raise InputError(f"{path}: packages[{index}]: bad marker ({exc})") from exc
        version = entry.get("version")
        if not isinstance(version, str):
            raise InputError(f"{path}: {entry['name']} has no version (VCS and directory "
                             "entries cannot be checked)")
        packages[normalize_name(entry["name"])] = {"name": entry["name"], "version": version}
    return packages


def expected(path: str, markers: Markers | None = None) -> Fingerprint:
    """The expected side of ``check``: a lockfile/fingerprint, requirements.txt or pylock.toml,
    or anything else ``diff`` reads (``-``, ``@prev``, ``docker:IMAGE``, ``REV:path``).

    ``markers``: the target's environment for the markers of standard locks.
    """
    if path == "-" or not os.path.exists(path):
        from .sources import resolve

        return resolve(path)
    name = Path(path).name
    if name.endswith(".toml") and (name == "pylock.toml" or name.startswith("pylock.")):
        return Fingerprint.packages_only(parse_pylock(path, markers), path, "pylock.toml")
    if name.endswith((".txt", ".in")) or name.startswith("requirements"):
        pins = parse_requirements(path, markers)
        return Fingerprint.packages_only(pins, path, "requirements.txt")
    from .sources import parse_document

    return parse_document(read_document(path), path)


def default_lock(directory: str = LOCK_DIR) -> str:
    """The lock to check when none is named: the only ``*.json`` in lockfiles/."""
    try:
        locks = sorted(f for f in os.listdir(directory) if f.endswith(".json"))
    except OSError:
        locks = []
    if len(locks) == 1:
        return os.path.join(directory, locks[0])
    from .errors import UsageError

    found = ", ".join(locks) if locks else "none"
    raise UsageError(f"name the lock to check (lockfiles/*.json found: {found})")

