"""An explicit spec (``conda list --explicit --md5`` or ``--sha256``): one package URL a
line after ``@EXPLICIT``, with the archive's digest after ``#``."""

from __future__ import annotations

import os

from ..errors import InputError
from ..model import Fingerprint
from ..model.pins import PinnedLock
from ..reader import read_text
from .base import Request, pinned_fingerprint
from .conda_pins import CondaPin, conda_lock, pin_from_url

MARKER = "@EXPLICIT"


def is_explicit(text: str) -> bool:
    return any(line.strip() == MARKER for line in text.splitlines()[:50])


def parse(text: str, source: str) -> PinnedLock:
    if not is_explicit(text):
        raise InputError(f"{source}: not an explicit spec (no {MARKER} line)")
    pins: dict[str, CondaPin] = {}
    seen_marker = False
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line == MARKER:
            seen_marker = True
            continue
        if not line or line.startswith("#") or not seen_marker:
            continue
        url, _, digest = line.partition("#")
        algorithm, _, value = digest.partition(":") if ":" in digest else ("", "", digest)
        value = value.strip()
        # conda writes the bare digest; which one it is shows in its length.
        algorithm = algorithm or {32: "md5", 64: "sha256"}.get(len(value), "")
        md5 = value if value and algorithm == "md5" else None
        sha256 = value if value and algorithm == "sha256" else None
        if value and md5 is None and sha256 is None:
            raise InputError(f"{source}:{number}: {value[:80]!r}: not an md5 or sha256 digest")
        pin = pin_from_url(url.strip(), f"{source}:{number}", md5=md5, sha256=sha256)
        pins[pin.name] = pin
    return conda_lock(source, "explicit spec", pins, {})


class CondaExplicitSource:
    kind = "explicit spec"
    expected_only = True

    def claims(self, spec: str) -> bool:
        # A .txt is a requirements file unless its head has the @EXPLICIT line.
        if not (spec.endswith(".txt") and os.path.isfile(spec)):
            return False
        try:
            with open(spec, "rb") as handle:  # a regular file (isfile): no FIFO to hang on
                head = handle.read(65536)
        except OSError:
            return False
        return is_explicit(head.decode("utf-8", "replace"))

    def pins(self, spec: str, request: Request) -> PinnedLock:
        return parse(read_text(spec), spec)

    def load(self, spec: str, request: Request) -> Fingerprint:
        return pinned_fingerprint(self.pins(spec, request))
