"""GitHub REST access under one policy (the comment built on it is in ``pr_comment``).

Every request goes through :class:`Client`, which holds the whole policy:

* the token is sent only to the API's own origin: a redirect is followed only
  within that origin (scheme, host and port), anything else is refused before
  a byte is sent there;
* one total deadline per request (connect, redirects, headers and body), not
  per read, so a server dripping a byte at a time cannot hold a job;
* answers are capped in size and must be JSON of the expected shape;
* pagination must stay inside the API and never revisit a page.

Standard library only: the action runs on any runner without extra installs.
Nothing here renders: ``sources.github`` reads files through it, below the
renderers, and ``pr_comment`` writes the comment, above them.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from .errors import EnvcheckError, ExitCode, InputError, UsageError
from .reader import DocumentError, parse_json

DEFAULT_API = "https://api.github.com"
DEFAULT_AUTHOR = "github-actions[bot]"
DEFAULT_TIMEOUT = 30.0
MAX_ANSWER = 32 << 20  # bytes: a page of 100 full comments is about 7 MiB
MAX_PAGES = 1000
MAX_REDIRECTS = 5
_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_REF = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./-]{0,254}$")
USE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class GitHubError(EnvcheckError):
    """The GitHub API refused or failed a request (the comment could not be written)."""

    exit_code = ExitCode.OUTPUT


class ReadOnlyToken(GitHubError):
    """The token may read but not write (a pull request from a fork)."""


class GitHubReadError(InputError):
    """A file could not be read through the GitHub API."""


def origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    try:
        port = parts.port or default
    except ValueError:  # a port that is not a number
        port = -1
    return parts.scheme, (parts.hostname or "").lower(), port


class Client:
    """Requests to one GitHub API root with one token, under the policy above."""

    def __init__(self, api_url: str, token: str, timeout: float = DEFAULT_TIMEOUT,
                 error: type[EnvcheckError] = GitHubError) -> None:
        self.api_url = api_url.rstrip("/")
        if origin(self.api_url)[0] not in ("http", "https") or not origin(self.api_url)[1]:
            raise UsageError(f"API URL {api_url!r}: expected http(s)://HOST[/PATH]")
        self.token = token
        self.timeout = timeout
        self.error = error

    def _fail(self, method: str, url: str, why: str) -> EnvcheckError:
        path = url[len(self.api_url):].split("?", 1)[0] if url.startswith(self.api_url) else url
        return self.error(f"GitHub API {method} {path}: {why}")

    def request(self, method: str, url: str, payload: Mapping[str, Any] | None = None,
                accept: str = "application/vnd.github+json") -> tuple[int, bytes, str]:
        """(status, body, Link header) of one request after same-origin redirects; any
        answer but 2xx and 404 raises."""
        if not url.startswith(self.api_url + "/"):
            raise self._fail(method, url, f"refusing a URL outside {self.api_url}")
        deadline = time.monotonic() + self.timeout
        data = json.dumps(payload).encode() if payload is not None else None
        for _ in range(MAX_REDIRECTS + 1):
            status, headers, body = self._once(method, url, data, accept, deadline)
            if status not in _REDIRECTS:
                break
            target = urljoin(url, headers.get("location", ""))
            if origin(target) != origin(self.api_url):
                # The token must never reach another origin, nor its answer be trusted.
                scheme, host, port = origin(target)  # the port too: it may be all that differs
                raise self._fail(method, url, "refusing a redirect to another origin "
                                              f"({scheme}://{host}:{port})")
            if status == 303:
                method, data = "GET", None
            url = target
        else:
            raise self._fail(method, url, f"more than {MAX_REDIRECTS} redirects")
        if status == 404 or 200 <= status < 300:
            return status, body, headers.get("link", "")
        message = _message(body)
        if status == 403 and method != "GET" and "not accessible" in message.lower():
            raise ReadOnlyToken(f"GitHub API {method}: {status} {message} "
                                "(a read-only token, as pull requests from forks get)")
        raise self._fail(method, url, f"{status} {message}")

    def _once(self, method: str, url: str, data: bytes | None, accept: str,
              deadline: float) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(url)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise self._fail(method, url, f"no answer within {self.timeout:g} s")
        connection: http.client.HTTPConnection = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )(parts.hostname or "", parts.port, timeout=remaining)
        # A total deadline: the socket is shut at the deadline whatever is under way.
        watchdog = threading.Timer(remaining, _shut, (connection,))
        watchdog.daemon = True
        watchdog.start()
        headers = {"Authorization": f"Bearer {self.token}", "Accept": accept,
                   "X-GitHub-Api-Version": "2022-11-28", "User-Agent": "envcheck"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        try:
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            connection.request(method, target or "/", body=data, headers=headers)
            response = connection.getresponse()
            body = response.read(MAX_ANSWER + 1)
            answer = {k.lower(): v for k, v in response.getheaders()}
        except (OSError, http.client.HTTPException, ValueError) as exc:
            if time.monotonic() >= deadline - 0.01:
                raise self._fail(method, url, f"no answer within {self.timeout:g} s") from exc
            raise self._fail(method, url, f"cannot connect ({exc})") from exc
        finally:
            watchdog.cancel()
            connection.close()
        if time.monotonic() >= deadline:
            raise self._fail(method, url, f"no answer within {self.timeout:g} s")
        if len(body) > MAX_ANSWER:
            raise self._fail(method, url, f"the answer is larger than {MAX_ANSWER >> 20} MiB")
        return response.status, answer, body

    def json(self, method: str, url: str, payload: Mapping[str, Any] | None = None
             ) -> tuple[Any, str | None]:
        """(decoded JSON, next page URL); 404 is an error here."""
        status, body, link = self.request(method, url, payload)
        if status == 404:
            raise self._fail(method, url, f"404 {_message(body)}")
        try:
            decoded = parse_json(body, "answer") if body else None
        except DocumentError as exc:
            raise self._fail(method, url, f"the answer is not JSON envcheck reads "
                                          f"({str(exc).removeprefix('answer: ')})") from exc
        match = _NEXT.search(link)
        return decoded, match.group(1) if match else None

    def pages(self, url: str) -> Iterator[list[Any]]:
        """Every page of a listing, following rel="next" without ever revisiting a page."""
        seen: set[str] = set()
        next_url: str | None = url
        while next_url:
            if next_url in seen:
                raise self._fail("GET", next_url, "pagination loops back to a page already read")
            if len(seen) >= MAX_PAGES:
                raise self._fail("GET", url, f"more than {MAX_PAGES} pages")
            seen.add(next_url)
            page, following = self.json("GET", next_url)
            if not isinstance(page, list):
                raise self._fail("GET", next_url, "unexpected answer (not a list)")
            yield page
            next_url = following


def _shut(connection: http.client.HTTPConnection) -> None:
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _message(body: bytes) -> str:
    try:
        decoded = json.loads(body)
    except (ValueError, RecursionError):
        return body[:200].decode("utf-8", "replace").strip() or "no message"
    message = decoded.get("message") if isinstance(decoded, dict) else None
    return str(message)[:200] if message else "no message"


def check_repository(repository: str) -> str:
    if not _REPOSITORY.match(repository) or ".." in repository:
        raise UsageError(f"repository {repository!r}: expected OWNER/NAME")
    return repository



def token_login(api_url: str, token: str, timeout: float = DEFAULT_TIMEOUT) -> str:
    """Whose comments are ours: the login of a personal token, else the workflow token's
    bot (which may not read /user)."""
    client = Client(api_url, token, timeout)
    try:
        answer, _ = client.json("GET", f"{client.api_url}/user")
    except GitHubError:
        return DEFAULT_AUTHOR
    login = answer.get("login") if isinstance(answer, dict) else None
    return login if isinstance(login, str) and login else DEFAULT_AUTHOR



def pull_request_number(event: object) -> int | None:
    """The pull request (or issue) number of a workflow event payload, if it has one."""
    if not isinstance(event, dict):
        return None
    candidates = [(event.get(key) or {}) for key in ("pull_request", "issue")] + [event]
    for holder in candidates:
        number = holder.get("number") if isinstance(holder, dict) else None
        if isinstance(number, int) and not isinstance(number, bool) and number > 0:
            return number
    return None


# ---- files at a revision, as data ---------------------------------------------------------

def read_file(repository: str, ref: str, path: str, token: str, api_url: str = DEFAULT_API,
              timeout: float = DEFAULT_TIMEOUT) -> str | None:
    """The text of ``path`` at ``ref`` (a commit SHA or branch) through the contents API,
    or None where it does not exist. Only data: nothing of it is ever run."""
    check_repository(repository)
    if not _REF.match(ref) or ".." in ref:
        raise UsageError(f"revision {ref!r}: expected a commit SHA or branch name")
    segments = path.split("/")
    if not path or any(s in ("", ".", "..") for s in segments):
        raise UsageError(f"path {path!r}: expected a relative path inside the repository")
    client = Client(api_url, token, timeout, error=GitHubReadError)
    url = (f"{client.api_url}/repos/{repository}/contents/{quote(path, safe='/')}"
           f"?ref={quote(ref, safe='')}")
    status, body, _ = client.request("GET", url, accept="application/vnd.github.raw+json")
    if status == 404:
        return None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise GitHubReadError(f"{repository}@{ref}:{path}: not UTF-8 text") from exc
