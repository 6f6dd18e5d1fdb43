"""What the conda lock formats share: pins, match specs, package file names, and turning
pins into the expected side of ``check``.

A complete lock (explicit spec, conda-lock.yml, pixi.lock) lists every package, so a
record the environment has beyond it is reported as added. An ``environment.yml``
pins what its author asked for: records it does not name, and fields it leaves open
(``numpy=1.26`` pins no build), are taken from the environment and so never differ.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Any, NamedTuple

from packaging.version import InvalidVersion, Version

from ..errors import InputError
from ..model import Fingerprint
from ..probe.conda import channel_name
from ..probe.packages import normalize_name

_ARCHIVE = re.compile(r"^(?P<name>.+)-(?P<version>[^-]+)-(?P<build>[^-]+)\.(?:conda|tar\.bz2)$")
_HEX = re.compile(r"^[0-9a-f]+$")
# Which conda subdir an interpreter's platform is, where no conda record says it.
_SUBDIRS = {("Linux", "x86_64"): "linux-64", ("Linux", "aarch64"): "linux-aarch64",
            ("Linux", "ppc64le"): "linux-ppc64le", ("Darwin", "x86_64"): "osx-64",
            ("Darwin", "arm64"): "osx-arm64", ("Windows", "AMD64"): "win-64"}


class CondaPin(NamedTuple):
    """What a lock says about one conda package; None where it says nothing."""

    name: str
    version: str | None  # exact (complete locks) or a conda version spec (environment.yml)
    build: str | None  # exact, or a glob (``*mkl``)
    channel: str | None = None
    subdir: str | None = None
    md5: str | None = None
    sha256: str | None = None
    build_number: int | None = None


def pin_from_url(url: str, source: str, md5: str | None = None, sha256: str | None = None,
                 name: str | None = None, version: str | None = None,
                 build: str | None = None) -> CondaPin:
    """A pin from a package URL: ``CHANNEL/SUBDIR/NAME-VERSION-BUILD.conda``."""
    directory, _, filename = url.rpartition("/")
    match = _ARCHIVE.match(filename)
    if match is None and not (name and version):
        raise InputError(f"{source}: {url}: not a conda package file name (NAME-VERSION-BUILD"
                         ".conda or .tar.bz2)")
    subdir = directory.rpartition("/")[2] or None
    return CondaPin(name or (match.group("name") if match else ""),
                    version or (match.group("version") if match else None),
                    build or (match.group("build") if match else None),
                    channel_name(directory, subdir), subdir, _digest(md5, 32, source, url),
                    _digest(sha256, 64, source, url))


def _digest(value: Any, length: int, source: str, url: str) -> str | None:
    if value is None:
        return None
    text = str(value).lower()
    if len(text) != length or not _HEX.match(text):
        raise InputError(f"{source}: {url}: not a {'md5' if length == 32 else 'sha256'} "
                         f"digest: {str(value)[:80]!r}")
    return text


# ---- conda version specs (environment.yml) ------------------------------------------

def _compare(left: str, right: str) -> int | None:
    try:
        a, b = Version(left), Version(right)
    except InvalidVersion:
        return 0 if left == right else None
    return (a > b) - (a < b)


def version_matches(spec: str, version: str) -> bool:
    """Whether ``version`` satisfies a conda version spec: ``1.26.*``, ``1.26*``, ``==1.26.4``,
    ``>=1.26,<2``, ``1.2|1.3``, ``*``."""
    return any(all(_term_matches(term.strip(), version) for term in alternative.split(","))
               for alternative in spec.split("|"))


def _term_matches(term: str, version: str) -> bool:
    if term in ("", "*"):
        return True
    for operator in ("==", "!=", ">=", "<=", "~=", ">", "<"):
        if term.startswith(operator):
            wanted = term[len(operator):].strip()
            if operator == "~=":
                prefix = ".".join(wanted.split(".")[:-1])
                return (_compare(version, wanted) or 0) >= 0 and _prefix(prefix, version)
            order = _compare(version, wanted)
            if order is None:
                return operator == "!=" and version != wanted
            return {"==": order == 0, "!=": order != 0, ">=": order >= 0, "<=": order <= 0,
                    ">": order > 0, "<": order < 0}[operator]
    if "*" in term.rstrip("*"):
        return fnmatchcase(version, term)  # a glob inside: 1.*.3
    if term.endswith("*"):
        # 1.26* and 1.26.* alike, as conda reads them: 1.26 and 1.26.x, never 1.260.
        return _prefix(term.rstrip("*").rstrip("."), version)
    return _compare(version, term) == 0


def _prefix(prefix: str, version: str) -> bool:
    return not prefix or version == prefix or version.startswith(prefix + ".")


# ---- the expected side ----------------------------------------------------------------

def platform_subdir(current: Fingerprint | None) -> str | None:
    """The conda subdir of the environment being checked: its records', else its platform's."""
    if current is None:
        return None
    subdirs = [str(r.get("subdir")) for r in (current.data.get("conda") or {}).values()
               if isinstance(r, dict) and r.get("subdir") not in (None, "noarch")]
    if subdirs:
        return max(sorted(set(subdirs)), key=subdirs.count)
    system = str((current.data.get("os") or {}).get("system"))
    machine = str((current.data.get("cpu") or {}).get("architecture"))
    return _SUBDIRS.get((system, machine))


def _expected_record(pin: CondaPin, live: Mapping[str, Any], exact: bool) -> dict[str, Any]:
    record: dict[str, Any] = {"name": pin.name}
    live_version, live_build = live.get("version"), live.get("build")
    if pin.version is None or (not exact and isinstance(live_version, str)
                               and version_matches(pin.version, live_version)):
        record["version"] = live_version if isinstance(live_version, str) else "*"
    else:
        record["version"] = pin.version
    if pin.build is None or (isinstance(live_build, str) and fnmatchcase(live_build, pin.build)):
        record["build"] = live_build
    else:
        record["build"] = pin.build
    if record["build"] == live_build and record["version"] == live_version:
        record["build_number"] = live.get("build_number")
    for field in ("channel", "subdir", "md5", "sha256"):
        value = getattr(pin, field)
        record[field] = value if value is not None else (None if exact else live.get(field))
    if live.get("python"):
        record["python"] = live["python"]
    return {k: v for k, v in record.items() if v is not None}


def expected_fingerprint(pins: Mapping[str, CondaPin], pypi: Mapping[str, str],
                         current: Fingerprint | None, source: str, kind: str,
                         complete: bool) -> Fingerprint:
    """The expected side of ``check``: the lock's conda records (and PyPI packages).

    ``complete``: the lock lists every package, so the environment's others are added ones;
    otherwise (environment.yml) they are taken from ``current``.
    """
    live_records: dict[str, Any] = dict((current.data.get("conda") or {}) if current else {})
    live_packages: dict[str, Any] = dict(current.packages if current else {})
    records: dict[str, Any] = {}
    for name, pin in pins.items():
        live = live_records.get(name)
        records[name] = _expected_record(pin, live if isinstance(live, dict) else {}, complete)
    if not complete:
        for name, live in live_records.items():
            records.setdefault(name, live)
    packages: dict[str, Any] = {}
    installed_by_conda = {r.get("python") for r in records.values() if isinstance(r, dict)}
    for name, live in live_packages.items():
        if name in installed_by_conda or (not complete and name not in pypi):
            packages[name] = live  # judged through its conda record, or not pinned
    for name, version in pypi.items():
        key = normalize_name(name)
        packages[key] = {"name": name, "version": version}
    document = {"schema": 1, "packages": dict(sorted(packages.items())),
                "conda": dict(sorted(records.items())), "errors": [], "meta": {"source": kind}}
    return Fingerprint.from_dict(document, source)
