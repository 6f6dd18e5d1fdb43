"""The local history (envcheck.store): real SQLite files under tmp_path, real processes."""

from __future__ import annotations

import copy
import os
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from envcheck.drift import Change
from envcheck.errors import ExitCode, InputError
from envcheck.history_summary import judge
from envcheck.model import SECTIONS, Fingerprint, canonical_json, load
from envcheck.model.history import EntryChange
from envcheck.render.history import entry_line
from envcheck.rules import Severity
from envcheck.store import (
    FILENAME,
    History,
    data_dir,
    default_path,
    network_filesystem,
    record_safely,
)
from envcheck.store import database as store_database

DATA = Path(__file__).parent / "data"
CPU = DATA / "cpu-torch.json"
GPU = DATA / "fake-2xa100.json"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "envcheck-home"
    monkeypatch.setenv("ENVCHECK_HOME", str(path))
    return path


@pytest.fixture
def fp() -> Fingerprint:
    return load(CPU)


def variant(base: Fingerprint, **env: str) -> Fingerprint:
    """``base`` with environment variables changed (only the env section differs)."""
    document = copy.deepcopy(base.data)
    document["env"].update(env)
    return Fingerprint.from_dict(document)


def bumped(base: Fingerprint, package: str, version: str) -> Fingerprint:
    document = copy.deepcopy(base.data)
    document["packages"][package]["version"] = version
    return Fingerprint.from_dict(document)


def query(path: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(str(path))
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def blob_count(home: Path) -> int:
    return int(query(home / FILENAME, "SELECT count(*) FROM blobs")[0][0])


def integrity(path: Path) -> list[tuple[Any, ...]]:
    return query(path, "PRAGMA integrity_check")


# ---- location -------------------------------------------------------------------------

def test_location_follows_envcheck_home_then_xdg_then_home(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.delenv("ENVCHECK_HOME", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    assert data_dir() == str(tmp_path / "user" / ".local" / "share" / "envcheck")
    monkeypatch.setenv("XDG_DATA_HOME", "relative/ignored")  # the XDG spec: absolute only
    assert data_dir() == str(tmp_path / "user" / ".local" / "share" / "envcheck")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert data_dir() == str(tmp_path / "xdg" / "envcheck")
    monkeypatch.setenv("ENVCHECK_HOME", str(tmp_path / "eh"))
    assert data_dir() == str(tmp_path / "eh")
    assert default_path() == str(tmp_path / "eh" / "history.sqlite3")


def test_opening_creates_a_private_directory_and_a_wal_database(home: Path) -> None:
    with History() as history:
        assert history.path == str(home / FILENAME)
        assert history.entries() == []
    assert (home / FILENAME).is_file()
    assert home.stat().st_mode & 0o777 == 0o700
    assert query(home / FILENAME, "PRAGMA journal_mode") == [("wal",)]
    assert query(home / FILENAME, "SELECT version FROM store_schema") == [(2,)]


# ---- round trip and dedup -------------------------------------------------------------

@pytest.mark.parametrize("source", [CPU, GPU], ids=lambda p: p.stem)
def test_round_trip_gives_back_the_same_document(home: Path, source: Path) -> None:
    original = load(source)
    with History() as history:
        number = history.record(original, "/usr/bin/python3")
        loaded = history.load(number)
    assert loaded.data == original.data
    assert loaded == original


def test_round_trip_keeps_volatile_fields_unknown_keys_and_unicode(
        home: Path, fp: Fingerprint) -> None:
    document = copy.deepcopy(fp.data)
    document["python"]["executable"] = "/home/zoë/venv/bin/python"  # volatile: not in id
    document["future_key"] = {"added": ["by", "a newer schema"]}
    first, second = fp, Fingerprint.from_dict(document)
    assert first.id == second.id and first.data != second.data
    with History() as history:
        a, b = history.record(first, "py"), history.record(second, "py")
        assert history.load(a).data == first.data
        assert history.load(b).data == second.data


def test_same_fingerprint_50_times_stores_each_section_once(home: Path, fp: Fingerprint) -> None:
    with History() as history:
        history.record(fp, "py")
        blobs, blob_bytes = blob_count(home), history.stats()["blob_bytes"]
        # every section the fingerprint has, and errors
        assert blobs == len([s for s in SECTIONS if s in fp.data]) + 1
        for _ in range(49):
            history.record(fp, "py")
        assert blob_count(home) == blobs
        assert history.stats() == dict(history.stats(), entries=50, blobs=blobs,
                                       blob_bytes=blob_bytes)
        number = history.record(variant(fp, OMP_NUM_THREADS="8"), "py")
        assert blob_count(home) == blobs + 1
        new = query(home / FILENAME, "SELECT s.key FROM entry_sections AS s "
                    "WHERE s.blob = (SELECT max(id) FROM blobs)")
        assert new == [("env",)]
        assert history.load(number).data["env"]["OMP_NUM_THREADS"] == "8"


# ---- entries and summaries ------------------------------------------------------------

def test_entries_newest_first_with_per_interpreter_summaries(home: Path, fp: Fingerprint) -> None:
    torch = bumped(fp, "torch", "2.14.0")
    with History(judge=judge) as history:
        history.record(fp, "/venv/a/bin/python")
        history.record(fp, "/venv/b/bin/python")
        history.record(fp, "/venv/a/bin/python")
        history.record(torch, "/venv/b/bin/python")
        everything = history.entries()
        assert [e.number for e in everything] == [4, 3, 2, 1]
        assert [entry_line(e.change) for e in everything] == [
            "torch 2.13.0+cpu -> 2.14.0 [breaking]", "no change", "first entry", "first entry"]
        assert everything[0].fingerprint_id == torch.id
        assert everything[0].interpreter == "/venv/b/bin/python"
        assert everything[0].taken_at.tzinfo is timezone.utc
        assert everything[0].taken_at >= everything[-1].taken_at
        only_b = history.entries("/venv/b/bin/python")
        assert [e.number for e in only_b] == [4, 2]
        assert [e.number for e in history.entries(limit=1)] == [4]
        assert history.entries("/nowhere") == []


def describe(changes: list[Change]) -> str:
    """The line for an entry whose changes since the one before are ``changes``."""
    return entry_line(EntryChange.judged(1, (), changes))


def test_summary_counts_the_other_changes_by_severity(fp: Fingerprint) -> None:
    def change(path: str, before: Any, after: Any, severity: Severity) -> Change:
        return Change(path, before, after, severity, "why", "ref", "rule", "changed")

    changes = [change("packages.torch.version", "2.1.0", "2.2.0", Severity.BREAKING),
               change("gpus.count", 1, 2, Severity.BREAKING),
               change("env.OMP_NUM_THREADS", None, "8", Severity.RISKY),
               change("packages.numpy.record_digest", "a" * 80, "b", Severity.RISKY)]
    assert describe(changes) == ("torch 2.1.0 -> 2.2.0 [breaking], 3 more "
                                 "(1 breaking, 2 risky)")
    assert describe(changes[2:]) == "OMP_NUM_THREADS (none) -> 8 [risky], 1 more (1 risky)"
    assert describe(changes[3:]).startswith("numpy record_digest " + "a" * 37 + "... -> b")
    assert describe([]) == "no change"
    assert describe([change("env.X", "a\x1b[2Jb", "c", Severity.RISKY)]) == \
        "X a\\x1b[2Jb -> c [risky]"
    assert entry_line(EntryChange()) == "first entry"
    several = bumped(variant(fp, OMP_NUM_THREADS="8"), "torch", "2.14.0")
    assert describe(judge(fp, several)) == ("torch 2.13.0+cpu -> 2.14.0 [breaking], "
                                            "1 more (1 risky)")
    # The store keeps the counts and the most severe change as data.
    data = EntryChange.judged(7, ("env", "packages"), judge(fp, several))
    assert data.counts == {"breaking": 1, "risky": 1, "benign": 0}
    assert data.head is not None
    assert data.head == {"path": "packages.torch.version", "before": "2.13.0+cpu",
                         "after": "2.14.0", "severity": "breaking", "rule": data.head["rule"]}
    assert data.head["rule"]
    assert EntryChange.from_dict(data.to_dict()).to_dict() == data.to_dict()


def test_without_a_judge_or_when_it_fails_the_sections_that_differ_are_kept(
        home: Path, fp: Fingerprint) -> None:
    def broken(before: Fingerprint, after: Fingerprint) -> list[Change]:
        raise RuntimeError("the rules could not be read")

    changed = variant(fp, OMP_NUM_THREADS="8")
    with History() as history:  # the store alone judges nothing
        history.record(fp, "py")
        history.record(changed, "py")
        history.record(changed, "py")
        [same, unjudged, first] = history.entries()
        assert (unjudged.change.base, unjudged.change.sections, unjudged.change.counts) == (
            first.number, ("env",), None)
        assert [entry_line(e.change) for e in (same, unjudged, first)] == [
            "no change", "changed: env", "first entry"]
    with History(judge=broken) as history:
        history.record(fp, "py")
        newest = history.entries(limit=1)[0]
        assert entry_line(newest.change) == "changed: env"
        assert history.warnings == ["history: what changed was not judged for this entry "
                                    "(the rules could not be read)"]


# ---- references -----------------------------------------------------------------------

def test_refs_last_prev_n_and_date(home: Path, fp: Fingerprint) -> None:
    day = datetime(2026, 1, 10, tzinfo=timezone.utc)
    versions = [variant(fp, OMP_NUM_THREADS=str(n)) for n in range(4)]
    with History() as history:
        history.record(versions[0], "py", taken_at=day + timedelta(hours=1))
        history.record(versions[1], "py", taken_at=day + timedelta(hours=23, minutes=59))
        history.record(versions[2], "other", taken_at=day + timedelta(days=1, hours=12))
        history.record(versions[3], "py", taken_at=day + timedelta(days=2))
        assert history.resolve("@last") == versions[3]
        assert history.resolve("@0") == versions[3]
        assert history.resolve("@prev") == versions[2]
        assert history.resolve("@1") == versions[2]
        assert history.resolve("@2") == versions[1]
        assert history.resolve("@prev", "py") == versions[1]
        assert history.resolve("@2", "py") == versions[0]
        assert history.resolve("@LAST", "other") == versions[2]
        assert history.resolve("@2026-01-10") == versions[1]  # the day's last, UTC
        assert history.resolve("@2026-01-11") == versions[2]
        assert history.resolve("@2026-01-11", "py") == versions[1]
        assert history.resolve("@2026-01-12") == versions[3]
        assert history.resolve("@2030-01-01") == versions[3]
        assert history.resolve("@9999-12-31") == versions[3]
        assert history.find("@prev").number == 3
        assert history.find("@2026-01-11", "py").taken_at == day + timedelta(hours=23,
                                                                             minutes=59)


@pytest.mark.parametrize("ref", ["last", "", "@", "@-1", "@1.5", "@yesterday", "@2026-1-1",
                                 "@ 1", "@²", "@last!"])
def test_malformed_refs_are_one_line_input_errors(home: Path, fp: Fingerprint, ref: str) -> None:
    with History() as history:
        history.record(fp, "py")
        with pytest.raises(InputError) as info:
            history.resolve(ref)
    assert "not a history reference" in str(info.value)
    assert "\n" not in str(info.value)
    assert info.value.exit_code == ExitCode.INPUT


def test_unknown_refs_say_what_there_is(home: Path, fp: Fingerprint) -> None:
    with History() as history:
        with pytest.raises(InputError, match=r"^@last: the history is empty$"):
            history.resolve("@last")
        for _ in range(3):
            history.record(fp, "py", taken_at=datetime(2026, 3, 1, tzinfo=timezone.utc))
        with pytest.raises(InputError, match=r"^@3: no such entry: the history holds 3 "
                                             r"entries \(@0 to @2\)$"):
            history.resolve("@3")
        with pytest.raises(InputError, match=r"^@prev: the history for other is empty$"):
            history.resolve("@prev", "other")
        with pytest.raises(InputError, match=r"^@2026-02-28: no entry on or before 2026-02-28$"):
            history.resolve("@2026-02-28")
        with pytest.raises(InputError, match=r"^@2026-02-30: not a valid date"):
            history.resolve("@2026-02-30")
        with pytest.raises(InputError, match=r"^@0000-01-01: not a valid date"):
            history.resolve("@0000-01-01")
        with pytest.raises(InputError, match=r"^@9{30}: no such entry"):
            history.resolve("@" + "9" * 30)
        with pytest.raises(InputError, match=r"no such entry$"):
            history.load(2**70)
        with pytest.raises(InputError, match=r"^history entry 99: no such entry$"):
            history.load(99)


# ---- prune ----------------------------------------------------------------------------

def test_prune_by_count_keeps_the_newest_of_each_interpreter(
        home: Path, fp: Fingerprint) -> None:
    with History() as history:
        for n in range(5):
            history.record(variant(fp, OMP_NUM_THREADS=str(n)), "busy")
        history.record(variant(fp, OMP_NUM_THREADS="rare"), "rare")
        assert blob_count(home) == 9 + 5
        assert history.prune(keep=2) == 3
        assert [(e.interpreter, e.number) for e in history.entries()] == [
            ("rare", 6), ("busy", 5), ("busy", 4)]
        assert blob_count(home) == 9 + 2  # the env blobs of entries 1-3 are gone
        assert history.resolve("@prev", "busy").data["env"]["OMP_NUM_THREADS"] == "3"
        assert history.prune(keep=2) == 0
        assert history.record(fp, "busy") == 7  # numbers are never reused
        assert history.prune(keep=0) == 4
        assert blob_count(home) == 0
        assert history.prune() == 0
        with pytest.raises(Exception, match="keep must be 0 or more"):
            history.prune(keep=-1)
    assert integrity(home / FILENAME) == [("ok",)]


def test_prune_by_age(home: Path, fp: Fingerprint) -> None:
    now = datetime.now(timezone.utc)
    with History() as history:
        history.record(variant(fp, OMP_NUM_THREADS="old"), "py", taken_at=now - timedelta(30))
        history.record(fp, "py", taken_at=now - timedelta(days=8))
        history.record(fp, "other", taken_at=now - timedelta(days=8))
        history.record(fp, "py", taken_at=now - timedelta(days=1))
        history.record(fp, "py")
        assert blob_count(home) == 10
        assert history.prune(older_than_days=7, interpreter="py") == 2
        assert [e.number for e in history.entries()] == [5, 4, 3]
        assert blob_count(home) == 9
        assert history.prune(older_than_days=7) == 1
        assert history.prune(keep=10, older_than_days=0) == 2  # either criterion removes
        assert history.entries() == []
    assert integrity(home / FILENAME) == [("ok",)]


# ---- several processes at once --------------------------------------------------------

WORKER = r"""
import copy, sys, time
from pathlib import Path
from envcheck.model import Fingerprint, load
from envcheck.history_summary import judge
from envcheck.store import record_safely

rank, count, gate, source = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
base = load(source)
(gate.parent / f"ready-{rank}").touch()
while not gate.exists():
    time.sleep(0.001)
failures = 0
for i in range(count):
    document = copy.deepcopy(base.data)
    document["env"]["OMP_NUM_THREADS"] = str(rank)
    document["meta"]["rank"], document["meta"]["step"] = rank, i
    number, warnings = record_safely(Fingerprint.from_dict(document), f"node-python-{rank % 2}",
                                     judge=judge)
    if number is None or warnings:
        print(rank, i, number, warnings, flush=True)
        failures += 1
sys.exit(1 if failures else 0)
"""


def test_eight_processes_recording_at_once_lose_nothing(home: Path, tmp_path: Path) -> None:
    ranks, count = 8, 25
    gate = tmp_path / "gate" / "go"
    gate.parent.mkdir()
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, str(rank), str(count), str(gate),
                                 str(CPU)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
               for rank in range(ranks)]
    try:
        deadline = time.monotonic() + 120
        while len(list(gate.parent.glob("ready-*"))) < ranks and time.monotonic() < deadline:
            time.sleep(0.01)
        gate.touch()  # all start recording at the same moment
        outputs = [worker.communicate(timeout=300)[0] for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    assert [w.returncode for w in workers] == [0] * ranks, outputs
    path = home / FILENAME
    assert integrity(path) == [("ok",)]
    with History() as history:
        entries = history.entries()
        assert len(entries) == ranks * count
        assert len({e.number for e in entries}) == ranks * count
        seen = set()
        previous: dict[str, tuple[int, Fingerprint]] = {}
        for entry in reversed(entries):
            loaded = history.load(entry.number)
            assert loaded.id == entry.fingerprint_id
            meta = loaded.data["meta"]
            seen.add((meta["rank"], meta["step"]))
            assert loaded.data["env"]["OMP_NUM_THREADS"] == str(meta["rank"])
            # What changed, stored under contention, is against the real predecessor.
            before = previous.get(entry.interpreter)
            assert entry.change.base == (before[0] if before else None)
            expected = EntryChange.judged(0, (), judge(before[1], loaded)) if before \
                else EntryChange()
            assert (entry.change.counts, entry.change.head) == (expected.counts, expected.head)
            assert entry_line(entry.change) == entry_line(expected)
            previous[entry.interpreter] = (entry.number, loaded)
        assert seen == {(rank, step) for rank in range(ranks) for step in range(count)}
        assert history.stats()["blobs"] == 9 + ranks - 1  # one env blob per rank, no copies
        assert not history.warnings


def test_a_lock_held_past_the_busy_timeout_delays_the_entry_not_loses_it(
        home: Path, fp: Fingerprint, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_database, "BUSY_TIMEOUT_S", 0.02)  # SQLite gives up at once ...
    monkeypatch.setattr(store_database, "LOCK_DEADLINE_S", 10.0)
    with History() as history:
        holder = sqlite3.connect(str(home / FILENAME), isolation_level=None,
                                 check_same_thread=False)
        holder.execute("BEGIN IMMEDIATE")  # another process in a long write
        releaser = threading.Timer(0.5, lambda: holder.execute("COMMIT"))
        releaser.start()
        start = time.monotonic()
        try:
            number = history.record(fp, "py")  # ... and the store's retry carries on
        finally:
            releaser.join()
            holder.close()
        assert time.monotonic() - start >= 0.4
        assert history.load(number) == fp


# ---- faults ---------------------------------------------------------------------------

def test_garbage_file_is_moved_aside_and_a_new_history_started(
        home: Path, fp: Fingerprint, capsys: pytest.CaptureFixture[str]) -> None:
    assert record_safely(fp, "py") == (1, [])
    assert record_safely(fp, "py") == (2, [])
    path = home / FILENAME
    garbage = b"\x00garbage, not SQLite\xff" * (path.stat().st_size // 22 + 1)
    path.write_bytes(garbage)
    number, warnings = record_safely(fp, "py")
    assert number == 1
    assert len(warnings) == 1
    assert "was corrupt (file is not a database)" in warnings[0]
    assert "started a new history" in warnings[0]
    aside = [p for p in home.glob("history.sqlite3.corrupt-*")
             if not p.name.endswith(("-wal", "-shm"))]
    assert len(aside) == 1
    assert aside[0].read_bytes() == garbage
    assert aside[0].name in warnings[0]
    with History() as history:
        assert [entry_line(e.change) for e in history.entries()] == ["first entry"]
        assert history.load(1).data == fp.data
        assert history.warnings == []
    assert integrity(path) == [("ok",)]
    assert capsys.readouterr() == ("", "")  # the store never prints


def test_damaged_pages_behind_a_valid_header_are_moved_aside_too(
        home: Path, fp: Fingerprint) -> None:
    with History() as history:
        for n in range(20):
            history.record(variant(fp, OMP_NUM_THREADS=str(n)), "py")
    path = home / FILENAME
    data = bytearray(path.read_bytes())
    data[4096:] = b"\xa5" * (len(data) - 4096)  # page 1 (header, schema) intact
    path.write_bytes(bytes(data))
    number, warnings = record_safely(fp, "py")
    assert number == 1
    assert len(warnings) == 1 and "was corrupt" in warnings[0], warnings
    assert len(list(home.glob("history.sqlite3.corrupt-*"))) == 1
    assert integrity(path) == [("ok",)]


def test_unwritable_location_is_a_warning_not_an_exception(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fp: Fingerprint) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("ENVCHECK_HOME", str(blocker / "envcheck"))
    number, warnings = record_safely(fp, "py")
    assert number is None
    assert len(warnings) == 1
    assert str(blocker / "envcheck" / FILENAME) in warnings[0]
    assert warnings[0].endswith("this snapshot was not added to the history")
    assert "\n" not in warnings[0]
    with pytest.raises(InputError, match="cannot open"):
        History()


def test_a_directory_where_the_file_should_be_is_a_warning(home: Path, fp: Fingerprint) -> None:
    (home / FILENAME).mkdir(parents=True)
    number, warnings = record_safely(fp, "py")
    assert number is None and len(warnings) == 1
    assert (home / FILENAME).is_dir()  # not "corrupt": nothing moved


def test_a_newer_history_schema_is_refused_not_moved(home: Path, fp: Fingerprint) -> None:
    record_safely(fp, "py")
    conn = sqlite3.connect(str(home / FILENAME))
    with conn:
        conn.execute("UPDATE store_schema SET version = 99")
    conn.close()
    with pytest.raises(InputError, match=r"newer envcheck \(history schema 99;"):
        History()
    number, warnings = record_safely(fp, "py")
    assert number is None
    assert "upgrade envcheck" in warnings[0]
    assert list(home.glob("*.corrupt-*")) == []


def test_an_explicit_path_needs_no_environment(tmp_path: Path, fp: Fingerprint,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVCHECK_HOME", str(tmp_path / "unused"))
    target = tmp_path / "deep" / "er" / "h.sqlite3"
    assert record_safely(fp, "py", path=target) == (1, [])
    with History(os.fspath(target)) as history:
        assert history.resolve("@last") == fp
    assert not (tmp_path / "unused").exists()


def test_network_filesystems_are_recognised_from_the_mount_table(tmp_path: Path) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text(
        "/dev/vda / ext4 rw 0 0\n"
        "server:/export/home /home nfs4 rw,relatime 0 0\n"
        "/dev/vdb /home/local\\040disk xfs rw 0 0\n"
        "mds@tcp:/lustre /scratch lustre rw 0 0\n"
        "broken line\n")
    assert network_filesystem(Path("/home/ann/.local/share/envcheck"), str(mounts)) == "nfs4"
    assert network_filesystem(Path("/home/local disk/envcheck"), str(mounts)) is None
    assert network_filesystem(Path("/scratch/job"), str(mounts)) == "lustre"
    assert network_filesystem(Path("/homeward"), str(mounts)) is None
    assert network_filesystem(Path("/tmp"), str(tmp_path / "missing")) is None


def test_on_a_network_filesystem_the_history_uses_a_rollback_journal(
        home: Path, fp: Fingerprint, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_database, "network_filesystem", lambda directory: "nfs4")
    with History() as history:
        history.record(fp, "py")
        assert history.resolve("@last") == fp
        assert history.warnings == []
    assert query(home / FILENAME, "PRAGMA journal_mode") == [("delete",)]


# ---- a history written by an older envcheck ------------------------------------------

# History schema 1, as envcheck wrote it before entries kept what changed as data: a line
# of text per entry (``summary``).
SCHEMA_1 = (
    "CREATE TABLE store_schema (version INTEGER NOT NULL)",
    "CREATE TABLE blobs (id INTEGER PRIMARY KEY, digest BLOB NOT NULL UNIQUE,"
    " data BLOB NOT NULL)",
    "CREATE TABLE entries (number INTEGER PRIMARY KEY AUTOINCREMENT, taken_at TEXT NOT NULL,"
    " interpreter TEXT NOT NULL, fingerprint_id TEXT NOT NULL, summary TEXT NOT NULL,"
    " rest BLOB NOT NULL)",
    "CREATE INDEX entries_by_interpreter ON entries (interpreter, number)",
    "CREATE TABLE entry_sections (entry INTEGER NOT NULL, key TEXT NOT NULL,"
    " blob INTEGER NOT NULL, PRIMARY KEY (entry, key)) WITHOUT ROWID",
    "INSERT INTO store_schema (version) VALUES (1)",
)
OLD_LINES = ["first entry", "OMP_NUM_THREADS 4 -> 8 [risky]", "no change",
             "torch 2.13.0+cpu -> 2.14.0 [breaking], 3 more (1 breaking, 2 risky)",
             "changed: env", "(no summary)"]


def write_schema_1(path: Path, fingerprints: list[Fingerprint], lines: list[str],
                   numbers: list[int], counter: int) -> None:
    """A schema 1 database holding ``fingerprints`` as entries ``numbers`` (the others
    pruned; the AUTOINCREMENT counter at ``counter``), stored as envcheck stored them."""
    import hashlib
    import zlib

    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), isolation_level=None)
    try:
        for statement in SCHEMA_1:
            conn.execute(statement)
        for number, fp, line in zip(numbers, fingerprints, lines):
            document = fp.data
            shared = [*SECTIONS, "errors"]
            for key in shared:
                if key not in document:
                    continue
                text = canonical_json(document[key]).encode("utf-8")
                digest = hashlib.sha256(text).digest()
                conn.execute("INSERT OR IGNORE INTO blobs (digest, data) VALUES (?, ?)",
                             (digest, zlib.compress(text, 9)))
                blob = conn.execute("SELECT id FROM blobs WHERE digest = ?",
                                    (digest,)).fetchone()[0]
                conn.execute("INSERT INTO entry_sections VALUES (?, ?, ?)", (number, key, blob))
            rest = {k: v for k, v in document.items()
                    if k not in shared and k not in ("id", "digests", "numerics_id")}
            conn.execute(
                "INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?)",
                (number, f"2026-01-{number:02d}T09:00:00.000000+00:00", "/venv/bin/python",
                 fp.id, line, zlib.compress(canonical_json(rest).encode("utf-8"), 9)))
        conn.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = 'entries'", (counter,))
    finally:
        conn.close()


def test_a_schema_1_history_is_migrated_without_losing_anything(
        home: Path, fp: Fingerprint) -> None:
    fingerprints = [variant(fp, OMP_NUM_THREADS=str(n)) for n in range(len(OLD_LINES))]
    numbers = [1, 2, 3, 5, 8, 9]  # 4, 6, 7 pruned; 10 and 11 were the newest, pruned too
    write_schema_1(home / FILENAME, fingerprints, OLD_LINES, numbers, counter=11)
    listing = run_history(home)
    assert listing.returncode == 0, listing.stderr
    assert [line.strip() for line in listing.stdout.splitlines()[1::2]] == OLD_LINES[::-1]
    assert query(home / FILENAME, "SELECT version FROM store_schema") == [(2,)]
    assert integrity(home / FILENAME) == [("ok",)]
    with History(judge=judge) as history:
        entries = history.entries()
        assert [e.number for e in entries] == numbers[::-1]
        assert [e.fingerprint_id for e in entries] == [f.id for f in fingerprints[::-1]]
        for entry, original in zip(entries, fingerprints[::-1]):
            assert history.load(entry.number) == original
        assert [e.change.recorded for e in entries] == OLD_LINES[::-1]
        # The severity counts an old line states are data now.
        assert [e.change.counts for e in entries][::-1] == [
            None, {"breaking": 0, "risky": 1, "benign": 0},
            {"breaking": 0, "risky": 0, "benign": 0},
            {"breaking": 2, "risky": 2, "benign": 0}, None, None]
        assert history.resolve("@prev") == fingerprints[-2]
        # Numbers are never reused: the counter survived the migration.
        number = history.record(bumped(fingerprints[-1], "torch", "2.14.0"), "/venv/bin/python")
        assert number == 12
        newest = history.entries(limit=1)[0]
        assert newest.change.recorded is None and newest.change.base == 9
        assert newest.change.counts == {"breaking": 1, "risky": 0, "benign": 0}
        assert entry_line(newest.change) == "torch 2.13.0+cpu -> 2.14.0 [breaking]"


def run_history(home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "envcheck", "history"], capture_output=True,
                          text=True, env=dict(os.environ, ENVCHECK_HOME=str(home)), check=False)


def test_a_schema_1_history_that_cannot_be_written_is_still_listed(
        home: Path, fp: Fingerprint, tmp_path: Path) -> None:
    fingerprints = [fp, variant(fp, OMP_NUM_THREADS="8")]
    write_schema_1(home / FILENAME, fingerprints, OLD_LINES[:2], [1, 2], counter=2)
    view = tmp_path / "read-only"
    view.mkdir()
    subprocess.run(["mount", "--bind", str(home), str(view)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(view)], check=True)
        listing = run_history(view)
        assert listing.returncode == 0, listing.stderr
        assert [line.strip() for line in listing.stdout.splitlines()[1::2]] == \
            OLD_LINES[:2][::-1]
        with History(view / FILENAME) as history:
            assert history.resolve("@prev") == fp
            number, warnings = record_safely(fp, "/venv/bin/python", path=view / FILENAME)
            assert number is None and "read-only here" in warnings[0]
    finally:
        subprocess.run(["umount", str(view)], check=True)
    assert query(home / FILENAME, "SELECT version FROM store_schema") == [(1,)]
