"""Fingerprint identity, validation and loading."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from envcheck.errors import InputError
from envcheck.model import SCHEMA_VERSION, Fingerprint, load, loads
from envcheck.model import fingerprint as fingerprint_module
from envcheck.model.fingerprint import indented_json, validate
from test_hostile_documents import BASE, PATHS, VALUES, _put


def _raw() -> dict[str, Any]:
    return {
        "python": {"implementation": "cpython", "version": "3.11.7", "executable": "/a/python",
                   "prefix": "/a", "sys_path": ["/a/lib"]},
        "packages": {"torch": {"name": "torch", "version": "2.13.0+cpu", "location": "/a/lib",
                               "installer": "pip", "record_digest": "sha256:00"}},
        "frameworks": {"torch": {"version": "2.13.0+cpu", "build": "cpu"}},
        "cuda": {"wheels": {}, "system_libraries": {"cudart": {"version": "12",
                                                              "directory": "/usr/lib"}}},
        "gpus": [{"index": 0, "name": "NVIDIA A100", "uuid": "GPU-1", "pci_bus_id": "0:7:0",
                  "compute_capability": "8.0"}],
        "cpu": {"flags": ["avx2"], "memory_total_mib": 1000},
        "os": {"system": "Linux", "kernel": "6.1"},
        "env": {"PYTHONHASHSEED": None},
        "errors": [],
        "meta": {"hostname": "node-a", "created": "2026-01-01T00:00:00+00:00"},
    }


def _id(raw: dict[str, Any]) -> str:
    return Fingerprint.from_probe(raw, "test").id


def test_identical_environments_on_two_machines_share_an_id() -> None:
    a, b = _raw(), _raw()
    b["meta"] = {"hostname": "node-b", "created": "2026-02-02T00:00:00+00:00"}
    b["python"]["executable"], b["python"]["prefix"] = "/b/python", "/b"
    b["packages"]["torch"]["location"] = "/b/lib"
    b["packages"]["torch"]["installer"] = "uv"
    b["gpus"][0]["uuid"], b["gpus"][0]["pci_bus_id"] = "GPU-2", "0:8:0"
    b["os"]["kernel"] = "6.8"
    b["cpu"]["memory_total_mib"] = 2000
    b["cuda"]["system_libraries"]["cudart"]["directory"] = "/opt/lib"
    assert _id(a) == _id(b)


@pytest.mark.parametrize("path, value", [
    (("packages", "torch", "version"), "2.13.0+cu121"),
    (("packages", "torch", "record_digest"), "sha256:11"),
    (("gpus", 0, "compute_capability"), "9.0"),
    (("cpu", "flags"), ["avx2", "avx512f"]),
    (("env", "PYTHONHASHSEED"), "0"),
    (("python", "version"), "3.11.8"),
])
def test_anything_that_can_change_results_changes_the_id(path: tuple[Any, ...],
                                                         value: Any) -> None:
    a, b = _raw(), _raw()
    node: Any = b
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    assert _id(a) != _id(b)
    section = path[0]
    fa, fb = Fingerprint.from_probe(a, "t"), Fingerprint.from_probe(b, "t")
    changed = {s for s in fa.data["digests"] if fa.data["digests"][s] != fb.data["digests"][s]}
    assert changed == {section}


def test_round_trip_and_id_recomputed_from_content(tmp_path: Path) -> None:
    fingerprint = Fingerprint.from_probe(_raw(), "test")
    assert fingerprint.data["schema"] == SCHEMA_VERSION
    path = tmp_path / "fp.json"
    path.write_text(fingerprint.to_json())
    assert load(path).data == fingerprint.data
    forged = json.loads(fingerprint.to_json())
    forged["id"] = "0" * 64  # a stranger's file cannot choose its own id
    assert loads(json.dumps(forged)).id == fingerprint.id


@pytest.mark.parametrize("text, message", [
    ("not json", "not JSON"),
    ("[1, 2]", "a JSON object was expected"),
    ('{"packages": {}}', "no valid 'schema'"),
    ('{"schema": 99, "packages": {}}', "written by a newer envcheck (schema 99)"),
    ('{"schema": 1, "packages": {"x": {"version": 1}}}', "'packages.x.version' must be a string"),
    ('{"schema": 1, "packages": {"x": {}}}', "'packages' must map names to versions"),
    ('{"schema": 1, "packages": {}, "gpus": {}}', "'gpus' must be a list"),
    ('{"schema": 1, "packages": {"a": {"version": "1", "shadowed": "x"}}}',
     "'packages.a.shadowed' must be a list"),
    ('{"schema": 1, "packages": {}, "gpus": [1, "x"]}', "'gpus.0' must be an object"),
    ('{"schema": 1, "packages": {}, "cpu": {"flags": "avx2"}}', "'cpu.flags' must be a list"),
    ('{"schema": 1, "packages": {}, "cpu": {"usable_cores": "16"}}',
     "'cpu.usable_cores' must be an integer"),
    ('{"schema": 1, "packages": {}, "env": {"X": 5}}', "'env.X' must be a string"),
    ('{"schema": 1, "packages": {}, "frameworks": {"torch": "x"}}',
     "'frameworks.torch' must be an object"),
    ('{"schema": 1, "packages": {}, "frameworks": {"torch": {"nvidia_requirements": []}}}',
     "'frameworks.torch.nvidia_requirements' must be an object"),
    ('{"schema": 1, "packages": {}, "env": {"X": NaN}}', "NaN is not valid JSON"),
    ('{"schema": 1.0, "packages": {}}', "no valid 'schema'"),
    ("", "not JSON"),
    ("[" * 100_000, "not JSON"),
])
def test_bad_documents_are_refused_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(InputError, match=None) as info:
        loads(text, "fp.json")
    assert str(info.value).startswith("fp.json: ")
    assert message in str(info.value)


def test_missing_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load(tmp_path / "absent.json")
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(InputError, match="not UTF-8"):
        load(binary)


def test_from_probe_does_not_alias_the_raw_document() -> None:
    raw = _raw()
    before = copy.deepcopy(raw)
    Fingerprint.from_probe(raw, "test")
    assert raw == before


_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=40)


@settings(max_examples=400, deadline=None)
@given(value=_VALUES, indent=st.integers(min_value=0, max_value=4))
@example(value={"b": [1.5, float("nan"), float("inf"), -float("inf")], "a": {}}, indent=2)
@example(value={"\ud800 lone": "caf\u00e9\n\x00\u2028", "z": [[], {}, (), ""]}, indent=2)
@example(value={2: "int keys", 10: "json sorts them as numbers"}, indent=2)
@example(value={1: "mixed", "a": "keys"}, indent=2)
@example(value=[{1, 2}], indent=2)
def test_the_indented_writer_is_json_dumps_byte_for_byte(value: Any, indent: int) -> None:
    """What ``-o`` writes is json.dumps's text exactly, and its errors where json has one."""
    try:
        expected = json.dumps(value, sort_keys=True, indent=indent, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        with pytest.raises(type(exc)):
            indented_json(value, indent)
        return
    assert indented_json(value, indent) == expected


def test_a_fingerprint_is_written_as_json_writes_it() -> None:
    fingerprint = Fingerprint.from_probe(_raw(), "test")
    assert fingerprint.to_json() == json.dumps(fingerprint.data, sort_keys=True, indent=2,
                                               ensure_ascii=False) + "\n"
    assert fingerprint.to_json(indent=None) == json.dumps(fingerprint.data, sort_keys=True,
                                                          ensure_ascii=False) + "\n"


def _outcome(document: Any) -> tuple[str, Any]:
    try:
        return "valid", validate(copy.deepcopy(document), "doc")
    except InputError as exc:
        return "refused", str(exc)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(PATHS), VALUES), min_size=0, max_size=3))
@example([(("packages", "numpy", "shadowed"), [None])])
@example([(("env", "CUDA_VISIBLE_DEVICES"), None)])
@example([(("cpu", "usable_cores"), True)])
@example([(("gpus",), [{"name": None, "multiprocessors": -1}])])
def test_validate_in_one_walk_decides_as_the_pattern_loop_does(
        mutations: list[tuple[tuple[Any, ...], Any]]) -> None:
    """The one-walk check only decides whether the loop over _SHAPES must run; with it or
    without it, validate accepts the same documents and names the same first bad field."""
    document = copy.deepcopy(BASE)
    for path, value in mutations:
        _put(document, path, value)
    fast = _outcome(document)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fingerprint_module, "_conforms", lambda node, tree: False)
        assert _outcome(document) == fast
