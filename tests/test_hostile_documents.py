"""No hostile document makes any command exit 70 (issue 13, findings 3 and 12).

Hypothesis takes a real fingerprint and puts arbitrary JSON values (null, lists where
objects belong, negative and huge numbers, deep nesting, lone surrogates, NaN spelled
out) at arbitrary places, then runs every command that reads a document through the
command line itself, in this process: ``diff`` in every format, ``audit``, ``compare``,
``check``. Each must answer with a result or one documented error, never 70.
"""

from __future__ import annotations

import contextlib
import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from envcheck import cli
from envcheck.errors import ExitCode

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


@settings(max_examples=150, deadline=None,
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
