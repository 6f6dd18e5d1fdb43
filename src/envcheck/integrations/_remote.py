"""Fingerprint the members of a cluster through the cluster itself (Dask, Ray).

The task shipped to a member runs the probe script in a child of that member's
own interpreter, as ``--python`` does, so nothing needs envcheck installed on
the workers and the worker process itself imports nothing. The task is compiled
here into a module that is not importable, so cloudpickle (which Dask and Ray
both use) sends it by value rather than by reference to ``envcheck``. The
child is run by :mod:`envcheck.processes`, whose source is compiled into that
same module: on the worker as here, the probe's whole process group goes on a
timeout, and its output is capped.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

from .. import __version__, processes
from ..model import Fingerprint
from ..remote import parse_output, probe_script

ProbeResult = tuple[int, str, str]
ProbeTask = Callable[[str, float, float], ProbeResult]

DEFAULT_TIMEOUT = 120.0
DEFAULT_NVML_TIMEOUT = 5.0

_TASK_MODULE = "envcheck_cluster_task"  # never in sys.modules: pickled by value
# Follows the source of envcheck.processes in the task's module (run_bounded and its
# exceptions are that module's).
_TASK = '''

def envcheck_probe(script, nvml_timeout, timeout):
    import sys
    command = [sys.executable, "-", "--nvml-timeout", str(nvml_timeout)]
    try:
        done = run_bounded(command, script.encode("utf-8"), timeout=timeout)
    except ProcessTimeout:
        return (-1, "", "the probe did not finish within %g s" % timeout)
    except OutputTooLarge:
        return (-1, "", "the probe wrote more than it ever should (stopped reading)")
    except OSError as exc:
        return (-1, "", "cannot start %s: %s" % (sys.executable, exc))
    return (done.returncode, done.stdout.decode("utf-8", "replace"),
            done.stderr.decode("utf-8", "replace"))
'''


def probe_task() -> ProbeTask:
    """A function to run on a member: ``task(probe_script(), nvml_timeout, timeout)``."""
    namespace: dict[str, object] = {"__name__": _TASK_MODULE}
    source = inspect.getsource(processes) + _TASK
    exec(compile(source, f"<{_TASK_MODULE}>", "exec"), namespace)
    task: ProbeTask = namespace["envcheck_probe"]  # type: ignore[assignment]
    return task


def probe_arguments(timeout: float = DEFAULT_TIMEOUT,
                    nvml_timeout: float = DEFAULT_NVML_TIMEOUT) -> tuple[str, float, float]:
    return probe_script(), nvml_timeout, timeout


def to_fingerprint(result: object, what: str) -> Fingerprint:
    """A member's task result as a fingerprint, or a TargetError naming the member."""
    from ..errors import TargetError

    if not (isinstance(result, tuple) and len(result) == 3):
        raise TargetError(f"{what}: the probe task returned {type(result).__name__}, "
                          "not its output")
    returncode, stdout, stderr = result
    return Fingerprint.from_probe(parse_output(int(returncode), str(stdout), str(stderr), what),
                                  __version__)
