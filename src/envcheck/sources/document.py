"""A JSON document from outside (a file, stdin, a git blob) as a fingerprint.

A fingerprint or lockfile, or a ``pip inspect`` report recognised by its shape.
Every byte passes through :mod:`envcheck.reader` first.
"""

from __future__ import annotations

from ..model import Fingerprint
from ..reader import parse_json
from .pip_inspect import from_pip_inspect, is_report


def from_json(data: bytes | str, source: str) -> Fingerprint:
    """A fingerprint, or a ``pip inspect`` report (packages only), from JSON text."""
    document = parse_json(data, source)
    if is_report(document):
        return from_pip_inspect(document, source)
    return Fingerprint.from_dict(document, source)
