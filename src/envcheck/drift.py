"""Two fingerprints in, a judged list of changes out. Pure: no I/O, no printing.

(Named ``drift`` so that ``envcheck.diff`` stays the public function. The types
it returns live in :mod:`envcheck.model.report`; they are re-exported here.)

Differences are extracted per section at the level a person reasons about
(a package's version, a GPU's compute capability, one environment variable),
classified (major/minor/patch/local/build, added/removed/changed), then
judged by the rule catalog with context from both sides.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Any

from packaging.version import Version

from .config import Config
from .evidence import causes, compare, loaded_differences
from .model import LATER_SECTIONS, SECTIONS, VOLATILE, Fingerprint
from .model.evidence import Evidence
from .model.report import Change, Difference, Report, Side
from .probe.conda import build_variant
from .rules.catalog import CATALOG
from .rules.causes import CAUSES, attribute
from .rules.context import Sides
from .rules.evaluate import judge

__all__ = ["Change", "Difference", "Report", "Side", "diff", "version_kind"]

CATALOG_REFERENCES = frozenset(rule.reference for rule in CATALOG) | {
    cause.reference for cause in CAUSES}


# ---- versions -------------------------------------------------------------------------

def version_kind(before: str, after: str) -> str | None:
    """Classify a version change; None when both name the same version."""
    if before == after:
        return None
    try:
        old, new = Version(before), Version(after)
    except ValueError:  # InvalidVersion, or a number too long for int()
        return "changed"
    width = max(len(old.release), len(new.release), 3)
    old_release = old.release + (0,) * (width - len(old.release))
    new_release = new.release + (0,) * (width - len(new.release))
    if old.epoch != new.epoch or old_release[0] != new_release[0]:
        return "major"
    if old_release[1] != new_release[1]:
        return "minor"
    if old_release != new_release or (old.pre, old.post, old.dev) != (new.pre, new.post, new.dev):
        return "patch"
    if old.local != new.local:
        return "local"
    return None


# ---- extraction per section -----------------------------------------------------------

def _dict(value: object) -> dict[str, Any]:  # a validated section: shapes checked
    return value if isinstance(value, dict) else {}


def _packages(a: Mapping[str, object], b: Mapping[str, object],
              unknown: frozenset[str] = frozenset()) -> Iterator[Difference]:
    for name in sorted(set(a) | set(b)):
        pa, pb = _dict(a.get(name)), _dict(b.get(name))
        path = f"packages.{name}"
        if not pa or not pb:
            kind = "added" if pb else "removed"
            yield Difference("packages", name, kind, path, pa.get("version"), pb.get("version"))
            continue
        bump = version_kind(str(pa.get("version")), str(pb.get("version")))
        if bump:
            yield Difference("packages", name, bump, f"{path}.version", pa.get("version"),
                             pb.get("version"))
        else:
            yield from _package_build(name, path, pa, pb, "direct_url" not in unknown)
        shadow_a = sorted(str(s.get("version")) for s in pa.get("shadowed") or [])
        shadow_b = sorted(str(s.get("version")) for s in pb.get("shadowed") or [])
        if "shadowed" not in unknown and shadow_a != shadow_b:
            yield Difference("packages", name, "shadowed", f"{path}.shadowed",
                             shadow_a or None, shadow_b or None)


def _package_build(name: str, path: str, pa: Mapping[str, object], pb: Mapping[str, object],
                   compare_urls: bool) -> Iterator[Difference]:
    """Same version on both sides: is it the same build?"""
    tags_a, tags_b = _dict(pa.get("wheel")).get("tags"), _dict(pb.get("wheel")).get("tags")
    if tags_a and tags_b and tags_a != tags_b:
        yield Difference("packages", name, "build", f"{path}.wheel.tags", tags_a, tags_b)
        return
    url_a, url_b = _dict(pa.get("direct_url")), _dict(pb.get("direct_url"))
    for field in ("commit_id", "archive_hashes", "editable") if compare_urls else ():
        if url_a.get(field) != url_b.get(field):
            yield Difference("packages", name, "build", f"{path}.direct_url.{field}",
                             url_a.get(field), url_b.get(field))
            return
    digest_a, digest_b = pa.get("record_digest"), pb.get("record_digest")
    if digest_a and digest_b and digest_a != digest_b:
        yield Difference("packages", name, "build", f"{path}.record_digest", digest_a, digest_b)
        return
    if pa.get("files_changed") != pb.get("files_changed"):
        # Deep snapshots record files that differ from RECORD (edited since install); a
        # plain snapshot knows none, and its id is that of a clean deep one.
        yield Difference("packages", name, "edited", f"{path}.files_changed",
                         pa.get("files_changed"), pb.get("files_changed"))


_FRAMEWORK_SKIP = frozenset({"version", "distribution", "jaxlib", "plugins", "debug"})


def _frameworks(a: Mapping[str, object], b: Mapping[str, object]) -> Iterator[Difference]:
    # Presence and versions come from the packages section; here, the build facts.
    for name in sorted(set(a) & set(b)):
        fa, fb = _dict(a.get(name)), _dict(b.get(name))
        same_version = fa.get("version") == fb.get("version")
        # A fact one side does not record (a fingerprint from an older envcheck) or could not
        # read (git_revision None) is unknown there, not changed.
        for field in sorted((set(fa) & set(fb)) - _FRAMEWORK_SKIP):
            if field == "git_revision" and (not same_version or None in (fa[field], fb[field])):
                continue  # a new version has a new revision; the version change says it all
            if fa.get(field) != fb.get(field):
                yield Difference("frameworks", f"{name}.{field}", "changed",
                                 f"frameworks.{name}.{field}", fa.get(field), fb.get(field))


def _presence(before: object, after: object) -> str:
    if before is None:
        return "added"
    return "removed" if after is None else "changed"


def _cuda(a: Mapping[str, object], b: Mapping[str, object]) -> Iterator[Difference]:
    for field in ("driver_version", "driver_cuda_version"):
        if a.get(field) != b.get(field):
            yield Difference("cuda", field, _presence(a.get(field), b.get(field)),
                             f"cuda.{field}", a.get(field), b.get(field))
    libs_a, libs_b = _dict(a.get("system_libraries")), _dict(b.get("system_libraries"))
    for lib in sorted(set(libs_a) | set(libs_b)):
        va, vb = _dict(libs_a.get(lib)).get("version"), _dict(libs_b.get(lib)).get("version")
        if va != vb:
            yield Difference("cuda", f"system_libraries.{lib}", _presence(va, vb),
                             f"cuda.system_libraries.{lib}", va, vb)
    ta, tb = _dict(a.get("toolkit")).get("version"), _dict(b.get("toolkit")).get("version")
    if ta != tb:
        yield Difference("cuda", "toolkit", _presence(ta, tb), "cuda.toolkit.version", ta, tb)
    yield from _framework_libraries(_dict(a.get("framework_libraries")),
                                    _dict(b.get("framework_libraries")))


def _framework_libraries(a: Mapping[str, object], b: Mapping[str, object]) -> Iterator[Difference]:
    """The file each framework's DT_NEEDED name resolves to, and how it was found."""
    for framework in sorted(set(a) & set(b)):
        la, lb = _dict(a.get(framework)), _dict(b.get(framework))
        for name in sorted(set(la) | set(lb)):
            ea, eb = _dict(la.get(name)), _dict(lb.get(name))
            before, after = _resolved(ea), _resolved(eb)
            if before != after:
                kind = str(ea.get("kind") or eb.get("kind") or "other")
                yield Difference("cuda", f"framework_libraries.{kind}", _presence(before, after),
                                 f"cuda.framework_libraries.{framework}.{name}", before, after)


def _resolved(entry: Mapping[str, object]) -> str | None:
    if not entry:
        return None
    return f"{entry.get('file') or 'not found'} ({entry.get('via') or 'nowhere'})"


# ---- conda records and system packages ------------------------------------------------

def _record_text(record: Mapping[str, object]) -> str | None:
    if not record:
        return None
    build = record.get("build")
    return f"{record.get('version')}={build}" if build else str(record.get("version"))


def _conda(a: Mapping[str, object], b: Mapping[str, object]) -> Iterator[Difference]:
    for name in sorted(set(a) | set(b)):
        ra, rb = _dict(a.get(name)), _dict(b.get(name))
        path = f"conda.{name}"
        if not ra or not rb:
            yield Difference("conda", name, "added" if rb else "removed", path,
                             _record_text(ra), _record_text(rb))
            continue
        variant_a, variant_b = build_variant(name, ra.get("build")), \
            build_variant(name, rb.get("build"))
        if variant_a != variant_b:
            yield Difference("conda", name, "variant", f"{path}.build", ra.get("build"),
                             rb.get("build"))
        bump = version_kind(str(ra.get("version")), str(rb.get("version")))
        if bump:
            # A Python distribution's version is judged in packages already.
            if not (ra.get("python") and rb.get("python")):
                yield Difference("conda", name, bump, f"{path}.version", ra.get("version"),
                                 rb.get("version"))
            continue
        if variant_a != variant_b:
            continue
        for field in ("build", "build_number", "sha256", "md5"):
            va, vb = ra.get(field), rb.get(field)
            if va is not None and vb is not None and va != vb:
                # Same version, another build: the build string first, then the archive.
                yield Difference("conda", name, "build", f"{path}.{field}", va, vb)
                break
        else:
            if ra.get("channel") != rb.get("channel"):
                yield Difference("conda", name, "channel", f"{path}.channel",
                                 ra.get("channel"), rb.get("channel"))


def debian_upstream(version: str) -> str:
    """``1:2.21.5-1+cuda12.4`` -> ``2.21.5``: without epoch and Debian revision."""
    upstream = version.split(":", 1)[1] if ":" in version.split("-", 1)[0] else version
    return upstream.rsplit("-", 1)[0] if "-" in upstream else upstream


def _system_packages(a: Mapping[str, object], b: Mapping[str, object]) -> Iterator[Difference]:
    pa, pb = _dict(a.get("packages")), _dict(b.get("packages"))
    for name in sorted(set(pa) | set(pb)):
        ea, eb = _dict(pa.get(name)), _dict(pb.get(name))
        path = f"system_packages.{name}"
        if not ea or not eb:
            yield Difference("system_packages", name, "added" if eb else "removed", path,
                             ea.get("version"), eb.get("version"))
            continue
        va, vb = str(ea.get("version")), str(eb.get("version"))
        if va != vb:
            kind = version_kind(debian_upstream(va), debian_upstream(vb)) or "build"
            yield Difference("system_packages", name, kind, f"{path}.version", va, vb)
        elif ea.get("architecture") != eb.get("architecture"):
            yield Difference("system_packages", name, "build", f"{path}.architecture",
                             ea.get("architecture"), eb.get("architecture"))
    alt_a, alt_b = _dict(a.get("alternatives")), _dict(b.get("alternatives"))
    for link in sorted(set(alt_a) | set(alt_b)):
        if alt_a.get(link) != alt_b.get(link):
            yield Difference("system_packages", f"alternatives.{link}", "variant",
                             f"system_packages.alternatives.{link}", alt_a.get(link),
                             alt_b.get(link))


_GPU_FIELDS = ("compute_capability", "name", "multiprocessors", "mig_mode", "memory_total_mib",
               "ecc", "visible_as")


def _gpus(a: Sequence[object], b: Sequence[object]) -> Iterator[Difference]:
    ga = [g for g in a if isinstance(g, dict)]
    gb = [g for g in b if isinstance(g, dict)]
    if len(ga) != len(gb):
        yield Difference("gpus", "count", "changed", "gpus.count", len(ga), len(gb))
    if not ga or not gb:
        return
    for field in _GPU_FIELDS:
        values_a, values_b = [g.get(field) for g in ga], [g.get(field) for g in gb]
        if len(set(map(repr, values_a))) == 1 and len(set(map(repr, values_b))) == 1:
            # Homogeneous nodes (the usual case): one change for all GPUs, not eight.
            if values_a[0] != values_b[0]:
                yield Difference("gpus", field, "changed", f"gpus.*.{field}", values_a[0],
                                 values_b[0])
            continue
        for index, (va, vb) in enumerate(zip(values_a, values_b)):
            if va != vb:
                yield Difference("gpus", field, "changed", f"gpus.{index}.{field}", va, vb)


_CPU_FIELDS = ("architecture", "vendor", "model", "usable_cores", "logical_cores",
               "physical_cores", "cgroup_cpu_limit", "memory_total_mib")


def _cpu(a: Mapping[str, Any], b: Mapping[str, Any]) -> Iterator[Difference]:
    for field in _CPU_FIELDS:
        if a.get(field) != b.get(field):
            yield Difference("cpu", field, "changed", f"cpu.{field}", a.get(field), b.get(field))
    flags_a, flags_b = set(a.get("flags") or []), set(b.get("flags") or [])
    for flag in sorted(flags_a ^ flags_b):
        present = flag in flags_b
        yield Difference("cpu", f"flags.{flag}", "added" if present else "removed",
                         f"cpu.flags.{flag}", "absent" if present else "present",
                         "present" if present else "absent")


def _fields(section: str, a: Mapping[str, object], b: Mapping[str, object],
            fields: tuple[str, ...]) -> Iterator[Difference]:
    """Compare dotted fields (``libc.version``) of one section."""
    for field in fields:
        va, vb = _get(a, field), _get(b, field)
        if va != vb:
            yield Difference(section, field, _presence(va, vb), f"{section}.{field}", va, vb)


def _get(node: Mapping[str, object], dotted: str) -> object:
    value: object = node
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _python(a: Mapping[str, object], b: Mapping[str, object]) -> Iterator[Difference]:
    va, vb = a.get("version"), b.get("version")
    kind = version_kind(str(va), str(vb)) if va and vb else (None if va == vb else "changed")
    if kind:
        yield Difference("python", "version", kind, "python.version", va, vb)
    yield from _fields("python", a, b, ("implementation", "free_threaded", "build.compiler",
                                        "build.date", "wheel_tag", "platform"))


def _os(a: Mapping[str, object], b: Mapping[str, object]) -> Iterator[Difference]:
    yield from _fields("os", a, b, ("system", "libc.name", "libc.version", "distribution.id",
                                    "distribution.version", "kernel", "container"))


def _env(a: Mapping[str, object], b: Mapping[str, object]) -> Iterator[Difference]:
    for name in sorted(set(a) | set(b)):
        va, vb = a.get(name), b.get(name)
        if va != vb:
            kind = {"added": "set", "removed": "unset"}.get(_presence(va, vb), "changed")
            yield Difference("env", name, kind, f"env.{name}", va, vb)


def differences(a: Mapping[str, Any], b: Mapping[str, Any],
                sections: tuple[str, ...] = SECTIONS) -> Iterator[Difference]:
    """Every raw difference between two fingerprint documents, section by section."""
    unknown: set[str] = set()
    if not (_probed(a) and _probed(b)):
        unknown |= {"shadowed", "direct_url"}  # pip inspect and standard locks lack them
    extractors = {
        "packages": lambda: _packages(_dict(a.get("packages")), _dict(b.get("packages")),
                                      frozenset(unknown)),
        "frameworks": lambda: _frameworks(_dict(a.get("frameworks")),
                                          _dict(b.get("frameworks"))),
        "cuda": lambda: _cuda(_dict(a.get("cuda")), _dict(b.get("cuda"))),
        "gpus": lambda: _gpus(a.get("gpus") or [], b.get("gpus") or []),
        "cpu": lambda: _cpu(_dict(a.get("cpu")), _dict(b.get("cpu"))),
        "python": lambda: _python(_dict(a.get("python")), _dict(b.get("python"))),
        "os": lambda: _os(_dict(a.get("os")), _dict(b.get("os"))),
        "env": lambda: _env(_dict(a.get("env")), _dict(b.get("env"))),
        "conda": lambda: _conda(_dict(a.get("conda")), _dict(b.get("conda"))),
        "system_packages": lambda: _system_packages(_dict(a.get("system_packages")),
                                                    _dict(b.get("system_packages"))),
    }
    for section in sections:
        yield from extractors[section]()


def _unrecorded(difference: Difference) -> bool:
    """A volatile fact one side does not record (a lockfile leaves them out): not a change."""
    if difference.section == "env" or (difference.before is not None
                                       and difference.after is not None):
        return False  # an unset variable is recorded as None: that is a fact
    return any(fnmatchcase(difference.path, pattern) for pattern in VOLATILE)


# What a document records is read from its shape, never from claims in its own
# ``meta``, which a stranger's file could use to switch comparisons off.

def _packages_of(document: Mapping[str, object]) -> list[dict[str, object]]:
    return [p for p in _dict(document.get("packages")).values() if isinstance(p, dict)]


def _probed(document: Mapping[str, object]) -> bool:
    """Packages read by the probe (a fingerprint or lock), not a pip inspect or requirements
    list: every probed package has a ``format``."""
    packages = _packages_of(document)
    return not packages or any("format" in p for p in packages)



def known_sections(fingerprint: Fingerprint) -> tuple[str, ...]:
    """The sections a document describes: those present (pip inspect reports and standard
    locks have packages only)."""
    return tuple(s for s in SECTIONS if fingerprint.data.get(s) is not None)


def diff(a: Fingerprint, b: Fingerprint, config: Config | None = None,
         labels: tuple[str, str] = ("a", "b")) -> Report:
    """Compare two fingerprints and judge every difference."""
    config = config or Config()
    known_a, known_b = known_sections(a), known_sections(b)
    sections = tuple(s for s in SECTIONS if s in known_a and s in known_b)
    # A section added later that neither side describes (two older documents) is no news.
    unknown = [s for s in SECTIONS if s not in sections
               and (s not in LATER_SECTIONS or s in known_a or s in known_b)]
    sides = Sides(a.data, b.data)
    changes = []
    for difference in differences(a.data, b.data, sections):
        if config.ignores(difference.section, difference.subject, difference.path) \
                or _unrecorded(difference):
            continue
        changes.append(judge(difference, sides, config))
    changes = attribute(changes, sides)
    evidence = _measured(a.data, b.data, sides, config, changes)
    section_rank = {s: i for i, s in enumerate(SECTIONS)}
    changes.sort(key=lambda c: (-c.severity.rank, section_rank.get(c.path.split(".")[0], 99),
                                c.path))
    return Report(Side(labels[0], a.id), Side(labels[1], b.id), changes, unknown,
                  own_references=CATALOG_REFERENCES, evidence=evidence)


def _measured(a: Mapping[str, Any], b: Mapping[str, Any], sides: Sides, config: Config,
              changes: list[Change]) -> Evidence | None:
    """Add the canaries that computed other bits and the runtime facts that differ to
    ``changes`` (each judged by the catalog); the evidence summary."""
    found, evidence = compare(a.get("numerics"), b.get("numerics"))
    if evidence is not None:  # both sides ran the canaries: their files against the loaded
        found += loaded_differences(a, b)
    env_a, env_b = _dict(a.get("env")), _dict(b.get("env"))
    measured = []
    for subject, kind, before, after, detail in found:
        name = subject.partition(".")[2]
        if subject.startswith("settings.") and name in env_a and name in env_b:
            continue  # the env section already compares this variable
        difference = Difference("numerics", subject, kind, f"numerics.{subject}", before, after)
        if config.ignores("numerics", subject, difference.path):
            continue
        change = judge(difference, sides, config)
        if kind == "measured":
            measured.append((name, change, detail))
        else:
            changes.append(change._replace(reason=f"{change.reason} ({detail})")
                           if detail else change)
    paths = [c.path for c in changes]
    for name, change, detail in measured:
        suspects = causes(name, paths)
        why = (f"; differences above that can cause it: {', '.join(suspects)}" if suspects
               else "; no other difference in this report explains it")
        changes.append(change._replace(reason=f"{change.reason} ({detail}){why}"))
    return evidence
