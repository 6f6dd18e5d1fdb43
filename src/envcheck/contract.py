"""A user's lock as a contract: every package it pins must be installed as pinned.

A requirements.txt, pylock.toml or uv.lock (and conda's files) says what must be
installed, not what else may be: each pinned package must be there at that
version and, for a direct reference, from that URL, commit or archive. Any pin
that differs fails ``check``; the rule catalog still says how much the
difference matters for numerics. Packages the lock does not name are listed,
and fail only when asked (``strict``); installer tooling is left out unless the
lock pins it.

``check_pins`` works on pinned records alone, so every lock format shares these
semantics: a source turns its file into ``Pin`` values (and conda's locks into
``CondaPin`` values, one per conda record) and calls it. A conda record must match
its pin's version (exact, or a conda version spec), build string (exact, or a glob)
and, where the lock gives one, the archive's hash; records the lock does not name
are listed like unpinned packages.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from fnmatch import fnmatchcase

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from .config import Config
from .drift import CATALOG_REFERENCES, Change, Difference, Report, Side, version_kind
from .model import SCHEMA_VERSION, SECTIONS, Fingerprint
from .model.pins import CondaPin, Pin, PinnedLock, lock_document, record_text
from .probe.conda import build_variant
from .rules.context import Sides
from .rules.evaluate import judge

# What installers bring along: never a difference unless the lock pins it.
TOOLING = frozenset({"pip", "setuptools", "wheel", "distribute", "pkg-resources"})
_VCS_URL = re.compile(r"^(?:git|hg|svn|bzr)\+")
_HASH_NAMES = frozenset({"md5", "sha1", "sha224", "sha256", "sha384", "sha512"})


def vcs_parts(url: str) -> tuple[str, str | None]:
    """``git+https://host/repo@rev#egg=x`` -> (``https://host/repo``, ``rev``)."""
    base = _VCS_URL.sub("", url.split("#", 1)[0])
    scheme, sep, rest = base.partition("://")
    path, at, revision = rest.rpartition("@")
    if not at or "/" in revision:
        return base, None  # no revision, or the '@' of user@host
    return f"{scheme}{sep}{path}", revision


def archive_reference(url: str) -> tuple[str, frozenset[str]]:
    """``file:///w/x.whl#sha256=HEX`` -> (``file:///w/x.whl``, {``sha256:hex``}).

    ``pip freeze`` writes a wheel pip installed from a URL with its hash as a fragment
    (``direct_url.json`` keeps the URL without it, the hash in ``archive_info``); other
    fragments (``egg=``, ``subdirectory=``) name no file and are left out too.
    """
    base, _, fragment = url.partition("#")
    hashes = set()
    for part in fragment.split("&"):
        algo, sep, digest = part.partition("=")
        if sep and algo.lower() in _HASH_NAMES and digest:
            hashes.add(f"{algo.lower()}:{digest.lower()}")
    return base, frozenset(hashes)


def _satisfied(pinned: str, installed: str) -> bool:
    """PEP 440 ``==``: ``torch==2.13.0`` is satisfied by 2.13.0+cpu, ``1.0`` by 1.0.0."""
    try:
        return SpecifierSet(f"=={pinned}").contains(installed, prereleases=True)
    except InvalidSpecifier:
        return pinned == installed


def _source_differences(name: str, pin: Pin, package: Mapping[str, object]) -> Iterator[Difference]:
    """Where an installed package came from, against the lock's direct reference."""
    if pin.url is None:
        return
    path = f"packages.{name}.direct_url"
    facts = package.get("direct_url")
    installed: Mapping[str, object] = facts if isinstance(facts, dict) else {}
    pinned_hashes = pin.hashes
    if _VCS_URL.match(pin.url):
        want_url, revision = vcs_parts(pin.url)
    else:
        want_url, fragment_hashes = archive_reference(pin.url)
        pinned_hashes, revision = pinned_hashes | fragment_hashes, None
    have_url = archive_reference(str(installed.get("url") or ""))[0]
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
    if pinned_hashes and have and not pinned_hashes & have:
        yield Difference("packages", name, "build", f"{path}.archive_hashes",
                         sorted(pinned_hashes), sorted(have))


def pin_differences(pins: Mapping[str, Pin],
                    packages: Mapping[str, object]) -> Iterator[Difference]:
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


# ---- conda records ---------------------------------------------------------------------

def _compare(left: str, right: str) -> int | None:
    try:
        a, b = Version(left), Version(right)
    except InvalidVersion:
        return 0 if left == right else None
    return (a > b) - (a < b)


def version_matches(spec: str, version: str) -> bool:
    """Whether ``version`` satisfies a conda version spec: ``1.26.*``, ``1.26*``, ``==1.26.4``,
    ``>=1.26,<2``, ``1.2|1.3``, ``*``; an exact version (a complete lock's) matches itself."""
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


def _spec_kind(spec: str, version: str) -> str:
    """How far ``version`` is from what a spec names (its first bound): major, minor, ..."""
    first = spec.split("|")[0].split(",")[0].strip().lstrip("=<>!~").rstrip("*").rstrip(".")
    return (version_kind(first, version) if first else None) or "changed"


def record_differences(records: Mapping[str, CondaPin],
                       installed: Mapping[str, object]) -> Iterator[Difference]:
    """Every way the installed conda ``installed`` records fail the lock's pins, pin by pin.

    A record that installed a Python distribution (numpy, torch) is judged by that
    distribution's rules where its version or build differs.
    """
    for name in sorted(records):
        pin = records[name]
        path = f"conda.{name}"
        record = installed.get(name)
        if not isinstance(record, dict):
            yield Difference("conda", name, "removed", path, record_text(pin), None)
            continue
        python = record.get("python")
        section, subject = ("packages", str(python)) if python else ("conda", name)
        version, build = str(record.get("version")), record.get("build")
        build_text = build if isinstance(build, str) else ""
        differs = False
        if pin.build is not None and build_variant(name, pin.build) != build_variant(name, build):
            yield Difference("conda", name, "variant", f"{path}.build", pin.build, build)
            differs = True
        if pin.version is not None and not version_matches(pin.version, version):
            yield Difference(section, subject, _spec_kind(pin.version, version),
                             f"{path}.version", pin.version, version)
            differs = True
        if differs:
            continue
        if pin.build is not None and not fnmatchcase(build_text, pin.build):
            yield Difference(section, subject, "build", f"{path}.build", pin.build, build)
            continue
        # The archive's hash where both sides have one (sha256 first), else the channel.
        field = next((f for f in ("sha256", "md5")
                      if getattr(pin, f) and isinstance(record.get(f), str)), None)
        if field is not None:
            if getattr(pin, field) != record[field]:
                yield Difference(section, subject, "build", f"{path}.{field}",
                                 getattr(pin, field), record[field])
        elif pin.channel and record.get("channel") and pin.channel != record["channel"]:
            yield Difference("conda", name, "channel", f"{path}.channel", pin.channel,
                             record["channel"])


def unlocked(pins: Mapping[str, Pin], packages: Mapping[str, object],
             records: Mapping[str, CondaPin] | None = None,
             installed_records: Mapping[str, object] | None = None) -> list[str]:
    """Installed packages the lock does not name, installer tooling left out.

    With conda's locks (``records``), the environment's conda records count: one the lock
    does not name is listed by its record name, and a Python distribution a conda record
    installed is that record's business, never listed twice.
    """
    extra = {name for name in packages if name not in pins and name not in TOOLING}
    if records is not None:
        live = installed_records or {}
        by_conda = {str(r["python"]) for r in live.values()
                    if isinstance(r, dict) and r.get("python")}
        extra = {name for name in extra if name not in by_conda}
        extra |= {name for name, record in live.items() if name not in records
                  and str((record if isinstance(record, dict) else {}).get("python") or name)
                  not in TOOLING}
    return sorted(extra)


def check_pins(lock: PinnedLock, current: Fingerprint, config: Config | None = None,
               strict: bool = False, label: str = "live") -> Report:
    """Judge ``current`` against the contract of ``lock``.

    Every returned change is a broken pin (``Report.fails`` is true for any of
    them unless ``fail_on`` is ``never``); its severity and reason say how much
    it matters for numerics. ``report.unlocked`` lists what the lock does not name.
    """
    config = config or Config()
    packages = current.data.get("packages")
    installed: Mapping[str, object] = packages if isinstance(packages, dict) else {}
    conda = current.data.get("conda")
    installed_records: Mapping[str, object] = conda if isinstance(conda, dict) else {}
    expected = lock_document(lock)
    sides = Sides(expected, current.data)
    differences = list(pin_differences(lock.pins, installed))
    if lock.records:
        differences += record_differences(lock.records, installed_records)
    changes: list[Change] = [
        judge(difference, sides, config) for difference in differences
        if not config.ignores(difference.section, difference.subject, difference.path)]
    changes.sort(key=lambda c: (-c.severity.rank, c.path))
    section_of = {name: "conda" for name in installed_records}
    extra = [name for name in unlocked(lock.pins, installed,
                                       lock.records if lock.records else None,
                                       installed_records)
             if not config.ignores(section_of.get(name, "packages"), name,
                                   f"{section_of.get(name, 'packages')}.{name}")]
    lock_id = Fingerprint.from_dict({"schema": SCHEMA_VERSION, **expected, "errors": [],
                                     "meta": {"source": lock.format}}, lock.label).id
    shown = ("packages", "conda") if lock.records else ("packages",)
    others = [section for section in SECTIONS if section not in shown]
    return Report(Side(lock.label, lock_id), Side(label, current.id), changes, others,
                  kind="lock", own_references=CATALOG_REFERENCES, unlocked=extra,
                  strict=strict)
