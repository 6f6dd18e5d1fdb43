"""The pull-request verdict the action posts: one Markdown report whatever happens.

What a pull request cannot choose: with ``github:REF:PATH`` both lockfiles and the
configuration are read through the API as data, from the base branch and the
tested head commit, so neither a fork's artifact nor a ``[tool.envcheck]`` added
by the change under review can move the verdict. Configuration is never
discovered from the working directory (the pull request's checkout) here.

A lockfile that exists on one side only is a change, not an error; any error
still becomes a report (what failed and why), so the comment and the summary
always describe the latest run.
"""

from __future__ import annotations

import os
import subprocess
from typing import NamedTuple

from .config import Config, from_text
from .drift import Change, Report, Side, diff
from .errors import EnvcheckError, ExitCode, InputError, UsageError
from .gate import against_lock
from .github import USE
from .model import Fingerprint
from .reader import decode
from .reader import read_text as read_file_text
from .render.escape import markdown_code
from .render.report_markdown import marker, render_markdown
from .rules import Severity
from .sources.document import from_json
from .sources.git import git_show
from .sources.github import PREFIX as GITHUB_PREFIX
from .sources.github import read_spec
from .sources.live import default_target, live


class Verdict(NamedTuple):
    status: int  # the exit code: 0, 1 (at or above fail-on), or the error's
    markdown: str
    error: str | None = None  # what failed, for stderr


def _git_exists(spec: str) -> bool:
    """Whether ``REV:path`` names a file; a revision that does not exist is an error."""
    rev = spec.split(":", 1)[0]

    def git(*args: str) -> int:
        try:
            return subprocess.run(["git", *args], capture_output=True, timeout=60,
                                  check=False).returncode
        except (OSError, subprocess.SubprocessError) as exc:
            raise InputError(f"{spec}: git could not run ({exc})") from exc

    if git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}") != 0:
        raise InputError(f"{spec}: no revision {rev!r} in git")
    return git("cat-file", "-e", spec) == 0


def read_text(spec: str) -> str | None:
    """The text ``spec`` names (``github:REF:PATH``, ``REV:PATH`` or a file), None where
    that file does not exist."""
    if spec.startswith(GITHUB_PREFIX):
        return read_spec(spec)
    if os.path.exists(spec):
        return read_file_text(spec)
    if ":" in spec and not spec.startswith(("/", "./")):
        return decode(git_show(spec), spec) if _git_exists(spec) else None
    return None


def configuration(spec: str | None) -> Config:
    """The configuration at ``spec`` (the base branch's), or none at all; never the
    working directory's."""
    if not spec:
        return Config()
    text = read_text(spec)
    if text is None:
        return Config()  # the base has none: judged by the defaults
    return from_text(text, spec)


def _fingerprint(spec: str, text: str) -> Fingerprint:

    return from_json(text, spec)


def _one_sided(base: str, head: str, present: Fingerprint, added: bool) -> Report:
    label = head if added else base
    change = Change(
        path=f"lockfile {label}", before=None if added else "present",
        after="present" if added else None, severity=Severity.RISKY,
        reason=("added: nothing to compare it with yet" if added else
                "removed: this environment is no longer checked"),
        reference="envcheck default", rule="lockfile-added" if added else "lockfile-removed",
        kind="added" if added else "removed")
    missing = Side(f"{base if added else head} (none)", "")
    sides = (missing, Side(label, present.id)) if added else (Side(label, present.id), missing)
    return Report(*sides, [change], [])


def judge_pair(base: str, head: str, config: Config) -> Report:
    base_text, head_text = read_text(base), read_text(head)
    if base_text is None and head_text is None:
        raise InputError(f"neither {base} nor {head} exists")
    if base_text is None:
        return _one_sided(base, head, _fingerprint(head, head_text or ""), added=True)
    if head_text is None:
        return _one_sided(base, head, _fingerprint(base, base_text), added=False)
    return diff(_fingerprint(base, base_text), _fingerprint(head, head_text), config,
                labels=(base, head))


def judge_lock(lock: str, python: str | None, config: Config) -> Report:

    return against_lock(lock, live(python or default_target().python), config)


def error_markdown(error: BaseException, status: int, use: str = "",
                   kind: str = "diff") -> str:
    """What went wrong, as the comment that replaces the last one: never stale."""
    return "\n".join([
        marker(kind, use), "### envcheck", "",
        f"⛔ **envcheck could not judge this change** (exit {status}).", "",
        markdown_code(str(error), limit=1000), "",
        "_The verdict above replaces any earlier one: fix the error and push again._", ""])


def review(base: str | None, head: str | None, lock: str | None, python: str | None,
           config_spec: str | None, fail_on: str, use: str = "") -> Verdict:
    """The verdict of one run of the action; never raises an envcheck error."""

    if use and not USE.match(use):
        error = UsageError(f"id {use!r}: use letters, digits, '.', '_' or '-' (at most 64)")
        return Verdict(int(error.exit_code), error_markdown(error, int(error.exit_code)),
                       str(error))
    try:
        config = configuration(config_spec)
        if lock:
            report = judge_lock(lock, python, config)
        elif base and head:
            report = judge_pair(base, head, config)
        else:
            raise UsageError("set 'lock', or both 'base' and 'head'")
    except EnvcheckError as exc:
        return Verdict(int(exc.exit_code), error_markdown(exc, int(exc.exit_code), use), str(exc))
    markdown = render_markdown(report)
    if use:
        markdown = marker(report.kind, use) + "\n" + markdown.partition("\n")[2]
    return Verdict(int(ExitCode.DRIFT) if report.fails(fail_on) else int(ExitCode.OK),
                   markdown)


