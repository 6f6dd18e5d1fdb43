"""What verify reports: per-distribution results and the report over all of them."""

from __future__ import annotations

from dataclasses import dataclass, field

# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Modified:
    """A file whose size or content differs from RECORD (``algo=digest`` strings).

    ``actual`` is None when the sizes already differ: the file is not hashed then.
    """

    path: str
    expected: str
    actual: str | None
    expected_size: int | None
    size: int

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "expected": self.expected, "actual": self.actual,
                "expected_size": self.expected_size, "size": self.size}


@dataclass(frozen=True)
class Unchecked:
    """A file RECORD lists with a hash that could not be checked, and why."""

    path: str
    reason: str

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "reason": self.reason}


@dataclass
class PackageResult:
    """What verifying one distribution found; paths as RECORD writes them.

    ``files_checked`` counts the RECORD entries with a hash that were looked at
    (missing ones included, ``unchecked`` ones not).
    """

    name: str
    version: str
    location: str
    files_checked: int = 0
    modified: list[Modified] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    unchecked: list[Unchecked] = field(default_factory=list)
    unverifiable: str | None = None
    note: str | None = None
    # The Debian package that installed it, whose md5sums it was checked against (the
    # note says so in JSON; this is for what to suggest: apt, not pip).
    packaged_by: str | None = field(default=None, compare=False)

    @property
    def clean(self) -> bool:
        return (self.unverifiable is None and not self.modified and not self.missing
                and not self.added and not self.unchecked)

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "version": self.version,
            "location": self.location,
            "clean": self.clean,
            "files_checked": self.files_checked,
            "modified": [m.to_dict() for m in self.modified],
            "missing": list(self.missing),
            "added": list(self.added),
            "unchecked": [u.to_dict() for u in self.unchecked],
            "unverifiable": self.unverifiable,
            "note": self.note,
        }


@dataclass
class VerifyReport:
    """Every verified distribution, in name order, and how the run went.

    ``hashed`` files were read this run, ``cached`` ones took their digest from
    the hash cache; ``bytes_hashed`` is what was read. ``unchanged`` distributions
    were judged from their memo (nothing they depend on changed since the last
    run). ``not_found`` lists requested names that are not installed; ``warnings``
    what went wrong on the side (an unreadable directory, a cache that could not
    be written).
    """

    packages: list[PackageResult] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    # Installed names close to each one not found: a typo (-p torhc) gets an answer.
    close_matches: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    hashed: int = 0
    cached: int = 0
    bytes_hashed: int = 0
    unchanged: int = 0
    workers: int = 1
    seconds: float = 0.0

    @property
    def clean(self) -> bool:
        """No finding anywhere, and every requested name found."""
        return not self.not_found and all(p.clean for p in self.packages)

    @property
    def counts(self) -> dict[str, int]:
        return {
            "packages": len(self.packages),
            "files_checked": sum(p.files_checked for p in self.packages),
            "modified": sum(len(p.modified) for p in self.packages),
            "missing": sum(len(p.missing) for p in self.packages),
            "added": sum(len(p.added) for p in self.packages),
            "unchecked": sum(len(p.unchecked) for p in self.packages),
            "unverifiable": sum(p.unverifiable is not None for p in self.packages),
            "not_found": len(self.not_found),
        }

    def to_dict(self) -> dict[str, object]:
        return {
            "clean": self.clean,
            "counts": self.counts,
            "packages": [p.to_dict() for p in self.packages],
            "not_found": list(self.not_found),
            "warnings": list(self.warnings),
            "stats": {"hashed": self.hashed, "cached": self.cached,
                      "unchanged": self.unchanged, "bytes_hashed": self.bytes_hashed,
                      "workers": self.workers,
                      "seconds": round(self.seconds, 4)},
        }
