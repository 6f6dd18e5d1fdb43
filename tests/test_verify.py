"""``envcheck.verify``: installed files against RECORD, on real pip installs.

A virtual environment is built once per module with pip, real wheels are
installed into it by pip itself (so RECORD is what pip writes, scripts
rewritten and all), and each test that changes files works on its own copy.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import venv
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import envcheck.verify.pipeline as verify_module  # where verify() reads RACY_NS
from envcheck.verify import HashCache, VerifyReport, default_cache_path, verify

from distbuild import build_wheel, make_dist

DEMO = "verify-demo"
# Above BLOCK, so the block-reading path runs; above 2 KiB, so hashlib drops the GIL.
BIG = bytes(range(256)) * (1 << 12) * 2 + b"tail"  # 2 MiB + 4 bytes
DEMO_FILES = {
    "verify_demo/__init__.py": b"VERSION = '1.0'\n",
    "verify_demo/core.py": b"def answer() -> int:\n    return 42\n",
    "verify_demo/data/blob.bin": bytes(range(256)) * 64,
    "verify_demo/data/big.bin": BIG,
    "verify_demo/data/a,b.txt": b"a comma in a name makes pip quote the RECORD line\n",
}
SCRIPT = "verify-demo-tool"


def _hash(data: bytes, algo: str = "sha256") -> str:
    digest = base64.urlsafe_b64encode(hashlib.new(algo, data).digest()).rstrip(b"=").decode()
    return f"{algo}={digest}"


@dataclass
class Env:
    root: Path
    site: Path
    bin: Path
    six: bool  # six from the package index got installed too

    def verify(self, *names: str, cache: HashCache | None = None,
               progress: Callable[[int, int], None] | None = None) -> VerifyReport:
        return verify([str(self.site)], packages=names or None, workers=4, cache=cache,
                      progress=progress)

    def record(self, name: str) -> Path:
        return next(self.site.glob(f"{name.replace('-', '_')}-*.dist-info")) / "RECORD"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Env:
    root = tmp_path_factory.mktemp("verify") / "env"
    venv.EnvBuilder(with_pip=True).create(root)
    python = str(root / "bin" / "python")
    wheels = tmp_path_factory.mktemp("wheels")
    demo = build_wheel(wheels, DEMO, "1.0", DEMO_FILES,
                        scripts={SCRIPT: b"#!python\nprint('hello')\n"})
    # Two wheels sharing a namespace directory, as nvidia-* wheels share nvidia/.
    ns_a = build_wheel(wheels, "ns-part-a", "1.0", {"nsroot/a/__init__.py": b"A = 1\n"})
    ns_b = build_wheel(wheels, "ns-part-b", "2.0", {"nsroot/b/__init__.py": b"B = 2\n",
                                                     "nsroot/b/data.txt": b"b data\n"})
    pip = [python, "-m", "pip", "install", "-q", "--no-deps", "--disable-pip-version-check"]
    subprocess.run([*pip, "--no-index", str(demo), str(ns_a), str(ns_b)], check=True)
    # A small real wheel from the package index, where one is reachable.
    six = subprocess.run([*pip, "six"], capture_output=True, check=False).returncode == 0
    site = next((root / "lib").glob("python3*/site-packages"))
    return Env(root, site, root / "bin", six)


@pytest.fixture
def env(template: Env, tmp_path: Path) -> Env:
    """A private copy of the environment (relative layout kept: ../../../bin resolves)."""
    root = tmp_path / "env"
    shutil.copytree(template.root, root, symlinks=True)
    return Env(root, root / template.site.relative_to(template.root), root / "bin",
               template.six)


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[HashCache]:
    with HashCache(tmp_path / "cache" / "hash-cache.sqlite3") as opened:
        yield opened


@pytest.fixture
def settled(env: Env, monkeypatch: pytest.MonkeyPatch) -> Env:
    """The copy as a real environment is: its files last changed a while ago.

    A digest is cached only for a file whose mtime and ctime are RACY_NS older
    than the run (and ctime cannot be set back), so the margin is shortened and
    waited out instead of waiting two seconds in every test.
    """
    monkeypatch.setattr(verify_module, "RACY_NS", 50_000_000)
    time.sleep(0.1)
    return env


def _findings(report: VerifyReport) -> dict[str, dict[str, object]]:
    return {p.name: {k: v for k, v in p.to_dict().items()
                     if k in ("modified", "missing", "added", "unchecked", "unverifiable") and v}
            for p in report.packages if not p.clean}


# ----------------------------------------------------------------------------- clean


def test_a_fresh_pip_install_is_clean(template: Env) -> None:
    report = verify([str(template.site)], workers=4)
    assert report.clean, _findings(report)
    names = {p.name for p in report.packages}
    assert {DEMO, "ns-part-a", "ns-part-b", "pip"} <= names
    demo = next(p for p in report.packages if p.name == DEMO)
    # Every RECORD line with a hash was checked: the package, the script pip rewrote
    # into bin/, the quoted name, and the dist-info files pip wrote.
    record = template.record(DEMO).read_text()
    hashed = [line for line in record.splitlines() if line and not line.endswith(",,")]
    assert demo.files_checked == len(hashed) >= len(DEMO_FILES) + 1
    assert f"../../../bin/{SCRIPT}" in record
    assert report.hashed == report.counts["files_checked"] and report.cached == 0
    assert report.bytes_hashed > len(BIG)
    document = json.loads(json.dumps(report.to_dict()))
    assert document["clean"] is True and document["counts"]["modified"] == 0


def test_six_from_the_package_index_is_clean(template: Env) -> None:
    if not template.six:
        pytest.skip("six could not be installed from a package index here")
    report = template.verify("six")
    assert report.clean, _findings(report)
    assert report.packages[0].name == "six" and report.packages[0].files_checked >= 4


def test_this_environments_torch_is_clean() -> None:
    """The real, large case: every file of torch in the environment running the tests."""
    if importlib.util.find_spec("torch") is None:
        pytest.skip("torch is not installed here")
    report = verify(packages=["torch"])
    assert report.clean, _findings(report)
    (torch,) = report.packages
    assert torch.files_checked > 5000 and report.bytes_hashed > 100 * 2**20


# ----------------------------------------------------------------------------- findings


def test_one_byte_changed_in_place_is_exactly_that_file(env: Env) -> None:
    target = env.site / "verify_demo" / "core.py"
    data = bytearray(target.read_bytes())
    data[5] ^= 0x01  # same size: only the hash can tell
    target.write_bytes(bytes(data))
    report = env.verify()
    assert _findings(report) == {DEMO: {"modified": [{
        "path": "verify_demo/core.py",
        "expected": _hash(DEMO_FILES["verify_demo/core.py"]),
        "actual": _hash(bytes(data)),
        "expected_size": len(data),
        "size": len(data),
    }]}}
    assert not report.clean and report.counts["modified"] == 1


def test_one_byte_changed_in_a_large_file_and_a_size_change(env: Env) -> None:
    big = env.site / "verify_demo" / "data" / "big.bin"
    data = bytearray(BIG)
    data[len(data) - 10] ^= 0xFF  # in the last block
    big.write_bytes(bytes(data))
    with (env.site / "verify_demo" / "__init__.py").open("ab") as handle:
        handle.write(b"# grown\n")
    report = env.verify(DEMO)
    (demo,) = report.packages
    by_path = {m.path: m for m in demo.modified}
    assert set(by_path) == {"verify_demo/data/big.bin", "verify_demo/__init__.py"}
    assert by_path["verify_demo/data/big.bin"].actual == _hash(bytes(data))
    grown = by_path["verify_demo/__init__.py"]
    assert grown.actual is None and grown.size == grown.expected_size + 8  # type: ignore[operator]


def test_deleted_files_are_missing(env: Env) -> None:
    (env.site / "verify_demo" / "data" / "blob.bin").unlink()
    (env.bin / SCRIPT).unlink()
    report = env.verify()
    assert _findings(report) == {DEMO: {"missing": [f"../../../bin/{SCRIPT}",
                                                    "verify_demo/data/blob.bin"]}}


def test_a_quoted_record_path_is_checked(env: Env) -> None:
    assert '"verify_demo/data/a,b.txt"' in env.record(DEMO).read_text()
    (env.site / "verify_demo" / "data" / "a,b.txt").write_text("changed\n")
    report = env.verify(DEMO)
    assert [m.path for m in report.packages[0].modified] == ["verify_demo/data/a,b.txt"]


def test_added_files_in_the_package_directories(env: Env) -> None:
    (env.site / "verify_demo" / "extra.py").write_text("print('not from the wheel')\n")
    (env.site / "verify_demo" / "data" / "deeper").mkdir()
    (env.site / "verify_demo" / "data" / "deeper" / "x.so").write_bytes(b"\x7fELF")
    # Byte-code caches and files outside the package directories are not "added".
    (env.site / "verify_demo" / "__pycache__").mkdir(exist_ok=True)
    (env.site / "verify_demo" / "__pycache__" / "core.cpython-311.pyc").write_bytes(b"pyc")
    (env.site / "unrelated.py").write_text("")
    # In a shared namespace directory, a file belongs to the wheel whose files are nearest.
    (env.site / "nsroot" / "a" / "new.py").write_text("")
    report = env.verify()
    assert _findings(report) == {
        DEMO: {"added": ["verify_demo/data/deeper/x.so", "verify_demo/extra.py"]},
        "ns-part-a": {"added": ["nsroot/a/new.py"]},
    }


def test_the_steps_one_at_a_time(env: Env) -> None:
    """Each step of verify() alone, on its explicit state: what it adds, and nothing else."""
    from envcheck.verify import pipeline as steps

    target = env.site / "verify_demo" / "core.py"
    target.write_bytes(target.read_bytes().replace(b"42", b"43"))  # same size
    (env.site / "verify_demo" / "data" / "blob.bin").write_bytes(b"shorter")
    (env.site / "verify_demo" / "extra.py").write_text("")
    now = time.time_ns()  # every file counts as settled: its digest would be cached
    run = steps.VerifyRun(VerifyReport(workers=2), None, now, now + 10**9)
    steps.find_distributions(run, [str(env.site)], [DEMO, "no-such-thing"])
    assert list(run.chosen) == [DEMO] and run.report.not_found == ["no-such-thing"]
    assert str(env.site) in run.at_base and not run.report.packages
    steps.open_cache(run)
    assert not run.usable  # no cache given
    steps.read_records(run)
    ((result, dist, record),) = run.verified
    assert dist.base == os.path.abspath(env.site)
    assert result.name == DEMO and "verify_demo/core.py" in record.claimed
    steps.load_cached_digests(run)
    assert run.loaded == (str(env.site) + os.sep,) and not run.entries
    steps.compare_files(run)
    # The size change is judged without reading the file; the rest waits for hashing.
    assert [m.path for m in result.modified] == ["verify_demo/data/blob.bin"]
    assert str(target) in {path for _, _, path, *_ in run.pending} and not run.report.hashed
    steps.find_added(run)
    assert result.added == ["verify_demo/extra.py"]
    steps.hash_pending(run)
    assert run.report.hashed == len(run.queued) == len(run.pending)
    assert set(run.fresh) == {path for path, _ in run.queued}
    steps.sort_findings(run.report)
    assert [m.path for m in result.modified] == ["verify_demo/core.py",
                                                 "verify_demo/data/blob.bin"]
    steps.save_cache(run)  # no cache: nothing to write, and nothing fails


def test_a_dist_info_without_record_is_unverifiable_not_clean(env: Env) -> None:
    env.record(DEMO).unlink()
    egg = env.site / "legacy_thing-2.0.egg-info"
    egg.mkdir()
    (egg / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: legacy-thing\nVersion: 2.0\n")
    report = env.verify(DEMO, "legacy-thing")
    assert not report.clean
    assert report.counts["unverifiable"] == 2
    reasons = {p.name: p.unverifiable or "" for p in report.packages}
    assert "no RECORD" in reasons[DEMO] and "egg-info" in reasons["legacy-thing"]
    assert all(p.files_checked == 0 for p in report.packages)


def test_the_first_copy_on_the_path_is_the_one_checked(env: Env, tmp_path: Path) -> None:
    front = tmp_path / "front"
    info = front / "verify_demo-9.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {DEMO}\nVersion: 9.0\n")
    report = verify([str(front), str(env.site)], packages=[DEMO, "no-such-thing"])
    (demo,) = report.packages
    assert (demo.version, demo.location) == ("9.0", str(front))
    assert demo.unverifiable is not None
    assert report.not_found == ["no-such-thing"] and not report.clean


def test_other_algorithms_and_unknown_ones(env: Env) -> None:
    record = env.record(DEMO)
    text = record.read_text()
    core = DEMO_FILES["verify_demo/core.py"]
    init = DEMO_FILES["verify_demo/__init__.py"]
    text = text.replace(_hash(core), _hash(core, "sha512"))
    text = text.replace(_hash(init), "whirlpool-9000=abc")
    record.write_text(text)
    report = env.verify(DEMO)
    (demo,) = report.packages
    assert not demo.modified and not demo.missing
    assert [(u.path, u.reason) for u in demo.unchecked] == [
        ("verify_demo/__init__.py", "unsupported hash algorithm 'whirlpool-9000'")]
    # And a sha512 entry that does not match is caught as such.
    (env.site / "verify_demo" / "core.py").write_bytes(core.upper())
    (demo,) = env.verify(DEMO).packages
    assert [m.actual for m in demo.modified] == [_hash(core.upper(), "sha512")]


def test_hashes_spelled_otherwise_still_compare(env: Env) -> None:
    """Hand-written RECORDs: an upper-case algorithm, base64 padding, standard base64, hex."""
    record = env.record(DEMO)
    text = record.read_text()
    spellings: dict[str, Callable[[bytes], str]] = {
        "verify_demo/__init__.py": lambda raw: "SHA256=" + base64.urlsafe_b64encode(raw).decode(),
        "verify_demo/core.py": lambda raw: "sha256=" + base64.b64encode(raw).decode(),
        "verify_demo/data/blob.bin": lambda raw: "sha256=" + raw.hex(),
    }
    for path, spell in spellings.items():
        data = DEMO_FILES[path]
        text = text.replace(_hash(data), spell(hashlib.sha256(data).digest()))
    record.write_text(text)
    report = env.verify(DEMO)
    assert report.clean, _findings(report)
    (env.site / "verify_demo" / "data" / "blob.bin").write_bytes(bytes(16384))
    (demo,) = env.verify(DEMO).packages
    assert [m.path for m in demo.modified] == ["verify_demo/data/blob.bin"]


def test_a_fifo_in_place_of_a_file_is_unchecked_and_does_not_hang(env: Env) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    target = env.site / "verify_demo" / "core.py"
    target.unlink()
    os.mkfifo(target)
    (demo,) = env.verify(DEMO).packages
    assert [(u.path, u.reason) for u in demo.unchecked] == [
        ("verify_demo/core.py", "not a regular file")]


def test_progress_is_reported_in_bytes_up_to_the_total(env: Env) -> None:
    calls: list[tuple[int, int]] = []
    env.verify(DEMO, progress=lambda done, total: calls.append((done, total)))
    assert calls and calls[-1][0] == calls[-1][1] >= len(BIG)
    assert all(0 <= done <= total for done, total in calls)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


# ----------------------------------------------------------------------------- cache


def test_a_second_run_takes_every_digest_from_the_cache(settled: Env, cache: HashCache) -> None:
    first = settled.verify(cache=cache)
    assert first.clean and first.cached == 0 and first.hashed > 0
    second = settled.verify(cache=cache)
    assert second.clean and not second.warnings
    assert second.hashed == 0 and second.bytes_hashed == 0
    assert second.cached == first.hashed
    assert second.to_dict()["packages"] == first.to_dict()["packages"]


def test_an_edit_after_caching_is_still_found(settled: Env, cache: HashCache) -> None:
    settled.verify(cache=cache)
    target = settled.site / "verify_demo" / "core.py"
    data = bytearray(target.read_bytes())
    data[0] ^= 0x20  # same size
    target.write_bytes(bytes(data))
    report = settled.verify(cache=cache)
    assert list(_findings(report)) == [DEMO]
    (demo,) = (p for p in report.packages if p.name == DEMO)
    assert [(m.path, m.actual) for m in demo.modified] == [
        ("verify_demo/core.py", _hash(bytes(data)))]
    assert report.hashed == 1  # only the changed file was read again


def test_an_edit_with_its_mtime_put_back_is_still_found(settled: Env, cache: HashCache) -> None:
    settled.verify(DEMO, cache=cache)
    target = settled.site / "verify_demo" / "data" / "blob.bin"
    before = target.stat()
    data = bytearray(target.read_bytes())
    data[100] ^= 0x01
    target.write_bytes(bytes(data))
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))  # hide the edit...
    after = target.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    report = settled.verify(DEMO, cache=cache)  # ...ctime still changed
    assert [m.path for m in report.packages[0].modified] == ["verify_demo/data/blob.bin"]


def test_a_file_replaced_by_another_inode_is_hashed_again(settled: Env, cache: HashCache) -> None:
    settled.verify(DEMO, cache=cache)
    target = settled.site / "verify_demo" / "core.py"
    before = target.stat()
    replacement = target.with_name("core.tmp")
    replacement.write_bytes(target.read_bytes().replace(b"42", b"41"))
    os.utime(replacement, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(replacement, target)
    report = settled.verify(DEMO, cache=cache)
    assert report.hashed == 1
    assert [m.path for m in report.packages[0].modified] == ["verify_demo/core.py"]


def test_files_changed_just_now_are_not_cached(
        env: Env, cache: HashCache, monkeypatch: pytest.MonkeyPatch) -> None:
    # mtimes an hour old, ctimes (which cannot be set back) seconds old: a digest of a
    # file that changed within the margin of its hashing is never stored.
    hour_ago = time.time() - 3600
    for path in env.site.rglob("*"):
        if path.is_file():
            os.utime(path, (hour_ago, hour_ago))
    monkeypatch.setattr(verify_module, "RACY_NS", 600 * 10**9)
    first = env.verify(DEMO, cache=cache)
    assert first.clean and first.hashed > 0 and len(cache) == 0
    second = env.verify(DEMO, cache=cache)
    assert second.clean and second.hashed == first.hashed and second.cached == 0


def test_a_cache_that_cannot_be_written_is_a_warning(env: Env, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    with HashCache(blocker / "hash-cache.sqlite3") as broken:
        report = env.verify(DEMO, cache=broken)
    assert report.clean and report.hashed > 0
    assert len(report.warnings) == 1 and "hash cache" in report.warnings[0]


def test_a_damaged_cache_file_is_replaced(settled: Env, tmp_path: Path) -> None:
    path = tmp_path / "hash-cache.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with HashCache(path) as damaged:
        first = settled.verify(DEMO, cache=damaged)
        assert first.clean and any("started a new one" in w for w in first.warnings)
        second = settled.verify(DEMO, cache=damaged)
    assert second.hashed == 0 and second.cached == first.hashed and not second.warnings


def test_missing_files_leave_the_cache(settled: Env, cache: HashCache) -> None:
    settled.verify(DEMO, cache=cache)
    entries = len(cache)
    (settled.site / "verify_demo" / "core.py").unlink()
    settled.verify(DEMO, cache=cache)
    assert len(cache) == entries - 1


def _memo_runs(env: Env, cache: HashCache, change: Callable[[], object]) -> VerifyReport:
    """A run that leaves memos, ``change()``, then the run that must see it."""
    first = env.verify(cache=cache)
    assert first.unchanged == 0 and any(p.name == DEMO for p in first.packages)
    again = env.verify(cache=cache)
    assert again.unchanged == sum(p.unverifiable is None for p in again.packages)
    assert again.to_dict()["packages"] == first.to_dict()["packages"]
    change()
    return env.verify(cache=cache)


def test_unchanged_packages_are_judged_from_their_memo(settled: Env, cache: HashCache) -> None:
    first = settled.verify(cache=cache)
    second = settled.verify(cache=cache)
    assert second.unchanged == len(second.packages) and second.unchanged > 0
    assert second.hashed == 0 and second.cached == first.hashed
    assert second.to_dict()["packages"] == first.to_dict()["packages"]
    # A finding is remembered as well as a clean result.
    target = settled.site / "verify_demo" / "data" / "blob.bin"
    target.write_bytes(b"x" + target.read_bytes()[1:])
    time.sleep(0.1)  # past the (shortened) racy margin, so this run leaves a memo
    found = settled.verify(DEMO, cache=cache)
    again = settled.verify(DEMO, cache=cache)
    assert again.unchanged == 1 and again.hashed == 0
    assert again.to_dict()["packages"] == found.to_dict()["packages"]
    assert [m.path for m in again.packages[0].modified] == ["verify_demo/data/blob.bin"]


def test_a_memo_sees_a_file_added_deep_in_a_package(settled: Env, cache: HashCache) -> None:
    def add() -> None:
        (settled.site / "verify_demo" / "data" / "deeper").mkdir()
        (settled.site / "verify_demo" / "data" / "deeper" / "x.so").write_bytes(b"\x7fELF")

    report = _memo_runs(settled, cache, add)
    assert _findings(report) == {DEMO: {"added": ["verify_demo/data/deeper/x.so"]}}


def test_a_memo_sees_a_deleted_file_and_keeps_no_memo_while_it_is_missing(
        settled: Env, cache: HashCache) -> None:
    target = settled.site / "verify_demo" / "core.py"
    data = target.read_bytes()
    report = _memo_runs(settled, cache, target.unlink)
    assert _findings(report) == {DEMO: {"missing": ["verify_demo/core.py"]}}
    assert cache.memo(str(settled.record(DEMO).parent)) is None
    target.write_bytes(data)
    assert settled.verify(DEMO, cache=cache).clean


def test_a_memo_sees_a_new_distribution_claim_an_added_file(settled: Env,
                                                            cache: HashCache) -> None:
    (settled.site / "verify_demo" / "claimed.txt").write_text("whose is it?\n")
    time.sleep(0.1)

    def install_claimer() -> None:
        make_dist(settled.site, "claimer", "1.0", files={"verify_demo/claimed.txt":
                                                          b"whose is it?\n"})

    assert _findings(settled.verify(DEMO)) == {DEMO: {"added": ["verify_demo/claimed.txt"]}}
    report = _memo_runs(settled, cache, install_claimer)
    assert DEMO not in _findings(report)


def test_a_memo_sees_another_record_edited_in_place(settled: Env, cache: HashCache) -> None:
    (settled.site / "verify_demo" / "claimed.txt").write_text("whose is it?\n")
    make_dist(settled.site, "claimer", "1.0", files={"claimer/__init__.py": b""})
    time.sleep(0.1)
    record = settled.record("claimer")

    def claim() -> None:  # the folder is not touched: only RECORD's own stamp changes
        with record.open("a") as handle:
            handle.write("verify_demo/claimed.txt,,\n")

    assert _findings(settled.verify(DEMO)) == {DEMO: {"added": ["verify_demo/claimed.txt"]}}
    report = _memo_runs(settled, cache, claim)
    assert DEMO not in _findings(report)


def test_a_memo_sees_a_neighbour_stop_parsing(settled: Env, cache: HashCache) -> None:
    """ns-part-b's files in the shared nsroot/ are its own only while its METADATA reads."""
    info = settled.record("ns-part-b").parent
    report = _memo_runs(settled, cache, (info / "METADATA").unlink)
    assert _findings(report)["ns-part-a"] == {"added": ["nsroot/b/__init__.py",
                                                        "nsroot/b/data.txt"]}


def test_a_memo_sees_a_neighbours_record_appear(settled: Env, cache: HashCache) -> None:
    record = settled.record("ns-part-b")
    kept = record.read_bytes()
    record.unlink()  # ns-part-b unverifiable; its files look added to ns-part-a
    time.sleep(0.1)
    report = _memo_runs(settled, cache, lambda: record.write_bytes(kept))
    assert "ns-part-a" not in _findings(report)


@pytest.mark.parametrize("damage", [
    "UPDATE memos SET result = '{\"files_checked\": \"many\"}'",
    "UPDATE memos SET result = json_set(result, '$.cached', '1')",
    "UPDATE memos SET result = json_set(result, '$.files_checked', 1e999)",
    "UPDATE memos SET result = json_set(result, '$.modified', json('[{\"path\": 1}]'))",
    "UPDATE memos SET result = json_set(result, '$.envcheck', '0.0.0')",
    "UPDATE memos SET result = 'not json'",
    "UPDATE memos SET result = '" + "[" * 100_000 + "'",
    "UPDATE memos SET paths = CAST(paths AS BLOB)",
    "UPDATE memos SET stamps = 'text'",
    "UPDATE memos SET stamps = substr(stamps, 2)",
])
def test_a_damaged_memo_is_ignored(settled: Env, cache: HashCache, damage: str) -> None:
    first = settled.verify(cache=cache)
    settled.verify(cache=cache)
    database = sqlite3.connect(cache.path)
    with database:
        database.execute(damage)
    database.close()
    again = settled.verify(cache=cache)
    assert again.unchanged == 0 and again.hashed == 0 and not again.warnings
    assert again.to_dict()["packages"] == first.to_dict()["packages"]
    assert settled.verify(cache=cache).unchanged == len(first.packages)  # memos rewritten


def test_a_name_that_is_not_utf8_costs_a_memo_not_the_cache(settled: Env,
                                                            cache: HashCache) -> None:
    os.mkdir(os.fsencode(settled.site / "verify_demo" / "data") + b"/caf\xe9")
    time.sleep(0.1)
    first = settled.verify(cache=cache)
    second = settled.verify(cache=cache)
    assert not first.warnings and not second.warnings
    assert second.hashed == 0 and second.cached == first.hashed
    assert second.unchanged == len(second.packages) - 1  # all but verify-demo


def test_memos_are_found_from_any_working_directory_and_pruned(
        settled: Env, cache: HashCache, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(settled.site.parent)
    relative = [os.path.basename(settled.site)]
    verify(relative, cache=cache)
    assert verify(relative, cache=cache).unchanged > 0
    assert settled.verify(cache=cache).unchanged > 0  # the same memos, by absolute path
    old = str(settled.record(DEMO).parent)
    assert old in cache.memos_under(str(settled.site))
    os.rename(old, old.replace("-1.0.", "-1.1."))  # "upgraded": a new dist-info folder
    settled.verify(cache=cache)
    assert old not in cache.memos_under(str(settled.site))


def test_the_default_cache_lives_in_the_data_directory(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ENVCHECK_HOME", str(tmp_path / "home"))
    assert default_cache_path() == str(tmp_path / "home" / "hash-cache.sqlite3")
    monkeypatch.delenv("ENVCHECK_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_cache_path() == str(tmp_path / "xdg" / "envcheck" / "hash-cache.sqlite3")
    monkeypatch.setenv("XDG_DATA_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert default_cache_path() == str(
        tmp_path / "user" / ".local" / "share" / "envcheck" / "hash-cache.sqlite3")
    assert HashCache().path == default_cache_path()


def test_verify_of_this_interpreter_by_default_reads_sys_path() -> None:
    """Not the test venv: ``paths=None`` is this interpreter's sys.path."""
    report = verify(packages=["pytest"])
    assert [p.name.lower() for p in report.packages] == ["pytest"]
    assert report.packages[0].location in sys.path
    assert report.workers == len(os.sched_getaffinity(0))  # every usable core by default
