"""Finding distributions the way the probe does, and the files added beside them."""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..probe._common import Errors
from ..probe.packages import (
    NAME_FIELD,
    VALID_NAME,
    VERSION_FIELD,
    direct_url_facts,
    metadata_dirs,
    metadata_file,
    normalize_name,
    read_header_block,
)
from .cache import (
    _Stamp,
    _stamp_of,
)
from .record import (
    _dirs,
    _Record,
)

# --------------------------------------------------------------------------- discovery


@dataclass
class _Dist:
    key: str
    name: str
    version: str
    location: str  # the sys.path entry, as the probe reports it
    info_path: str
    fmt: str
    packaged_by: str | None = None  # the Debian package that installed it, if one did

    @property
    def base(self) -> str:
        """The directory RECORD paths are relative to (an egg-link's target, not the entry)."""
        return os.path.abspath(os.path.dirname(self.info_path))


def _distributions(paths: list[str], errors: Errors,
                   stamps: dict[str, list[tuple[str, _Stamp]]] | None = None) -> Iterator[_Dist]:
    """Every distribution on ``paths`` in import order: the probe's walk, keeping the path.

    With ``stamps``: every metadata directory found, its metadata file and RECORD,
    stamped before anything is read, by base directory (what memos depend on).
    """
    for location in paths:
        if not location:
            continue
        for info_path, fmt in metadata_dirs(location, errors):
            if stamps is not None:
                found = stamps.setdefault(os.path.dirname(os.path.abspath(info_path)), [])
                for path in (info_path, metadata_file(info_path, fmt),
                             os.path.join(info_path, "RECORD")):
                    with contextlib.suppress(OSError, ValueError):
                        found.append((os.path.abspath(path), _stamp_of(os.stat(path))))
            stem = os.path.basename(info_path if fmt != "egg" else os.path.dirname(info_path))
            if not VALID_NAME.match(os.path.splitext(stem)[0].split("-", 1)[0]):
                continue  # a leftover (pip's ``~orch.dist-info``): the probe ignores it too
            try:
                block = read_header_block(metadata_file(info_path, fmt))
            except OSError:
                continue  # no metadata: the probe skips it too (and says so in a snapshot)
            end = block.find("\n\n")
            header = block if end < 0 else block[:end]
            name, version = NAME_FIELD.search(header), VERSION_FIELD.search(header)
            if name and version and name.group(1) and version.group(1):
                yield _Dist(normalize_name(name.group(1)), name.group(1), version.group(1),
                            location, info_path, fmt)


def _unverifiable(dist: _Dist) -> str | None:
    if dist.fmt.startswith("dist-info"):
        return None
    if dist.fmt.endswith("+egg-link"):
        return "an editable egg-link install (setup.py develop): no RECORD to check against"
    if dist.fmt == "egg":
        return "an .egg install: no RECORD to check against"
    return ("installed with egg-info metadata (setup.py install or a system package "
            "manager): no RECORD to check against")


def _editable_note(dist: _Dist) -> str | None:
    facts = direct_url_facts(dist.info_path)
    if facts and facts.get("editable"):
        return ("editable install: RECORD covers only the import hook, not the source tree at "
                f"{facts.get('url')}")
    return None



# --------------------------------------------------------------------------- walking


class _Tree:
    """The files under a base directory's top-level directories, ``__pycache__`` left out.

    Each directory is stamped just before it is listed, for memos; a top-level
    directory whose walk met an error has no stamps (``dir_stamps`` None).
    """

    def __init__(self, base: str, warnings: list[str]) -> None:
        self.base = base
        self._warnings = warnings
        self._listings: dict[str, tuple[list[str], list[tuple[str, _Stamp]] | None]] = {}

    def listing(self, top: str) -> list[str]:
        if top not in self._listings:
            found: list[str] = []
            dirs: list[tuple[str, _Stamp]] = []
            complete = self._scan(os.path.join(self.base, top), top + "/", found, dirs)
            self._listings[top] = (found, dirs if complete else None)
        return self._listings[top][0]

    def dir_stamps(self, top: str) -> list[tuple[str, _Stamp]] | None:
        self.listing(top)
        return self._listings[top][1]

    def _scan(self, path: str, prefix: str, found: list[str],
              dirs: list[tuple[str, _Stamp]]) -> bool:
        subdirs: list[str] = []
        try:
            dirs.append((path, _stamp_of(os.stat(path))))
            with os.scandir(path) as entries:
                for entry in entries:
                    try:
                        is_dir = entry.is_dir(follow_symlinks=False)
                    except OSError:
                        is_dir = False
                    if not is_dir:
                        found.append(prefix + entry.name)
                    elif entry.name != "__pycache__":
                        subdirs.append(entry.name)
        except FileNotFoundError:
            return False
        except OSError as exc:
            self._warnings.append(f"cannot list {path}: {exc.strerror or exc}")
            return False
        complete = True
        for name in subdirs:
            complete &= self._scan(os.path.join(path, name), f"{prefix}{name}/", found, dirs)
        return complete


def _added(tree: _Tree, record: _Record, neighbours: Callable[[], list[_Record]]) -> list[str]:
    """Files in ``record``'s top-level directories that no RECORD at its base lists."""
    extra = [rel for top in sorted(record.tops) for rel in tree.listing(top)
             if rel not in record.claimed]
    if not extra:
        return []
    # Namespace packages share directories (nvidia/ holds a dozen wheels): a file
    # another RECORD lists is theirs, and an unlisted file belongs to whichever
    # distribution has files deepest along its path.
    others = [r for r in neighbours() if r is not record]
    extra = [rel for rel in extra if not any(rel in r.claimed for r in others)]
    sharing = [r for r in others if r.tops & record.tops]
    if not extra or not sharing:
        return extra
    mine, theirs = _dirs(record.claimed), _dirs(itertools.chain(*(r.claimed for r in sharing)))
    kept = []
    for rel in extra:
        path = rel
        while "/" in path:
            path = path.rsplit("/", 1)[0]
            if path in mine:
                kept.append(rel)  # at equal depth both distributions report it
                break
            if path in theirs:
                break
    return kept
