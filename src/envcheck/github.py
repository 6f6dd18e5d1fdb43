"""One pull-request comment per report, created once and updated after (GitHub REST API).

Standard library HTTP only: the action runs on any runner without extra
installs. The comment is found by the report's hidden marker among comments
written by ``author`` (the workflow token's bot by default), so a marker pasted
into someone else's comment is never a target.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from typing import Any, NamedTuple

from .errors import EnvcheckError, ExitCode
from .reader import DocumentError, parse_json
from .render.report_markdown import LIMIT, MARKER

COMMENT_LIMIT = LIMIT  # GitHub's maximum comment length
DEFAULT_API = "https://api.github.com"
DEFAULT_AUTHOR = "github-actions[bot]"
_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_CUT_NOTE = "\n\n_Cut at GitHub's 65,536-character comment limit._\n"


class GitHubError(EnvcheckError):
    """The GitHub API refused or failed a request."""

    exit_code = ExitCode.OUTPUT


class Upserted(NamedTuple):
    action: str  # "created" or "updated"
    comment_id: int
    url: str


def fit(body: str, marker: str = MARKER) -> str:
    """The body with the marker first and within GitHub's limit."""
    if marker not in body:
        body = f"{marker}\n{body}"
    if len(body) > COMMENT_LIMIT:
        body = body[: COMMENT_LIMIT - len(_CUT_NOTE)].rsplit("\n", 1)[0] + _CUT_NOTE
    return body


class _Client:
    def __init__(self, api_url: str, token: str, timeout: float) -> None:
        self.api_url = api_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def request(self, method: str, url: str, payload: dict[str, Any] | None = None
                ) -> tuple[Any, str | None]:
        """(decoded JSON, next page URL) of one request."""
        if not url.startswith(self.api_url + "/"):
            raise GitHubError(f"refusing to follow a URL outside {self.api_url}: {url}")
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(url, data=data, method=method, headers={
            "Authorization": f"Bearer {self.token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "envcheck",
            **({"Content-Type": "application/json"} if data is not None else {}),
        })
        path = url[len(self.api_url):].split("?", 1)[0]
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read()
                link = response.headers.get("Link") or ""
        except urllib.error.HTTPError as exc:
            raise GitHubError(f"GitHub API {method} {path}: {exc.code} "
                              f"{_message(exc.read())}") from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise GitHubError(f"GitHub API {method} {path}: cannot connect ({reason})") from exc
        match = _NEXT.search(link)
        try:
            decoded = parse_json(body, "answer") if body else None
        except DocumentError as exc:
            raise GitHubError(f"GitHub API {method} {path}: the answer is not JSON "
                              f"envcheck reads ({str(exc).removeprefix('answer: ')})") from exc
        return decoded, match.group(1) if match else None


def _message(body: bytes) -> str:
    try:
        return str(json.loads(body).get("message", "")) or "no message"
    except (ValueError, AttributeError):
        return body[:200].decode("utf-8", "replace") or "no message"


def upsert_comment(repository: str, issue_number: int, body: str, token: str,
                   api_url: str = DEFAULT_API, author: str | None = DEFAULT_AUTHOR,
                   marker: str = MARKER, timeout: float = 30.0) -> Upserted:
    """Update this report's comment on the pull request, or create it the first time."""
    if not _REPOSITORY.match(repository):
        raise GitHubError(f"repository {repository!r}: expected OWNER/NAME")
    if not token:
        raise GitHubError("no token: set GITHUB_TOKEN (the workflow's github.token)")
    client = _Client(api_url, token, timeout)
    body = fit(body, marker)
    base = f"{client.api_url}/repos/{repository}/issues"
    url: str | None = f"{base}/{issue_number}/comments?per_page=100"
    while url:
        comments, url = client.request("GET", url)
        for comment in comments if isinstance(comments, list) else []:
            login = (comment.get("user") or {}).get("login")
            if marker in (comment.get("body") or "") and author in (None, login):
                updated, _ = client.request("PATCH", f"{base}/comments/{comment['id']}",
                                            {"body": body})
                return Upserted("updated", int(updated["id"]), str(updated.get("html_url")))
    created, _ = client.request("POST", f"{base}/{issue_number}/comments", {"body": body})
    return Upserted("created", int(created["id"]), str(created.get("html_url")))


def pull_request_number(event: dict[str, Any]) -> int | None:
    """The pull request (or issue) number of a workflow event payload."""
    for key in ("pull_request", "issue"):
        number = (event.get(key) or {}).get("number")
        if isinstance(number, int):
            return number
    number = event.get("number")
    return number if isinstance(number, int) else None
