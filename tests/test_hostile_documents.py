"""No hostile document makes any command exit 70 (issue 13, findings 3 and 12).

Hypothesis takes a real fingerprint and puts arbitrary JSON values (null, lists where
objects belong, negative and huge numbers, deep nesting, lone surrogates, NaN spelled
out) at arbitrary places, then runs every command that reads a document through the
command line itself, in this process: ``diff`` in every format, ``audit``, ``compare``,
``check``. Each must answer with a result or one documented error, never 70.

The second half does the same for every other place a document comes from outside:
standard input, pylock.toml, uv.lock and its pyproject.toml, requirements.txt (with
includes of itself and of a FIFO), conda and pixi formats, the configuration, the
GitHub event file and the API's answers (comments, and a fingerprint read as
``github:REF:PATH``; a real server on 127.0.0.1), the probe's
output from --python (a program in the interpreter's place) and the package cache
(which must be rebuilt, not fail). Besides wrong values anywhere: 100,000 levels of
nesting, NaN and Infinity, lone surrogates, bytes that are not UTF-8, NUL, 3 MB strings.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from envcheck import cli
from envcheck.errors import ExitCode

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from conftest import DATA

BASE = json.loads((DATA / "fake-2xa100.json").read_text())


def _paths(node: Any, prefix: tuple[Any, ...] = (), depth: int = 4) -> list[tuple[Any, ...]]:
    """Every place in ``node`` (keys and list items), down to ``depth`` levels."""
    found = [prefix] if prefix else []
    if depth == 0:
        return found
    if isinstance(node, dict):
        # Every section, but only a few of its many members (packages): each place
        # should be likely to be drawn.
        items = list(node.items()) if not prefix else list(node.items())[:4]
        if prefix == ("packages",):
            items += [("numpy", node["numpy"]), ("torch", node["torch"])]
        for key, value in items:
            found += _paths(value, (*prefix, key), depth - 1)
        found += [(*prefix, "x-new")]  # a key nobody expects
    elif isinstance(node, list):
        for index, value in enumerate(node[:3]):
            found += _paths(value, (*prefix, index), depth - 1)
    return found


PATHS = _paths(BASE)

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12),
    st.sampled_from(["\ud800", "8.0", "2.13.0+cu121", "", "-1", "nan", "\x1b[31m", "#123"]),
)
ANY_JSON = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8)
# The wrong shapes that matter most, drawn twice as often as anything else.
WRONG_SHAPES = st.sampled_from([None, [], {}, -1, "x", [None], {"x": None}, 1.5, True])
VALUES = st.one_of(WRONG_SHAPES, WRONG_SHAPES, ANY_JSON)


def _put(document: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    value = copy.deepcopy(value)  # drawn values are shared: one put twice would be a cycle
    node: Any = document
    for part in path[:-1]:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return  # an earlier mutation changed the way there
    with contextlib.suppress(IndexError, TypeError):
        node[path[-1]] = value


def _run(args: list[str]) -> int:
    return cli.main(args)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hostile")
    (path / "base.json").write_text(json.dumps(BASE))
    return path


@settings(max_examples=max(150, int(os.environ.get("ENVCHECK_HOSTILE_EXAMPLES", "0"))),
          deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(PATHS), VALUES), min_size=1, max_size=3))
@example([(("packages", "numpy"), None)])  # the reproducers, always tried
@example([(("packages", "numpy", "shadowed"), [None])])
@example([(("cpu", "flags"), [None, "avx2"])])
@example([(("gpus",), [None])])
@example([(("errors",), [{"section": "gpus"}])])
@example([(("frameworks", "torch", "nvidia_requirements"), {"nvidia-cublas-cu12": None})])
@example([(("cpu", "usable_cores"), -4)])
def test_no_hostile_fingerprint_makes_a_command_exit_70(
        workdir: Path, capsys: pytest.CaptureFixture[str],
        mutations: list[tuple[tuple[Any, ...], Any]]) -> None:
    document = copy.deepcopy(BASE)
    for path, value in mutations:
        _put(document, path, value)
    hostile = workdir / "hostile.json"
    hostile.write_text(json.dumps(document))
    base = str(workdir / "base.json")
    commands = [["diff", base, str(hostile), "--format", fmt]
                for fmt in ("text", "json", "markdown", "github")]
    commands += [["diff", str(hostile), str(hostile)], ["audit", str(hostile)],
                 ["audit", str(hostile), "--format", "markdown"],
                 ["compare", base, str(hostile), "--format", "markdown"],
                 ["check", str(hostile), "--fail-on", "never"]]
    for command in commands:
        code = _run(command)
        captured = capsys.readouterr()
        assert code != ExitCode.INTERNAL, (command, mutations, captured.err)
        assert code in (0, 1, 3), (command, captured.err)
        if code == 3:
            assert captured.err.startswith("envcheck: ") and captured.err.count("\n") == 1


@pytest.mark.parametrize("text", [
    '{"schema": 1, "packages": {"x": {"version": NaN}}}',
    '{"schema": 1, "packages": {"x": {"version": "1"}}, "cpu": {"usable_cores": Infinity}}',
    "[" * 100_000 + "]" * 100_000,
    '{"schema": 1, "packages": {"x": null}}',
])
def test_documents_that_are_not_fingerprints_are_exit_3(
        workdir: Path, capsys: pytest.CaptureFixture[str], text: str) -> None:
    path = workdir / "odd.json"
    path.write_text(text)
    for command in (["diff", str(path), str(path)], ["audit", str(path)],
                    ["compare", str(path)], ["check", str(path)]):
        assert _run(command) == ExitCode.INPUT, command
        err = capsys.readouterr().err
        assert err.startswith("envcheck: ") and err.count("\n") == 1


# ---- every other place an outside document is read ---------------------------------------
#
# The same property for every channel: standard input, pylock.toml, uv.lock (and the
# pyproject.toml beside it), requirements.txt, the conda and pixi formats, the
# configuration (envcheck.toml, [tool.envcheck]), $GITHUB_EVENT_PATH, the GitHub API's
# answers (a real HTTP server on 127.0.0.1), the probe's output from --python (a program
# in the interpreter's place that prints it: the real subprocess path) and the package
# cache. Each is a valid document with wrong values put anywhere, or one of the shapes
# below; each must give a result or a documented exit code with one line, never 70.

DEEP = 100_000
HUGE = "x" * (3 << 20)
HOSTILE_JSON = [
    b"[" * DEEP + b"]" * DEEP, b'{"a": ' * DEEP + b"1" + b"}" * DEEP, b"NaN",
    b'{"a": Infinity}', b'{"a": -Infinity, "b": NaN}', b'"\\ud800"', b'{"\\udfff": 1}',
    b"\xff\xfe{}", b"null", b"[]", b"", b"  ", b"1e99999", b"\x00", b'{"a": "\x00"}',
    b'"' + HUGE.encode() + b'"', b"[" + b"null," * 100_000 + b"null]", b'{"a":1,"a":2}',
]
# TOML cannot spell a lone surrogate (TOML_DEEP has one: refused): texts without, so that
# the drawn documents parse and reach the code that uses them.
TOML_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
TOML_SCALARS = st.one_of(
    st.booleans(), st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.sampled_from([float("nan"), float("inf"), -float("inf"), 1.5]),
    TOML_TEXT, st.sampled_from(["", "==1", "1.0", "numpy", "../x", "\x1b[31m"]))
TOML_VALUES = st.recursive(TOML_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(TOML_TEXT.filter(bool), inner,
                                                 max_size=3)), max_leaves=6)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if value != value else ("inf" if value > 0 else "-inf") \
            if value in (float("inf"), -float("inf")) else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # TOML's basic strings take JSON's escapes
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(str(k))} = {_toml_value(v)}"
                           for k, v in value.items()) + "}"


def toml_text(document: dict[str, Any]) -> bytes:
    """A TOML document, every value inline (tables of arrays as arrays of inline tables)."""
    return "".join(f"{json.dumps(str(k))} = {_toml_value(v)}\n"
                   for k, v in document.items()).encode()


def _mutated(seed: Any, mutations: list[tuple[tuple[Any, ...], Any]]) -> Any:
    document = copy.deepcopy(seed)
    for path, value in mutations:
        _put(document, path, value)
    return document


def _hostile_texts(seed: dict[str, Any], dump: Any, values: Any) -> Any:
    """Hypothesis: ``seed`` with wrong values anywhere (``dump``-ed), or a fixed shape."""
    valid = dump(seed)
    fixed = [valid.replace(b"numpy", b"num\xffpy", 1), valid + b"\x00",
             valid.replace(b"numpy", HUGE.encode(), 1)]
    return st.one_of(
        st.lists(st.tuples(st.sampled_from(_paths(seed, depth=5)), values), min_size=1,
                 max_size=3).map(lambda m: dump(_mutated(seed, m))),
        st.sampled_from(fixed))


TOML_DEEP = [b"a = " + b"[" * DEEP + b"]" * DEEP + b"\n",
             b"a = " + b"{b = " * DEEP + b"1" + b"}" * DEEP + b"\n",
             b'a = "\\ud800"\n', b"\xff = 1\n", b"a = nan\n", b"[a]\n[a]\n", b"a.b.c = 1\na = 2\n"]


def _contract(code: int, err: str, where: Any, allowed: tuple[int, ...] = (0, 1, 3)) -> None:
    assert code != ExitCode.INTERNAL, (where, err)
    assert code in allowed, (code, where, err)
    assert "Traceback" not in err
    if code not in (0, 1):
        assert err.startswith("envcheck: ") and err.count("\n") == 1, (where, err)
        assert len(err) < 1100, (where, err[:300])  # a hostile 3 MB line is cut


def _guarded(capsys: pytest.CaptureFixture[str], run: Any) -> tuple[int, str]:
    """``run`` as the command line runs a command: its error as one line and an exit code."""
    from envcheck.console import guarded

    capsys.readouterr()
    code = guarded(lambda: int(bool(run())) * 0)
    return code, capsys.readouterr().err


CURRENT = None  # this process's fingerprint, read once


def _current() -> Any:
    global CURRENT
    if CURRENT is None:
        from envcheck.model import Fingerprint

        CURRENT = Fingerprint.from_dict(BASE)
    return CURRENT


# ENVCHECK_HOSTILE_EXAMPLES=1000 for a longer hunt than CI's.
HYPOTHESIS = settings(max_examples=int(os.environ.get("ENVCHECK_HOSTILE_EXAMPLES", "40")),
                      deadline=None,
                      suppress_health_check=[HealthCheck.function_scoped_fixture,
                                             HealthCheck.too_slow, HealthCheck.data_too_large])


@HYPOTHESIS
@given(st.one_of(_hostile_texts(BASE, lambda d: json.dumps(d).encode(), VALUES),
                 st.sampled_from(HOSTILE_JSON)))
def test_standard_input(workdir: Path, capsys: pytest.CaptureFixture[str],
                        monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
    code = _run(["diff", "-", str(workdir / "base.json"), "--format", "json"])
    _contract(code, capsys.readouterr().err, data[:200])


PYLOCK = {"lock-version": "1.0", "created-by": "hand", "requires-python": ">=3.9",
          "environments": ["sys_platform == 'linux'"], "default-groups": ["dev"],
          "packages": [{"name": "numpy", "version": "2.4.6", "marker": "python_version >= '3'",
                        "wheels": [{"name": "numpy-2.4.6-cp311-none-any.whl",
                                    "url": "https://example.invalid/numpy.whl",
                                    "hashes": {"sha256": "0" * 64}}]},
                       {"name": "torch", "version": "2.3.0", "vcs": {
                           "type": "git", "url": "https://example.invalid/torch",
                           "commit-id": "0" * 40}},
                       {"name": "dev-tool", "version": "1", "directory": {"path": "."},
                        "marker": "'dev' in dependency_groups"}]}
UVLOCK = {"version": 1, "requires-python": ">=3.9",
          "package": [{"name": "trainer", "version": "0.1.0", "source": {"editable": "."},
                       "dependencies": [{"name": "numpy"}, {"name": "torch",
                                                             "marker": "sys_platform == 'linux'"}],
                       "optional-dependencies": {"viz": [{"name": "numpy", "extra": ["x"]}]},
                       "dev-dependencies": {"dev": [{"name": "numpy"}]}},
                      {"name": "numpy", "version": "2.4.6",
                       "source": {"registry": "https://pypi.org/simple"}},
                      {"name": "torch", "version": "2.3.0",
                       "source": {"git": "https://example.invalid/torch?rev=x#" + "0" * 40}}]}
PYPROJECT = {"project": {"name": "trainer", "version": "0.1.0"},
             "dependency-groups": {"dev": ["numpy"]}, "tool": {"uv": {"default-groups": ["dev"]}}}


def _check_lock(capsys: pytest.CaptureFixture[str], lock: Path) -> tuple[int, str]:
    from envcheck.gate import against_lock

    return _guarded(capsys, lambda: against_lock(str(lock), _current()))


@HYPOTHESIS
@given(st.one_of(_hostile_texts(PYLOCK, toml_text, TOML_VALUES), st.sampled_from(TOML_DEEP)))
def test_pylock_toml(tmp_path_factory: pytest.TempPathFactory,
                     capsys: pytest.CaptureFixture[str], data: bytes) -> None:
    lock = tmp_path_factory.mktemp("pylock") / "pylock.toml"
    lock.write_bytes(data)
    _contract(*_check_lock(capsys, lock), data[:200])


@HYPOTHESIS
@given(st.one_of(_hostile_texts(UVLOCK, toml_text, TOML_VALUES), st.sampled_from(TOML_DEEP)),
       st.one_of(st.just(toml_text(PYPROJECT)),
                 _hostile_texts(PYPROJECT, toml_text, TOML_VALUES), st.sampled_from(TOML_DEEP)))
def test_uv_lock_and_the_pyproject_beside_it(tmp_path_factory: pytest.TempPathFactory,
                                            capsys: pytest.CaptureFixture[str], data: bytes,
                                            pyproject: bytes) -> None:
    root = tmp_path_factory.mktemp("uvlock")
    (root / "uv.lock").write_bytes(data)
    (root / "pyproject.toml").write_bytes(pyproject)
    _contract(*_check_lock(capsys, root / "uv.lock"), (data[:200], pyproject[:200]))


REQUIREMENT_LINES = st.sampled_from([
    "numpy==2.4.6", "torch==2.3.0 ; python_version >= '3'", "numpy==", "==1", "numpy===1",
    "x @ file:///nonexistent", "x @ https://u:p@example.invalid/x.whl", "-r self.txt",
    "-r missing.txt", "-c self.txt", "-e .", "--hash=sha256:zz", "numpy[a==1",
    "numpy==1 ; python_version ~= '3'", "numpy==1 ; 'dev' in dependency_groups",
    "numpy==1 ; os_name == ", "\x00", "\ud800", "x" * 100_000, "numpy==1 \\", "--index-url",
    "-r " + "../" * 50 + "etc/passwd", "numpy==1 --hash", "  ", "# comment", "-r fifo"])


@HYPOTHESIS
@given(st.lists(REQUIREMENT_LINES, min_size=1, max_size=6), st.booleans())
def test_requirements_txt(tmp_path_factory: pytest.TempPathFactory,
                          capsys: pytest.CaptureFixture[str], lines: list[str],
                          latin1: bool) -> None:
    root = tmp_path_factory.mktemp("requirements")
    text = "\n".join(lines) + "\n"
    data = text.encode("latin-1", "replace") if latin1 else text.encode("utf-8", "surrogatepass")
    (root / "requirements.txt").write_bytes(data)
    (root / "self.txt").write_bytes(data)  # an include of itself: a loop
    os.mkfifo(root / "fifo")  # nobody writes to it: must not hang
    _contract(*_check_lock(capsys, root / "requirements.txt"), lines)


CONDA_LOCK = {"version": 1, "metadata": {"content_hash": {"linux-64": "0" * 64},
                                         "channels": [{"url": "conda-forge", "used_env_vars": []}],
                                         "platforms": ["linux-64"], "sources": ["env.yml"]},
              "package": [{"name": "numpy", "version": "2.4.6", "manager": "conda",
                           "platform": "linux-64", "dependencies": {},
                           "url": "https://conda.anaconda.org/conda-forge/linux-64/"
                                  "numpy-2.4.6-py311_0.conda",
                           "hash": {"md5": "0" * 32, "sha256": "0" * 64},
                           "category": "main", "optional": False}]}
PIXI_LOCK = {"version": 6, "environments": {"default": {
    "channels": [{"url": "https://conda.anaconda.org/conda-forge/"}],
    "packages": {"linux-64": [{"conda": "https://conda.anaconda.org/conda-forge/linux-64/"
                                        "numpy-2.4.6-py311_0.conda"}]}}},
    "packages": [{"conda": "https://conda.anaconda.org/conda-forge/linux-64/"
                           "numpy-2.4.6-py311_0.conda", "sha256": "0" * 64, "md5": "0" * 32,
                  "depends": [], "size": 1, "timestamp": 1}]}
ENVIRONMENT = {"name": "train", "channels": ["conda-forge"],
               "dependencies": ["numpy=2.4.6", "conda-forge::cudnn 9.1.1.17",
                                {"pip": ["torch==2.3.0"]}]}
YAML_SHAPES = [b"a: " + b"[" * DEEP + b"]" * DEEP + b"\n", b"a: &x [*x]\n", b"- &a x\n- *a\n",
               b"!!python/object:os.system x\n", b"a: !!binary AAAA\n", b"\xff: 1\n",
               b"a:\n" + b"".join(b" " * i + b"b:\n" for i in range(1, 2000)),
               b"version: .nan\n", b"? [a]\n: 1\n", b"a: 1\na: 2\n", b"%YAML 9.9\n---\na: 1\n"]


def _yaml(document: Any) -> bytes:
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=False).encode()


def _yaml_values() -> Any:
    return st.one_of(WRONG_SHAPES, ANY_JSON.filter(lambda v: "\ud800" not in repr(v)))


@HYPOTHESIS
@given(st.sampled_from(["conda-lock.yml", "pixi.lock", "environment.yml", "explicit.txt"]),
       st.data())
def test_conda_and_pixi_formats(tmp_path_factory: pytest.TempPathFactory,
                                capsys: pytest.CaptureFixture[str], name: str,
                                data: st.DataObject) -> None:
    if name == "explicit.txt":
        lines = data.draw(st.lists(st.sampled_from([
            "@EXPLICIT", "# platform: linux-64", "https://conda.anaconda.org/conda-forge/"
            "linux-64/numpy-2.4.6-py311_0.conda#" + "0" * 32, "numpy", "https://x/#", "#",
            "https://x/y.conda#zz", "\x00", HUGE, "file:///etc/passwd#" + "0" * 32]),
            min_size=1, max_size=5))
        text = "\n".join(lines).encode("utf-8", "surrogatepass")
    else:
        seeds: dict[str, dict[str, Any]] = {"conda-lock.yml": CONDA_LOCK, "pixi.lock": PIXI_LOCK,
                                            "environment.yml": ENVIRONMENT}
        seed = seeds[name]
        text = data.draw(st.one_of(_hostile_texts(seed, _yaml, _yaml_values()),
                                   st.sampled_from(YAML_SHAPES)))
    lock = tmp_path_factory.mktemp("conda") / name
    lock.write_bytes(text)
    _contract(*_check_lock(capsys, lock), text[:200])


CONFIG = {"ignore": ["env.HOSTNAME"], "ignore-packages": ["pip"], "tolerate-patch": ["numpy"],
          "severity": {"measured-difference": "risky"}}


@HYPOTHESIS
@given(st.one_of(_hostile_texts(CONFIG, toml_text, TOML_VALUES), st.sampled_from(TOML_DEEP)),
       st.booleans())
def test_configuration(tmp_path_factory: pytest.TempPathFactory, workdir: Path,
                       capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                       data: bytes, in_pyproject: bool) -> None:
    root = tmp_path_factory.mktemp("config")
    base = str(workdir / "base.json")
    if in_pyproject:  # found by discovery, as [tool.envcheck]
        try:
            table = tomllib.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
            (root / "pyproject.toml").write_bytes(b"[tool.envcheck]\n" + data)
        else:
            (root / "pyproject.toml").write_bytes(toml_text({"tool": {"envcheck": table}}))
        monkeypatch.chdir(root)
        code = _run(["diff", base, base])
    else:
        (root / "envcheck.toml").write_bytes(data)
        code = _run(["diff", base, base, "--config", str(root / "envcheck.toml")])
    # A configuration error is a usage error (2), as documented.
    _contract(code, capsys.readouterr().err, data[:200], allowed=(0, 1, 2, 3))


@pytest.fixture(scope="module")
def github_server() -> Any:
    from test_github import GitHubServer

    server = GitHubServer()
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


EVENT = {"action": "opened", "number": 7, "pull_request": {"number": 7, "head": {"sha": "0"}},
         "repository": {"full_name": "octo/project"}}


@HYPOTHESIS
@given(st.one_of(_hostile_texts(EVENT, lambda d: json.dumps(d).encode(), VALUES),
                 st.sampled_from(HOSTILE_JSON)))
def test_github_event_file(tmp_path_factory: pytest.TempPathFactory, github_server: Any,
                           capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                           data: bytes) -> None:
    from test_github import REPO

    root = tmp_path_factory.mktemp("event")
    (root / "event.json").write_bytes(data)
    (root / "report.md").write_text("hello")
    github_server.hook = None
    for name, value in (("GITHUB_EVENT_PATH", str(root / "event.json")),
                        ("GITHUB_TOKEN", "t"), ("GITHUB_REPOSITORY", REPO),
                        ("GITHUB_API_URL", github_server.url)):
        monkeypatch.setenv(name, value)
    code = _run(["comment", str(root / "report.md"), "--author", ""])
    # 2: no pull request in the event (a usage error); 4: GitHub refused (documented).
    _contract(code, capsys.readouterr().err, data[:200], allowed=(0, 2, 3, 4))


def _comments() -> list[dict[str, Any]]:
    from envcheck.render.report_markdown import MARKER

    return [{"id": 1, "body": MARKER, "user": {"login": "github-actions[bot]"},
             "html_url": "https://github.example/octo/project/pull/7#c1"}]


@HYPOTHESIS
@given(st.one_of(
    st.lists(st.tuples(st.sampled_from(_paths({"c": _comments()}, depth=5)), VALUES),
             min_size=1, max_size=3).map(
        lambda m: json.dumps(_mutated({"c": _comments()}, m).get("c")).encode()),
    st.sampled_from(HOSTILE_JSON)), st.sampled_from(["GET", "POST", "PATCH"]))
def test_github_api_answers(tmp_path_factory: pytest.TempPathFactory, github_server: Any,
                            capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                            data: bytes, method: str) -> None:
    """The API answers ``data`` to listing the comments, creating one or updating one."""
    from envcheck.render.report_markdown import MARKER
    from test_github import REPO

    def hook(handler: Any) -> bool:
        if handler.command == method:
            body = data
        elif handler.command == "GET":  # an existing comment to update, or none
            body = json.dumps(_comments() if method == "PATCH" else []).encode()
        else:
            body = json.dumps(_comments()[0]).encode()
        handler.send_response(201 if handler.command == "POST" else 200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
        return True

    github_server.hook = hook
    report = tmp_path_factory.mktemp("api") / "report.md"
    report.write_text(f"{MARKER}\nhello")
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    code = _run(["comment", str(report), "--repo", REPO, "--pr", "7", "--author", "",
                 "--api-url", github_server.url])
    _contract(code, capsys.readouterr().err, (method, data[:200]), allowed=(0, 3, 4))


@pytest.fixture(scope="module")
def probe_document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What a real probe of this interpreter prints (the seed of hostile probe output)."""
    from envcheck.remote import interpreter_command, start_probe

    return start_probe(interpreter_command(sys.executable), 5.0, "probe").result(300)


def _fake_interpreter(root: Path, output: bytes) -> Path:
    """A program in an interpreter's place that answers the probe with ``output``."""
    from envcheck.remote import OUTPUT_MARKER

    (root / "answer").write_bytes(OUTPUT_MARKER.encode() + b"\n" + output)
    program = root / "python"
    program.write_text(f"#!/bin/sh\ncat {root / 'answer'}\n")
    program.chmod(0o755)
    return program


@HYPOTHESIS
@given(st.data())
def test_probe_output_from_another_interpreter(
        tmp_path_factory: pytest.TempPathFactory, probe_document: dict[str, Any],
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        data: st.DataObject) -> None:
    seed = {k: v for k, v in probe_document.items() if k != "packages"}
    packages = probe_document["packages"]
    seed["packages"] = {name: packages[name] for name in [*list(packages)[:3], "numpy", "torch"]}
    output = data.draw(st.one_of(_hostile_texts(seed, lambda d: json.dumps(d).encode(), VALUES),
                                 st.sampled_from(HOSTILE_JSON)))
    root = tmp_path_factory.mktemp("probe")
    monkeypatch.setenv("ENVCHECK_HOME", str(root / "home"))
    program = _fake_interpreter(root, output)
    code = _run(["snapshot", "--python", str(program), "--no-save", "-o", str(root / "fp.json")])
    _contract(code, capsys.readouterr().err, output[:200])


@pytest.fixture(scope="module")
def small_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A real venv with pip alone (the package cache has an entry): its probe is quick."""
    import venv

    root = tmp_path_factory.mktemp("small-venv")
    venv.EnvBuilder(with_pip=True).create(root)
    return str(root / "bin" / "python")


@settings(max_examples=max(15, int(os.environ.get("ENVCHECK_HOSTILE_EXAMPLES", "0")) // 10),
          deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(st.data())
def test_package_cache(tmp_path_factory: pytest.TempPathFactory, small_python: str,
                       capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                       data: st.DataObject) -> None:
    """A damaged package cache is rebuilt: the snapshot succeeds, and the cache is whole."""
    from envcheck.paths import package_cache_file

    home = tmp_path_factory.mktemp("cache-home")
    monkeypatch.setenv("ENVCHECK_HOME", str(home))
    out = home / "fp.json"
    assert _run(["snapshot", "--python", small_python, "--no-save", "-o", str(out)]) == 0
    cache = Path(package_cache_file(small_python))
    seed = json.loads(cache.read_text())
    hostile = data.draw(st.one_of(_hostile_texts(seed, lambda d: json.dumps(d).encode(),
                                                 VALUES), st.sampled_from(HOSTILE_JSON)))
    cache.write_bytes(hostile)
    capsys.readouterr()
    code = _run(["snapshot", "--python", small_python, "--no-save", "-o", str(out)])
    err = capsys.readouterr().err
    _contract(code, err, hostile[:200], allowed=(0,))
    assert json.loads(out.read_text())["python"]["executable"] == small_python


@pytest.mark.parametrize("name, text", [
    ("pylock.toml", TOML_DEEP[0]), ("uv.lock", TOML_DEEP[1]),
    ("requirements.txt", b"numpy==1\n-r requirements.txt\n" + b"\xff" * 10),
    ("conda-lock.yml", YAML_SHAPES[0]), ("pixi.lock", YAML_SHAPES[1]),
    ("environment.yml", b"\xff: 1\n"), ("lock.json", HOSTILE_JSON[1]),
])
def test_check_through_the_command_line(tmp_path: Path, small_python: str,
                                        capsys: pytest.CaptureFixture[str], name: str,
                                        text: bytes) -> None:
    """The reproducers above through the real ``check`` (the live side a real venv)."""
    (tmp_path / name).write_bytes(text)
    code = _run(["check", str(tmp_path / name), "--python", small_python])
    err = capsys.readouterr().err
    _contract(code, err, name)
    assert code == ExitCode.INPUT, err


@pytest.mark.parametrize("name, seed, path, value", [
    ("pixi.lock", PIXI_LOCK, ("environments", "default", "packages"), -1),
    ("pixi.lock", PIXI_LOCK, ("environments", "default", "packages", "linux-64"), 5),
    ("conda-lock.yml", CONDA_LOCK, ("metadata", "platforms"), True),
])
def test_what_the_hunt_found(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str,
                             seed: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    """Exit 70 once (ENVCHECK_HOSTILE_EXAMPLES=400): a map or list that is a number."""
    (tmp_path / name).write_bytes(_yaml(_mutated(seed, [(path, value)])))
    code, err = _check_lock(capsys, tmp_path / name)
    _contract(code, err, name)
    assert code == ExitCode.INPUT


@HYPOTHESIS
@given(st.one_of(_hostile_texts(BASE, lambda d: json.dumps(d).encode(), VALUES),
                 st.sampled_from(HOSTILE_JSON)))
def test_a_fingerprint_read_through_the_github_api(
        workdir: Path, github_server: Any, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    """``github:REF:PATH``: the contents API (a real server on 127.0.0.1) serves ``data``."""
    from test_github import REPO

    github_server.hook = None
    github_server.files[("main", "fp.json")] = data
    for name, value in (("GITHUB_TOKEN", "t"), ("GITHUB_REPOSITORY", REPO),
                        ("GITHUB_API_URL", github_server.url)):
        monkeypatch.setenv(name, value)
    code = _run(["diff", "github:main:fp.json", str(workdir / "base.json")])
    _contract(code, capsys.readouterr().err, data[:200], allowed=(0, 1, 3, 4))


@pytest.mark.parametrize("which", ["packages", "memo"])
@pytest.mark.parametrize("damage", [HOSTILE_JSON[0], b"NaN", b"[]", b"\xff",
                                    b'{"entries": {"x": {"version": 5}}}'])
def test_this_interpreters_caches(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch, damage: bytes,
                                  which: str) -> None:
    """The caches of the interpreter envcheck runs in (the probe in this process): its
    package cache, and the memo of its last answer (envcheck.memo)."""
    from envcheck.paths import memo_file, package_cache_file

    monkeypatch.setenv("ENVCHECK_HOME", str(tmp_path))
    out = tmp_path / "fp.json"
    assert _run(["snapshot", "--no-save", "-o", str(out)]) == 0
    cache = Path(package_cache_file(None) if which == "packages" else memo_file(None))
    assert cache.exists()
    cache.write_bytes(damage)
    if which == "packages":  # else the memo's answer is reused and the cache is never read
        Path(memo_file(None)).unlink()
    capsys.readouterr()
    code = _run(["snapshot", "--no-save", "-o", str(out)])
    _contract(code, capsys.readouterr().err, damage[:100], allowed=(0,))
    assert "numpy" in json.loads(out.read_text())["packages"]
    json.loads(cache.read_text())  # rebuilt whole
