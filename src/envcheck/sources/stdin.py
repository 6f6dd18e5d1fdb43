"""``-``: a fingerprint or ``pip inspect`` report on standard input."""

from __future__ import annotations

import sys

from ..model import Fingerprint
from ..reader import read_stream
from .base import Request
from .document import from_json


class StdinSource:
    kind = "standard input"
    expected_only = False

    def claims(self, spec: str) -> bool:
        return spec == "-"

    def load(self, spec: str, request: Request) -> Fingerprint:
        stream = request.stdin if request.stdin is not None else sys.stdin.buffer
        return from_json(read_stream(stream, "stdin"), "stdin")
