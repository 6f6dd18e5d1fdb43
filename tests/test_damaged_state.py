"""History and caches that hold wrong types are moved aside or rebuilt, never exit 70
(issue 13, finding 13); a read-only ENVCHECK_HOME still reads its history.

The damage is what SQLite and JSON consider valid: a blob stored as text, a document
that decodes to null or a list, a time that is not one, a cached version that is a number.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conftest import run_envcheck


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    for _ in range(2):
        result = run_envcheck("snapshot", "-o", "/dev/null", env={"ENVCHECK_HOME": str(home)})
        assert result.returncode == 0, result.stderr
    return home


DAMAGE: dict[str, Callable[[sqlite3.Connection], object]] = {
    "blob stored as text": lambda db: db.execute("UPDATE blobs SET data = 'not a blob'"),
    # The compressed bytes kept but typed TEXT: not UTF-8, so sqlite3 fails to read the row.
    "compressed blob typed as text": lambda db: db.execute(
        "UPDATE blobs SET data = CAST(data AS TEXT)"),
    "compressed rest typed as text": lambda db: db.execute(
        "UPDATE entries SET rest = CAST(rest AS TEXT)"),
    "rest is null": lambda db: db.execute("UPDATE entries SET rest = ?",
                                          (zlib.compress(b"null"),)),
    "rest is a list": lambda db: db.execute("UPDATE entries SET rest = ?",
                                            (zlib.compress(b"[1, 2]"),)),
    "section of the wrong shape": lambda db: db.execute("UPDATE blobs SET data = ?",
                                                        (zlib.compress(b'{"x": null}'),)),
    "bad taken_at": lambda db: db.execute("UPDATE entries SET taken_at = 'yesterday'"),
    "interpreter stored as a blob": lambda db: db.execute(
        "UPDATE entries SET interpreter = x'00ff'"),
    "change that is not JSON": lambda db: db.execute("UPDATE entries SET change = x'00ff'"),
    "change of the wrong shape": lambda db: db.execute(
        "UPDATE entries SET change = ?", (b'{"base": "one", "sections": []}',)),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_history_is_moved_aside_and_rebuilt(home: Path, damage: str) -> None:
    database = home / "history.sqlite3"
    with sqlite3.connect(database) as db:
        DAMAGE[damage](db)
    env = {"ENVCHECK_HOME": str(home)}
    for command in (["diff", "@prev", "."], ["history"]):
        result = run_envcheck(*command, env=env)
        assert "internal error" not in result.stderr, (command, result.stderr)
        assert result.returncode in (0, 3), (command, result.stderr)
    assert list(home.glob("history.sqlite3.corrupt-*")), "the damaged file was not moved aside"
    assert run_envcheck("snapshot", "-o", "/dev/null", env=env).returncode == 0
    again = run_envcheck("diff", "@last", ".", env=env)
    assert again.returncode == 0 and again.stderr == "", again.stderr


def _poison_caches(home: Path, poison: Callable[[dict[str, object]], object]) -> list[Path]:
    caches = sorted((home / "cache").glob("packages-*.json"))
    assert caches
    for cache in caches:
        document = json.loads(cache.read_text())
        for entry in document["dists"].values():
            entry[1] = poison(entry[1])
        cache.write_text(json.dumps(document))
    return caches


def _package_count(env: dict[str, str], *extra: str) -> int:
    result = run_envcheck("snapshot", "--no-save", "-o", "-", *extra, env=env)
    assert result.returncode == 0, result.stderr
    return len(json.loads(result.stdout)["packages"])


def _poisoned(caches: list[Path]) -> bool:
    return any('"version":5' in cache.read_text().replace(" ", "") for cache in caches)


@pytest.mark.parametrize("target", [[], ["--python", sys.executable]], ids=["here", "python"])
@pytest.mark.parametrize("poison", ["version is a number", "entry is a list"])
def test_a_damaged_package_cache_is_rebuilt(home: Path, poison: str, target: list[str]) -> None:
    env = {"ENVCHECK_HOME": str(home)}
    before = set((home / "cache").glob("packages-*.json"))
    expected = _package_count(env, "--no-cache", *target)
    own = sorted(set((home / "cache").glob("packages-*.json")) - before) or sorted(before)
    _poison_caches(home, (lambda facts: dict(facts, version=5))
                   if poison == "version is a number" else (lambda facts: [facts]))
    for memo in (home / "cache").glob("memo-*.json"):  # else the last answer is reused
        memo.unlink()                                  # and the cache is never read
    assert _package_count(env, *target) == expected  # nothing dropped, nothing refused
    assert _package_count(env, *target) == expected
    assert not _poisoned(own)


@pytest.mark.parametrize("target", [[], ["--python", sys.executable]], ids=["here", "python"])
def test_no_cache_repairs_the_cache(home: Path, target: list[str]) -> None:
    env = {"ENVCHECK_HOME": str(home)}
    _package_count(env, *target)  # the cache of this target exists
    caches = _poison_caches(home, lambda facts: dict(facts, version=5))
    _package_count(env, "--no-cache", *target)
    _package_count(env, "--no-cache")
    assert not _poisoned(caches)


@pytest.fixture
def read_only(home: Path, tmp_path: Path) -> Iterator[Path]:
    """``home`` seen through a read-only bind mount (root ignores permission bits)."""
    view = tmp_path / "read-only"
    view.mkdir()
    subprocess.run(["mount", "--bind", str(home), str(view)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(view)], check=True)
        yield view
    finally:
        subprocess.run(["umount", str(view)], check=True)


def test_a_read_only_home_still_reads_its_history(read_only: Path) -> None:
    env = {"ENVCHECK_HOME": str(read_only)}
    listing = run_envcheck("history", env=env)
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.startswith("#2 ")
    assert run_envcheck("diff", "@prev", "@last", env=env).returncode == 0
    snapshot = run_envcheck("snapshot", "-o", "/dev/null", env=env)
    assert snapshot.returncode == 0
    assert "not added to the history" in snapshot.stderr
