"""``REV:path``: a document as committed at a git revision (``origin/main:lockfiles/x.json``)."""

from __future__ import annotations

from ..errors import InputError
from ..model import Fingerprint
from ..reader import MAX_BYTES
from .base import Request
from .document import from_json


def git_show(spec: str) -> bytes:
    """The bytes of ``REV:path``, through ``git show`` (bounded like every child process)."""
    from ..processes import OutputTooLarge, ProcessTimeout, run_bounded

    try:
        completed = run_bounded(["git", "show", spec], timeout=60, stdout_limit=MAX_BYTES)
    except FileNotFoundError as exc:
        raise InputError(f"{spec}: git is not installed") from exc
    except ProcessTimeout as exc:
        raise InputError(f"{spec}: git show did not finish within 60 s") from exc
    except OutputTooLarge as exc:
        raise InputError(f"{spec}: larger than {MAX_BYTES // (1024 * 1024)} MiB: not a "
                         "document envcheck reads") from exc
    if completed.returncode != 0:
        why = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        raise InputError(f"{spec}: not found in git ({why[-1] if why else 'no output'})")
    return completed.stdout


class GitSource:
    kind = "file at a git revision"
    expected_only = False

    def claims(self, spec: str) -> bool:
        return ":" in spec and not spec.startswith(("/", "./"))

    def load(self, spec: str, request: Request) -> Fingerprint:
        return from_json(git_show(spec), spec)
