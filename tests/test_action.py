"""The composite action and the example workflows, run the way GitHub runs them.

``Runner`` executes action.yml's steps in order with GitHub's rules: a step whose
``if`` has no status function runs only while every earlier step succeeded; a
failing step fails the job and later steps run only with ``always()``,
``failure()`` or ``!cancelled()``; each ``run`` goes through ``bash --noprofile
--norc -eo pipefail``, with inputs reaching it through ``env`` only. GitHub
itself is ``GitHubServer`` on 127.0.0.1 (comments and the contents API).
"""

from __future__ import annotations

import copy
import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from envcheck.render.report_markdown import marker
from test_github import BOT, REPO, GitHubServer, github  # noqa: F401 (fixture)

from conftest import DATA, ROOT

ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
WORKFLOWS = ROOT / "examples" / "workflows"
_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}", re.S)
_STATUS = re.compile(r"\b(success|failure|always|cancelled)\(\)")
BASE_SHA, HEAD_SHA = "b" * 40, "c" * 40


def evaluate(expression: str, context: dict[str, Any], failed: bool = False) -> Any:
    """The expression forms these files use: paths, == and != on strings, !, &&, ||, ( ),
    and the status functions."""
    whole = _EXPRESSION.fullmatch(expression.strip())
    python = whole.group(1) if whole else expression
    python = python.replace("&&", " and ").replace("||", " or ")
    python = re.sub(r"!(?!=)", " not ", python)
    status = {"success": not failed, "failure": failed, "always": True, "cancelled": False}
    python = _STATUS.sub(lambda m: repr(status[m.group(1)]), python)
    python = re.sub(r"\b(inputs|github|steps|runner)\.([A-Za-z0-9_.-]+)",
                    lambda m: repr(lookup(context, m.group(0))), python)
    return eval(python, {"__builtins__": {}})


def lookup(context: dict[str, Any], path: str) -> Any:
    node: Any = context
    for part in path.split("."):
        node = node.get(part, "") if isinstance(node, dict) else ""
    return node


def substitute(value: object, context: dict[str, Any]) -> str:
    return _EXPRESSION.sub(lambda m: str(evaluate(m.group(1), context)), str(value))


class Runner:
    """One job's runner: a workspace, RUNNER_TEMP, the summary, a pull_request event."""

    def __init__(self, tmp_path: Path, server: GitHubServer, event_name: str = "pull_request",
                 base_ref: str = "main", preinstalled: bool = True,
                 action_path: Path = ROOT) -> None:
        self.workspace = tmp_path / "workspace"
        self.temp = tmp_path / "runner-temp"
        self.workspace.mkdir(exist_ok=True)
        self.temp.mkdir(exist_ok=True)
        self.summary = self.temp / "summary.md"
        self.server = server
        self.event_name = event_name
        self.base_ref = base_ref if event_name == "pull_request" else ""
        self.event = self.temp / "event.json"
        self.event.write_text(json.dumps({"pull_request": {"number": 5}}))
        if preinstalled:  # the install step's own "already installed" path: the test venv
            venv_bin = self.temp / "envcheck-venv" / "bin"
            venv_bin.mkdir(parents=True, exist_ok=True)
            if not (venv_bin / "envcheck").exists():
                (venv_bin / "envcheck").symlink_to(Path(sys.executable).parent / "envcheck")
        self.action_path = action_path
        self.logs: list[str] = []

    def run(self, inputs: dict[str, str], path: str = "python3") -> list[str]:
        """Each step's outcome: success, failure or skipped."""
        defaults = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
        context: dict[str, Any] = {
            "inputs": {**defaults, "github-token": "t0ken", **inputs}, "steps": {},
            "github": {"token": "t0ken", "action_path": str(self.action_path),
                       "event_name": self.event_name}}
        outcomes: list[str] = []
        failed = False
        for number, step in enumerate(ACTION["runs"]["steps"]):
            condition = str(step.get("if", "success()"))
            if not _STATUS.search(condition):
                condition = f"success() && ({condition})"
            if not evaluate(condition, context, failed):
                outcomes.append("skipped")
                continue
            output = self.temp / f"output-{number}"
            output.write_text("")
            env = {key: value for key, value in os.environ.items()
                   if not key.startswith(("GITHUB_", "ENVCHECK_DEBUG"))}
            env.update({
                "PATH": path_with(path), "RUNNER_TEMP": str(self.temp), "CI": "true",
                "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(self.summary),
                "GITHUB_OUTPUT": str(output), "GITHUB_API_URL": self.server.url,
                "GITHUB_REPOSITORY": REPO, "GITHUB_EVENT_PATH": str(self.event),
                "GITHUB_EVENT_NAME": self.event_name, "GITHUB_BASE_REF": self.base_ref})
            for name, value in (step.get("env") or {}).items():
                env[name] = substitute(value, context)
            script = self.temp / f"step-{number}.sh"
            script.write_text(step["run"])
            result = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail",
                                     str(script)], env=env, cwd=self.workspace,
                                    capture_output=True, text=True, timeout=600, check=False)
            self.logs.append(f"--- {step['name']}: {result.returncode}\n{result.stdout}"
                             f"{result.stderr}")
            outcomes.append("success" if result.returncode == 0 else "failure")
            failed = failed or result.returncode != 0
            if "id" in step:
                lines = output.read_text().splitlines()
                context["steps"][step["id"]] = {
                    "outputs": dict(line.split("=", 1) for line in lines if "=" in line)}
        return outcomes

    def read_summary(self) -> str:
        return self.summary.read_text() if self.summary.exists() else ""

    def status(self) -> str:
        judge = self.logs and [log for log in self.logs if log.startswith("--- Judge")]
        return judge[-1] if judge else ""


def path_with(python: str) -> str:
    """PATH with ``python3`` (the job's interpreter) first."""
    directory = Path(python).parent if "/" in python else Path(sys.executable).parent
    return f"{directory}:{os.environ['PATH']}"


def fingerprints(tmp: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    base = json.loads((DATA / "fake-2xa100.json").read_text())
    head = copy.deepcopy(base)
    head["packages"]["torch"]["version"] = "2.13.0+cu121"  # breaking
    return base, head


def serve(server: GitHubServer, ref: str, path: str, document: object) -> None:
    text = document if isinstance(document, str) else json.dumps(document)
    server.files[(ref, path)] = text.encode()


LOCK = "lockfiles/train.json"
SUCCESS_THEN_VERDICT = ["success", "success", "success"]


# ---- verdicts -----------------------------------------------------------------------------

def test_breaking_drift_comments_and_fails(github: GitHubServer,  # noqa: F811
                                           tmp_path: Path) -> None:
    base, head = fingerprints(tmp_path)
    serve(github, "main", LOCK, base)
    serve(github, HEAD_SHA, LOCK, head)
    runner = Runner(tmp_path, github)
    inputs = {"base": f"github:main:{LOCK}", "head": f"github:{HEAD_SHA}:{LOCK}"}
    assert runner.run(inputs) == [*SUCCESS_THEN_VERDICT, "failure"], runner.logs
    assert "packages&#46;torch&#46;version" in runner.read_summary()
    assert len(github.comments[5]) == 1
    assert github.comments[5][0]["body"].startswith(marker("diff"))
    serve(github, HEAD_SHA, LOCK, base)
    assert runner.run(inputs) == [*SUCCESS_THEN_VERDICT, "success"]
    assert len(github.comments[5]) == 1 and "identical" in github.comments[5][0]["body"]


def test_no_pull_request_no_comment(github: GitHubServer, tmp_path: Path) -> None:  # noqa: F811
    (tmp_path / "a.json").write_text((DATA / "cpu-torch.json").read_text())
    runner = Runner(tmp_path, github, event_name="push")
    a = str(tmp_path / "a.json")
    assert runner.run({"base": a, "head": a}) == ["success", "success", "skipped", "success"]
    assert github.writes() == []
    assert "identical" in runner.read_summary()


def test_an_input_cannot_inject_shell(github: GitHubServer, tmp_path: Path) -> None:  # noqa: F811
    planted = tmp_path / "pwned"
    runner = Runner(tmp_path, github, event_name="push")
    outcomes = runner.run({"base": f"$(touch {planted})", "head": "x.json;touch " + str(planted),
                           "id": f"$(touch {planted})"})
    assert outcomes[-1] == "failure" and not planted.exists()


def test_an_added_or_removed_lockfile_is_a_change(github: GitHubServer,  # noqa: F811
                                                  tmp_path: Path) -> None:
    base, _ = fingerprints(tmp_path)
    serve(github, HEAD_SHA, LOCK, base)  # new in the pull request: the base has none
    runner = Runner(tmp_path, github)
    inputs = {"base": f"github:main:{LOCK}", "head": f"github:{HEAD_SHA}:{LOCK}"}
    assert runner.run(inputs) == [*SUCCESS_THEN_VERDICT, "success"], runner.logs
    body = html.unescape(github.comments[5][0]["body"])
    assert "added: nothing to compare it with yet" in body and "risky" in body
    assert runner.run({**inputs, "fail-on": "risky"})[-1] == "failure"

    del github.files[(HEAD_SHA, LOCK)]
    serve(github, "main", LOCK, base)  # removed by the pull request
    assert runner.run(inputs) == [*SUCCESS_THEN_VERDICT, "success"]
    assert len(github.comments[5]) == 1
    assert "removed: this environment is no longer checked" in html.unescape(
        github.comments[5][0]["body"])


@pytest.mark.parametrize(("served", "status", "why"), [
    ({LOCK: "{not json"}, "3", "not JSON"),
    ({LOCK: "fp", "pyproject.toml": "[tool.envcheck]\nignore = 3\n"}, "2",
     "must be a list of strings"),
    ({LOCK: "fp", "pyproject.toml": "[tool.envcheck\n"}, "2", "not valid TOML"),
])
def test_every_error_still_replaces_the_comment_and_writes_a_summary(
        github: GitHubServer, tmp_path: Path, served: dict[str, str],  # noqa: F811
        status: str, why: str) -> None:
    base, _ = fingerprints(tmp_path)
    serve(github, "main", LOCK, base)
    serve(github, HEAD_SHA, LOCK, base)
    runner = Runner(tmp_path, github)
    inputs = {"base": f"github:main:{LOCK}", "head": f"github:{HEAD_SHA}:{LOCK}"}
    assert runner.run(inputs)[-1] == "success"
    assert "identical" in github.comments[5][0]["body"]
    for path, text in served.items():  # the bad file is on the head (lock) or base (config)
        serve(github, HEAD_SHA if path == LOCK and text != "fp" else "main", path,
              base if text == "fp" else text)
    runner.summary.unlink()
    assert runner.run(inputs) == [*SUCCESS_THEN_VERDICT, "failure"], runner.logs
    body = html.unescape(github.comments[5][0]["body"])
    assert len(github.comments[5]) == 1 and "identical" not in body
    assert f"could not judge this change** (exit {status})" in body and why in body
    assert "could not judge" in runner.read_summary()


def test_a_failed_install_still_replaces_the_comment(github: GitHubServer,  # noqa: F811
                                                    tmp_path: Path) -> None:
    """GitHub's rule, not bash's: after a failing step, only `!cancelled()` steps run. The
    install fails (its lock is missing); the summary and the comment still say so (the
    comment through the action's own sources, standard library only)."""
    action = tmp_path / "action"
    action.mkdir()
    for name in ("action.yml", "pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, action / name)
    shutil.copytree(ROOT / "src", action / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copytree(ROOT / "lockfiles", action / "lockfiles")
    (action / "lockfiles" / "requirements.txt").unlink()  # the install cannot succeed
    github.add(5, f"{marker('diff')}\nThe environments are identical.", BOT)
    runner = Runner(tmp_path, github, preinstalled=False, action_path=action)
    outcomes = runner.run({"base": "a.json", "head": "b.json"})
    assert outcomes == ["failure", "success", "success", "failure"], runner.logs
    assert "envcheck could not run" in runner.read_summary()
    assert len(github.comments[5]) == 1, runner.logs
    assert "envcheck could not run" in github.comments[5][0]["body"], runner.logs


def test_a_read_only_token_skips_the_comment_with_a_warning(github: GitHubServer,  # noqa: F811
                                                            tmp_path: Path) -> None:
    base, head = fingerprints(tmp_path)
    serve(github, "main", LOCK, base)
    serve(github, HEAD_SHA, LOCK, head)
    github.fail_writes_with = (403, "Resource not accessible by integration")
    runner = Runner(tmp_path, github)
    outcomes = runner.run({"base": f"github:main:{LOCK}", "head": f"github:{HEAD_SHA}:{LOCK}"})
    assert outcomes == [*SUCCESS_THEN_VERDICT, "failure"]  # the gate still holds: breaking
    assert "warning: no comment" in runner.logs[2] and "read-only" in runner.logs[2]


def test_two_uses_in_one_job_keep_two_comments(github: GitHubServer,  # noqa: F811
                                               tmp_path: Path) -> None:
    base, head = fingerprints(tmp_path)
    serve(github, "main", LOCK, base)
    serve(github, HEAD_SHA, LOCK, head)
    serve(github, "main", "lockfiles/eval.json", base)
    serve(github, HEAD_SHA, "lockfiles/eval.json", base)
    runner = Runner(tmp_path, github)
    for use, path in (("train", LOCK), ("eval", "lockfiles/eval.json")):
        runner.run({"base": f"github:main:{path}", "head": f"github:{HEAD_SHA}:{path}",
                    "id": use, "fail-on": "never"})
    firsts = sorted(c["body"].split("\n", 1)[0] for c in github.comments[5])
    assert firsts == [marker("diff", "eval"), marker("diff", "train")]
    reports = sorted(p.name for p in runner.temp.glob("envcheck-report*.md"))
    assert reports == ["envcheck-report-eval.md", "envcheck-report-train.md"]


# ---- what a pull request cannot choose ----------------------------------------------------

def test_the_base_branchs_configuration_applies_not_the_pull_requests(
        github: GitHubServer, tmp_path: Path) -> None:  # noqa: F811
    """A same-repository PR adding `ignore = ["*"]` to its pyproject.toml still fails."""
    base, head = fingerprints(tmp_path)
    serve(github, "main", LOCK, base)
    serve(github, HEAD_SHA, LOCK, head)
    serve(github, "main", "pyproject.toml", '[project]\nname = "x"\n')
    injected = '[tool.envcheck]\nignore = ["*"]\n'
    serve(github, HEAD_SHA, "pyproject.toml", injected)
    runner = Runner(tmp_path, github)
    (runner.workspace / "pyproject.toml").write_text(injected)  # the PR's checkout, too
    (runner.workspace / "envcheck.toml").write_text('ignore = ["*"]\n')
    inputs = {"base": f"github:main:{LOCK}", "head": f"github:{HEAD_SHA}:{LOCK}"}
    assert runner.run(inputs)[-1] == "failure", runner.logs
    assert "packages&#46;torch&#46;version" in github.comments[5][0]["body"]
    # The base branch's own configuration is honoured (that is where the repository sets it).
    serve(github, "main", "pyproject.toml", '[tool.envcheck]\nignore-packages = ["torch"]\n')
    assert runner.run(inputs)[-1] == "success", runner.logs


def _uses_envcheck(workflow: dict[str, Any]) -> dict[str, str]:
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            if str(step.get("uses", "")).startswith("OWNER/envcheck@"):
                return {k: str(v) for k, v in step["with"].items()}
    raise AssertionError("no envcheck step")


def test_a_fork_cannot_forge_the_verdict(github: GitHubServer,  # noqa: F811
                                         tmp_path: Path) -> None:
    """The fork controls the collect run, so its artifact claims base == head. The trusted
    workflow's inputs read both sides through the API from the base branch and the tested
    commit, so the verdict is the real change."""
    base, head = fingerprints(tmp_path)
    serve(github, "main", LOCK, base)
    serve(github, HEAD_SHA, LOCK, head)  # the commit the collect run tested
    runner = Runner(tmp_path, github, event_name="workflow_run")
    forged = runner.temp / "envcheck-input"
    forged.mkdir()
    for name in ("base.json", "head.json"):
        (forged / name).write_text(json.dumps(base))
    (forged / "pr-number").write_text("5\n")
    (runner.workspace / "pyproject.toml").write_text('[tool.envcheck]\nignore = ["*"]\n')

    workflow = yaml.safe_load((WORKFLOWS / "envcheck-comment.yml").read_text())
    context = {"github": {"event": {"workflow_run": {"head_sha": HEAD_SHA}}},
               "steps": {"pr": {"outputs": {"number": "5", "base-ref": "main"}}}}
    inputs = {name: substitute(value, context)
              for name, value in _uses_envcheck(workflow).items()}
    assert not any("envcheck-input" in value for value in inputs.values())
    outcomes = runner.run(inputs)
    assert outcomes == [*SUCCESS_THEN_VERDICT, "success"], runner.logs  # fail-on: never
    body = github.comments[5][0]["body"]
    assert "will likely give different training results" in body
    assert "packages&#46;torch&#46;version" in body


# ---- the workflows themselves ----------------------------------------------------------------

_PINNED = re.compile(r"^[^@\s]+@[0-9a-f]{40}$")


@pytest.mark.parametrize("name", ["envcheck.yml", "envcheck-collect.yml",
                                  "envcheck-comment.yml"])
def test_workflows_are_pinned_and_least_privilege(name: str) -> None:
    text = (WORKFLOWS / name).read_text()
    workflow = yaml.safe_load(text)
    assert workflow["permissions"] == {}  # nothing at workflow level
    assert "concurrency" in workflow
    for job in workflow["jobs"].values():
        assert "permissions" in job
        assert set(job["permissions"].values()) <= {"read", "write"}
        for step in job["steps"]:
            uses = step.get("uses")
            if uses:
                assert _PINNED.match(uses), uses
                assert re.search(re.escape(uses) + r" # v\d", text), f"{uses}: no version comment"
            if str(uses).startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False
            assert "${{" not in step.get("run", ""), step.get("name")
    write = [job for job in workflow["jobs"].values()
             if "write" in job["permissions"].values()]
    assert all(job["permissions"].get("pull-requests") == "write" for job in write)
    assert "envcheck-input/base.json" not in text and "envcheck-input/head.json" not in text


def test_the_action_never_interpolates_into_shell_and_never_runs_from_the_workspace() -> None:
    for step in ACTION["runs"]["steps"]:
        assert "${{" not in step.get("run", ""), step["name"]
    install = ACTION["runs"]["steps"][0]["run"]
    assert "pip install" in install and "--require-hashes" in install
    assert all("python" not in line or " -I " in line
               for line in install.splitlines() if "-m " in line)


def test_lock_mode_leaves_the_checked_interpreter_untouched(github: GitHubServer,  # noqa: F811
                                                            tmp_path: Path) -> None:
    """The real install step: envcheck goes into its own venv from the hash-pinned lock, and
    the job's python3 (a venv with old packaging and click) is probed, never changed."""
    target = tmp_path / "job-python"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(target)], check=True)
    python = str(target / "bin" / "python3")
    installed = subprocess.run(
        [sys.executable, "-m", "uv", "pip", "install", "--quiet", "--python", python,
         "packaging==21.3", "click==8.0.4"], capture_output=True, text=True, check=False)
    assert installed.returncode == 0, installed.stderr

    listing = ("import importlib.metadata as m; "
               "print(sorted(d.metadata['Name'] + '==' + d.version for d in m.distributions()))")

    def distributions() -> str:
        return subprocess.run([python, "-c", listing], capture_output=True, text=True,
                              check=True).stdout

    before = distributions()
    lock = tmp_path / "job.json"
    subprocess.run([sys.executable, "-m", "envcheck", "snapshot", "--python", python, "--no-save",
                    "-o", str(lock)], check=True, capture_output=True)
    runner = Runner(tmp_path, github, preinstalled=False)
    outcomes = runner.run({"lock": str(lock)}, path=python)
    assert outcomes == [*SUCCESS_THEN_VERDICT, "success"], runner.logs
    assert distributions() == before
    assert "packaging==21.3" in before and "click==8.0.4" in before
    # Probed, not envcheck's own venv (which has packaging 26 and more): identical to the lock.
    assert "identical" in github.comments[5][0]["body"]
    assert (runner.temp / "envcheck-venv" / "bin" / "envcheck").is_file()
