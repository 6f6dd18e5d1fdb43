"""``REV:path``: a document as committed at a git revision (``origin/main:lockfiles/x.json``)."""

from __future__ import annotations

import subprocess

from ..errors import InputError
from ..model import Fingerprint
from ..reader import MAX_BYTES
from .base import Request
from .document import from_json


def git_show(spec: str) -> bytes:
    """The bytes of ``REV:path``, through ``git show``."""
    try:
        completed = subprocess.run(["git", "show", spec], capture_output=True, timeout=60,
                                   check=False)
    except FileNotFoundError as exc:
        raise InputError(f"{spec}: git is not installed") from exc
    if completed.returncode != 0:
        why = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        raise InputError(f"{spec}: not found in git ({why[-1] if why else 'no output'})")
    if len(completed.stdout) > MAX_BYTES:
        raise InputError(f"{spec}: larger than {MAX_BYTES // (1024 * 1024)} MiB: not a "
                         "document envcheck reads")
    return completed.stdout


class GitSource:
    kind = "file at a git revision"
    expected_only = False

    def claims(self, spec: str) -> bool:
        return ":" in spec and not spec.startswith(("/", "./"))

    def load(self, spec: str, request: Request) -> Fingerprint:
        return from_json(git_show(spec), spec)
