"""The one command that must not wait for click, and what every command shares on output.

``envcheck snapshot`` is the step at the start of training jobs and CI runs, and
importing click costs about 40 ms on a 2-core VM: more than taking the snapshot.
So :func:`envcheck.entry.main` parses the everyday forms of ``snapshot`` here (the options in
``QUICK_OPTIONS``, each given once) and runs them without importing click.
Everything else (``--help``, other commands, other options, anything odd) goes
to the click application in :mod:`envcheck.cli`, which defines every option and
its help. Both run :func:`run_snapshot`; a property test checks that this
parser and click agree on every argument list this one accepts.

With :mod:`envcheck.cli`, the only module that writes to stdout and stderr or
chooses an exit code.
"""

from __future__ import annotations

import contextlib
import os
import sys

from .errors import EnvcheckError, ExitCode, OutputError, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing itself costs milliseconds at startup
    from collections.abc import Callable, Iterator, Sequence
    from typing import Any

# The parameters of ``envcheck snapshot`` as click names them, with their defaults;
# cli.py takes its defaults from here.
SNAPSHOT_DEFAULTS: dict[str, Any] = {
    "python": None, "output": None, "fmt": "text", "timeout": 120.0, "nvml_timeout": 5.0,
    "no_cache": False, "image": None, "container_name": None, "image_python": None,
    "gpus": False, "no_save": False, "deep": False, "numerics": False, "numerics_timeout": 120.0,
}
# Option spelling -> (parameter, the values it accepts, or None for any / a flag's value).
QUICK_OPTIONS: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "-o": ("output", None), "--output": ("output", None),
    "--format": ("fmt", ("text", "json")),
    "--python": ("python", None),
}
QUICK_FLAGS: dict[str, str] = {"--no-save": "no_save", "--no-cache": "no_cache"}


# A message quotes what it is about (a line of a lock, a value of a document): a hostile
# document's 3 MB line is cut in the middle, keeping the start (what) and end (why).
MESSAGE_LIMIT = 1000


def warn(message: str) -> None:
    """``envcheck: message`` on stderr; the message is escaped for a terminal first."""
    # Messages quote file names, versions and tool output: no control character passes.
    # Printable ASCII has none (the everyday "wrote PATH"): no escaper to load for it.
    if message.isascii() and message.isprintable():
        text = message
    else:
        from .render.escape import terminal

        text = terminal(message)
    if len(text) > MESSAGE_LIMIT:
        half = MESSAGE_LIMIT // 2
        text = f"{text[:half]} ... {text[-half:]}"
    _write(sys.stderr, f"envcheck: {text}\n")


def write_stdout(text: str) -> None:
    _write(sys.stdout, text)


# Set by the SIGPIPE handler when stdout's reader went away (see install_signal_policy).
_STDOUT_CUT: list[bool] = []


def _write(stream: Any, text: str) -> None:
    try:
        _write_encoded(stream, text)
        if _STDOUT_CUT and stream is sys.stdout:
            raise StdoutClosed
    except BrokenPipeError:
        if stream is sys.stderr:
            return  # nowhere left to say anything
        raise
    except OSError as exc:  # a full disk (> /dev/full), an I/O error
        if stream is sys.stderr:
            return
        raise OutputError(f"stdout: cannot write ({exc.strerror or exc})") from exc


def _write_encoded(stream: Any, text: str) -> None:
    try:
        stream.write(text)
    except UnicodeEncodeError:
        # A stream set to ASCII or Latin-1 (LANG=C on an old system): UTF-8 bytes
        # underneath, as click does, so JSON on stdout stays JSON.
        buffer = getattr(stream, "buffer", None)
        if buffer is None:
            encoding = stream.encoding or "ascii"
            stream.write(text.encode(encoding, "backslashreplace").decode(encoding))
        else:
            stream.flush()
            buffer.write(text.encode("utf-8", "surrogateescape"))
    stream.flush()


def write_output(text: str, destination: str) -> None:
    """Write ``text`` to ``destination`` (``-`` is stdout)."""
    if destination == "-":
        write_stdout(text)
        return
    from .output import write_text

    write_text(destination, text)


def default_python() -> str | None:
    """The interpreter a command fingerprints when none is given (None: this one).

    The active virtualenv or conda env when envcheck runs outside it; stderr says so.
    """
    from .sources.live import default_target

    target = default_target()
    if target.note:
        warn(target.note)
    return target.python


def quick_snapshot_params(args: Sequence[str]) -> dict[str, Any] | None:
    """The parameters of ``snapshot ARGS`` when this parser may handle them, else None.

    Accepted: ``snapshot`` then the options of ``QUICK_OPTIONS`` (``--opt VALUE`` or
    ``--opt=VALUE``) and ``QUICK_FLAGS``, each at most once, values not starting
    with ``-`` (except ``-`` itself). Anything else is click's to parse or reject.
    """
    if not args or args[0] != "snapshot":
        return None
    params = dict(SNAPSHOT_DEFAULTS)
    seen: set[str] = set()
    rest = list(args[1:])
    while rest:
        token = rest.pop(0)
        name, has_value, value = token.partition("=")
        if name in QUICK_FLAGS and not has_value:
            parameter = QUICK_FLAGS[name]
            params[parameter] = True
        elif name in QUICK_OPTIONS and (not has_value or name.startswith("--")):
            parameter, choices = QUICK_OPTIONS[name]
            if not has_value:
                if not rest:
                    return None
                value = rest.pop(0)
            if not value or (value.startswith("-") and value != "-"):
                return None
            if choices is not None and value not in choices:
                return None
            params[parameter] = value
        else:
            return None
        if parameter in seen:
            return None
        seen.add(parameter)
    return params


def run_snapshot(python: str | None, output: str | None, fmt: str, timeout: float,
                 nvml_timeout: float, no_cache: bool, image: str | None,
                 container_name: str | None, image_python: str | None, gpus: bool,
                 no_save: bool, deep: bool, numerics: bool = False,
                 numerics_timeout: float = 120.0) -> None:
    """``envcheck snapshot``, whichever parser read the options."""
    from .sources.live import live

    if sum(x is not None for x in (python, image, container_name)) > 1:
        raise UsageError("choose one of --python, --image and --container")
    if (gpus or image_python) and not (image or container_name):
        raise UsageError("--gpus and --image-python go with --image or --container")
    if gpus and container_name:
        raise UsageError("--gpus goes with --image (a running container has its devices)")
    if deep and (image or container_name):
        raise UsageError("--deep reads installed files: not with --image or --container")
    canaries = numerics_timeout if numerics else None
    spec = None
    if image or container_name:
        from .sources.docker import container

        spec = f"docker:{image}" if image else f"docker-container:{container_name}"
        fingerprint = container(spec, python=image_python, timeout=timeout,
                                nvml_timeout=nvml_timeout, gpus=gpus, numerics_timeout=canaries)
    else:
        if python is None:
            python = default_python()
        fingerprint = live(python, timeout=timeout, nvml_timeout=nvml_timeout,
                           use_cache=not no_cache, numerics_timeout=canaries)
    if deep:
        from .audit import with_file_changes
        from .verify import verify_interpreter

        with progress_bar("verifying") as progress:
            report = verify_interpreter(python, progress=progress)
        fingerprint = with_file_changes(fingerprint, report)
    if not no_save:
        from .history_summary import judge
        from .sources.history import history_key
        from .store import record_safely

        for warning in record_safely(fingerprint, history_key(fingerprint, spec),
                                     judge=judge)[1]:
            warn(warning)
    if output is not None:
        write_output(fingerprint.to_json(), output)
        if output != "-":
            warn(f"wrote {output} (fingerprint {fingerprint.short_id})")
        return
    if fmt == "json":
        write_stdout(fingerprint.to_json())
        return
    from .render.snapshot_text import render_snapshot

    write_stdout(render_snapshot(fingerprint))


@contextlib.contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int], None]]:
    """A progress callback that shows a bar on stderr once a terminal has waited 0.5 s."""
    import time

    started, bar = time.monotonic(), None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None and sys.stderr.isatty() and time.monotonic() - started > 0.5:
            import click  # only on a terminal, after half a second

            bar = click.progressbar(length=total, label=label, file=sys.stderr)
            bar.__enter__()
        if bar is not None:
            bar.update(done - bar.pos)

    try:
        yield progress
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)


class StdoutClosed(Exception):
    """stdout's reader went away; raised past click, which would exit 1 for it."""


class Interrupted(BaseException):
    """Ctrl-C carried past click, which would print an empty line before its own abort."""


class Terminated(BaseException):
    """SIGTERM or SIGHUP (``timeout``, a cancelled CI job, a closed terminal), raised like
    Ctrl-C so that every ``finally`` runs: probe processes killed, containers removed."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"signal {signum}")
        self.signum = signum


def _stdout_reader_gone() -> bool:
    """Whether stdout is a pipe or socket whose reader has gone (poll reports an error)."""
    import select

    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no poll, or no real stdout
        return False


def install_signal_policy() -> None:
    """The command line's signals: SIGTERM and SIGHUP end a command like Ctrl-C does (exit
    128 + the signal, cleanup included); SIGPIPE for stdout becomes exit 141.

    Python ignores SIGPIPE and relies on EPIPE, but a write that the reader cut short can
    return as if complete and lose the rest silently; the signal is the reliable news.
    Only for the command line: a library must leave a training script's handlers alone.
    """
    import signal

    def terminate(signum: int, _frame: object) -> None:
        for name in ("SIGTERM", "SIGHUP"):  # once: the cleanup must not be cut short
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), signal.SIG_IGN)
        raise Terminated(signum)

    def pipe(_signum: int, _frame: object) -> None:
        if _stdout_reader_gone():  # not a socket of ours (the Docker engine, GitHub)
            _STDOUT_CUT.append(True)  # raised by _write, never from inside a handler

    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), terminate)
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, pipe)


def _discard_stdout() -> None:
    import signal

    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (AttributeError, OSError, ValueError):
        pass  # no real stdout: nothing will be flushed to it


def guarded(run: Callable[[], int]) -> int:
    """Run a command: an envcheck error becomes one line on stderr and its exit code."""
    try:
        return run()
    except Terminated as exc:
        warn(f"terminated by signal {exc.signum}")
        return 128 + exc.signum
    except EnvcheckError as exc:
        warn(str(exc))
        return int(exc.exit_code)
    except (BrokenPipeError, StdoutClosed):
        # Output piped into ``head``: no traceback, and the status a shell gives a
        # process that SIGPIPE ended (not 0, which would say "no drift"). What is still
        # buffered goes nowhere: flushing it at exit would fail (and signal) once more.
        _discard_stdout()
        sys.stderr.close()
        return int(ExitCode.BROKEN_PIPE)
    except (KeyboardInterrupt, Interrupted):
        warn("aborted")
        return int(ExitCode.ABORTED)
    except Exception as exc:  # a bug: still one line, and never exit 1 (which means drift)
        if os.environ.get("ENVCHECK_DEBUG"):
            raise
        warn(f"internal error: {type(exc).__name__}: {exc} (set ENVCHECK_DEBUG=1 for the "
             "traceback, and please report it)")
        return int(ExitCode.INTERNAL)
