"""One pull-request comment per report, created once and updated after.

The comment is found by the report's hidden marker (one per report kind and use)
among comments written by ``author`` (the token's own login, or the workflow
token's bot), so a marker pasted into someone else's comment is never a target.
Every request goes through :class:`envcheck.github.Client` and its policy.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple

from .errors import UsageError
from .github import (
    DEFAULT_API,
    DEFAULT_AUTHOR,
    DEFAULT_TIMEOUT,
    USE,
    Client,
    check_repository,
)
from .render.report_markdown import LIMIT, MARKER, marker

COMMENT_LIMIT = LIMIT  # GitHub's maximum comment length
_REPORT_MARKER = re.compile(r"<!-- envcheck-report(?::([a-z]+))?(?::[A-Za-z0-9_.-]+)? -->")
_CUT_NOTE = "\n\n_Cut at GitHub's 65,536-character comment limit._\n"


class Upserted(NamedTuple):
    action: str  # "created" or "updated"
    comment_id: int
    url: str


def comment_marker(body: str, use: str = "") -> str:
    """The hidden marker this report's comment is found by: its report kind (from the
    body's own marker) and, with ``use``, which use of the action (two in one PR)."""
    if use and not USE.match(use):
        raise UsageError(f"id {use!r}: use letters, digits, '.', '_' or '-' (at most 64)")
    found = _REPORT_MARKER.search(body.split("\n", 1)[0])
    kind = (found.group(1) if found else None) or "diff"
    return marker(kind, use)


def fit(body: str, marker_line: str = MARKER) -> str:
    """The body with exactly this marker first and within GitHub's limit."""
    first, _, rest = body.partition("\n")
    if _REPORT_MARKER.fullmatch(first.strip()):
        body = rest
    body = f"{marker_line}\n{body}"
    if len(body) > COMMENT_LIMIT:
        body = body[: COMMENT_LIMIT - len(_CUT_NOTE)].rsplit("\n", 1)[0] + _CUT_NOTE
    return body


def _comment_fields(comment: object) -> tuple[int, str, str | None] | None:
    """(id, body, author login) of a listed comment, or None when it has no usable id."""
    if not isinstance(comment, dict):
        return None
    comment_id = comment.get("id")
    if not isinstance(comment_id, int) or isinstance(comment_id, bool):
        return None
    body = comment.get("body")
    user = comment.get("user")
    login = user.get("login") if isinstance(user, dict) else None
    return (comment_id, body if isinstance(body, str) else "",
            login if isinstance(login, str) else None)


def _written(client: Client, method: str, url: str, payload: Mapping[str, object]) -> Upserted:
    answer, _ = client.json(method, url, payload)
    fields = _comment_fields(answer)
    if fields is None:
        raise client._fail(method, url, "unexpected answer (no comment id)")
    html_url = answer.get("html_url") if isinstance(answer, dict) else None
    return Upserted("updated" if method == "PATCH" else "created", fields[0],
                    html_url if isinstance(html_url, str) else "")


def upsert_comment(repository: str, issue_number: int, body: str, token: str,
                   api_url: str = DEFAULT_API, author: str | None = DEFAULT_AUTHOR,
                   use: str = "", timeout: float = DEFAULT_TIMEOUT) -> Upserted:
    """Update this report's comment on the pull request, or create it the first time."""
    check_repository(repository)
    if isinstance(issue_number, bool) or issue_number < 1:
        raise UsageError(f"pull request {issue_number!r}: expected a positive number")
    if not token:
        raise UsageError("no token: set GITHUB_TOKEN (the workflow's github.token)")
    client = Client(api_url, token, timeout)
    marker_line = comment_marker(body, use)
    body = fit(body, marker_line)
    base = f"{client.api_url}/repos/{repository}/issues"
    for page in client.pages(f"{base}/{issue_number}/comments?per_page=100"):
        for comment in page:
            fields = _comment_fields(comment)
            if fields is None:
                raise client._fail("GET", f"{base}/{issue_number}/comments",
                                   "unexpected answer (a comment without an id)")
            comment_id, text, login = fields
            if text.split("\n", 1)[0].strip() == marker_line and author in (None, login):
                return _written(client, "PATCH", f"{base}/comments/{comment_id}",
                                {"body": body})
    return _written(client, "POST", f"{base}/{issue_number}/comments", {"body": body})
