"""A ``uv.lock`` as a lock: what ``uv sync`` would install for the target interpreter.

uv.lock is universal (every platform, every extra and group), so the packages
of this environment are found the way ``uv sync`` finds them: from the
workspace's projects, through their dependencies with markers evaluated for
the target, with the chosen extras and dependency groups (default: the
project's ``tool.uv.default-groups``, else ``dev``). Only as the expected side
of ``check``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..model import Fingerprint
from ..model.pins import DEFAULT_SELECTION, Pin, PinnedLock, Selection
from ..probe.packages import normalize_name
from ..reader import load_toml
from .base import Markers, Request, pinned_fingerprint
from .markers import marker_applies

# The lock's TOML, checked where it is read (a name is a string, a source a table): its
# values stay Any, as load_toml gives them.
Entry = Mapping[str, Any]


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _table(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _default_groups(directory: str) -> frozenset[str]:
    """``[tool.uv] default-groups`` of the project beside the lock; uv's default: dev."""
    pyproject = os.path.join(directory, "pyproject.toml")
    if not os.path.isfile(pyproject):
        return frozenset({"dev"})
    tool = _table(_table(load_toml(pyproject).get("tool")).get("uv"))
    groups = tool.get("default-groups", ["dev"])
    if groups == "all":
        return frozenset(str(g) for g in _table(load_toml(pyproject).get("dependency-groups")))
    return frozenset(str(g) for g in _list(groups))


class _Lock:
    """The lock's package entries, and how a dependency names one of them."""

    def __init__(self, path: str, document: Mapping[str, object], markers: Markers | None) -> None:
        self.path, self.markers = path, markers
        self.entries: dict[str, list[Entry]] = {}
        for index, entry in enumerate(_list(document.get("package"))):
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                raise InputError(f"{path}: package[{index}] has no name")
            self.entries.setdefault(normalize_name(entry["name"]), []).append(entry)

    def applies(self, marker: object, where: str) -> bool:
        return not isinstance(marker, str) or marker_applies(marker, self.markers, where)

    def resolve(self, dependency: Entry, where: str) -> Entry:
        """The entry a dependency means: by name, then version and source where the
        resolution forked, then the entry whose resolution markers hold here."""
        name = normalize_name(str(dependency.get("name")))
        candidates = self.entries.get(name, [])
        for field in ("version", "source"):
            if len(candidates) > 1 and field in dependency:
                candidates = [e for e in candidates if e.get(field) == dependency[field]]
        if len(candidates) > 1:
            candidates = [e for e in candidates if not e.get("resolution-markers") or any(
                self.applies(m, where) for m in _list(e.get("resolution-markers")))]
        if not candidates:
            raise InputError(f"{where}: depends on {name}, which the lock does not hold")
        return candidates[0]

    def dependencies(self, entry: Entry, extras: frozenset[str],
                     groups: frozenset[str]) -> Iterator[Entry]:
        yield from _list(entry.get("dependencies"))
        optional = _table(entry.get("optional-dependencies"))
        for extra in sorted(extras):
            yield from _list(optional.get(extra))
        dev = _table(entry.get("dev-dependencies"))
        for group in sorted(groups):
            yield from _list(dev.get(group))


def _roots(lock: _Lock, document: Mapping[str, object]) -> list[Entry]:
    """The workspace's projects: the manifest's members, or the project at the lock's root."""
    members = {normalize_name(str(m)) for m in _list(_table(document.get("manifest"))
                                                        .get("members"))}
    roots = [entry for entries in lock.entries.values() for entry in entries
             if normalize_name(str(entry["name"])) in members
             or _table(entry.get("source")).get("editable") == "."
             or _table(entry.get("source")).get("virtual") == "."]
    if not roots:
        raise InputError(f"{lock.path}: no project of the workspace found (uv sync installs "
                         "from a project)")
    return roots


def _pin(entry: Entry, base: str) -> Pin | None:
    name, version = str(entry["name"]), entry.get("version")
    version = version if isinstance(version, str) else None
    source = _table(entry.get("source"))
    if "virtual" in source:
        return None  # a virtual project is not installed
    if isinstance(source.get("git"), str):
        url, _, commit = source["git"].partition("#")
        return Pin(name, version, url=url.split("?", 1)[0], commit=commit or None)
    for key, editable in (("editable", True), ("directory", False), ("path", False)):
        if isinstance(source.get(key), str):
            location = Path(base, source[key]).resolve().as_uri()
            return Pin(name, version, url=location, editable=editable)
    if isinstance(source.get("url"), str):
        return Pin(name, version, url=source["url"])
    return Pin(name, version)


def uvlock_pins(path: str, markers: Markers | None = None,
                selection: Selection = DEFAULT_SELECTION) -> dict[str, Pin]:
    """The pins ``uv sync`` (with ``selection``'s extras and groups) installs for the target."""
    document = load_toml(path)
    if "version" not in document or not isinstance(document.get("package"), list):
        raise InputError(f"{path}: not a uv.lock (no version or [[package]])")
    base = os.path.dirname(os.path.abspath(path))
    lock = _Lock(path, document, markers)
    groups = selection.groups if selection.groups is not None else _default_groups(base)
    pending = [(root, selection.extras, groups) for root in _roots(lock, document)]
    seen: set[tuple[str, str, frozenset[str]]] = set()
    pins: dict[str, Pin] = {}
    while pending:
        entry, extras, entry_groups = pending.pop()
        key = (str(entry["name"]), str(entry.get("version")), extras)
        if key in seen:
            continue
        seen.add(key)
        pin = _pin(entry, base)
        if pin is not None:
            pins[normalize_name(pin.name)] = pin
        where = f"{path}: {entry['name']}"
        for dependency in lock.dependencies(entry, extras, entry_groups):
            if not isinstance(dependency, dict) or not lock.applies(dependency.get("marker"),
                                                                    where):
                continue
            wanted = frozenset(str(e) for e in _list(dependency.get("extra")))
            pending.append((lock.resolve(dependency, where), wanted, frozenset()))
    return pins


class UvLockSource:
    kind = "uv.lock"
    expected_only = True

    def claims(self, spec: str) -> bool:
        return Path(spec).name == "uv.lock" and os.path.exists(spec)

    def pins(self, spec: str, request: Request) -> PinnedLock:
        return PinnedLock(spec, self.kind, uvlock_pins(spec, request.markers, request.selection))

    def load(self, spec: str, request: Request) -> Fingerprint:
        return pinned_fingerprint(self.pins(spec, request))
