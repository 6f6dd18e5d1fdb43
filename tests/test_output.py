"""Writing results: atomic for files, in place for devices and pipes."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from envcheck.errors import OutputError
from envcheck.output import write_text

from conftest import DATA, run_envcheck


def test_regular_file_is_replaced_whole(tmp_path: Path) -> None:
    target = tmp_path / "lock.json"
    target.write_text("old contents that are longer than the new ones\n")
    write_text(str(target), "new\n")
    assert target.read_text() == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["lock.json"]


def _read_through_fifo(fifo: Path, write: Callable[[], object], seconds: float) -> list[bytes]:
    """Create ``fifo``, run ``write()`` while a thread reads it; what the reader got."""
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    write()
    reader.join(seconds)
    return received


def test_fifo_is_written_in_place_not_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    received = _read_through_fifo(fifo, lambda: write_text(str(fifo), "through the pipe\n"), 10)
    assert received == [b"through the pipe\n"]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_cli_output_to_a_fifo_keeps_the_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    results: list[subprocess.CompletedProcess[str]] = []
    received = _read_through_fifo(
        fifo, lambda: results.append(run_envcheck("snapshot", "-o", str(fifo))), 60)
    (result,) = results
    assert result.returncode == 0, result.stderr
    assert received and received[0].startswith(b"{")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_missing_directory_is_an_output_error(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="cannot write"):
        write_text(str(tmp_path / "no" / "such" / "dir.json"), "x")
    assert list(tmp_path.iterdir()) == []


def test_a_symlink_is_written_through_and_permissions_kept(tmp_path: Path) -> None:
    target = tmp_path / "real.json"
    target.write_text("old")
    target.chmod(0o600)
    link = tmp_path / "link.json"
    link.symlink_to(target)
    write_text(str(link), "new")
    assert link.is_symlink() and target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_a_leftover_temporary_of_the_same_pid_does_not_block_writes(tmp_path: Path) -> None:
    """In a container envcheck is PID 1 on every run: a crashed run's temporary file
    named by the PID alone would block every later write (issue 13, finding 7)."""
    target = tmp_path / "lock.json"
    leftover = tmp_path / f".lock.json.{os.getpid()}.tmp"
    leftover.write_text("left by a killed run")
    write_text(str(target), "new\n")
    write_text(str(target), "newer\n")
    assert target.read_text() == "newer\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["lock.json", leftover.name])


def test_full_disk_on_stdout_is_exit_4() -> None:
    """``-o - > /dev/full`` is an output error (4), not an internal one (issue 13, 14)."""
    with open("/dev/full", "w") as full:
        for args in (["snapshot", "-o", "-", "--no-save"], ["rules"],
                     ["diff", str(DATA / "fake-2xa100.json"), str(DATA / "cpu-torch.json")]):
            result = subprocess.run([sys.executable, "-m", "envcheck", *args], stdout=full,
                                    stderr=subprocess.PIPE, text=True, check=False)
            assert result.returncode == 4, (args, result.stderr)
            assert result.stderr.startswith("envcheck: stdout: cannot write (No space left")
            assert "Traceback" not in result.stderr
