"""The local history from the command line: snapshot records, history lists, @refs resolve."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import run_envcheck


def _home(tmp_path: Path) -> dict[str, str]:
    return {"ENVCHECK_HOME": str(tmp_path / "home")}


def test_what_changed_since_last_time(tmp_path: Path) -> None:
    env = _home(tmp_path)
    assert run_envcheck("snapshot", "-o", "/dev/null", env=env).returncode == 0
    assert run_envcheck("snapshot", "-o", "/dev/null",
                        env={**env, "TF_DETERMINISTIC_OPS": "1"}).returncode == 0
    listing = run_envcheck("history", env=env)
    assert listing.returncode == 0
    lines = listing.stdout.splitlines()
    assert lines[0].startswith("#2 ") and sys.executable in lines[0]
    assert "TF_DETERMINISTIC_OPS (none) -> 1 [breaking]" in lines[1]
    assert "first entry" in lines[3]
    since = run_envcheck("diff", "@prev", "@last", env=env)
    assert since.returncode == 1
    assert "env.TF_DETERMINISTIC_OPS: (none) -> 1" in since.stdout
    now = run_envcheck("diff", "@prev", ".", env=env)  # this environment matches @prev
    assert now.returncode == 0 and "No differences." in now.stdout


def test_no_save_and_an_empty_history(tmp_path: Path) -> None:
    env = _home(tmp_path)
    assert run_envcheck("snapshot", "--no-save", "-o", "/dev/null", env=env).returncode == 0
    empty = run_envcheck("history", env=env)
    assert empty.stdout == "" and "no snapshots in the history yet" in empty.stderr
    missing = run_envcheck("diff", "@prev", ".", env=env)
    assert missing.returncode == 3
    assert missing.stderr.startswith("envcheck: @prev: ")


def test_a_corrupt_history_never_fails_a_snapshot(tmp_path: Path) -> None:
    env = _home(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    (home / "history.sqlite3").write_bytes(b"this is not a database" * 100)
    result = run_envcheck("snapshot", "-o", "/dev/null", env=env)
    assert result.returncode == 0
    assert "moved aside" in result.stderr or "corrupt" in result.stderr
    assert len(run_envcheck("history", env=env).stdout.splitlines()) == 2
    assert list(home.glob("history.sqlite3.corrupt-*"))


def test_concurrent_snapshots_lose_no_entry(tmp_path: Path) -> None:
    env = _home(tmp_path)
    processes = [subprocess.Popen([sys.executable, "-m", "envcheck", "snapshot", "-o",
                                   os.devnull], env={**os.environ, **env},
                                  stderr=subprocess.PIPE)
                 for _ in range(8)]
    errors = [p.communicate(timeout=300)[1].decode() for p in processes]
    assert all(p.returncode == 0 for p in processes)
    assert not any("history" in e for e in errors), errors
    listing = run_envcheck("history", "-n", "100", env=env).stdout.splitlines()
    assert len(listing) == 16


def test_prune(tmp_path: Path) -> None:
    env = _home(tmp_path)
    for _ in range(3):
        run_envcheck("snapshot", "-o", "/dev/null", env=env)
    pruned = run_envcheck("history", "--prune", "--keep", "1", env=env)
    assert pruned.returncode == 0 and "removed 2 entries" in pruned.stderr
    assert len(run_envcheck("history", env=env).stdout.splitlines()) == 2
    assert run_envcheck("history", "--keep", "1", env=env).returncode == 2


def test_check_against_an_earlier_snapshot(tmp_path: Path) -> None:
    env = _home(tmp_path)
    assert run_envcheck("snapshot", "-o", "/dev/null", env=env).returncode == 0
    same = run_envcheck("check", "@last", env=env)
    assert same.returncode == 0, same.stderr
    drifted = run_envcheck("check", "@last", env={**env, "XLA_FLAGS": "--xla_cpu_fast_math"})
    assert drifted.returncode == 1
    assert "env.XLA_FLAGS" in drifted.stdout


def test_history_of_an_interpreter_named_by_command(tmp_path: Path) -> None:
    env = _home(tmp_path)
    bindir = str(Path(sys.executable).parent)
    path_env = {**env, "PATH": f"{bindir}:{os.environ['PATH']}"}
    assert run_envcheck("snapshot", "--python", "python", "-o", "/dev/null",
                        env=path_env).returncode == 0
    again = run_envcheck("diff", "@last", ".", "--python", "python", env=path_env)
    assert again.returncode == 0, again.stderr
