"""Lockfiles: committed fingerprints.

A lockfile is a fingerprint without what differs between identical machines
(hostname, time, paths, UUIDs, the probe's own errors), written with sorted
keys and stable formatting: locking one environment twice gives identical
bytes, so a git diff of a lockfile shows only real change.

Reading standard locks (requirements.txt, pylock.toml) as the expected side of
``check`` is the job of :mod:`envcheck.sources`.
"""

from __future__ import annotations

import json
import os
import re

from .errors import UsageError
from .model import SCHEMA_VERSION, Fingerprint, identity_view

LOCK_DIR = "lockfiles"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def lock_path(name: str, directory: str = LOCK_DIR) -> str:
    """``lockfiles/NAME.json``, refusing names that would escape the directory."""
    if not _NAME.match(name):
        raise UsageError(f"lock name {name!r}: use letters, digits, '.', '_' and '-' only")
    return os.path.join(directory, name if name.endswith(".json") else f"{name}.json")


def lock_document(fingerprint: Fingerprint) -> dict[str, object]:
    """The stable part of a fingerprint, ready to commit."""
    document: dict[str, object] = {"schema": SCHEMA_VERSION}
    document.update(identity_view(fingerprint.data))
    document["errors"] = []
    document["id"] = fingerprint.id
    document["digests"] = fingerprint.data["digests"]
    document["meta"] = {"kind": "lock"}
    return document


def render_lock(fingerprint: Fingerprint) -> str:
    """Canonical lockfile text: sorted keys, two-space indent, one trailing newline."""
    return json.dumps(lock_document(fingerprint), sort_keys=True, indent=2,
                      ensure_ascii=False) + "\n"


def default_lock(directory: str = LOCK_DIR) -> str:
    """The lock to check when none is named: the only ``*.json`` in lockfiles/."""
    try:
        locks = sorted(f for f in os.listdir(directory) if f.endswith(".json"))
    except OSError:
        locks = []
    if len(locks) == 1:
        return os.path.join(directory, locks[0])
    found = ", ".join(locks) if locks else "none"
    raise UsageError(f"name the lock to check (lockfiles/*.json found: {found})")

