"""The data every layer above shares: fingerprints, differences, reports, severities.

``fingerprint`` (the document, its schema and digests) is on the snapshot path
and is what this package file loads; ``severity``, ``report`` and ``audit``
hold the judged types that ``rules``, ``drift`` and the renderers use, and
``sections`` typed views of the sections for mypy.
"""

from .fingerprint import (
    LATER_SECTIONS,
    MEASURED_KEYS,
    MIGRATIONS,
    SCHEMA_VERSION,
    SECTIONS,
    TARGET_KEYS,
    TOP_LEVEL_KEYS,
    VOLATILE,
    Fingerprint,
    canonical_json,
    identity_view,
    load,
    loads,
    numerics_id,
    validate,
    with_digests,
)

__all__ = [
    "LATER_SECTIONS", "MEASURED_KEYS", "MIGRATIONS", "SCHEMA_VERSION", "SECTIONS",
    "TARGET_KEYS", "TOP_LEVEL_KEYS", "VOLATILE",
    "Fingerprint", "canonical_json", "identity_view", "load", "loads", "numerics_id", "validate",
    "with_digests",
]
