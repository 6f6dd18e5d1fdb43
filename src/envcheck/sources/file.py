"""A fingerprint, lockfile or ``pip inspect`` report on disk."""

from __future__ import annotations

import os

from ..model import Fingerprint
from ..reader import read_bytes
from .base import Request
from .document import from_json


class FileSource:
    kind = "fingerprint, lockfile or pip inspect report"
    expected_only = False

    def claims(self, spec: str) -> bool:
        return os.path.exists(spec)

    def load(self, spec: str, request: Request) -> Fingerprint:
        return from_json(read_bytes(spec), spec)
