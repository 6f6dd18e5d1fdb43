"""Run the probe in another interpreter, fed on stdin: nothing is installed there.

The probe package's source files travel inside one script; an import hook in
that script serves them from memory, so the probe runs as the same modules it
is in-process. A header written for any Python refuses interpreters older than
3.8 with a clear message instead of a syntax error.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from importlib import resources
from typing import Any

from .errors import TargetError
from .probe import OUTPUT_MARKER
from .reader import DocumentError, parse_json

PACKAGE = "envcheck_probe"
TOO_OLD_EXIT = 90

_LOADER = '''
import importlib.abc, importlib.machinery, sys

class _ProbeSource(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path=None, target=None):
        if name not in SOURCES:
            return None
        return importlib.machinery.ModuleSpec(name, self, is_package=(name == PACKAGE))

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        code = compile(SOURCES[module.__name__], "<envcheck-probe %s>" % module.__name__, "exec")
        exec(code, module.__dict__)

sys.meta_path.insert(0, _ProbeSource())
sys.exit(importlib.import_module(PACKAGE).main())
'''

# Valid syntax on Python 2 and 3, so even a very old interpreter reaches the check.
_HEADER = '''import sys
if sys.version_info < (3, 8):
    found = sys.version.split()[0]
    sys.stderr.write("envcheck probe needs Python 3.8 or newer, found %%s\\n" %% found)
    sys.exit(%d)
PACKAGE = %r
SOURCES = %r
exec(%r)
'''


@functools.lru_cache(maxsize=1)
def probe_script() -> str:
    """The self-contained script that runs the probe in any CPython >= 3.8."""
    sources: dict[str, str] = {}
    for entry in resources.files("envcheck.probe").iterdir():
        if entry.name.endswith(".py"):
            module = entry.name[:-3]
            name = PACKAGE if module == "__init__" else f"{PACKAGE}.{module}"
            sources[name] = entry.read_text(encoding="utf-8")
    return _HEADER % (TOO_OLD_EXIT, PACKAGE, sources, _LOADER)


LAST_LINE_LIMIT = 300


def last_line(text: str, empty: str = "no output") -> str:
    """The last non-blank line of a tool's output, cut to a readable length: what a
    one-line error quotes."""
    for line in reversed(text[-64 * LAST_LINE_LIMIT:].splitlines()):
        line = line.strip()
        if line:
            return line if len(line) <= LAST_LINE_LIMIT else f"...{line[-LAST_LINE_LIMIT:]}"
    return empty


def run_probe(
    command: Sequence[str], timeout: float, nvml_timeout: float, what: str
) -> dict[str, Any]:
    """Run ``command`` (an interpreter reading a script on stdin) and return the probe's document.

    ``command`` is e.g. ``["/opt/venv/bin/python", "-"]``; ``what`` names the
    target in error messages.
    """
    from .processes import OutputTooLarge, ProcessTimeout, run_bounded

    try:
        finished = run_bounded([*command, "--nvml-timeout", str(nvml_timeout)],
                               input=probe_script().encode("utf-8"), timeout=timeout)
    except FileNotFoundError as exc:
        raise TargetError(f"{what}: no such file") from exc
    except PermissionError as exc:
        raise TargetError(f"{what}: permission denied (is it executable?)") from exc
    except ProcessTimeout as exc:
        raise TargetError(f"{what}: the probe did not finish within {timeout:g} s") from exc
    except OutputTooLarge as exc:
        raise TargetError(f"{what}: the probe wrote more than it ever should "
                          "(stopped reading; is something else printing to stdout?)") from exc
    except OSError as exc:
        raise TargetError(f"{what}: cannot run it ({exc.strerror or exc})") from exc
    return parse_output(finished.returncode, finished.stdout.decode("utf-8", "replace"),
                        finished.stderr.decode("utf-8", "replace"), what)


def parse_output(returncode: int, stdout: str, stderr: str, what: str) -> dict[str, Any]:
    """Find the probe's JSON document in a process's output, or explain why there is none."""
    if returncode == TOO_OLD_EXIT:
        raise TargetError(f"{what}: {last_line(stderr)}")
    marker = stdout.rfind(OUTPUT_MARKER)
    if returncode != 0 or marker < 0:
        raise TargetError(
            f"{what}: not a working Python interpreter, or the probe failed "
            f"(exit {returncode}: {last_line(stderr or stdout)})"
        )
    try:
        document = parse_json(stdout[marker + len(OUTPUT_MARKER):], f"{what}: the probe's output")
    except DocumentError as exc:
        raise TargetError(str(exc)) from exc
    if not isinstance(document, dict):
        raise TargetError(f"{what}: the probe's output is not a JSON object")
    return document


def interpreter_command(python: str) -> list[str]:
    """How to feed the probe to an interpreter given by path."""
    if os.path.isdir(python):
        raise TargetError(f"--python {python}: is a directory, not a Python interpreter")
    return [python, "-"]
