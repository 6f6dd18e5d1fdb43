"""A ``pip inspect`` report: packages known, every other section not compared."""

from __future__ import annotations

from typing import Any

from ..errors import InputError
from ..model import Fingerprint
from ..probe.packages import direct_url_from_dict, normalize_name


def is_report(document: object) -> bool:
    """Whether a JSON document is a ``pip inspect`` report rather than a fingerprint."""
    return isinstance(document, dict) and isinstance(document.get("installed"), list) \
        and "pip_version" in document


def from_pip_inspect(report: dict[str, Any], source: str) -> Fingerprint:
    """A partial fingerprint from ``pip inspect``: packages known, every other section unknown.

    ``report`` is one that ``is_report`` accepted: its entries are checked here, one by one.
    """
    packages: dict[str, dict[str, object]] = {}
    for entry in report["installed"]:
        metadata = entry.get("metadata") if isinstance(entry, dict) else None
        if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str) \
                or not isinstance(metadata.get("version"), str):
            raise InputError(f"{source}: not a pip inspect report (an entry lacks name/version)")
        facts: dict[str, object] = {"name": metadata["name"], "version": metadata["version"],
                                 "installer": entry.get("installer"),
                                 "requested": entry.get("requested")}
        direct_url = direct_url_from_dict(entry.get("direct_url"))
        if direct_url is not None:
            facts["direct_url"] = direct_url
        packages.setdefault(normalize_name(metadata["name"]), facts)
    return Fingerprint.packages_only(packages, source, "pip inspect")
