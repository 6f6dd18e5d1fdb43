"""A conda ``environment.yml``: the specs its author pinned (``numpy=1.26``,
``libblas=*=*mkl``, ``cudnn 9.1.*``), and ``==`` pins of its ``pip:`` section."""

from __future__ import annotations

import os
import re
from typing import Any

from ..errors import InputError
from ..model import Fingerprint
from ..model.pins import PinnedLock
from ..reader import load_yaml
from . import conda_lock
from .base import Request, pinned_fingerprint
from .conda_pins import CondaPin
from .conda_pins import conda_lock as pinned

_NAME = re.compile(r"^([A-Za-z0-9_][A-Za-z0-9_.\-]*)\s*(.*)$")
_BRACKET = re.compile(r"\[(.*)\]\s*$")
_BRACKET_FIELD = re.compile(r"""(\w+)\s*=\s*(?:'([^']*)'|"([^"]*)"|([^,\s]+))""")


def parse_match_spec(spec: str, source: str) -> CondaPin:
    """``[channel::]name[ version [build]]`` or ``name=version[=build]``, ``name==version``,
    ``name>=1,<2``, ``name[version='>=1',build='*mkl']``."""
    text = spec.strip()
    channel = None
    if "::" in text:
        channel, text = (part.strip() for part in text.split("::", 1))
        channel = channel.split("/")[0] or None
    fields: dict[str, str] = {}
    bracket = _BRACKET.search(text)
    if bracket:
        for field in _BRACKET_FIELD.finditer(bracket.group(1)):
            fields[field.group(1)] = next(g for g in field.groups()[1:] if g is not None)
        text = text[:bracket.start()]
    match = _NAME.match(text)
    if match is None:
        raise InputError(f"{source}: {spec!r}: not a conda package spec")
    name, rest = match.group(1).lower(), match.group(2).strip()
    version: str | None = None
    build: str | None = None
    if rest.startswith("=="):
        version = "==" + rest[2:].strip()
    elif rest.startswith("="):
        version, _, build_text = rest[1:].partition("=")
        # name=1.26 means 1.26.*: conda's fuzzy pin; with a build (name=1.26.4=py311_0, as
        # conda env export writes), the version is exact (conda's MatchSpec).
        version = None if version in ("", "*") else (version if build_text or any(
            c in version for c in "*<>!|,") else version + "*")
        build = build_text or None
    elif rest[:1] in ("<", ">", "!", "~"):
        version = rest.replace(" ", "")
    elif rest:
        version, _, build_text = rest.partition(" ")
        build = build_text.strip() or None
    version = fields.get("version", version)
    build = fields.get("build", build)
    return CondaPin(name, version if version != "*" else None,
                    build if build not in ("*", "") else None, channel)


def _pip_pins(entries: Any, source: str) -> dict[str, str]:
    from packaging.requirements import InvalidRequirement, Requirement

    pins: dict[str, str] = {}
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, str) or entry.startswith("-"):
            continue  # pip options: -r, --index-url, -e
        try:
            requirement = Requirement(entry)
        except InvalidRequirement as exc:
            raise InputError(f"{source}: pip: {entry!r}: not a requirement ({exc})") from exc
        exact = [s.version for s in requirement.specifier if s.operator in ("==", "===")]
        if len(exact) == 1 and "*" not in exact[0]:
            pins[requirement.name] = exact[0]
    return pins


def parse(document: Any, source: str) -> PinnedLock:
    if not isinstance(document, dict) or not isinstance(document.get("dependencies"), list):
        raise InputError(f"{source}: not a conda environment file (no dependencies list)")
    pins: dict[str, CondaPin] = {}
    pypi: dict[str, str] = {}
    for entry in document["dependencies"]:
        if isinstance(entry, dict) and "pip" in entry:
            pypi.update(_pip_pins(entry["pip"], source))
        elif isinstance(entry, str):
            pin = parse_match_spec(entry, source)
            pins[pin.name] = pin
        else:
            raise InputError(f"{source}: dependencies: {str(entry)[:80]!r}: not a package spec")
    return pinned(source, "environment.yml", pins, pypi)


class CondaEnvironmentSource:
    """Any other ``.yml``/``.yaml``: an environment file, or a conda-lock file by content."""

    kind = "environment.yml"
    expected_only = True

    def claims(self, spec: str) -> bool:
        return spec.endswith((".yml", ".yaml")) and os.path.isfile(spec)

    def pins(self, spec: str, request: Request) -> PinnedLock:
        document = load_yaml(spec)
        if conda_lock.is_conda_lock(document):
            return conda_lock.parse(document, spec, request.current)
        return parse(document, spec)

    def load(self, spec: str, request: Request) -> Fingerprint:
        return pinned_fingerprint(self.pins(spec, request))
