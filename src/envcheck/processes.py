"""The one way envcheck runs another program: bounded in time, output and lifetime.

Every child runs in a process group of its own, and that whole group is killed
on every way out: normal exit (a background process it left), a timeout, an
output over the limit, Ctrl-C, SIGTERM or SIGHUP (which the command line turns
into exceptions). stdout is read up to a limit, stderr keeps only its tail, and
once the child itself has exited, a grandchild that still holds the pipes open
gets a short grace period instead of the whole timeout: the child's output is
complete by then.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress

STDOUT_LIMIT = 64 << 20  # a probe of 10,000 distributions writes about 10 MiB
STDERR_TAIL = 64 << 10  # what error messages quote is the end
AFTER_EXIT_GRACE = 0.5  # seconds to wait for EOF once the child itself has exited
_CHUNK = 1 << 16


class Finished:
    """A child's exit status, its stdout, and the tail of its stderr. A plain class:
    ``typing.NamedTuple`` would import typing (2 ms) on the ``snapshot --python`` path."""

    __slots__ = ("returncode", "stderr", "stdout")

    def __init__(self, returncode: int, stdout: bytes, stderr: bytes) -> None:
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


class ProcessTimeout(Exception):
    """The child did not finish in time (its process group has been killed)."""


class OutputTooLarge(Exception):
    """The child wrote more than the limit to stdout (its process group has been killed)."""


def run_bounded(command: Sequence[str], input: bytes = b"", timeout: float = 60.0,
                stdout_limit: int = STDOUT_LIMIT, stderr_tail: int = STDERR_TAIL,
                env: dict[str, str] | None = None) -> Finished:
    """Run ``command`` with ``input`` on stdin; OSError if it cannot be started."""
    return finish_bounded(start_bounded(command, env=env), input, timeout, stdout_limit,
                          stderr_tail)


def start_bounded(command: Sequence[str], stdin: int | None = None,
                  env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start ``command`` in a process group of its own; :func:`finish_bounded` must follow.

    ``stdin``: a file descriptor to read (say, a memfd holding a script), else a pipe.
    """
    return subprocess.Popen(
        list(command), stdin=stdin if stdin is not None else subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, env=env)


def finish_bounded(process: subprocess.Popen[bytes], input: bytes = b"", timeout: float = 60.0,
                   stdout_limit: int = STDOUT_LIMIT,
                   stderr_tail: int = STDERR_TAIL) -> Finished:
    """Feed ``input`` (if stdin is a pipe), collect the output, kill the group on every way out."""
    deadline = time.monotonic() + timeout
    try:
        return _communicate(process, input, deadline, stdout_limit, stderr_tail)
    finally:
        _kill_group(process)


def _communicate(process: subprocess.Popen[bytes], data: bytes, deadline: float,
                 stdout_limit: int, stderr_tail: int) -> Finished:
    assert process.stdout and process.stderr
    stdout, stderr = bytearray(), bytearray()
    pending = memoryview(data)
    with selectors.DefaultSelector() as selector:
        if pending and process.stdin is not None:
            os.set_blocking(process.stdin.fileno(), False)
            selector.register(process.stdin, selectors.EVENT_WRITE)
        elif process.stdin is not None:
            process.stdin.close()
        selector.register(process.stdout, selectors.EVENT_READ, stdout)
        selector.register(process.stderr, selectors.EVENT_READ, stderr)
        exited_at: float | None = None
        while any(key.fileobj is not process.stdin for key in selector.get_map().values()):
            now = time.monotonic()
            if exited_at is None and process.poll() is not None:
                exited_at = now
            if exited_at is not None and now - exited_at > AFTER_EXIT_GRACE:
                break  # a grandchild holds the pipes; the child's own output is all here
            if now >= deadline:
                raise ProcessTimeout
            wait = deadline - now if exited_at is None else AFTER_EXIT_GRACE
            for key, _ in selector.select(min(wait, 0.1)):
                if key.fileobj is process.stdin:
                    try:
                        written = os.write(process.stdin.fileno(), pending[:_CHUNK])
                    except BrokenPipeError:  # the child stopped reading: its answer says why
                        written = len(pending)
                    pending = pending[written:]
                    if not pending:
                        selector.unregister(process.stdin)
                        process.stdin.close()
                    continue
                chunk = os.read(key.fd, _CHUNK)
                if not chunk:
                    selector.unregister(key.fileobj)
                    continue
                buffer: bytearray = key.data
                buffer += chunk
                if buffer is stdout and len(stdout) > stdout_limit:
                    raise OutputTooLarge
                if buffer is stderr and len(stderr) > 2 * stderr_tail:
                    del stderr[:-stderr_tail]
    try:  # its pipes are closed: the child has exited or is about to
        returncode = process.wait(max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired as exc:
        raise ProcessTimeout from exc
    return Finished(returncode, bytes(stdout), bytes(stderr[-stderr_tail:]))


def stop_bounded(process: subprocess.Popen[bytes]) -> None:
    """Kill a started child's group and reap it, for a caller that will not finish it."""
    _kill_group(process)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """Kill the child's whole process group and reap the child; never raises."""
    with suppress(ProcessLookupError, PermissionError):  # gone: every member has exited
        os.killpg(process.pid, signal.SIGKILL)
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            with suppress(OSError):
                stream.close()
    with suppress(subprocess.TimeoutExpired):
        process.wait(5)


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP until the block ends, then act on the first one.

    For one request that makes something outside this process (a probe container):
    cut short, the engine may still create it after this process stopped waiting, and
    nothing would be left to remove it. Outside the main thread (where Python runs
    signal handlers) the block runs as it is.
    """
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {}
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            number = getattr(signal, name)
            previous[number] = signal.getsignal(number)
            signal.signal(number, lambda signum, _frame: received.append(signum))
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if received:
            signal.raise_signal(received[0])  # now handled as it would have been
