"""``github:REF:PATH``: a document at a revision, read through the GitHub API as data.

For the pull-request verdict: the base branch's lockfile and the tested head
commit's, read by the trusted side itself, never taken from what a fork's
workflow uploaded. The repository, token and API root come from the usual
``GITHUB_REPOSITORY``, ``GITHUB_TOKEN`` and ``GITHUB_API_URL``.
"""

from __future__ import annotations

import os

from ..errors import InputError, UsageError
from ..model import Fingerprint
from .base import Request
from .document import from_json

PREFIX = "github:"


def read_spec(spec: str) -> str | None:
    """The text at ``github:REF:PATH``, or None where that file does not exist there."""
    from ..github import DEFAULT_API, read_file

    ref, sep, path = spec[len(PREFIX):].partition(":")
    if not sep:
        raise UsageError(f"{spec}: expected github:REF:PATH")
    repository = os.environ.get("GITHUB_REPOSITORY", "")
    if not repository:
        raise UsageError(f"{spec}: set GITHUB_REPOSITORY (OWNER/NAME)")
    return read_file(repository, ref, path, os.environ.get("GITHUB_TOKEN", ""),
                     os.environ.get("GITHUB_API_URL") or DEFAULT_API)


class GitHubSource:
    kind = "file at a revision, through the GitHub API"
    expected_only = False

    def claims(self, spec: str) -> bool:
        return spec.startswith(PREFIX)

    def load(self, spec: str, request: Request) -> Fingerprint:
        text = read_spec(spec)
        if text is None:
            raise InputError(f"{spec}: no such file at that revision")
        return from_json(text, spec)
