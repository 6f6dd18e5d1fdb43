"""The fingerprint: one versioned JSON document describing an environment.

A fingerprint's ``id`` is a digest over everything that can change results and
nothing that cannot (hostnames, times, paths, UUIDs), so two identical
environments on two machines share an id. Each section has its own digest too,
which lets a fleet of thousands be grouped without reading whole documents.

Why one long module: the schema, its shapes, the digests, the JSON writer and
the typed views of the sections are one contract, and all of it is on the
snapshot path, where every further module is paid at the start of each job.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping

from ..digest import sha256
from ..errors import InputError
from ..reader import parse_json, read_bytes
from ..safetext import is_safe, safe_value

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds on every snapshot
    from typing import Any, Callable, Literal

    from .sections import (
        Conda,
        CpuSection,
        CudaSection,
        Environment,
        Frameworks,
        Gpus,
        OsSection,
        Packages,
        ProbeError,
        PythonSection,
        SystemPackagesSection,
    )

    # VOLATILE as a tree of path parts; None marks a dropped leaf.
    VolatileTree = dict[str, "VolatileTree | None"]

    Migration = Callable[[dict[str, Any]], dict[str, Any]]

SCHEMA_VERSION = 1
SECTIONS = ("python", "packages", "frameworks", "cuda", "gpus", "cpu", "os", "env", "conda",
            "system_packages")
# Sections added after schema 1 was published: a document without them (or with nothing in
# them: not a conda prefix) keeps the id it had, so older fingerprints and locks still match.
LATER_SECTIONS = frozenset(("conda", "system_packages"))
# The public contract (README): always present; "image"/"container" only for containers.
TOP_LEVEL_KEYS = ("schema", "id", "digests", *SECTIONS, "errors", "meta")
# Where a fingerprint was taken (a Docker image or container): carried along, never
# part of ``id``, since the same environment may come from many images.
TARGET_KEYS = ("image", "container")
# Measured with ``snapshot --numerics``: what the environment computed, bit for bit. Not
# part of ``id`` (which says what the environment *is*); ``numerics_id`` of its own.
MEASURED_KEYS = ("numerics",)

# Values that differ between identical machines; ``*`` matches every key or item.
VOLATILE: tuple[str, ...] = (
    "python.executable", "python.prefix", "python.base_prefix", "python.virtualenv",
    "python.conda_env", "python.sys_path",
    "packages.*.location", "packages.*.installer", "packages.*.requested", "packages.*.files",
    "packages.*.direct_url.url", "packages.*.shadowed.*.location",
    "cuda.binding", "cuda.nvml_version", "cuda.system_libraries.*.directory", "cuda.toolkit.root",
    "cuda.framework_libraries.*.*.directory",
    "gpus.*.uuid", "gpus.*.pci_bus_id", "gpus.*.persistence_mode", "gpus.*.power_limit_w",
    "cpu.memory_total_mib",
    "os.kernel", "os.kernel_build", "os.container",
    # Documented not to change results (allocator and debugging settings).
    "env.PYTORCH_CUDA_ALLOC_CONF", "env.TF_GPU_ALLOCATOR", "env.CUDA_LAUNCH_BLOCKING",
)

# schema N -> function that turns an N document into an N+1 document.
MIGRATIONS: dict[int, Migration] = {}


def canonical_json(value: object) -> str:
    """The one serialisation digests are computed over: sorted keys, no whitespace."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _digest(value: object) -> str:
    return sha256(canonical_json(value).encode("utf-8")).hexdigest()


def _volatile_tree() -> VolatileTree:
    """VOLATILE as a tree: {"packages": {"*": {"location": None}}}; None marks a dropped leaf."""
    tree: VolatileTree = {}
    for pattern in VOLATILE:
        node = tree
        *parents, leaf = pattern.split(".")
        for part in parents:
            child = node.setdefault(part, {})
            assert child is not None, pattern  # no pattern drops a parent of another
            node = child
        node[leaf] = None
    return tree


_VOLATILE_TREE = _volatile_tree()


def _without(node: object, tree: VolatileTree, dropped: list[object]) -> object:
    """``node`` minus the volatile leaves in ``tree`` (appended to ``dropped``); shares,
    never copies, what it keeps."""
    if isinstance(node, dict):
        kept = {}
        for key, value in node.items():
            sub: VolatileTree | Literal[False] | None = (
                tree[key] if key in tree else tree.get("*", False))
            if sub is None:
                dropped.append(value)
                continue
            kept[key] = value if sub is False else _without(value, sub, dropped)
        return kept
    if isinstance(node, list):
        items = tree.get("*")
        if items is not None:
            return [_without(item, items, dropped) for item in node]
    return node


def identity_view(document: Mapping[str, object],
                  dropped: list[object] | None = None,
                  skip: Iterable[str] = ()) -> dict[str, object]:
    """The sections with everything volatile removed: what ``id`` is computed over.
    ``skip``: sections left out (their digest is already known)."""
    sink: list[object] = [] if dropped is None else dropped
    return {name: _without(document.get(name), _VOLATILE_TREE.get(name) or {}, sink)
            for name in SECTIONS if name not in skip}


class SectionForms:
    """What a snapshot derives from one section, computed once and kept with it where the
    section is kept (envcheck.memo): the digest of its identity view (``digests``), the
    digest of its canonical text (the history's blob), and its text as ``to_json`` writes
    it under its key. They describe ``value``, this very object: sections are never
    changed in place once in a Fingerprint (``identity_view`` shares them too)."""

    __slots__ = ("identity", "stored", "text", "value")

    def __init__(self, value: object, identity: str, stored: str, text: str) -> None:
        self.value = value
        self.identity = identity
        self.stored = stored
        self.text = text

    @classmethod
    def of(cls, name: str, value: object, identity: str | None = None) -> SectionForms:
        """The forms of section ``name``; ``identity``: its digest where the fingerprint
        holding it has it already (``digests``)."""
        if identity is None:
            identity = _digest(_without(value, _VOLATILE_TREE.get(name) or {}, []))
        stored = sha256(canonical_json(value).encode("utf-8")).hexdigest()
        return cls(value, identity, stored, _indented_member(value))

    def to_json(self) -> dict[str, str]:
        return {"identity": self.identity, "stored": self.stored, "text": self.text}

    @classmethod
    def from_json(cls, value: object, kept: object) -> SectionForms | None:
        """The forms kept beside ``value``, or None if they are not such a record."""
        if not isinstance(kept, dict):
            return None
        identity, stored, text = kept.get("identity"), kept.get("stored"), kept.get("text")
        if not (_is_digest(identity) and _is_digest(stored) and isinstance(text, str)):
            return None
        return cls(value, str(identity), str(stored), str(text))


def _is_digest(value: object) -> bool:
    """A sha256 in hex, as the forms keep their digests."""
    return isinstance(value, str) and len(value) == 64 and all(
        c in "0123456789abcdef" for c in value)


def with_digests(document: dict[str, Any],
                 known: Mapping[str, SectionForms] | None = None) -> dict[str, Any]:
    """Set ``id`` and ``digests`` from the document's content (never trusted from input).

    Every document passes here, whatever its source, so this is where text that cannot
    be encoded (undecodable bytes in a variable or path, a ``\\ud800`` escape) is made
    safe, once, before anything digests, stores or writes it.
    """
    try:
        return _set_digests(document, known or {})
    except UnicodeEncodeError:
        pass
    safe = safe_value(document)
    document.clear()
    document.update(safe)
    return _set_digests(document, {})  # made safe: new objects, nothing known about them


def _set_digests(document: dict[str, Any], known: Mapping[str, SectionForms]) -> dict[str, Any]:
    # The digests encode the identity view; what it leaves out (volatile leaves, where
    # paths with undecodable bytes live, and the parts outside the sections) is checked.
    # A known section was checked so when its forms were made.
    # The later sections are viewed anyway: whether their view is empty decides whether
    # they have a digest at all (and they are small).
    skip = [name for name in known if name not in LATER_SECTIONS]
    outside = [document.get(key) for key in ("errors", "meta", *TARGET_KEYS)]
    view = identity_view(document, outside, skip)
    if not is_safe(canonical_json(outside)):
        raise UnicodeEncodeError("utf-8", "", 0, 1, "surrogates not allowed")
    document["digests"] = {
        name: known[name].identity if name in skip else _digest(view[name])
        for name in SECTIONS if name in skip or name not in LATER_SECTIONS or view[name]}
    # The id covers the section digests, not the content again: one serialisation per load.
    document["id"] = _digest(document["digests"])
    numerics = document.get("numerics")
    if isinstance(numerics, dict):
        document["numerics_id"] = numerics_id(numerics)
    else:
        document.pop("numerics_id", None)
    return document


def numerics_id(numerics: Mapping[str, object]) -> str:
    """A digest over the canaries' output digests alone: two environments share it when
    they computed the same bits (times, flags and runtime facts left out)."""
    canaries = numerics.get("canaries")
    digests = {name: record.get("digest") for name, record in sorted(
        (canaries if isinstance(canaries, dict) else {}).items()) if isinstance(record, dict)}
    return _digest({"version": numerics.get("version"), "canaries": digests})


class Fingerprint:
    """A fingerprint document with typed access to its sections.

    A plain class rather than a dataclass: ``dataclasses`` imports ``inspect``,
    which alone costs several milliseconds of every CLI start.
    """

    __slots__ = ("_forms", "data")

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self._forms: dict[str, SectionForms] = {}

    def keep_forms(self, forms: Iterable[SectionForms]) -> None:
        """Use ``forms`` made from this fingerprint's own sections (each counts only while
        it describes the very object the fingerprint holds)."""
        forms = list(forms)
        for name, value in self.data.items():
            for made in forms:
                if made.value is value:
                    self._forms[name] = made

    def forms(self, name: str) -> SectionForms | None:
        """The forms of section ``name`` made before (envcheck.memo), while they still
        describe the section this fingerprint holds; else None."""
        forms = self._forms.get(name)
        return forms if forms is not None and self.data.get(name) is forms.value else None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Fingerprint) and other.data == self.data

    __hash__ = None  # type: ignore[assignment]

    @classmethod
    def from_probe(cls, raw: Mapping[str, object], envcheck_version: str,
                   forms: Iterable[SectionForms] = ()) -> Fingerprint:
        """``forms``: what was derived before from some of ``raw``'s sections, when they
        were validated (envcheck.memo); each counts only for the very object it was made
        from."""
        document: dict[str, Any] = {"schema": SCHEMA_VERSION}
        document.update({key: raw.get(key) for key in (*SECTIONS, "errors", "meta")})
        document.update({key: raw[key] for key in (*TARGET_KEYS, *MEASURED_KEYS)
                         if raw.get(key) is not None})
        meta = raw.get("meta")
        document["meta"] = dict(meta if isinstance(meta, dict) else {},
                                envcheck_version=envcheck_version)
        by_value = {id(f.value): f for f in forms}
        known = {name: by_value[id(document[name])] for name in SECTIONS
                 if document.get(name) is not None and id(document[name]) in by_value}
        # Probe output comes from another interpreter or a stranger's image, and a memo
        # from a file anyone with the user's rights could have edited: validate it all.
        fingerprint = cls(with_digests(validate(document, "probe output"), known))
        fingerprint._forms = {name: f for name, f in known.items()
                              if fingerprint.data.get(name) is f.value}
        return fingerprint

    @classmethod
    def packages_only(cls, packages: Mapping[str, object], source: str,
                      kind: str) -> Fingerprint:
        """A partial fingerprint of packages alone (pip inspect, requirements.txt, pylock):
        the other sections are absent, so diff reports them as not compared."""
        document = {"schema": SCHEMA_VERSION, "packages": dict(sorted(packages.items())),
                    "errors": [], "meta": {"source": kind}}
        return cls.from_dict(document, source)

    @classmethod
    def from_dict(cls, document: object, source: str = "input") -> Fingerprint:
        return cls(with_digests(validate(document, source)))

    @property
    def id(self) -> str:
        return str(self.data["id"])

    @property
    def short_id(self) -> str:
        return self.id[:12]

    # Typed views of the sections (model/sections.py), each empty where the section is
    # absent or null: ``fp.os.get("system")`` is checked by mypy, key and value type.
    @property
    def packages(self) -> Packages:
        found: Packages | None = self.data.get("packages")
        return found or {}

    @property
    def python(self) -> PythonSection:
        found: PythonSection | None = self.data.get("python")
        return found or {}

    @property
    def os(self) -> OsSection:
        found: OsSection | None = self.data.get("os")
        return found or {}

    @property
    def cpu(self) -> CpuSection:
        found: CpuSection | None = self.data.get("cpu")
        return found or {}

    @property
    def gpus(self) -> Gpus:
        found: Gpus | None = self.data.get("gpus")
        return found or []

    @property
    def cuda(self) -> CudaSection:
        found: CudaSection | None = self.data.get("cuda")
        return found or {}

    @property
    def frameworks(self) -> Frameworks:
        found: Frameworks | None = self.data.get("frameworks")
        return found or {}

    @property
    def env(self) -> Environment:
        found: Environment | None = self.data.get("env")
        return found or {}

    @property
    def conda(self) -> Conda:
        found: Conda | None = self.data.get("conda")
        return found or {}

    @property
    def system_packages(self) -> SystemPackagesSection:
        found: SystemPackagesSection | None = self.data.get("system_packages")
        return found or {}

    def section(self, name: str) -> Any:  # any section: its view says its type
        return self.data.get(name)

    @property
    def errors(self) -> list[ProbeError]:
        errors: list[ProbeError] = self.data.get("errors") or []
        return errors

    def to_json(self, indent: int | None = 2) -> str:
        if indent is None:  # json's C encoder
            return json.dumps(self.data, sort_keys=True, ensure_ascii=False) + "\n"
        if indent == 2 and self._forms:  # sections written before, as they are
            from json.encoder import encode_basestring as quote

            try:
                members = [f"  {quote(key)}: " + (
                    forms.text if (forms := self.forms(key)) is not None
                    else _indented_member(self.data[key])) for key in sorted(self.data)]
            except (_NotPlainJSON, TypeError):
                pass  # the whole document through json, below
            else:
                return "{\n" + ",\n".join(members) + "\n}\n"
        return indented_json(self.data, indent) + "\n"

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)


class _NotPlainJSON(Exception):
    """A value that json.dumps treats in a way of its own (or refuses)."""


def indented_json(value: object, indent: int) -> str:
    """``json.dumps(value, sort_keys=True, indent=indent, ensure_ascii=False)``, the same
    text twice as fast: json indents with its pure-Python encoder (26 ms for a fingerprint
    of 2,000 packages), this writes the same pieces without its generators. Anything but
    str-keyed dicts, lists, tuples, strings, numbers, booleans and None goes to json."""
    try:
        return _indented(value, indent, "\n")
    except (_NotPlainJSON, TypeError, RecursionError):  # json's own answer, or its error
        return json.dumps(value, sort_keys=True, indent=indent, ensure_ascii=False)


def _indented_member(value: object) -> str:
    """``value`` as ``indented_json`` writes it as a member of the top-level object (indent
    2); raises _NotPlainJSON for what only json itself writes."""
    try:
        return _indented(value, 2, "\n  ")
    except RecursionError as exc:
        raise _NotPlainJSON from exc


def _indented(value: object, indent: int, newline: str) -> str:
    from json.encoder import encode_basestring as quote  # C; what ensure_ascii=False uses

    step = " " * indent
    parts: list[str] = []
    add = parts.append

    def encode(node: object, newline: str) -> None:
        if isinstance(node, str):
            add(quote(node))
        elif node is None:
            add("null")
        elif node is True:
            add("true")
        elif node is False:
            add("false")
        elif isinstance(node, int):
            add(int.__repr__(node))
        elif isinstance(node, float):
            add(_float_text(node))
        elif isinstance(node, (list, tuple)):
            if not node:
                add("[]")
                return
            inner = newline + step
            add("[")
            separator = inner
            for item in node:
                if type(item) is str:
                    add(separator + quote(item))
                else:
                    add(separator)
                    encode(item, inner)
                separator = "," + inner
            add(newline)
            add("]")
        elif isinstance(node, dict):
            if not node:
                add("{}")
                return
            inner = newline + step
            add("{")
            separator = inner
            for key in sorted(node):
                if not isinstance(key, str):
                    raise _NotPlainJSON
                item = node[key]
                if type(item) is str:  # most values: no call for them
                    add(f"{separator}{quote(key)}: {quote(item)}")
                else:
                    add(f"{separator}{quote(key)}: ")
                    encode(item, inner)
                separator = "," + inner
            add(newline)
            add("}")
        else:
            raise _NotPlainJSON

    encode(value, newline)
    return "".join(parts)


def _float_text(value: float) -> str:
    """A float as json writes it (allow_nan: NaN and Infinity as JavaScript spells them)."""
    if value != value:
        return "NaN"
    if value == float("inf"):
        return "Infinity"
    if value == float("-inf"):
        return "-Infinity"
    return float.__repr__(value)


def _migrate(document: dict[str, Any], source: str) -> dict[str, Any]:
    schema = document["schema"]
    while schema < SCHEMA_VERSION:
        if schema not in MIGRATIONS:
            raise InputError(f"{source}: schema {schema} is no longer supported")
        document = MIGRATIONS[schema](document)
        schema = document["schema"]
    return document


def validate(document: object, source: str) -> dict[str, Any]:
    """Check that ``document`` is a fingerprint this envcheck understands; migrate old ones."""
    if not isinstance(document, dict):
        raise InputError(f"{source}: not a fingerprint (a JSON object was expected)")
    schema = document.get("schema")
    if not isinstance(schema, int) or isinstance(schema, bool) or schema < 1:
        raise InputError(f"{source}: not a fingerprint (no valid 'schema' field)")
    if schema > SCHEMA_VERSION:
        raise InputError(
            f"{source}: written by a newer envcheck (schema {schema}); this one reads up to "
            f"schema {SCHEMA_VERSION}: upgrade envcheck"
        )
    migrated = _migrate(dict(document), source)
    if _conforms(migrated, _SHAPE_TREE):
        return _check_packages(migrated, source)
    # Not the shapes: find the first field that is not, in the order of _SHAPES.
    for pattern, kinds in _SHAPES:
        # A field may be null (not known); an item of a list or map may not (a null
        # package, GPU or flag would reach code that expects an object), except where
        # null is a fact: an unset variable.
        nullable = not pattern.endswith("*") or pattern in _NULLABLE_ITEMS
        for path, value in _matches(migrated, pattern.split(".")):
            if value is None and nullable:
                continue
            if (not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds)
                    or (isinstance(value, int) and value < 0)):
                names = " or ".join(_TYPE_NAMES[k] for k in kinds)
                if int in kinds:
                    names += " (0 or more)"
                raise InputError(f"{source}: not a fingerprint ('{path}' must be {names})")
    return _check_packages(migrated, source)


def _check_packages(migrated: dict[str, Any], source: str) -> dict[str, Any]:
    packages = migrated.get("packages")
    if not isinstance(packages, dict) or not all(
            isinstance(p.get("version"), str) for p in packages.values()):
        raise InputError(f"{source}: not a fingerprint ('packages' must map names to versions)")
    return migrated


# Where null is a fact: an allow-listed variable that is not set; a framework whose
# files could not be read (the probe records why in ``errors``).
# A numerics setting that is not set, like a variable.
_NULLABLE_ITEMS = frozenset({"env.*", "frameworks.*", "numerics.settings.*"})


# The shapes every consumer (diff, audit, renderers) relies on: fields may be None,
# items (a pattern ending in ``*``) only where _NULLABLE_ITEMS says; integers are counts.
_SHAPES: tuple[tuple[str, tuple[type, ...]], ...] = (
    ("packages", (dict,)), ("packages.*", (dict,)), ("packages.*.version", (str,)),
    ("packages.*.name", (str,)), ("packages.*.location", (str,)),
    ("packages.*.shadowed", (list,)), ("packages.*.shadowed.*", (dict,)),
    ("packages.*.wheel", (dict,)), ("packages.*.wheel.tags", (list,)),
    ("packages.*.wheel.tags.*", (str,)), ("packages.*.direct_url", (dict,)),
    ("packages.*.record_digest", (str,)), ("packages.*.files_changed", (dict,)),
    ("python", (dict,)), ("python.version", (str,)), ("python.executable", (str,)),
    ("frameworks", (dict,)), ("frameworks.*", (dict,)),
    ("frameworks.*.nvidia_requirements", (dict,)),
    ("frameworks.*.nvidia_requirements.*", (str,)),
    ("cuda", (dict,)), ("cuda.system_libraries", (dict,)), ("cuda.system_libraries.*", (dict,)),
    ("cuda.toolkit", (dict,)), ("cuda.driver_cuda_version", (str,)),
    ("cuda.framework_libraries", (dict,)), ("cuda.framework_libraries.*", (dict,)),
    ("cuda.framework_libraries.*.*", (dict,)),
    ("gpus", (list,)), ("gpus.*", (dict,)), ("gpus.*.name", (str,)),
    ("gpus.*.compute_capability", (str,)), ("gpus.*.multiprocessors", (int,)),
    ("gpus.*.memory_total_mib", (int,)),
    ("errors.*.message", (str,)), ("errors.*.section", (str,)),
    ("cpu", (dict,)), ("cpu.flags", (list,)), ("cpu.flags.*", (str,)),
    ("cpu.usable_cores", (int,)), ("cpu.logical_cores", (int,)), ("cpu.physical_cores", (int,)),
    ("os", (dict,)), ("os.libc", (dict,)), ("os.distribution", (dict,)),
    ("env", (dict,)), ("env.*", (str,)),
    ("errors", (list,)), ("errors.*", (dict,)), ("meta", (dict,)),
    ("conda", (dict,)), ("conda.*", (dict,)), ("conda.*.version", (str,)),
    ("conda.*.build", (str,)), ("conda.*.build_number", (int,)),
    ("system_packages", (dict,)), ("system_packages.packages", (dict,)),
    ("system_packages.packages.*", (dict,)), ("system_packages.alternatives", (dict,)),
    ("system_packages.alternatives.*", (str,)),
    ("numerics", (dict,)), ("numerics.version", (int,)), ("numerics.canaries", (dict,)),
    ("numerics.canaries.*", (dict,)), ("numerics.canaries.*.digest", (str,)),
    ("numerics.canaries.*.dtype", (str,)), ("numerics.canaries.*.shape", (list,)),
    ("numerics.canaries.*.shape.*", (int,)), ("numerics.canaries.*.samples", (list,)),
    ("numerics.canaries.*.samples.*", (dict,)), ("numerics.canaries.*.samples.*.index", (int,)),
    ("numerics.canaries.*.samples.*.value", (str,)), ("numerics.settings", (dict,)),
    ("numerics.settings.*", (str,)), ("numerics.runtime", (dict,)),
)
_TYPE_NAMES = {dict: "an object", list: "a list", str: "a string", int: "an integer"}


def _shape_tree() -> dict[str | None, Any]:
    """_SHAPES as a tree of path parts; under the key None, a node's (kinds, nullable)."""
    tree: dict[str | None, Any] = {}
    for pattern, kinds in _SHAPES:
        node = tree
        for part in pattern.split("."):
            node = node.setdefault(part, {})
        node[None] = (kinds, not pattern.endswith("*") or pattern in _NULLABLE_ITEMS)
    return tree


_SHAPE_TREE = _shape_tree()


def _conforms(node: object, tree: dict[str | None, Any]) -> bool:
    """Whether every value that _SHAPES names has its shape: the verdict of validate's
    loop over the patterns, in one walk and without the paths its messages need (the
    loop took 20 ms of a fingerprint of 2,000 packages)."""
    for part, sub in tree.items():
        if part is None:
            continue
        children: Iterable[object]
        if part == "*":
            if isinstance(node, dict):
                children = node.values()
            elif isinstance(node, list):
                children = node
            else:
                continue
        elif isinstance(node, dict) and part in node:
            children = (node[part],)
        else:
            continue
        rule = sub.get(None)
        deeper = len(sub) > (rule is not None)
        for child in children:
            if rule is not None:
                kinds, nullable = rule
                if child is None and nullable:
                    continue  # nothing below a null to check
                if (not isinstance(child, kinds)
                        or (isinstance(child, bool) and bool not in kinds)
                        or (isinstance(child, int) and child < 0)):
                    return False
            if deeper and not _conforms(child, sub):
                return False
    return True


def _matches(node: object, parts: list[str], path: str = "") -> Iterator[tuple[str, object]]:
    """(path, value) of every node that a dotted pattern with ``*`` names."""
    if not parts:
        yield path, node
        return
    head, rest = parts[0], parts[1:]
    items: list[tuple[object, object]]
    if isinstance(node, dict):
        items = list(node.items()) if head == "*" else (
            [(head, node[head])] if head in node else [])
    elif isinstance(node, list) and head == "*":
        items = [(str(i), v) for i, v in enumerate(node)]
    else:
        return
    for key, value in items:
        yield from _matches(value, rest, f"{path}.{key}" if path else str(key))


def loads(text: str | bytes, source: str = "input") -> Fingerprint:
    """A fingerprint from JSON text from outside (limits, NaN refused: see reader)."""
    return Fingerprint.from_dict(parse_json(text, source), source)


def load(path: str | os.PathLike[str]) -> Fingerprint:
    """Read a fingerprint file."""
    return loads(read_bytes(path), str(path))
