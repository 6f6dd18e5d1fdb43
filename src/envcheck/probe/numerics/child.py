"""The canary child: imports the installed frameworks, runs their canaries, reports.

Runs in a child process of the target interpreter (never in envcheck's own): it
is the only place that imports numpy, torch, TensorFlow or JAX. Each event is
one JSON line on the original stdout, written as it happens, so a parent that
stops waiting still has every result up to the canary that hung. Anything the
frameworks print goes to stderr.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
import time

from .canary import measure

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional, TextIO

# (module to import, canary module of this package): in this order.
FRAMEWORKS = (("numpy", "cpu_numpy"), ("torch", "cpu_torch"),
              ("tensorflow", "cpu_tensorflow"), ("jax", "cpu_jax"))
# The settings recorded with the results: what ``explain`` may set to another value.
SETTINGS = (
    "OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
    "MKL_CBWR", "MKL_ENABLE_INSTRUCTIONS", "MKL_DYNAMIC", "ONEDNN_MAX_CPU_ISA",
    "DNNL_MAX_CPU_ISA", "ONEDNN_DEFAULT_FPMATH_MODE", "NPY_DISABLE_CPU_FEATURES",
    "NPY_ENABLE_CPU_FEATURES", "TF_ENABLE_ONEDNN_OPTS", "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS", "TF_DETERMINISTIC_OPS", "ATEN_CPU_CAPABILITY",
    "NVIDIA_TF32_OVERRIDE", "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE", "XLA_FLAGS",
    "JAX_DEFAULT_MATMUL_PRECISION", "JAX_ENABLE_X64", "CUBLAS_WORKSPACE_CONFIG",
)


class Events:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def emit(self, **event: Any) -> None:
        self.stream.write(json.dumps(event, sort_keys=True) + "\n")
        self.stream.flush()

    def error(self, section: str, exc: BaseException) -> None:
        self.emit(error={"section": section, "kind": "error",
                         "message": "%s: %s" % (type(exc).__name__, exc)})


def _wanted(prefix: str, only: Optional[List[str]]) -> bool:
    return only is None or any(name.startswith(prefix + ".") for name in only)


def _run_module(events: Events, package: str, framework: str, module_name: str,
                only: Optional[List[str]], flags: bool) -> None:
    events.emit(start="import " + framework)
    started = time.perf_counter()
    try:
        module = importlib.import_module(package + "." + module_name)
        canaries = module.canaries()
    except Exception as exc:
        events.error("numerics." + framework, exc)
        return
    events.emit(imported=framework, time_ms=round((time.perf_counter() - started) * 1000, 2))
    for name, compute, one_thread in canaries:
        if only is not None and name not in only and name.split(".")[0] + ".*" not in only:
            continue
        events.emit(start=name)
        try:
            record = measure(compute, one_thread, flags)
        except Exception as exc:
            events.error(name, exc)
        else:
            events.emit(canary=name, record=record)
    try:
        events.emit(runtime=framework, facts=module.runtime())
    except Exception as exc:
        events.error("numerics.runtime." + framework, exc)


def _exit_with_parent() -> None:
    """Exit, with all it started, once the parent is gone. The child leads a process
    group of its own (so the parent can kill all it starts); a parent killed outright
    (SIGKILL of the probe's group) cannot take it along, so the child watches for its
    own adoption and then ends its group itself."""
    import signal
    import threading

    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(0.2)
            if os.getppid() != parent:
                if os.getpgrp() == os.getpid():  # its own group: nothing else is in it
                    os.killpg(os.getpid(), signal.SIGKILL)
                os._exit(1)

    threading.Thread(target=watch, name="envcheck-parent-watch", daemon=True).start()


def main() -> int:
    _exit_with_parent()
    options: Dict[str, Any] = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    only: Optional[List[str]] = options.get("only")
    flags = bool(options.get("flags", True))
    # Our events keep the real stdout; whatever a framework prints goes to stderr.
    events = Events(os.fdopen(os.dup(1), "w", encoding="utf-8"))
    os.dup2(2, 1)
    package = __name__.rsplit(".", 1)[0]
    events.emit(settings={name: os.environ.get(name) for name in SETTINGS})
    for framework, module_name in FRAMEWORKS:
        if _wanted(framework, only) and importlib.util.find_spec(framework) is not None:
            _run_module(events, package, framework, module_name, only, flags)
    if _wanted("torch", only) and "torch" in sys.modules:
        try:
            gpu = importlib.import_module(package + ".gpu_torch")
            if gpu.available():
                _run_module(events, package, "gpu", "gpu_torch", only, flags)
        except Exception as exc:
            events.error("numerics.gpu", exc)
    from . import runtime

    for name, collect in (("blas", runtime.blas), ("libraries", runtime.libraries)):
        try:
            events.emit(runtime=name, facts=collect())
        except Exception as exc:
            events.error("numerics.runtime." + name, exc)
    events.emit(done=True)
    return 0
