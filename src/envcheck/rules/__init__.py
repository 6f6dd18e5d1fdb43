"""Rules: which differences change training results, and why (data, with references)."""

from __future__ import annotations

# Severity is a model-level type (reports carry it); re-exported for the catalog's readers.
from ..model.severity import ORDER, Severity

__all__ = ["ORDER", "Severity"]
