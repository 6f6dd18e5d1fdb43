"""Lock formats envcheck does not read: one clear error instead of "not JSON".

A format that gains its own source is removed from ``FORMATS`` (its source is
listed before this one in the registry anyway).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import InputError
from ..model import Fingerprint
from .base import Request

FORMATS = {"poetry.lock": "a Poetry lock", "Pipfile.lock": "a Pipenv lock",
           "pdm.lock": "a PDM lock"}
SUPPORTED = ("envcheck lockfiles and fingerprints (*.json), requirements.txt (pip freeze, "
             "pip-compile, uv pip compile), pylock.toml, uv.lock, conda environment.yml, "
             "explicit specs, conda-lock.yml, pixi.lock")


class UnsupportedLockSource:
    kind = "unsupported lock"
    expected_only = False  # diff of a poetry.lock deserves the same answer

    def claims(self, spec: str) -> bool:
        # Any other *.lock too (a renamed uv.lock or pixi.lock, a lock of another tool):
        # never read as a fingerprint and refused as "not JSON".
        name = Path(spec).name
        return (name in FORMATS or name.endswith(".lock")) and os.path.isfile(spec)

    def load(self, spec: str, request: Request) -> Fingerprint:
        name = Path(spec).name
        what = FORMATS.get(name, "a lock envcheck does not know by its name (uv.lock and "
                                 "pixi.lock are read under those names)")
        raise InputError(f"{spec}: {what}, which envcheck does not read; it reads {SUPPORTED}")
