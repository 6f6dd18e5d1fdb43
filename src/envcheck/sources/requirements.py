"""A requirements file of ``==`` pins (``--hash`` lines and ``-r`` includes allowed).

Packages only, and only as the expected side of ``check``: the other sections
are reported as not compared.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..model import Fingerprint
from ..probe.packages import normalize_name
from ..reader import read_text
from .base import Markers, Request


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


_INCLUDE = re.compile(r"^(-r|--requirement|-c|--constraint)(?:\s*=\s*|\s+|(?<=-r)|(?<=-c))(\S.*)$")


def parse_requirements(path: str, markers: Markers | None = None,
                       seen: frozenset[str] = frozenset()) -> dict[str, Any]:
    """``name==version`` pins of a requirements file (and the files it includes with -r).

    Environment markers are evaluated for ``markers`` (the target interpreter's
    environment; default: this one's).
    """
    from packaging.requirements import InvalidRequirement, Requirement

    text = read_text(path)
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


class RequirementsSource:
    kind = "requirements.txt"
    expected_only = True

    def claims(self, spec: str) -> bool:
        name = Path(spec).name
        return os.path.exists(spec) and (name.endswith((".txt", ".in"))
                                         or name.startswith("requirements"))

    def load(self, spec: str, request: Request) -> Fingerprint:
        return Fingerprint.packages_only(parse_requirements(spec, request.markers), spec,
                                         self.kind)
