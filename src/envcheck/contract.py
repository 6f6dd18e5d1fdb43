"""A user's lock as a contract: every package it pins must be installed as pinned.

A requirements.txt, pylock.toml or uv.lock (and conda's files) says what must be
installed, not what else may be: each pinned package must be there at that
version and, for a direct reference, from that URL, commit or archive. Any pin
that differs fails ``check``; the rule catalog still says how much the
difference matters for numerics. Packages the lock does not name are listed,
and fail only when asked (``strict``); installer tooling is left out unless the
lock pins it.

``check_pins`` works on pinned records alone, so every lock format shares these
semantics: a source turns its file into ``Pin`` values and calls it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from .config import Config
from .drift import CATALOG_REFERENCES, Change, Difference, Report, Side, version_kind
from .model import SECTIONS, Fingerprint
from .model.pins import Pin, PinnedLock
from .rules.context import Sides
from .rules.evaluate import judge

# What installers bring along: never a difference unless the lock pins it.
TOOLING = frozenset({"pip", "setuptools", "wheel", "distribute", "pkg-resources"})
_VCS_URL = re.compile(r"^(?:git|hg|svn|bzr)\+")


def vcs_parts(url: str) -> tuple[str, str | None]:
    """``git+https://host/repo@rev#egg=x`` -> (``https://host/repo``, ``rev``)."""
    base = _VCS_URL.sub("", url.split("#", 1)[0])
    scheme, sep, rest = base.partition("://")
    path, at, revision = rest.rpartition("@")
    if not at or "/" in revision:
        return base, None  # no revision, or the '@' of user@host
    return f"{scheme}{sep}{path}", revision


def _satisfied(pinned: str, installed: str) -> bool:
    """PEP 440 ``==``: ``torch==2.13.0`` is satisfied by 2.13.0+cpu, ``1.0`` by 1.0.0."""
    try:
        return SpecifierSet(f"=={pinned}").contains(installed, prereleases=True)
    except InvalidSpecifier:
        return pinned == installed


def _source_differences(name: str, pin: Pin, package: Mapping[str, Any]) -> Iterator[Difference]:
    """Where an installed package came from, against the lock's direct reference."""
    if pin.url is None:
        return
    path = f"packages.{name}.direct_url"
    facts = package.get("direct_url")
    installed: Mapping[str, Any] = facts if isinstance(facts, dict) else {}
    want_url, revision = vcs_parts(pin.url) if _VCS_URL.match(pin.url) else (pin.url, None)
    have_url = str(installed.get("url") or "")
    if have_url.rstrip("/") != want_url.rstrip("/"):
        yield Difference("packages", name, "build", f"{path}.url", want_url, have_url or None)
        return
    commit = pin.commit or revision
    have_commit = installed.get("commit_id")
    if commit and not (isinstance(have_commit, str) and have_commit.startswith(commit)):
        yield Difference("packages", name, "build", f"{path}.commit_id", commit, have_commit)
        return
    archive = installed.get("archive_hashes")
    have = {f"{algo}:{digest}" for algo, digest in archive.items()} \
        if isinstance(archive, dict) else set()
    if pin.hashes and have and not pin.hashes & have:
        yield Difference("packages", name, "build", f"{path}.archive_hashes",
                         sorted(pin.hashes), sorted(have))


def pin_differences(pins: Mapping[str, Pin],
                    packages: Mapping[str, Any]) -> Iterator[Difference]:
    """Every way the installed ``packages`` fail the ``pins``, pin by pin."""
    for name in sorted(pins):
        pin = pins[name]
        package = packages.get(name)
        if not isinstance(package, dict):
            yield Difference("packages", name, "removed", f"packages.{name}", pin.version, None)
            continue
        version = str(package.get("version"))
        if pin.version is not None and not _satisfied(pin.version, version):
            kind = version_kind(pin.version, version) or "changed"
            yield Difference("packages", name, kind, f"packages.{name}.version", pin.version,
                             version)
            continue
        yield from _source_differences(name, pin, package)


def unlocked(pins: Mapping[str, Pin], packages: Mapping[str, Any]) -> list[str]:
    """Installed packages the lock does not name, installer tooling left out."""
    return sorted(name for name in packages if name not in pins and name not in TOOLING)


def check_pins(lock: PinnedLock, current: Fingerprint, config: Config | None = None,
               strict: bool = False, label: str = "live") -> Report:
    """Judge ``current`` against the contract of ``lock``.

    Every returned change is a broken pin (``Report.fails`` is true for any of
    them unless ``fail_on`` is ``never``); its severity and reason say how much
    it matters for numerics. ``report.unlocked`` lists what the lock does not name.
    """
    config = config or Config()
    packages = current.data.get("packages")
    installed: Mapping[str, Any] = packages if isinstance(packages, dict) else {}
    # A direct reference without a version stands for itself by its URL.
    expected = {name: {"name": pin.name, "version": pin.version or pin.url or ""}
                for name, pin in lock.pins.items()}
    sides = Sides({"packages": expected}, current.data)
    changes: list[Change] = [
        judge(difference, sides, config) for difference in pin_differences(lock.pins, installed)
        if not config.ignores(difference.section, difference.subject, difference.path)]
    changes.sort(key=lambda c: (-c.severity.rank, c.path))
    extra = [name for name in unlocked(lock.pins, installed)
             if not config.ignores("packages", name, f"packages.{name}")]
    lock_id = Fingerprint.packages_only(expected, lock.label, lock.format).id
    others = [section for section in SECTIONS if section != "packages"]
    return Report(Side(lock.label, lock_id), Side(label, current.id), changes, others,
                  kind="lock", own_references=CATALOG_REFERENCES, unlocked=extra,
                  strict=strict)
