"""Differences that follow from another one, judged under their cause.

A Python 3.11 -> 3.12 move reinstalls every binary wheel with other tags; a new
torch pins other ``nvidia-*`` wheels; a new numpy bundles another OpenBLAS. Each
such effect is reported under its cause, with the cause's severity and a reason
that names it, so one decision is not read as thirty unrelated ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from fnmatch import fnmatchcase
from typing import NamedTuple

from ..model.report import Change
from .context import Sides


class Cause(NamedTuple):
    id: str
    effect: str  # fnmatch pattern of the effect's path
    find: Callable[[Change, Mapping[str, Change], Sides], Change | None]  # -> its cause
    reason: str
    reference: str


def _platforms(tags: object) -> set[str] | None:
    if not isinstance(tags, list):
        return None
    return {str(tag).split("-", 2)[-1] for tag in tags}


def _python_of_wheel_tags(effect: Change, changes: Mapping[str, Change],
                          sides: Sides) -> Change | None:
    """Only the interpreter and ABI parts of the tags changed, and so did Python."""
    python = changes.get("python.version")
    if python is None or python.kind not in ("major", "minor", "changed"):
        return None
    same = _platforms(effect.before)
    return python if same is not None and same == _platforms(effect.after) else None


def _frameworks(sides: Sides) -> dict[str, dict[str, object]]:
    found: dict[str, dict[str, object]] = {}
    for side in sides:
        section = side.get("frameworks")
        for name, facts in (section.items() if isinstance(section, dict) else ()):
            if isinstance(facts, dict):
                found.setdefault(name, {}).update(facts)
    return found


def _version_change(framework: str, facts: Mapping[str, object],
                    changes: Mapping[str, Change]) -> Change | None:
    distribution = str(facts.get("distribution") or framework)
    return changes.get(f"packages.{distribution}.version")


def _framework_of_facts(effect: Change, changes: Mapping[str, Change],
                        sides: Sides) -> Change | None:
    """``frameworks.numpy.blas_version`` changed with numpy's own version."""
    name = effect.path.split(".")[1]
    return _version_change(name, _frameworks(sides).get(name, {}), changes)


def _bundled_with_framework(effect: Change, changes: Mapping[str, Change],
                            sides: Sides) -> Change | None:
    """``cuda.framework_libraries.scipy.libscipy_openblas-5f890258.so``: a library the
    framework's wheel bundles (or the wheels it pins), found in site-packages on both sides,
    changed with the framework's version. One in a system or conda ``lib`` directory is not
    the framework's doing."""
    parts = effect.path.split(".", 3)
    if len(parts) < 4:
        return None
    framework, library = parts[2], parts[3]
    for side in sides:
        cuda = side.get("cuda")
        libraries = cuda.get("framework_libraries") if isinstance(cuda, dict) else None
        entries = libraries.get(framework) if isinstance(libraries, dict) else None
        entry = entries.get(library) if isinstance(entries, dict) else None
        if isinstance(entry, dict) and "site-packages" not in str(entry.get("directory")):
            return None
    return _version_change(framework, _frameworks(sides).get(framework, {}), changes)


def _framework_pinning(effect: Change, changes: Mapping[str, Change],
                       sides: Sides) -> Change | None:
    """An ``nvidia-*`` wheel that a changed framework pins on either side."""
    wheel = effect.path.split(".")[1]
    for side in sides:
        section = side.get("frameworks")
        for name, facts in (section.items() if isinstance(section, dict) else ()):
            pins = facts.get("nvidia_requirements") if isinstance(facts, dict) else None
            if isinstance(pins, dict) and wheel in pins:
                cause = _version_change(name, facts, changes)
                if cause is not None:
                    return cause
    return None


# The switch every other part of a BLAS switch follows: conda's libblas build variant
# (libcblas, liblapack and the blas metapackage move with it), Debian's libblas.so.3
# alternative (liblapack.so.3 follows it in every Debian BLAS package).
_BLAS_SWITCHES = ("conda.libblas.build", "system_packages.alternatives.libblas.so.3")
_BLAS_EFFECTS = ("conda.libcblas.build", "conda.liblapack.build", "conda.liblapacke.build",
                 "conda.blas.build", "system_packages.alternatives.liblapack.so.3",
                 "system_packages.alternatives.libcblas.so.3", "frameworks.*.blas",
                 "frameworks.*.lapack", "cuda.framework_libraries.*")


def _blas_switch(effect: Change, changes: Mapping[str, Change],
                 sides: Sides) -> Change | None:
    """Another part of the one BLAS switch: a conda BLAS record's variant, another Debian BLAS
    alternative, a framework's BLAS, or the BLAS library file a framework resolves."""
    if effect.kind != "variant" and effect.rule not in ("framework-blas",
                                                        "framework-library-blas"):
        return None
    return next((changes[path] for path in _BLAS_SWITCHES
                 if path in changes and changes[path].kind == "variant"), None)


def _python_distribution(effect: Change, changes: Mapping[str, Change],
                         sides: Sides) -> Change | None:
    """A conda record added or removed with the Python distribution it installed: the
    distribution's own line (``packages.numpy``) says it."""
    if effect.kind not in ("added", "removed"):
        return None
    name = effect.path.split(".", 1)[1]
    for side in sides:
        records = side.get("conda")
        record = records.get(name) if isinstance(records, dict) else None
        if isinstance(record, dict) and record.get("python"):
            cause = changes.get(f"packages.{record['python']}")
            if cause is not None and cause.kind == effect.kind:
                return cause
    return None


CAUSES: tuple[Cause, ...] = (
    Cause("follows-python", "packages.*.wheel.tags", _python_of_wheel_tags,
          "the same release built for the other Python", "PEP 425"),
    Cause("follows-framework-version", "frameworks.*", _framework_of_facts,
          "a framework's build facts change with its version", "envcheck default"),
    Cause("follows-framework-version", "cuda.framework_libraries.*", _bundled_with_framework,
          "a framework's wheel bundles these libraries (or pins the wheels that do)",
          "envcheck default"),
    Cause("follows-framework-pins", "packages.nvidia-*", _framework_pinning,
          "the framework pins these CUDA library wheels", "pytorch/pytorch#114952"),
    Cause("follows-python-distribution", "conda.*", _python_distribution,
          "the conda package that installed this Python distribution",
          "https://docs.conda.io/projects/conda/en/stable/user-guide/concepts/packages.html"),
    *(Cause("follows-blas-switch", effect, _blas_switch,
            "part of the same BLAS switch", "https://wiki.debian.org/DebianScience/"
            "LinearAlgebraLibraries") for effect in _BLAS_EFFECTS),
)


def attribute(changes: list[Change], sides: Sides) -> list[Change]:
    """``changes`` with each effect rejudged under its cause (``Change.cause``)."""
    by_path = {change.path: change for change in changes}
    result = []
    for change in changes:
        for rule in CAUSES:
            if not fnmatchcase(change.path, rule.effect):
                continue
            cause = rule.find(change, by_path, sides)
            if cause is not None and cause.path != change.path and cause.cause is None:
                change = Change(change.path, change.before, change.after, cause.severity,
                                f"follows from {cause.path}: {rule.reason}", rule.reference,
                                rule.id, change.kind, cause.path)
                break
        result.append(change)
    return result
