"""Numeric canaries: what this environment actually computes, bit for bit.

The canaries run in a child process of the interpreter being described (never
in envcheck's own, so a plain snapshot imports no framework), fed on stdin like
the probe itself. The child streams one JSON event per line; a canary still
running when ``timeout`` expires becomes an ``errors`` entry, and everything
measured before it is kept.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import subprocess
import sys

from .. import _bundle
from .._common import redact

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, Iterator, List, Mapping, Optional

    from .._common import Errors

# Bumped when a canary's inputs or computation change: digests of another version are
# not comparable.
CANARY_VERSION = 1
CHILD_PACKAGE = "envcheck_numerics"
CHILD_MODULES = ("canary", "generator", "threads", "runtime", "cpu_numpy", "cpu_torch",
                 "cpu_tensorflow", "cpu_jax", "gpu_torch", "child")
MAX_OUTPUT = 16 << 20


def child_script() -> str:
    """The canary child as one script: runs in any CPython >= 3.8 with nothing installed."""
    sources = {CHILD_PACKAGE: ""}
    for module in CHILD_MODULES:
        name = "%s.%s" % (__name__, module)
        spec = importlib.util.find_spec(name)
        source = spec.loader.get_source(name) if spec and spec.loader else None  # type: ignore[attr-defined]
        if source is None:
            raise RuntimeError("cannot read the source of %s" % name)
        sources["%s.%s" % (CHILD_PACKAGE, module)] = source
    return _bundle.script(sources, [CHILD_PACKAGE], CHILD_PACKAGE + ".child")


def _signal_name(returncode: int) -> str:
    import signal

    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return "signal %d" % -returncode


def run_child(python: str, timeout: float, env: Optional[Mapping[str, Optional[str]]] = None,
              only: Optional[List[str]] = None, flags: bool = True) -> Dict[str, Any]:
    """Run the canaries with ``python`` and return the ``numerics`` section.

    ``env``: variables to set (a value) or unset (None) for the child only; ``only``:
    canary names to run, or ``numpy.*`` for a framework's (default all); ``flags``: also
    run each twice and with one thread. Failures are entries of the section's ``errors``,
    never exceptions.
    """
    environ = dict(os.environ)
    for name, value in (env or {}).items():
        if value is None:
            environ.pop(name, None)
        else:
            environ[name] = value
    environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # logging only: TensorFlow is chatty
    options = json.dumps({"only": only, "flags": flags})
    process = None
    timed_out = False
    try:
        with _signals_held():  # a signal now would orphan the child: it waits for ``process``
            process = subprocess.Popen(
                [python, "-", options], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, env=environ, start_new_session=True)
        try:
            out, err = process.communicate(child_script().encode("utf-8"), timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(process)
            out, err = process.communicate()
    except OSError as exc:
        return _section([], [{"section": "numerics", "kind": "error",
                              "message": "cannot start %s: %s" % (python, exc)}])
    finally:  # every way out, Ctrl-C and SIGTERM included: its whole group goes
        if process is not None:
            _kill_group(process)
    events = _events(out[:MAX_OUTPUT])
    errors = [e["error"] for e in events if isinstance(e.get("error"), dict)]
    done = any(e.get("done") for e in events)
    if not done:
        running = next((e["start"] for e in reversed(events) if "start" in e), "start-up")
        if timed_out:
            message = "%s did not finish within %g s; later canaries did not run" % (
                running, timeout)
            errors.append({"section": "numerics", "kind": "timeout", "message": message})
        else:
            why = (_signal_name(process.returncode) if process.returncode < 0
                   else "exit %d" % process.returncode)
            last = err.decode("utf-8", "replace").strip().splitlines()
            errors.append({"section": "numerics", "kind": "error",
                           "message": "the canary child died (%s) in %s%s" % (
                               why, running, ": " + last[-1][:300] if last else "")})
    return _section(events, errors)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP until the block ends, then act on the first one.

    envcheck's ``processes`` module is the policy for envcheck's own children; the probe
    runs alone in other interpreters and cannot import it, so the canary child follows
    the same three rules here: a process group of its own, that group killed on every
    way out, signals held while the child is started. Where the probe itself is killed
    outright (SIGKILL of its group), the child notices that its parent is gone and exits
    (``child.main``). Outside the main thread (no signal handlers there) it holds nothing.
    """
    import signal
    import threading

    held: List[int] = []
    previous: Dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for name in ("SIGINT", "SIGTERM", "SIGHUP"):
            number = getattr(signal, name, None)
            if number is not None:
                previous[number] = signal.getsignal(number)
                signal.signal(number, lambda signum, _frame: held.append(signum))
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if held:
            signal.raise_signal(held[0])  # handled now as it would have been


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """Kill the child's process group (what it left running too) and reap it."""
    import signal

    with contextlib.suppress(ProcessLookupError, PermissionError):  # all have exited
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(5)


def _events(out: bytes) -> List[Dict[str, Any]]:
    events = []
    for line in out.decode("utf-8", "replace").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue  # a line cut by a kill
        if isinstance(event, dict):
            events.append(event)
    return events


def _section(events: List[Dict[str, Any]], errors: List[Dict[str, Any]]) -> Dict[str, Any]:
    canaries: Dict[str, Any] = {}
    runtime: Dict[str, Any] = {}
    settings: Dict[str, Optional[str]] = {}
    imports: Dict[str, Any] = {}
    for event in events:
        if "canary" in event and isinstance(event.get("record"), dict):
            canaries[str(event["canary"])] = event["record"]
        elif "runtime" in event:
            runtime[str(event["runtime"])] = event.get("facts")
        elif isinstance(event.get("settings"), dict):
            settings = {str(k): None if v is None else redact(str(v))
                        for k, v in event["settings"].items()}
        elif "imported" in event:
            imports[str(event["imported"])] = event.get("time_ms")
    return {"version": CANARY_VERSION, "canaries": dict(sorted(canaries.items())),
            "runtime": runtime, "settings": settings, "import_ms": imports,
            "errors": errors}


def collect_numerics(errors: Errors, timeout: float) -> Dict[str, Any]:
    """The ``numerics`` section for this interpreter; its failures join the snapshot's errors."""
    section = run_child(sys.executable, timeout)
    for entry in section.pop("errors"):
        errors.add(str(entry.get("section")), str(entry.get("message")),
                   str(entry.get("kind", "error")))
    return section
