"""The probe's last answer about a target, reused while its witness holds (envcheck.memo).

Real interpreters and real virtual environments throughout. A reused answer is told apart
by the snapshot's own timings (``meta.timings_ms.reused``, and no ``packages`` timing: the
target was not probed); tests/test_witness.py covers each kind of change the witness sees.
"""

from __future__ import annotations

import json
import os
import sys
import venv
from pathlib import Path

import pytest

from envcheck.memo import MEMO_VERSION
from envcheck.paths import memo_file
from envcheck.sources.interpreter import snapshot_interpreter

from conftest import run_envcheck
from distbuild import make_dist

Document = dict[str, object]


@pytest.fixture
def target(tmp_path: Path) -> tuple[Path, Path]:
    """A real venv without pip, and its site-packages."""
    root = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(root)
    site = root / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    make_dist(site, "alpha", "1.0")
    return root / "bin" / "python", site


def _snapshot(home: Path, *args: str, env: dict[str, str] | None = None) -> Document:
    result = run_envcheck("snapshot", "--no-save", "-o", "-", *args,
                          env={"ENVCHECK_HOME": str(home), **(env or {})})
    assert result.returncode == 0, result.stderr
    document: Document = json.loads(result.stdout)
    return document


def _reused(document: Document) -> bool:
    timings = document["meta"]["timings_ms"]  # type: ignore[index]
    assert isinstance(timings, dict)
    assert ("reused" in timings) != ("packages" in timings)
    return "reused" in timings


def _without_meta(document: Document) -> Document:
    return {key: value for key, value in document.items() if key != "meta"}


def _memo(home: Path, python: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ENVCHECK_HOME", str(home))
    return Path(memo_file(str(python)))


def test_another_interpreter_is_not_started_while_its_answer_holds(
        target: tuple[Path, Path], tmp_path: Path) -> None:
    python, _ = target
    home = tmp_path / "home"
    first = _snapshot(home, "--python", str(python))
    again = _snapshot(home, "--python", str(python))
    assert not _reused(first) and _reused(again)
    # The same answer the interpreter itself gives when asked afresh.
    fresh = _snapshot(home, "--python", str(python), "--no-cache")
    assert not _reused(fresh)
    assert _without_meta(again) == _without_meta(fresh) == _without_meta(first)


def test_this_interpreter_reuses_its_answer_too(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = _snapshot(home)
    again = _snapshot(home)
    assert not _reused(first) and _reused(again)
    assert _without_meta(again) == _without_meta(first)
    assert again["id"] == _snapshot(home, "--no-cache")["id"]


def test_a_change_in_the_target_is_probed_afresh(target: tuple[Path, Path],
                                                 tmp_path: Path) -> None:
    python, site = target
    home = tmp_path / "home"
    _snapshot(home, "--python", str(python))
    make_dist(site, "beta", "2.0")
    changed = _snapshot(home, "--python", str(python))
    assert not _reused(changed)
    packages = changed["packages"]
    assert isinstance(packages, dict) and set(packages) == {"alpha", "beta"}
    assert _reused(_snapshot(home, "--python", str(python)))


def test_an_interpreter_named_without_a_path_is_the_one_path_finds_now(
        target: tuple[Path, Path], tmp_path: Path) -> None:
    """``--python python3`` after activating another venv: the name now starts another
    interpreter, whose answer is not the first one's."""
    first, _ = target
    other = tmp_path / "other"
    venv.EnvBuilder(with_pip=False).create(other)
    make_dist(other / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
              / "site-packages", "alpha", "2.0")
    home = tmp_path / "home"
    path = os.environ.get("PATH", "")

    def snapshot(venv_root: Path) -> Document:
        return _snapshot(home, "--python", "python", env={"PATH": f"{venv_root / 'bin'}:{path}"})

    assert snapshot(first.parent.parent)["packages"]["alpha"]["version"] == "1.0"  # type: ignore[index]
    again = snapshot(first.parent.parent)
    assert _reused(again)
    switched = snapshot(other)
    assert switched["python"]["prefix"] == str(other)  # type: ignore[index]
    assert switched["packages"]["alpha"]["version"] == "2.0"  # type: ignore[index]
    assert _reused(snapshot(other)) and _reused(snapshot(first.parent.parent))


def test_the_machine_sections_are_read_afresh_on_reuse(target: tuple[Path, Path],
                                                       tmp_path: Path) -> None:
    """A setting that steers numerics changes nothing the target's answer was read from,
    so the answer is reused; the setting is still in the fingerprint."""
    python, _ = target
    home = tmp_path / "home"
    plain = _snapshot(home, "--python", str(python))
    threads = _snapshot(home, "--python", str(python), env={"OMP_NUM_THREADS": "3"})
    assert _reused(threads)
    assert threads["env"]["OMP_NUM_THREADS"] == "3"  # type: ignore[index]
    assert plain["env"]["OMP_NUM_THREADS"] is None  # type: ignore[index]
    assert threads["id"] != plain["id"]


@pytest.mark.parametrize("damage", ["not json", "[]", '{"version": 1}', "truncated"])
def test_a_damaged_memo_is_a_miss_and_is_rewritten(
        target: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        damage: str) -> None:
    python, _ = target
    home = tmp_path / "home"
    first = _snapshot(home, "--python", str(python))
    memo = _memo(home, python, monkeypatch)
    text = memo.read_text()
    memo.write_text(text[: len(text) // 2] if damage == "truncated" else damage)
    again = _snapshot(home, "--python", str(python))
    assert not _reused(again) and _without_meta(again) == _without_meta(first)
    assert json.loads(memo.read_text())["version"] == MEMO_VERSION  # written anew
    assert _reused(_snapshot(home, "--python", str(python)))


@pytest.mark.parametrize("field", ["envcheck", "code", "witness"])
def test_a_memo_from_other_code_or_another_state_is_a_miss(
        target: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        field: str) -> None:
    python, _ = target
    home = tmp_path / "home"
    _snapshot(home, "--python", str(python))
    memo = _memo(home, python, monkeypatch)
    kept = json.loads(memo.read_text())
    if field == "envcheck":
        kept["envcheck"] = "0.0.1"
    elif field == "code":  # one probe source file edited since
        path = next(iter(kept["code"]))
        kept["code"][path] = [0, 0, 0, 0, 0]
    else:  # one file the answer was read from changed since
        path = next(p for p, noted in kept["witness"]["paths"].items() if noted is not None)
        kept["witness"]["paths"][path] = [0, 0, 0, 0, 0]
    memo.write_text(json.dumps(kept))
    assert not _reused(_snapshot(home, "--python", str(python)))


def test_a_memo_the_model_refuses_is_forgotten(target: tuple[Path, Path], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Facts the fingerprint's validation refuses (hand-edited, or written by a bug) cost
    one probe, never the snapshot."""
    python, _ = target
    home = tmp_path / "home"
    first = _snapshot(home, "--python", str(python))
    memo = _memo(home, python, monkeypatch)
    kept = json.loads(memo.read_text())
    kept["sections"]["packages"]["alpha"]["version"] = 5  # a version is text
    memo.write_text(json.dumps(kept))
    again = _snapshot(home, "--python", str(python))
    assert not _reused(again) and _without_meta(again) == _without_meta(first)


def test_no_cache_never_reads_the_memo_and_writes_it_anew(
        target: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    python, _ = target
    home = tmp_path / "home"
    _snapshot(home, "--python", str(python))
    memo = _memo(home, python, monkeypatch)
    before = memo.stat().st_mtime_ns
    assert not _reused(_snapshot(home, "--python", str(python), "--no-cache"))
    assert memo.stat().st_mtime_ns != before


def test_the_canaries_always_run_in_the_target(target: tuple[Path, Path], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Measured numerics are the target's own, each time: never from a memo."""
    python, _ = target
    monkeypatch.setenv("ENVCHECK_HOME", str(tmp_path / "home"))
    snapshot_interpreter(str(python), 60, 1)
    measured = snapshot_interpreter(str(python), 60, 1, numerics_timeout=60)
    timings = measured.data["meta"]["timings_ms"]
    assert "reused" not in timings and "numerics" in timings


def test_an_old_interpreter_answers_once_then_is_reused(tmp_path: Path,
                                                        python38: str) -> None:
    home = tmp_path / "home"
    first = _snapshot(home, "--python", python38)
    again = _snapshot(home, "--python", python38)
    assert str(first["python"]["version"]).startswith("3.8.")  # type: ignore[index]
    assert _reused(again) and _without_meta(again) == _without_meta(first)


def test_forms_kept_with_a_section_give_what_the_section_itself_gives(tmp_path: Path) -> None:
    """What a reused section skips computing (its identity digest, its history blob digest,
    its text in the written file) is what computing it gives: the same id, the same bytes
    written, the same history entry. On this interpreter's own environment, every section."""
    import copy

    from envcheck import __version__, probe
    from envcheck.memo import FORMED
    from envcheck.model import Fingerprint
    from envcheck.model.fingerprint import SectionForms
    from envcheck.store import History

    raw = probe.collect(nvml_timeout=1)
    plain = Fingerprint.from_probe(copy.deepcopy(raw), __version__)
    kept = {name: SectionForms.of(name, plain.data[name]) for name in FORMED}
    # The memo takes each identity digest from the fingerprint's own digests: the same.
    assert all(kept[name].identity == plain.data["digests"][name] for name in FORMED
               if name in plain.data["digests"])
    # Kept by the fingerprint they were made from (the snapshot that writes the memo).
    made = Fingerprint.from_probe(copy.deepcopy(raw), __version__)
    made.keep_forms([SectionForms.of(name, made.data[name]) for name in FORMED])
    assert all(made.forms(name) is not None for name in FORMED)
    assert made.to_json() == plain.to_json()
    # As a memo gives them back: new objects, read from its file.
    sections = {name: json.loads(json.dumps(plain.data[name])) for name in FORMED}
    forms = [SectionForms.from_json(sections[name], kept[name].to_json()) for name in FORMED]
    assert all(forms)
    reused = Fingerprint.from_probe({**raw, **sections}, __version__,
                                    [f for f in forms if f is not None])
    assert all(reused.forms(name) is not None for name in FORMED)
    assert reused.data["id"] == plain.data["id"] and reused.data == plain.data
    assert reused.to_json() == plain.to_json()
    with History(tmp_path / "history.sqlite3") as history:
        first, second = history.record(plain, "py"), history.record(reused, "py")
        assert history.load(first).data == history.load(second).data
        assert history.stats()["blobs"] == len([k for k in plain.data
                                                 if k in (*FORMED, "errors", "cuda", "gpus",
                                                          "cpu", "os", "env")])
    # A section changed in place is no longer the one its forms describe.
    reused.data["packages"] = dict(reused.data["packages"])
    assert reused.forms("packages") is None and reused.to_json() == plain.to_json()


def test_forms_that_are_not_digests_are_not_kept() -> None:
    from envcheck.model.fingerprint import SectionForms

    good = {"identity": "0" * 64, "stored": "a" * 64, "text": "{}"}
    assert SectionForms.from_json({}, good) is not None
    bad: list[object] = [{**good, "stored": "zz"}, {**good, "identity": 5},
                         {**good, "text": None}, [], None]
    for record in bad:
        assert SectionForms.from_json({}, record) is None


def test_the_snapshot_digest_is_sha256() -> None:
    """envcheck.digest spares the snapshot OpenSSL's loader; its digests are hashlib's."""
    import hashlib

    from envcheck.digest import sha256

    for data in (b"", b"abc", bytes(range(256)) * 4099):
        assert sha256(data).hexdigest() == hashlib.sha256(data).hexdigest()
        assert sha256(data).digest() == hashlib.sha256(data).digest()


def test_the_memo_holds_the_sections_the_probe_calls_the_targets() -> None:
    from envcheck import memo, probe

    assert memo.TARGET_SECTIONS == probe.TARGET_SECTIONS
    assert set(memo.FORMED) == set(probe.TARGET_SECTIONS) - {"cuda"}  # cuda: + the driver


def test_a_memo_holding_a_lone_surrogate_is_a_miss(target: tuple[Path, Path], tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A reused section is not digested again, which is where undecodable text is made
    safe: a memo edited to hold a lone surrogate is not reused, so the snapshot is
    recorded and written as the probe answers now."""
    python, _ = target
    home = tmp_path / "home"
    first = _snapshot(home, "--python", str(python))
    memo = _memo(home, python, monkeypatch)
    kept = json.loads(memo.read_text(encoding="utf-8"))
    kept["sections"]["packages"]["alpha"]["location"] = "/opt/\ud800"
    memo.write_text(json.dumps(kept), encoding="utf-8")  # ASCII: the surrogate escaped
    result = run_envcheck("snapshot", "--python", str(python), "-o", "-",
                          env={"ENVCHECK_HOME": str(home)})
    assert result.returncode == 0 and result.stderr == "", result.stderr
    again: Document = json.loads(result.stdout)
    assert not _reused(again) and _without_meta(again) == _without_meta(first)
    assert "\\ud8" not in memo.read_text(encoding="utf-8")  # written anew, as ours are
    assert _reused(_snapshot(home, "--python", str(python)))
