"""Hashing files on every core, largest first, into reused buffers."""

from __future__ import annotations

import base64
import hashlib
import itertools
import os
import threading
from typing import Union

from .common import (
    _OPEN_FLAGS,
    BLOCK,
    Progress,
)

# --------------------------------------------------------------------------- hashing


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # type: ignore[attr-defined,unused-ignore]
    except (AttributeError, OSError):
        return os.cpu_count() or 1


_readv = getattr(os, "readv", None)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _hash_file(path: str, algo: str, size: int, view: memoryview, done: list[int], slot: int,
               stop: threading.Event) -> str:
    """``algo=digest`` of one file, reading to its end even if it grew since the stat."""
    fd = os.open(path, _OPEN_FLAGS)
    try:
        digest = hashlib.sha256() if algo == "sha256" else hashlib.new(algo)
        if size < BLOCK:
            data = os.read(fd, size + 1)
            digest.update(data)
            done[slot] += len(data)
            if len(data) == size:  # the whole file, as stat saw it: one read
                return f"{algo}={_b64(digest.digest())}"
            # Grown, shrunk or a short read: read on to the end.
        elif hasattr(os, "posix_fadvise"):
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
        while not stop.is_set():
            if _readv is not None:
                count = _readv(fd, [view])
                if not count:
                    break
                digest.update(view[:count])
            else:  # no readv (Windows): a fresh buffer per block
                chunk = os.read(fd, BLOCK)
                if not chunk:
                    break
                count = len(chunk)
                digest.update(chunk)
            done[slot] += count
        return f"{algo}={_b64(digest.digest())}"
    finally:
        os.close(fd)


_Job = tuple[str, str, int]  # absolute path, algorithm, size at stat
_Outcome = Union[str, OSError, None]  # "algo=digest", why it could not be read, or not run


def _hash_all(jobs: list[_Job], workers: int, progress: Progress | None, done_before: int,
              total: int) -> list[_Outcome]:
    """Hash ``jobs`` (sorted largest first) on ``workers`` threads."""
    results: list[_Outcome] = [None] * len(jobs)
    if not jobs:
        return results
    counter = itertools.count()  # next() is atomic under the GIL: a lock-free work queue
    done = [0] * workers
    stop = threading.Event()
    failures: list[BaseException] = []

    def work(slot: int) -> None:
        view = memoryview(bytearray(BLOCK))
        try:
            while not stop.is_set():
                index = next(counter)
                if index >= len(jobs):
                    return
                path, algo, size = jobs[index]
                try:
                    results[index] = _hash_file(path, algo, size, view, done, slot, stop)
                except OSError as exc:
                    results[index] = exc
        except BaseException as exc:  # pragma: no cover - MemoryError and the like
            failures.append(exc)
            stop.set()

    threads = [threading.Thread(target=work, args=(slot,), name=f"envcheck-verify-{slot}",
                                daemon=True) for slot in range(min(workers, len(jobs)))]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            while thread.is_alive():
                thread.join(0.1 if progress is not None else None)
                if progress is not None:
                    progress(min(done_before + sum(done), total), total)
    except BaseException:
        stop.set()  # Ctrl-C or a failing callback: the workers stop at their next block
        raise
    if failures:
        raise failures[0]
    return results
