"""Writing results: atomic for files, in place for devices and pipes."""

from __future__ import annotations

import os
import stat
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from envcheck.errors import OutputError
from envcheck.output import write_text

from conftest import run_envcheck


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
