"""A pixi lockfile (``pixi.lock``, format versions 5 to 7, as pixi and rattler_lock write
them): per environment and platform the package locations, and once per location the
package's data.

Version 5 keys each package's data by ``url`` with a ``kind`` (conda or pypi) and spells
out name, version and build; versions 6 and 7 key it by its location (``conda: URL`` or
``pypi: URL``) and leave out what the conda file name says. Version 7 may name its
platforms (``platforms: [{name, subdir}]``): the environments list packages by that name.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from ..model import Fingerprint
from ..model.pins import PinnedLock
from ..reader import load_yaml
from .base import Request, pinned_fingerprint
from .conda_pins import CondaPin, conda_lock, pin_from_url, platform_subdir

if TYPE_CHECKING:
    from typing import TypeGuard

VERSIONS = (5, 6, 7)


def is_pixi_lock(document: object) -> TypeGuard[dict[str, Any]]:  # YAML, checked below
    return isinstance(document, dict) and isinstance(document.get("environments"), dict) \
        and isinstance(document.get("packages"), list)


def environment_of(current: Fingerprint | None) -> str:
    """pixi keeps environment NAME in ``.pixi/envs/NAME``; the default one is ``default``."""
    prefix = str((current.python.get("prefix") if current else None) or "")
    parts = prefix.rstrip("/").split("/")
    if len(parts) >= 3 and parts[-2] == "envs" and parts[-3] == ".pixi":
        return parts[-1]
    return "default"


def parse(document: object, source: str, current: Fingerprint | None,
          environment: str | None = None, platform: str | None = None) -> PinnedLock:
    if not is_pixi_lock(document):
        raise InputError(f"{source}: not a pixi lockfile (no environments or packages)")
    version = document.get("version")
    if version not in VERSIONS:
        raise InputError(f"{source}: pixi lock format version {version!r}; envcheck reads "
                         f"versions {', '.join(map(str, VERSIONS))}")
    environment = environment or environment_of(current)
    environments = document["environments"]
    if not isinstance(environments.get(environment), dict):
        raise InputError(f"{source}: no environment {environment!r} (it locks "
                         f"{', '.join(sorted(map(str, environments)))})")
    by_platform = environments[environment].get("packages") or {}
    if not isinstance(by_platform, dict):
        raise InputError(f"{source}: environment {environment!r}: 'packages' is not a map of "
                         "platforms")
    platform = _platform_name(document, platform or platform_subdir(current))
    if platform not in by_platform:
        raise InputError(f"{source}: environment {environment!r} has no platform {platform} "
                         f"(it locks {', '.join(sorted(map(str, by_platform)))})")
    data = {_location(entry, version): entry
            for entry in document["packages"] if isinstance(entry, dict)}
    pins: dict[str, CondaPin] = {}
    pypi: dict[str, str] = {}
    references = by_platform[platform] or []
    if not isinstance(references, list):
        raise InputError(f"{source}: {environment}/{platform}: not a list of packages")
    for reference in references:
        if not isinstance(reference, dict):
            continue
        kind = "conda" if "conda" in reference else "pypi"
        location = str(reference.get(kind))
        entry = data.get(location)
        if entry is None:
            raise InputError(f"{source}: {location}: listed for {environment}/{platform} but "
                             "not among the packages")
        if kind == "pypi":
            if not isinstance(entry.get("name"), str) or not isinstance(entry.get("version"),
                                                                        str):
                raise InputError(f"{source}: {location}: a PyPI package without name or version")
            pypi[entry["name"]] = entry["version"]
            continue
        pin = pin_from_url(location, source, md5=entry.get("md5"), sha256=entry.get("sha256"),
                           name=_text(entry.get("name")), version=_text(entry.get("version")),
                           build=_text(entry.get("build")))
        if isinstance(entry.get("subdir"), str):
            pin = pin._replace(subdir=entry["subdir"])
        pins[pin.name] = pin
    return conda_lock(f"{source} ({environment}, {platform})", "pixi.lock", pins, pypi)


def _location(entry: Mapping[str, object], version: object) -> str:
    """Where a package's data says it comes from: the key the environments refer to it by."""
    if version == 5:
        return str(entry.get("url") or entry.get("path"))
    return str(entry.get("conda") or entry.get("pypi"))


def _platform_name(document: Mapping[str, object], subdir: str | None) -> str | None:
    """Version 7 names its platforms (``{name: linux-cuda, subdir: linux-64}``); the name of
    the one for this conda subdir, else the subdir itself (what earlier versions use)."""
    platforms = document.get("platforms")
    for entry in platforms if isinstance(platforms, list) else []:
        if isinstance(entry, dict) and subdir in (entry.get("subdir"), entry.get("name")) \
                and isinstance(entry.get("name"), str):
            return str(entry["name"])
    return subdir


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _split(spec: str) -> tuple[str, str | None]:
    """``pixi.lock#cuda`` -> (``pixi.lock``, ``cuda``)."""
    path, sep, environment = spec.rpartition("#")
    return (path, environment) if sep and _pixi_name(path) else (spec, None)


def _pixi_name(path: str) -> bool:
    """pixi writes pixi.lock; a copy kept beside it (pixi-gpu.lock) is read too."""
    name = os.path.basename(path)
    return name.startswith("pixi") and name.endswith(".lock")


class PixiLockSource:
    kind = "pixi.lock"
    expected_only = True

    def claims(self, spec: str) -> bool:
        path, _ = _split(spec)
        return _pixi_name(path) and os.path.isfile(path)

    def pins(self, spec: str, request: Request) -> PinnedLock:
        path, environment = _split(spec)
        return parse(load_yaml(path), path, request.current, environment)

    def load(self, spec: str, request: Request) -> Fingerprint:
        return pinned_fingerprint(self.pins(spec, request))
