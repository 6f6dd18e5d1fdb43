"""Run the probe in another interpreter, fed on stdin: nothing is installed there.

The probe package's source files travel inside one script; an import hook in
that script serves them from memory, so the probe runs as the same modules it
is in-process. A header written for any Python refuses interpreters older than
3.8 with a clear message instead of a syntax error.
"""

from __future__ import annotations

import functools
import os
import zlib

from .errors import TargetError

TYPE_CHECKING = False
if TYPE_CHECKING:  # on the ``snapshot --python`` path: typing costs milliseconds
    import subprocess
    from collections.abc import Sequence
    from typing import Any

PACKAGE = "envcheck_probe"
# The probe's files, read as text: importing envcheck.probe (or importlib.resources)
# here would cost the parent tens of milliseconds on every --python snapshot.
PROBE_DIRECTORY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "probe")
SUBPACKAGES = ("numerics",)  # the canary child's modules travel with the probe
OUTPUT_MARKER = "----- envcheck probe output -----"  # as envcheck.probe.OUTPUT_MARKER (tested)
TOO_OLD_EXIT = 90

# ``python -c STDIN_BOOTSTRAP`` runs the script on stdin like ``python -`` (sys.path[0]
# is '' either way) but reads it in one call: ``python -`` tokenizes stdin line by line,
# which costs 40 ms on the script's long lines. It compiles the script without the
# block between the SOURCES markers (the probe's sources, 150 KiB of literals: 5 ms to
# compile in the child), which the loader reads only when the compiled probe is not
# cached. Run whole (``python -``, as the cluster integrations do), the script is
# complete as it stands. Valid on Python 2, so the header's version check still speaks.
SOURCES_BEGIN = "\n#<envcheck-probe-sources>\n"
SOURCES_END = "\n#</envcheck-probe-sources>\n"
STDIN_BOOTSTRAP = ("import sys; _script = getattr(sys.stdin, 'buffer', sys.stdin).read(); "
                   f"_begin = _script.find(b{SOURCES_BEGIN!r}); "
                   f"_end = _script.find(b{SOURCES_END!r}); "
                   "exec(compile(_script[:_begin] + _script[_end:], '<envcheck-probe>', 'exec'))")

# Runs in the target interpreter, any CPython >= 3.8, before anything else: it
# imports no more than marshal (built in) and what the interpreter has loaded
# (importlib.abc alone would cost 35 ms there). With ``--code-cache DIR`` the
# compiled probe is kept per interpreter version (cache_tag) and source digest,
# as .pyc files are, so later runs skip compiling it.
_LOADER = '''
import marshal, os, sys
ModuleSpec = type(sys.__spec__)  # importlib.machinery's, without importing it

_cache_path, _code, _compiled = None, {}, []
if "--code-cache" in sys.argv[1:-1]:
    _at = sys.argv.index("--code-cache")
    _cache_path = os.path.join(sys.argv[_at + 1], "probe-%s-%s.marshal"
                               % (sys.implementation.cache_tag, DIGEST))
    del sys.argv[_at:_at + 2]
    try:
        with open(_cache_path, "rb") as _handle:
            _code = marshal.load(_handle)
    except Exception:  # absent or damaged: compile as without a cache
        _code = {}
    if not isinstance(_code, dict):
        _code = {}

def _sources():
    global SOURCES
    if SOURCES is None:  # the bootstrap left the literal out: compile it now, once
        _namespace = {}
        exec(compile(_script[_begin:_end], "<envcheck-probe sources>", "exec"), _namespace)
        SOURCES = _namespace["SOURCES"]
    return SOURCES

class _ProbeSource:
    def find_spec(self, name, path=None, target=None):
        if name not in MODULES:
            return None
        return ModuleSpec(name, self, is_package=(name in PACKAGES))

    def get_source(self, name):  # the numeric canaries send these on to their own child
        return _sources()[name]

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        code = _code.get(module.__name__)
        if type(code) is not type(_ProbeSource.exec_module.__code__):
            code = compile(_sources()[module.__name__], "<envcheck-probe %s>" % module.__name__,
                           "exec")
            _code[module.__name__] = code
            _compiled.append(module.__name__)
        exec(code, module.__dict__)

sys.meta_path.insert(0, _ProbeSource())
__import__(PACKAGE)
_status = sys.modules[PACKAGE].main()
if _cache_path and _compiled:
    _temporary = "%s.%d.tmp" % (_cache_path, os.getpid())
    try:
        os.makedirs(os.path.dirname(_cache_path), exist_ok=True)
        with open(_temporary, "wb") as _handle:
            marshal.dump(_code, _handle)
        os.replace(_temporary, _cache_path)
    except OSError:  # only a cache
        try:
            os.unlink(_temporary)
        except OSError:
            pass
# The document is out and the compiled probe kept: skip the interpreter's teardown
# (freeing every module costs the child 3 to 4 ms). The probe leaves no thread that
# must finish; atexit handlers of the target's own start-up do not run for it.
sys.stdout.flush()
sys.stderr.flush()
os._exit(_status)
'''

# Valid syntax on Python 2 and 3, so even a very old interpreter reaches the check.
# SOURCES stays None when STDIN_BOOTSTRAP leaves the block between the markers out.
_HEADER = '''import sys
if sys.version_info < (3, 8):
    found = sys.version.split()[0]
    sys.stderr.write("envcheck probe needs Python 3.8 or newer, found %%s\\n" %% found)
    sys.exit(%d)
PACKAGE = %r
PACKAGES = %r
MODULES = frozenset(%r)
DIGEST = %r
SOURCES = None'''


@functools.lru_cache(maxsize=1)
def probe_script() -> str:
    """The self-contained script that runs the probe in any CPython >= 3.8."""
    sources: dict[str, str] = {}
    packages = [PACKAGE]
    for sub in ("", *SUBPACKAGES):
        directory = os.path.join(PROBE_DIRECTORY, sub)
        package = f"{PACKAGE}.{sub}" if sub else PACKAGE
        if sub:
            packages.append(package)
        for filename in sorted(os.listdir(directory)):
            if filename.endswith(".py"):
                module = filename[:-3]
                name = package if module == "__init__" else f"{package}.{module}"
                with open(os.path.join(directory, filename), encoding="utf-8") as handle:
                    sources[name] = handle.read()
    literal = repr(sources)  # no line break inside: the markers cannot occur in it
    digest = f"{zlib.crc32(literal.encode()):08x}"  # names the compiled probe's cache
    header = _HEADER % (TOO_OLD_EXIT, PACKAGE, packages, sorted(sources), digest)
    return f"{header}{SOURCES_BEGIN}SOURCES = {literal}{SOURCES_END}exec({_LOADER!r})\n"


LAST_LINE_LIMIT = 300


def last_line(text: str, empty: str = "no output") -> str:
    """The last non-blank line of a tool's output, cut to a readable length: what a
    one-line error quotes."""
    for line in reversed(text[-64 * LAST_LINE_LIMIT:].splitlines()):
        line = line.strip()
        if line:
            return line if len(line) <= LAST_LINE_LIMIT else f"...{line[-LAST_LINE_LIMIT:]}"
    return empty


class RunningProbe:
    """A probe started in another interpreter; :meth:`result` waits for its document."""

    def __init__(self, process: subprocess.Popen[bytes], what: str, script: bytes) -> None:
        self.process = process
        self.what = what
        self.script = script  # still to write to its stdin (b"" when a memfd carried it)

    def stop(self) -> None:
        """Kill the probe's process group (an error or a signal before :meth:`result`)."""
        from .processes import stop_bounded

        if self.process.returncode is None:  # not reaped yet: its group id is still its own
            stop_bounded(self.process)

    def result(self, timeout: float) -> dict[str, Any]:
        from .processes import OutputTooLarge, ProcessTimeout, finish_bounded

        what = self.what
        try:
            finished = finish_bounded(self.process, self.script, timeout=timeout)
        except ProcessTimeout as exc:
            raise TargetError(f"{what}: the probe did not finish within {timeout:g} s") \
                from exc
        except OutputTooLarge as exc:
            raise TargetError(f"{what}: the probe wrote more than it ever should "
                              "(stopped reading; is something else printing to stdout?)") \
                from exc
        return parse_output(finished.returncode, finished.stdout.decode("utf-8", "replace"),
                            finished.stderr.decode("utf-8", "replace"), what)


def probe_arguments(nvml_timeout: float, numerics_timeout: float | None) -> list[str]:
    """The probe's command-line options (``probe.main`` reads them)."""
    numerics = [] if numerics_timeout is None else ["--numerics-timeout", str(numerics_timeout)]
    return ["--nvml-timeout", str(nvml_timeout), *numerics]


def start_probe(command: Sequence[str], nvml_timeout: float, what: str,
                cache: str | None = None,
                numerics_timeout: float | None = None,
                fresh_cache: bool = False, witness: bool = False) -> RunningProbe:
    """Start ``command`` (an interpreter reading a script on stdin) on the probe, not waiting.

    ``command`` is e.g. ``interpreter_command("/opt/venv/bin/python")``; ``what`` names
    the target in error messages. ``cache``: the package cache file for this target;
    the compiled probe is kept beside it. The script reaches the child as a file in
    memory on its stdin where the system has one (Linux), so the caller goes on with
    its own work while the child starts. ``numerics_timeout``: also run the canaries.
    ``witness``: the document also carries what it was read from (``witness``).
    """
    from .processes import start_bounded, stop_bounded

    extra = ["--cache", cache, "--code-cache", os.path.dirname(cache)] if cache else []
    if cache and fresh_cache:  # read nothing from the package cache, write it anew
        extra += ["--fresh-cache", "1"]
    if witness:  # and say what the answer was read from (envcheck.memo)
        extra += ["--witness", "1"]
    script = probe_script().encode("utf-8")
    stdin = _script_file(script)
    try:
        process = start_bounded(
            [*command, *probe_arguments(nvml_timeout, numerics_timeout), *extra], stdin=stdin)
    except FileNotFoundError as exc:
        raise TargetError(f"{what}: no such file") from exc
    except PermissionError as exc:
        raise TargetError(f"{what}: permission denied (is it executable?)") from exc
    except OSError as exc:
        raise TargetError(f"{what}: cannot run it ({exc.strerror or exc})") from exc
    finally:
        if stdin is not None:
            os.close(stdin)
    try:
        return RunningProbe(process, what, b"" if stdin is not None else script)
    except BaseException:  # a signal turned into an exception this early: no orphans
        stop_bounded(process)
        raise


def _script_file(script: bytes) -> int | None:
    """A file descriptor reading ``script`` from its start (Linux memfd), or None."""
    create = getattr(os, "memfd_create", None)
    if create is None:
        return None
    try:
        descriptor: int = create("envcheck-probe", 0)
    except OSError:
        return None
    os.write(descriptor, script)  # a memfd takes everything at once
    os.lseek(descriptor, 0, os.SEEK_SET)
    return descriptor


def run_probe(command: Sequence[str], timeout: float, nvml_timeout: float, what: str,
              cache: str | None = None, numerics_timeout: float | None = None,
              witness: bool = False) -> dict[str, Any]:
    """Run the probe in ``command`` and return its document (see :func:`start_probe`);
    the canaries, with ``numerics_timeout``, have that long on top of ``timeout``."""
    running = start_probe(command, nvml_timeout, what, cache, numerics_timeout,
                          witness=witness)
    return running.result(timeout + (numerics_timeout or 0.0))


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
    from .reader import DocumentError, parse_json  # after the child has started

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
    return [python, "-c", STDIN_BOOTSTRAP]
