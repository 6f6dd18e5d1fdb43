"""The probe: the agent that describes the environment it runs in.

Standard library only, CPython 3.8 or newer, no printing except in ``main``
(the entry point when fed to another interpreter on stdin). It never imports
torch, tensorflow, jax or numpy and never creates a CUDA context. Every part
that fails becomes an entry in ``errors``; the probe itself does not fail.
"""

from __future__ import annotations

import functools
import json
import sys
import time

from . import _common
from ._common import Errors, Witness, uname
from .cpu import collect_cpu
from .environ import collect_env
from .gpus import collect_nvml
from .system import collect_os

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds at start-up; annotations are strings
    from typing import Any, Callable, Dict, List, Optional

    from ._common import JSONDict

PROBE_VERSION = 1
# The line before the JSON document when the probe runs in another process, so
# anything a sitecustomize prints on stdout cannot be mistaken for the result.
OUTPUT_MARKER = "----- envcheck probe output -----"


# The sections that describe the target (its interpreter and what is installed for it),
# read from files and variables that a Witness can note. The machine's sections (GPUs and
# the driver through NVML, CPU, OS, the environment's settings) are read afresh every time.
TARGET_SECTIONS = ("python", "packages", "frameworks", "cuda", "conda", "system_packages")


def _timed(errors: Errors, timings: Dict[str, float], section: str, func: Callable[[], Any],
           default: Any) -> Any:
    """Run one collector (a failure is an ``errors`` entry) and keep its time in ms."""
    start = time.perf_counter()
    value = errors.guard(section, func, default)
    timings[section] = round((time.perf_counter() - start) * 1000, 2)
    return value


def collect_target(errors: Errors, timings: Dict[str, float], paths: Optional[List[str]] = None,
                   cache_path: Optional[str] = None, fresh_cache: bool = False,
                   witness: Optional[Witness] = None, nvml_timeout: float = 5.0) -> JSONDict:
    """The target's sections (``TARGET_SECTIONS``); with ``witness``, every file and
    variable they were read from is noted there (see ``envcheck.memo``)."""
    timed = functools.partial(_timed, errors, timings)
    # Imported here: a snapshot whose target answer is reused (envcheck.memo) reads only
    # the machine's sections, and these modules are most of the probe's import time.
    from .conda import collect_conda
    from .cuda import collect_cuda, loader_dirs
    from .frameworks import collect_frameworks
    from .linked import framework_libraries
    from .packages import PackageCache, collect_packages, load_cache, save_cache
    from .system import collect_python, note_interpreter
    from .system_packages import collect_system_packages

    search_path = list(sys.path) if paths is None else paths
    # Read before the witness starts: envcheck's own cache is no input of the answer.
    cache = (PackageCache() if fresh_cache else load_cache(cache_path)) if cache_path else None
    _common.WITNESS = witness
    try:
        if witness is not None:
            try:
                note_interpreter()
            except Exception as exc:  # a witness without the interpreter's identity
                witness.incomplete = True
                errors.add("python", "noting the interpreter: %s: %s"
                           % (type(exc).__name__, exc))
        packages = timed("packages", lambda: collect_packages(search_path, errors, cache), {})
        frameworks = timed("frameworks", lambda: collect_frameworks(packages, errors, cache), {})
        conda = timed("conda", lambda: collect_conda(errors, cache), {})
        if cache is not None and cache_path:
            save_cache(cache, cache_path)
        cuda = timed("cuda", lambda: collect_cuda(packages, nvml_timeout), {})
        cuda["framework_libraries"] = timed(
            "linked", lambda: framework_libraries(packages, loader_dirs(), errors), {})
        return {
            "python": timed("python", collect_python, {}),
            "packages": packages,
            "frameworks": frameworks,
            "cuda": cuda,
            "conda": conda,
            "system_packages": timed("system_packages",
                                     lambda: collect_system_packages(errors), {}),
        }
    finally:
        _common.WITNESS = None


def collect_machine(errors: Errors, timings: Dict[str, float],
                    nvml_timeout: float = 5.0, use_pynvml: bool = True) -> JSONDict:
    """The machine's sections, read afresh: ``gpus``, ``cpu``, ``os``, ``env``, and the
    driver's facts under ``driver`` (they belong in ``cuda``). ``use_pynvml`` False: reach
    NVML through the ctypes binding even where nvidia-ml-py is importable here, as a
    target without it would (envcheck.memo reads another interpreter's machine here)."""
    timed = functools.partial(_timed, errors, timings)
    driver, gpus = timed("gpus", lambda: collect_nvml(errors, nvml_timeout, use_pynvml),
                         ({}, []))
    return {
        "driver": driver,
        "gpus": gpus,
        "cpu": timed("cpu", collect_cpu, {}),
        "os": timed("os", collect_os, {}),
        "env": timed("env", collect_env, {}),
    }


def assemble(target: JSONDict, machine: JSONDict, errors: List[JSONDict],
             timings: Dict[str, float]) -> JSONDict:
    """One probe document from the target's sections and the machine's."""
    document = {key: value for key, value in target.items()}
    document["cuda"] = dict(target.get("cuda") or {}, **machine["driver"])
    document.update({key: machine[key] for key in ("gpus", "cpu", "os", "env")})
    document["errors"] = errors
    document["meta"] = {
        "probe_version": PROBE_VERSION,
        "hostname": uname()[1],
        # datetime's isoformat(timespec="seconds") in UTC, without importing datetime.
        "created": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
        "timings_ms": timings,
    }
    return document


def collect(nvml_timeout: float = 5.0, paths: Optional[List[str]] = None,
            cache_path: Optional[str] = None,
            numerics_timeout: Optional[float] = None, fresh_cache: bool = False,
            witness: Optional[Witness] = None) -> JSONDict:
    """Describe this interpreter's environment as a JSON-ready dict (one fingerprint's raw data).

    ``cache_path``: a file where package facts are kept between runs (see PackageCache).
    ``numerics_timeout``: also run the numeric canaries (in a child process) for at most
    this many seconds; None leaves them out. ``fresh_cache``: read nothing from the
    cache, read every package, and write it anew (what repairs a damaged cache).
    ``witness``: note what the target's sections were read from (``collect_target``).
    """
    target_errors, machine_errors = Errors(), Errors()
    timings: Dict[str, float] = {}
    target = collect_target(target_errors, timings, paths, cache_path, fresh_cache, witness,
                            nvml_timeout)
    machine = collect_machine(machine_errors, timings, nvml_timeout)
    document = assemble(target, machine, target_errors.entries + machine_errors.entries,
                        timings)
    if witness is not None:  # what envcheck.memo keeps, and how to take the answer apart
        document["witness"] = dict(witness.to_json(), layout={
            "target_errors": len(target_errors.entries), "driver_keys": sorted(machine["driver"])})
    if numerics_timeout is not None:
        from .numerics import collect_numerics

        document["numerics"] = _timed(
            machine_errors, timings, "numerics",
            lambda: collect_numerics(machine_errors, numerics_timeout), None)
        document["errors"] = target_errors.entries + machine_errors.entries
    return document


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point in another interpreter:
    ``python - [--nvml-timeout S] [--cache FILE] [--numerics-timeout S] < probe``.

    ``--cache``: the package cache the parent keeps for this interpreter.
    """
    args = sys.argv[1:] if argv is None else argv
    options = dict(zip(args[::2], args[1::2]))
    timeout = float(options.get("--nvml-timeout", 5.0))
    numerics = options.get("--numerics-timeout")
    witness = Witness() if options.get("--witness") == "1" else None
    document = collect(nvml_timeout=timeout, cache_path=options.get("--cache"),
                       numerics_timeout=float(numerics) if numerics is not None else None,
                       fresh_cache=options.get("--fresh-cache") == "1", witness=witness)
    sys.stdout.write(OUTPUT_MARKER + "\n" + json.dumps(document, sort_keys=True) + "\n")
    sys.stdout.flush()
    return 0
