"""GitHub access and the pull-request comment, against a local server playing GitHub.

GitHub is not reachable here, so ``GitHubServer`` serves the REST endpoints
envcheck uses (comments with pagination, create, update; file contents at a
revision) on 127.0.0.1, on a free port, and records every request. The action
itself is tested in test_action.py.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import pytest

from envcheck.errors import UsageError
from envcheck.github import GitHubError, ReadOnlyToken, read_file
from envcheck.pr_comment import COMMENT_LIMIT, upsert_comment
from envcheck.render.report_markdown import MARKER, marker

from conftest import DATA, run_envcheck

REPO = "octo/project"
BOT = "github-actions[bot]"


class GitHubServer:
    """Comments of one repository's issues, served like api.github.com."""

    def __init__(self) -> None:
        self.comments: dict[int, list[dict[str, Any]]] = {}
        self.requests: list[dict[str, Any]] = []
        self.fail_with: tuple[int, str] | None = None
        self.fail_writes_with: tuple[int, str] | None = None
        # (ref, path) -> bytes served by the contents API
        self.files: dict[tuple[str, str], bytes] = {}
        # A test's own answer for a request, or None for the usual routes.
        self.hook: Callable[[Any], bool] | None = None
        self.next_id = 1000
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self, status: int, payload: Any, link: str | None = None) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                if link:
                    self.send_header("Link", link)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                payload = json.loads(self.rfile.read(length)) if length else None
                server.requests.append({"method": self.command, "path": self.path,
                                        "auth": self.headers.get("Authorization"),
                                        "body": payload})
                if server.hook is not None and server.hook(self):
                    return
                if server.fail_with:
                    status, message = server.fail_with
                    self._reply(status, {"message": message})
                    return
                if server.fail_writes_with and self.command != "GET":
                    status, message = server.fail_writes_with
                    self._reply(status, {"message": message})
                    return
                server.route(self, payload)

            do_GET = do_POST = do_PATCH = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def add(self, issue: int, body: str, login: str) -> int:
        self.next_id += 1
        self.comments.setdefault(issue, []).append(
            {"id": self.next_id, "body": body, "user": {"login": login},
             "html_url": f"https://github.example/{REPO}/pull/{issue}#c{self.next_id}"})
        return self.next_id

    def route(self, handler: Any, payload: Any) -> None:
        url = urlparse(handler.path)
        listing = re.fullmatch(rf"/repos/{REPO}/issues/(\d+)/comments", url.path)
        single = re.fullmatch(rf"/repos/{REPO}/issues/comments/(\d+)", url.path)
        contents = re.fullmatch(rf"/repos/{REPO}/contents/(.+)", url.path)
        if contents and handler.command == "GET":
            key = (parse_qs(url.query)["ref"][0], unquote(contents.group(1)))
            if key not in self.files:
                handler._reply(404, {"message": "Not Found"})
                return
            handler.send_response(200)
            handler.send_header("Content-Length", str(len(self.files[key])))
            handler.end_headers()
            handler.wfile.write(self.files[key])
        elif listing and handler.command == "GET":
            issue = int(listing.group(1))
            query = parse_qs(url.query)
            per_page, page = int(query["per_page"][0]), int(query.get("page", ["1"])[0])
            items = self.comments.get(issue, [])
            chunk = items[(page - 1) * per_page: page * per_page]
            link = None
            if page * per_page < len(items):
                link = (f'<{self.url}{url.path}?per_page={per_page}&page={page + 1}>; '
                        f'rel="next", <{self.url}{url.path}?page=1>; rel="first"')
            handler._reply(200, chunk, link)
        elif listing and handler.command == "POST":
            comment_id = self.add(int(listing.group(1)), payload["body"], BOT)
            handler._reply(201, self.find(comment_id))
        elif single and handler.command == "PATCH":
            comment = self.find(int(single.group(1)))
            comment["body"] = payload["body"]
            handler._reply(200, comment)
        else:
            handler._reply(404, {"message": "Not Found"})

    def find(self, comment_id: int) -> dict[str, Any]:
        return next(c for items in self.comments.values() for c in items
                    if c["id"] == comment_id)

    def writes(self) -> list[tuple[str, str]]:
        return [(r["method"], r["path"]) for r in self.requests if r["method"] != "GET"]


@pytest.fixture
def github() -> Iterator[GitHubServer]:
    server = GitHubServer()
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def _upsert(github: GitHubServer, body: str, issue: int = 7) -> Any:
    return upsert_comment(REPO, issue, body, "t0ken", api_url=github.url)


def test_created_once_then_updated(github: GitHubServer) -> None:
    first = _upsert(github, f"{MARKER}\nfirst report")
    second = _upsert(github, f"{MARKER}\nsecond report")
    assert (first.action, second.action) == ("created", "updated")
    assert first.comment_id == second.comment_id
    assert [c["body"] for c in github.comments[7]] == [f"{MARKER}\nsecond report"]
    assert all(r["auth"] == "Bearer t0ken" for r in github.requests)


def test_found_on_a_later_page(github: GitHubServer) -> None:
    for i in range(230):
        github.add(7, f"discussion {i}", "someone")
    ours = github.add(7, f"{MARKER}\nold", BOT)
    for i in range(10):
        github.add(7, f"more {i}", "someone")
    result = _upsert(github, f"{MARKER}\nnew")
    assert (result.action, result.comment_id) == ("updated", ours)
    gets = [r["path"] for r in github.requests if r["method"] == "GET"]
    assert len(gets) == 3  # 100 + 100 + 41 comments
    assert github.writes() == [("PATCH", f"/repos/{REPO}/issues/comments/{ours}")]


def test_a_marker_in_someone_elses_comment_is_not_a_target(github: GitHubServer) -> None:
    github.add(7, f"quoting {MARKER} here", "mallory")
    result = _upsert(github, "report without marker")
    assert result.action == "created"
    assert github.comments[7][1]["body"].startswith(MARKER)
    assert github.comments[7][0]["body"] == f"quoting {MARKER} here"


def test_body_is_kept_under_the_limit(github: GitHubServer) -> None:
    body = MARKER + "\n" + "| row |\n" * 20_000
    _upsert(github, body)
    stored = github.comments[7][0]["body"]
    assert len(stored) <= COMMENT_LIMIT
    assert stored.endswith("_Cut at GitHub's 65,536-character comment limit._\n")


def test_api_errors_are_one_clear_line(github: GitHubServer, tmp_path: Path) -> None:
    github.fail_with = (403, "Resource not accessible by integration")
    with pytest.raises(GitHubError, match=r"GET /repos/octo/project/issues/7/comments: 403 "
                                          r"Resource not accessible by integration"):
        _upsert(github, "x")
    report = tmp_path / "report.md"
    report.write_text("x")
    result = run_envcheck("comment", str(report), "--repo", REPO, "--pr", "7",
                          env={"GITHUB_API_URL": github.url, "GITHUB_TOKEN": "t"})
    assert result.returncode == 4
    assert result.stderr.count("\n") == 1 and "403" in result.stderr


def test_cli_reads_the_pull_request_from_the_event(github: GitHubServer, tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 12}}))
    report = tmp_path / "report.md"
    report.write_text(f"{MARKER}\nhello")
    env = {"GITHUB_API_URL": github.url, "GITHUB_TOKEN": "t", "GITHUB_REPOSITORY": REPO,
           "GITHUB_EVENT_PATH": str(event)}
    first = run_envcheck("comment", str(report), env=env)
    second = run_envcheck("comment", str(report), env=env)
    assert first.returncode == second.returncode == 0, first.stderr
    assert "created comment" in first.stderr and "updated comment" in second.stderr
    assert len(github.comments[12]) == 1


def test_no_token_is_refused_without_a_request(github: GitHubServer, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no token"):
        upsert_comment(REPO, 1, "x", "", api_url=github.url)
    report = tmp_path / "report.md"
    report.write_text("x")
    for args, env in ((["--repo", "no-slash", "--pr", "1"], {"GITHUB_TOKEN": "t"}),
                      (["--repo", REPO, "--pr", "1"], {"GITHUB_TOKEN": ""})):
        result = run_envcheck("comment", str(report), *args,
                              env={"GITHUB_API_URL": github.url, **env})
        assert result.returncode == 2, result.stderr  # usage, not "could not write"
    assert github.requests == []


# ---- the HTTP client policy -----------------------------------------------------------------

def _redirect_to(location: str) -> Callable[[Any], bool]:
    def hook(handler: Any) -> bool:
        if handler.command == "GET" and "/comments" in handler.path:
            handler.send_response(302)
            handler.send_header("Location", location)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return True
        return False
    return hook


def test_the_token_never_follows_a_redirect_to_another_origin(github: GitHubServer) -> None:
    other = GitHubServer()  # another port: another origin
    other.thread.start()
    try:
        github.hook = _redirect_to(f"{other.url}/repos/{REPO}/issues/7/comments?per_page=100")
        with pytest.raises(GitHubError, match="refusing a redirect to another origin") as caught:
            _upsert(github, f"{MARKER}\nx")
        assert f"({other.url})" in str(caught.value)  # with its port: all that differs here
        assert other.requests == []  # not even asked: the token stays home
        assert github.writes() == []
    finally:
        other.httpd.shutdown()
        other.httpd.server_close()


def test_a_same_origin_redirect_is_followed(github: GitHubServer) -> None:
    def hook(handler: Any) -> bool:  # a renamed repository: 307 keeps the method and body
        if "moved-repo" not in handler.path:
            return False
        handler.send_response(307)
        handler.send_header("Location", handler.path.replace("octo/moved-repo", REPO))
        handler.send_header("Content-Length", "0")
        handler.end_headers()
        return True
    github.hook = hook
    result = upsert_comment("octo/moved-repo", 7, f"{MARKER}\nx", "t0ken", api_url=github.url)
    assert result.action == "created" and github.comments[7][0]["body"] == f"{MARKER}\nx"
    followed = [r for r in github.requests if REPO in r["path"]]
    assert len(followed) == 2 and all(r["auth"] == "Bearer t0ken" for r in followed)


def test_a_next_link_back_to_the_same_page_is_a_loop_not_a_hang(github: GitHubServer) -> None:
    def hook(handler: Any) -> bool:
        if handler.command != "GET":
            return False
        handler._reply(200, [{"id": 1, "body": "someone's", "user": {"login": "x"}}],
                       link=f'<{github.url}{handler.path}>; rel="next"')
        return True
    github.hook = hook
    with pytest.raises(GitHubError, match="pagination loops back"):
        _upsert(github, f"{MARKER}\nx")
    assert len(github.requests) == 1 and github.writes() == []


class DripServer:
    """A server that answers one byte at a time, each well within any per-read timeout."""

    def __init__(self) -> None:
        import socket

        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        self.listener.settimeout(0.2)
        while not self.stop.is_set():
            try:
                connection, _ = self.listener.accept()
            except OSError:
                continue
            with connection:
                for byte in b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n":
                    if self.stop.wait(0.3):
                        return
                    try:
                        connection.sendall(bytes([byte]))
                    except OSError:
                        break

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.listener.close()


def test_the_deadline_is_per_request_not_per_read() -> None:
    drip = DripServer()
    try:
        with pytest.raises(GitHubError, match=r"no answer within 1 s"):
            upsert_comment(REPO, 7, "x", "t0ken", api_url=drip.url, timeout=1.0)
    finally:
        drip.close()


@pytest.mark.parametrize("listing", [
    {"message": "not a list"},
    ["a string"],
    [{"id": "12", "body": MARKER}],
    [{"id": True, "body": MARKER}],
    [{"body": MARKER, "user": {"login": BOT}}],
])
def test_malformed_answers_are_one_line_not_a_crash(github: GitHubServer, tmp_path: Path,
                                                     listing: Any) -> None:
    github.hook = lambda h: h.command == "GET" and (h._reply(200, listing) or True)
    with pytest.raises(GitHubError, match="unexpected answer"):
        _upsert(github, "x")
    report = tmp_path / "report.md"
    report.write_text("x")
    result = run_envcheck("comment", str(report), "--repo", REPO, "--pr", "7",
                          env={"GITHUB_API_URL": github.url, "GITHUB_TOKEN": "t"})
    assert result.returncode == 4 and result.stderr.count("\n") == 1, result.stderr


@pytest.mark.parametrize("created", [[], {"id": None}, {"id": True}, "text"])
def test_a_malformed_created_comment_is_an_error(github: GitHubServer, created: Any) -> None:
    github.hook = lambda h: h.command == "POST" and (h._reply(201, created) or True)
    with pytest.raises(GitHubError, match="unexpected answer"):
        _upsert(github, "x")


@pytest.mark.parametrize("event", [
    '{"number": true}', '{"pull_request": {"number": true}}', '{"pull_request": []}',
    '{"pull_request": {"number": -3}}', "[]", '"text"', '{"issue": "7"}', '{"number": 1.5}',
])
def test_events_without_a_usable_number_are_a_usage_error(github: GitHubServer, tmp_path: Path,
                                                          event: str) -> None:
    (tmp_path / "event.json").write_text(event)
    (tmp_path / "report.md").write_text("x")
    result = run_envcheck("comment", str(tmp_path / "report.md"), "--repo", REPO,
                          env={"GITHUB_API_URL": github.url, "GITHUB_TOKEN": "t",
                               "GITHUB_EVENT_PATH": str(tmp_path / "event.json")})
    assert result.returncode == 2, result.stderr
    assert "--pr N is needed" in result.stderr
    assert github.requests == []


def test_a_deeply_nested_event_is_unreadable_input(github: GitHubServer, tmp_path: Path) -> None:
    (tmp_path / "event.json").write_text("[" * 100_000 + "]" * 100_000)
    (tmp_path / "report.md").write_text("x")
    result = run_envcheck("comment", str(tmp_path / "report.md"), "--repo", REPO,
                          env={"GITHUB_API_URL": github.url, "GITHUB_TOKEN": "t",
                               "GITHUB_EVENT_PATH": str(tmp_path / "event.json")})
    assert result.returncode == 3 and result.stderr.count("\n") == 1, result.stderr


def test_each_report_kind_and_use_keeps_its_own_comment(github: GitHubServer) -> None:
    bodies = {kind: f"{marker(kind)}\n{kind} report" for kind in ("diff", "audit", "compare")}
    for body in bodies.values():
        _upsert(github, body)
    upsert_comment(REPO, 7, bodies["diff"], "t0ken", api_url=github.url, use="gpu-lock")
    assert len(github.comments[7]) == 4
    # Each one updates its own.
    again = upsert_comment(REPO, 7, f"{marker('diff')}\nnew", "t0ken", api_url=github.url,
                           use="gpu-lock")
    assert again.action == "updated"
    firsts = sorted(c["body"].split("\n", 1)[0] for c in github.comments[7])
    assert firsts == sorted([marker("audit"), marker("compare"), marker("diff"),
                             marker("diff", "gpu-lock")])
    assert github.comments[7][3]["body"] == f"{marker('diff', 'gpu-lock')}\nnew"
    with pytest.raises(UsageError, match="id"):
        upsert_comment(REPO, 7, "x", "t0ken", api_url=github.url, use="a -->b")


def test_a_read_only_token_is_skipped_with_a_warning(github: GitHubServer, tmp_path: Path) -> None:
    github.fail_writes_with = (403, "Resource not accessible by integration")
    with pytest.raises(ReadOnlyToken):
        _upsert(github, "x")
    (tmp_path / "report.md").write_text("x")
    args = ("comment", str(tmp_path / "report.md"), "--repo", REPO, "--pr", "7")
    env = {"GITHUB_API_URL": github.url, "GITHUB_TOKEN": "t"}
    assert run_envcheck(*args, env=env).returncode == 4
    skipped = run_envcheck(*args, "--skip-read-only", env=env)
    assert skipped.returncode == 0
    assert "warning: no comment" in skipped.stderr and "read-only" in skipped.stderr
    github.fail_writes_with = (403, "API rate limit exceeded")  # not read-only: still a failure
    assert run_envcheck(*args, "--skip-read-only", env=env).returncode == 4


def test_read_file_reads_data_at_a_revision(github: GitHubServer) -> None:
    github.files[("abc123", "lockfiles/train.json")] = b'{"x": 1}'
    assert read_file(REPO, "abc123", "lockfiles/train.json", "t0ken",
                     api_url=github.url) == '{"x": 1}'
    assert read_file(REPO, "abc123", "lockfiles/other.json", "t0ken", api_url=github.url) is None
    for ref, path in (("../x", "a.json"), ("main", "../etc/passwd"), ("main", "/abs"),
                      ("-rf", "a.json"), ("main", "a//b")):
        with pytest.raises(UsageError):
            read_file(REPO, ref, path, "t0ken", api_url=github.url)
    assert all(r["auth"] == "Bearer t0ken" for r in github.requests)


def test_diff_reads_github_specs_through_the_api(github: GitHubServer) -> None:
    document = (DATA / "cpu-torch.json").read_bytes()
    github.files[("main", "lockfiles/a.json")] = document
    github.files[("f" * 40, "lockfiles/a.json")] = document
    env = {"GITHUB_API_URL": github.url, "GITHUB_TOKEN": "t0ken", "GITHUB_REPOSITORY": REPO}
    same = run_envcheck("diff", "github:main:lockfiles/a.json",
                        f"github:{'f' * 40}:lockfiles/a.json", env=env)
    assert same.returncode == 0, same.stderr
    missing = run_envcheck("diff", "github:main:lockfiles/a.json", "github:main:nope.json",
                           env=env)
    assert missing.returncode == 3 and "no such file at that revision" in missing.stderr
    assert all(r["auth"] == "Bearer t0ken" for r in github.requests)


def test_a_personal_token_updates_its_own_comment(github: GitHubServer, tmp_path: Path) -> None:
    """`--author auto`: a personal token's comments are its login's, not the bot's."""
    def hook(handler: Any) -> bool:
        if handler.path == "/user":
            handler._reply(200, {"login": "octo-pat"})
            return True
        return False
    github.hook = hook
    ours = github.add(7, f"{MARKER}\nold", "octo-pat")
    (tmp_path / "report.md").write_text(f"{MARKER}\nnew")
    env = {"GITHUB_API_URL": github.url, "GITHUB_TOKEN": "pat"}
    for _ in range(2):
        result = run_envcheck("comment", str(tmp_path / "report.md"), "--repo", REPO, "--pr",
                              "7", env=env)
        assert result.returncode == 0, result.stderr
        assert f"updated comment {ours}" in result.stderr
    assert len(github.comments[7]) == 1
