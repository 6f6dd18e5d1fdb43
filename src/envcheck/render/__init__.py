"""Renderers: pure functions from data to text. Only the CLI writes what they return."""

from __future__ import annotations

from enum import Enum


class SnapshotFormat(str, Enum):
    """Formats ``envcheck snapshot`` can write."""

    TEXT = "text"
    JSON = "json"
