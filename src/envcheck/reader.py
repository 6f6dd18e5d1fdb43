"""The one reader for every document that comes from outside envcheck.

Fingerprints, stdin, probe output, pylock.toml and configuration TOML, caches,
GitHub's API answers and event files all pass through here, so every one gets
the same limits: a size cap read without loading more (``/dev/zero`` and 1 GB
files are refused early), a depth cap (so no later recursive walk can fail),
NaN and Infinity refused, text that is not UTF-8 named as such, and special
files that cannot hang (a FIFO nobody writes to reads as empty). Every refusal
is a :class:`DocumentError` (exit 3) naming the source and the reason.

On the snapshot path (probe output): keep the imports to the standard library.
"""

from __future__ import annotations

import json
import os
import sys

from .errors import InputError

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds on every snapshot
    from typing import Any, BinaryIO

# Far above any real document (a 2,000-package fingerprint is about 2 MB).
MAX_BYTES = 64 * 1024 * 1024
# A fingerprint nests six levels; pylock.toml and API answers fewer than ten.
MAX_DEPTH = 64
_CHUNK = 1024 * 1024


class DocumentError(InputError):
    """A document from outside could not be read, or is not what it claims to be."""


def read_bytes(path: str | os.PathLike[str], limit: int = MAX_BYTES) -> bytes:
    """The bytes of a file, at most ``limit`` of them; never blocks on a FIFO without writer."""
    try:
        # O_NONBLOCK: opening a FIFO waits for a writer otherwise. Reads block again
        # below, so a pipe with a writer (``<(cat a.json)``) is read to its end.
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError as exc:
        raise DocumentError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise DocumentError(f"{path}: is a directory, not a document") from exc
    except OSError as exc:
        raise DocumentError(f"{path}: cannot read ({exc.strerror})") from exc
    try:
        if os.fstat(descriptor).st_size > limit:  # a regular file: refused without reading
            raise DocumentError(f"{path}: larger than {limit // (1024 * 1024)} MiB: "
                                "not a document envcheck reads")
        os.set_blocking(descriptor, True)
        with os.fdopen(descriptor, "rb", closefd=False) as handle:
            return _read_limited(handle, str(path), limit)
    except IsADirectoryError as exc:
        raise DocumentError(f"{path}: is a directory, not a document") from exc
    except OSError as exc:
        raise DocumentError(f"{path}: cannot read ({exc.strerror})") from exc
    finally:
        os.close(descriptor)


def read_stream(stream: BinaryIO, source: str, limit: int = MAX_BYTES) -> bytes:
    """At most ``limit`` bytes of a binary stream (stdin), or a DocumentError."""
    try:
        return _read_limited(stream, source, limit)
    except OSError as exc:
        raise DocumentError(f"{source}: cannot read ({exc.strerror})") from exc


def _read_limited(handle: BinaryIO, source: str, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = handle.read(min(_CHUNK, limit + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise DocumentError(f"{source}: larger than {limit // (1024 * 1024)} MiB: "
                                "not a document envcheck reads")


def decode(data: bytes | str, source: str) -> str:
    """UTF-8 text, or a DocumentError saying it is not."""
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{source}: not UTF-8 text (byte {exc.start})") from exc


def read_text(path: str | os.PathLike[str], limit: int = MAX_BYTES) -> str:
    """A text file: UTF-8, within ``limit``."""
    return decode(read_bytes(path, limit), str(path))


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(data: bytes | str, source: str, max_depth: int = MAX_DEPTH) -> Any:
    """A JSON value from outside: NaN and Infinity refused, nesting limited."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DocumentError(f"{source}: not JSON (not UTF-8 text)") from exc
    if len(data) > MAX_BYTES:
        raise DocumentError(f"{source}: larger than {MAX_BYTES // (1024 * 1024)} MiB: "
                            "not a document envcheck reads")
    try:
        value = json.loads(data, parse_constant=_reject_constant)
    except RecursionError as exc:
        raise DocumentError(f"{source}: not JSON (nested too deeply)") from exc
    except ValueError as exc:
        raise DocumentError(f"{source}: not JSON ({exc})") from exc
    check_depth(value, source, max_depth)
    return value


def parse_toml(data: bytes | str, source: str, max_depth: int = MAX_DEPTH) -> dict[str, Any]:
    """A TOML document from outside (pylock.toml, configuration), nesting limited."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.9 and 3.10
        import tomli as tomllib

    text = decode(data, source)
    try:
        document: dict[str, Any] = tomllib.loads(text)
    except RecursionError as exc:  # tomllib recurses into nested arrays and inline tables
        raise DocumentError(f"{source}: not valid TOML (nested too deeply)") from exc
    except tomllib.TOMLDecodeError as exc:
        raise DocumentError(f"{source}: not valid TOML ({exc})") from exc
    check_depth(document, source, max_depth)
    return document


def load_json(path: str | os.PathLike[str]) -> Any:
    return parse_json(read_bytes(path), str(path))


def load_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    return parse_toml(read_bytes(path), str(path))


def check_depth(value: Any, source: str, max_depth: int = MAX_DEPTH) -> None:
    """Refuse containers nested deeper than ``max_depth``, without recursing."""
    if not isinstance(value, (dict, list)):
        return
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        for child in children:
            if isinstance(child, (dict, list)):
                if depth >= max_depth:
                    raise DocumentError(f"{source}: nested deeper than {max_depth} levels: "
                                        "not a document envcheck reads")
                stack.append((child, depth + 1))


def load_yaml(path: str | os.PathLike[str]) -> Any:
    """A YAML document from outside (environment.yml, conda-lock.yml, pixi.lock), in the subset
    conda and pixi write (:mod:`envcheck.yaml_subset`), within the size cap."""
    from .yaml_subset import loads

    value = loads(read_text(path), str(path))
    check_depth(value, str(path))
    return value
