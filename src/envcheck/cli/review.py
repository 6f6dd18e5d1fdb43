"""``envcheck review``: the pull-request verdict the action posts, a report even on error."""

from __future__ import annotations

import click

from ..console import warn, write_output
from ..errors import ExitCode
from ..render.escape import terminal
from ..review import error_markdown
from ..review import review as run_review
from .common import EXIT_CODES_HELP, python_option


@click.command(epilog=EXIT_CODES_HELP)
@click.option("--base", metavar="SPEC", help="Expected side: github:REF:PATH, REV:PATH or FILE.")
@click.option("--head", metavar="SPEC", help="Actual side, read the same way.")
@click.option("--lock", metavar="LOCK", help="Instead: check --python against this lock.")
@click.option("--config", "config_spec", metavar="SPEC",
              help="Configuration to apply (the base branch's, e.g. github:main:pyproject.toml); "
                   "default: none, never the working directory's.")
@click.option("--fail-on", type=click.Choice(("breaking", "risky", "any", "never")),
              default="breaking", show_default=True)
@click.option("--id", "use", default="", metavar="ID", help="Which use this is (its marker).")
@click.option("-o", "--output", required=True, metavar="FILE",
              help="Where the Markdown report goes (written on error too).")
@python_option
def review(base: str | None, head: str | None, lock: str | None, config_spec: str | None,
           fail_on: str, use: str, output: str, python: str | None) -> int:
    """The pull-request verdict the action posts: always a Markdown report, also on error.

    \b
    github:REF:PATH is read through the GitHub API as data ($GITHUB_REPOSITORY,
    $GITHUB_TOKEN, $GITHUB_API_URL), so a pull request cannot supply its own base or
    configuration. A lockfile on one side only is a change (risky), not an error.

    \b
    Examples:
      envcheck review --base github:main:lockfiles/train.json \\
        --head github:$SHA:lockfiles/train.json --config github:main:pyproject.toml -o r.md
      envcheck review --lock lockfiles/ci.json --python "$(command -v python3)" -o r.md
    """
    try:
        verdict = run_review(base, head, lock, python, config_spec, fail_on, use)
    except Exception as exc:  # a bug: still replace the comment, then report it as one
        write_output(error_markdown(exc, int(ExitCode.INTERNAL)), output)
        raise
    write_output(verdict.markdown, output)
    if verdict.error is not None:
        warn(f"{terminal(verdict.error)} (the report says so too: {output})")
    return verdict.status
