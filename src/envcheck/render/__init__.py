"""Renderers: pure functions from data to text. Only the CLI writes what they return."""

from __future__ import annotations

from enum import Enum


class ReportFormat(str, Enum):
    """Formats a diff report can be rendered in (a closed set; see ``render_report``)."""

    TEXT = "text"
    JSON = "json"
    MARKDOWN = "markdown"
    GITHUB = "github"
