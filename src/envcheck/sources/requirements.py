"""A requirements file as a lock: ``==`` pins, ``name @ URL``, ``-e`` lines, ``-r`` includes.

``pip freeze``, ``pip-compile`` and ``uv pip compile`` output alike. Only as the
expected side of ``check``, where it is a contract (``contract.check_pins``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

from ..errors import InputError
from ..model import Fingerprint
from ..model.pins import Pin, PinnedLock
from ..probe.packages import normalize_name
from ..reader import read_text
from .base import Markers, Request, pinned_fingerprint
from .markers import marker_applies


def _logical_lines(text: str) -> Iterator[tuple[int, str, str | None]]:
    """Requirement lines with continuations joined and comments removed, with line numbers
    and the name ``pip freeze``'s comment just above gives an editable line (else None)."""
    pending, start, named, comment_name = "", 0, None, None
    for number, raw in enumerate(text.splitlines(), 1):
        comment = _EDITABLE_COMMENT.match(raw.strip())
        if comment:
            comment_name = comment.group(1)
            continue
        line = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if not pending:
            start, named = number, comment_name
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        pending += line
        if pending.strip():
            yield start, pending.strip(), named
            comment_name = None
        pending = ""
    if pending.strip():
        yield start, pending.strip(), named


_INCLUDE = re.compile(r"^(-r|--requirement|-c|--constraint)(?:\s*=\s*|\s+|(?<=-r)|(?<=-c))(\S.*)$")


def _hashes(line: str) -> frozenset[str]:
    """``--hash=sha256:HEX`` options as ``sha256:hex``."""
    return frozenset(h.lower().replace("=", ":", 1) if ":" not in h else h.lower()
                     for h in re.findall(r"--hash[=\s]+(\S+)", line))


# pip freeze's comment above an editable line it cannot name from version control.
_EDITABLE_COMMENT = re.compile(
    r"^#\s*Editable .*\(([A-Za-z0-9][A-Za-z0-9._-]*)==[^)\s]+\)\s*$")


def _egg_info_name(directory: Path) -> str | None:
    """The name in the ``*.egg-info/PKG-INFO`` setuptools leaves in a project it installed
    editable (beside setup.py, or under ``src/``): a setup.py-only project says it nowhere else."""
    for parent in (directory, directory / "src"):
        for info in sorted(parent.glob("*.egg-info/PKG-INFO")):
            found = re.search(r"^Name:\s*(\S+)", read_text(info), re.MULTILINE)
            if found:
                return found.group(1)
    return None


def _project_name(directory: Path) -> str | None:
    """The name a local project declares (pyproject.toml, setup.cfg's metadata, or the
    egg-info an editable install left in it)."""
    from ..reader import load_toml

    pyproject = directory / "pyproject.toml"
    if pyproject.is_file():
        project = load_toml(pyproject).get("project")
        if isinstance(project, dict) and isinstance(project.get("name"), str):
            return str(project["name"])
    setup_cfg = directory / "setup.cfg"
    if setup_cfg.is_file():
        found = re.search(r"^name\s*=\s*(\S+)", read_text(setup_cfg), re.MULTILINE)
        if found:
            return found.group(1)
    return _egg_info_name(directory)


def _editable_pin(target: str, base: str, where: str, named: str | None = None) -> Pin:
    """``-e PATH``, ``-e file:///PATH`` or ``-e git+URL@REV#egg=NAME`` (as pip freeze writes)."""
    egg = re.search(r"[#&]egg=([A-Za-z0-9][A-Za-z0-9._-]*)", target)
    if re.match(r"^(git|hg|svn|bzr)\+", target):
        if egg is None:
            raise InputError(f"{where}: {target}: add #egg=NAME to name the package")
        return Pin(egg.group(1), None, url=target, editable=True)
    from urllib.parse import unquote, urlsplit

    location = unquote(urlsplit(target).path) if target.startswith("file:") else target
    directory = Path(base, location).resolve()
    name = egg.group(1) if egg else named or _project_name(directory)
    if name is None:
        raise InputError(f"{where}: cannot tell the name of the project in {directory}: "
                         "add #egg=NAME")
    return Pin(name, None, url=directory.as_uri(), editable=True)


def requirement_pins(path: str, markers: Markers | None = None,
                     seen: frozenset[str] = frozenset()) -> dict[str, Pin]:
    """The pins of a requirements file (and the files it includes with -r), as ``pip freeze``,
    ``pip-compile`` and ``uv pip compile`` write them: ``name==version`` (``--hash``
    options allowed), ``name @ URL`` and ``-e`` lines.

    Environment markers are evaluated for ``markers`` (the target interpreter's
    environment; default: this one's).
    """
    from packaging.requirements import InvalidRequirement, Requirement

    text = read_text(path)
    pins: dict[str, Pin] = {}
    for number, line, named in _logical_lines(text):
        where = f"{path}:{number}"
        include = _INCLUDE.match(line)
        if include:
            if include.group(1) in ("-c", "--constraint"):
                continue  # constraints limit versions; they do not install anything
            target = os.path.join(os.path.dirname(path), include.group(2).strip())
            if os.path.realpath(target) in seen | {os.path.realpath(path)}:
                continue  # an include cycle
            pins.update(requirement_pins(target, markers, seen | {os.path.realpath(path)}))
            continue
        editable = re.match(r"^(?:-e|--editable)(?:\s*=\s*|\s+)(\S+)", line)
        if editable:
            pin = _editable_pin(editable.group(1), os.path.dirname(path), where, named)
            pins[normalize_name(pin.name)] = pin
            continue
        if line.startswith("-"):
            continue  # index options, --hash on their own line, ...
        spec = re.split(r"\s--hash[=\s]", line, maxsplit=1)[0].strip()
        try:
            requirement = Requirement(spec)
        except InvalidRequirement as exc:
            raise InputError(f"{where}: not a requirement ({exc})") from exc
        if requirement.marker is not None and not marker_applies(
                str(requirement.marker), markers, where):
            continue
        if requirement.url:
            pin = Pin(requirement.name, None, url=requirement.url, hashes=_hashes(line))
        else:
            exact = [s for s in requirement.specifier if s.operator in ("==", "===")]
            if len(exact) != 1 or "*" in exact[0].version:
                raise InputError(f"{where}: {requirement.name} is not pinned with == (a lock "
                                 "needs exact versions)")
            pin = Pin(requirement.name, exact[0].version)
        pins[normalize_name(requirement.name)] = pin
    return pins


class RequirementsSource:
    kind = "requirements.txt"
    expected_only = True

    def claims(self, spec: str) -> bool:
        name = Path(spec).name
        return os.path.exists(spec) and (name.endswith((".txt", ".in"))
                                         or name.startswith("requirements"))

    def pins(self, spec: str, request: Request) -> PinnedLock:
        return PinnedLock(spec, self.kind, requirement_pins(spec, request.markers))

    def load(self, spec: str, request: Request) -> Fingerprint:
        return pinned_fingerprint(self.pins(spec, request))
