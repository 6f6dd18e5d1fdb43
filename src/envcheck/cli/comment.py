"""``envcheck comment``: the pull request's envcheck comment, created or updated."""

from __future__ import annotations

import os

import click

from ..console import warn
from ..errors import UsageError
from ..github import ReadOnlyToken, check_repository, pull_request_number, token_login
from ..pr_comment import upsert_comment
from ..reader import parse_json, read_bytes, read_text
from .common import EXIT_CODES_NO_VERDICT_HELP


@click.command(epilog=EXIT_CODES_NO_VERDICT_HELP)
@click.argument("body_file", metavar="REPORT.md")
@click.option("--repo", metavar="OWNER/NAME", envvar="GITHUB_REPOSITORY",
              help="Repository (default: $GITHUB_REPOSITORY).")
@click.option("--pr", "pr_number", type=int, metavar="N",
              help="Pull request number (default: from $GITHUB_EVENT_PATH).")
@click.option("--api-url", envvar="GITHUB_API_URL", default="https://api.github.com",
              show_default=True, help="GitHub API root (default: $GITHUB_API_URL).")
@click.option("--author", default="auto", show_default=True,
              help="Only a comment by this login is updated: 'auto' is the token's own "
                   "(a personal token's login, else github-actions[bot]); '' for any author.")
@click.option("--id", "use", default="", metavar="ID",
              help="Which use this is, when one pull request gets several reports of a kind.")
@click.option("--skip-read-only", is_flag=True,
              help="A read-only token (a pull request from a fork) warns instead of failing.")
def comment(body_file: str, repo: str | None, pr_number: int | None, api_url: str,
            author: str, use: str, skip_read_only: bool) -> None:
    """Create or update the pull request's envcheck comment (found by its hidden marker:
    one per report kind and --id).

    The token comes from $GITHUB_TOKEN only, never from the command line.

    \b
    Examples:
      envcheck diff base.json head.json --format markdown -o report.md
      GITHUB_TOKEN=... envcheck comment report.md --repo me/project --pr 42
    """
    if not repo:
        raise UsageError("--repo OWNER/NAME is needed (or $GITHUB_REPOSITORY)")
    check_repository(repo)
    if pr_number is None:
        event_path = os.environ.get("GITHUB_EVENT_PATH")
        if event_path:
            pr_number = pull_request_number(parse_json(read_bytes(event_path), event_path))
        if pr_number is None:
            raise UsageError("--pr N is needed (no pull request in $GITHUB_EVENT_PATH)")
    token = os.environ.get("GITHUB_TOKEN", "")
    body = read_text(body_file)
    try:
        if author == "auto" and token:
            author = token_login(api_url, token)
        result = upsert_comment(repo, pr_number, body, token, api_url, author or None, use=use)
    except ReadOnlyToken as exc:
        if not skip_read_only:
            raise
        warn(f"warning: no comment: {exc}")
        return
    warn(f"{result.action} comment {result.comment_id} on {repo}#{pr_number}")
