"""Where a fingerprint comes from: this interpreter, another one, or a file.

Resolution only: nothing here prints. A note for the user (such as "probing
the active virtualenv instead of envcheck's own") is returned as data and the
CLI decides where it goes.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from .. import __version__
from ..model import Fingerprint

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds on every snapshot
    from typing import Any, TextIO

DEFAULT_TIMEOUT = 120.0
DEFAULT_NVML_TIMEOUT = 5.0


class Target:
    """An interpreter to fingerprint; ``python`` None means this very process."""

    __slots__ = ("note", "python")

    def __init__(self, python: str | None, note: str | None = None) -> None:
        self.python = python
        self.note = note  # for the user: why this interpreter and not envcheck's own

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Target) and (self.python, self.note) == (other.python,
                                                                           other.note)

    def __hash__(self) -> int:
        return hash((self.python, self.note))

    def __repr__(self) -> str:
        return f"Target(python={self.python!r}, note={self.note!r})"


def _env_python(prefix: str) -> str | None:
    for candidate in ("bin/python", "bin/python3", "python.exe", "Scripts/python.exe"):
        path = os.path.join(prefix, candidate)
        if os.path.isfile(path):
            return path
    return None


def _same_prefix(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def default_target(environ: Mapping[str, str] | None = None) -> Target:
    """The active virtualenv or conda env when envcheck itself runs elsewhere (pipx), else us."""
    env = os.environ if environ is None else environ
    for variable in ("VIRTUAL_ENV", "CONDA_PREFIX"):
        prefix = env.get(variable)
        if not prefix or _same_prefix(prefix, sys.prefix):
            continue
        python = _env_python(prefix)
        if python is not None:
            return Target(python, f"fingerprinting the active environment {prefix} "
                                  f"(${variable}); pass --python to choose another")
    return Target(None)


def live(
    python: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    nvml_timeout: float = DEFAULT_NVML_TIMEOUT,
    use_cache: bool = True,
) -> Fingerprint:
    """Fingerprint this interpreter (``python`` None) or the interpreter at ``python``.

    In-process snapshots keep package facts in a cache keyed by file stats, so a
    second snapshot of an unchanged environment re-reads no metadata.
    """
    if python is None:
        from .. import probe
        from ..errors import OutputError
        from ..paths import package_cache_file

        cache = None
        if use_cache:
            try:
                cache = package_cache_file()
            except OutputError:  # nowhere to keep it: only a cache
                cache = None
        raw = probe.collect(nvml_timeout=nvml_timeout, cache_path=cache)
    else:
        from .. import remote

        raw = remote.run_probe(remote.interpreter_command(python), timeout, nvml_timeout,
                               what=f"--python {python}")
    return Fingerprint.from_probe(raw, __version__)


# ---- inputs to diff, check and compare ------------------------------------------------

def parse_document(text: str, source: str) -> Fingerprint:
    """A fingerprint, or a ``pip inspect`` report (packages only), from JSON text."""
    import json

    from ..errors import InputError

    try:
        document = json.loads(text)
    except ValueError as exc:
        raise InputError(f"{source}: not JSON ({exc})") from exc
    if isinstance(document, dict) and isinstance(document.get("installed"), list) \
            and "pip_version" in document:
        return from_pip_inspect(document, source)
    return Fingerprint.from_dict(document, source)


def from_pip_inspect(report: dict[str, Any], source: str) -> Fingerprint:
    """A partial fingerprint from ``pip inspect``: packages known, every other section unknown."""
    from ..errors import InputError
    from ..probe.packages import direct_url_from_dict, normalize_name

    packages: dict[str, Any] = {}
    for entry in report["installed"]:
        metadata = entry.get("metadata") if isinstance(entry, dict) else None
        if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str) \
                or not isinstance(metadata.get("version"), str):
            raise InputError(f"{source}: not a pip inspect report (an entry lacks name/version)")
        facts: dict[str, Any] = {"name": metadata["name"], "version": metadata["version"],
                                 "installer": entry.get("installer"),
                                 "requested": entry.get("requested")}
        direct_url = direct_url_from_dict(entry.get("direct_url"))
        if direct_url is not None:
            facts["direct_url"] = direct_url
        packages.setdefault(normalize_name(metadata["name"]), facts)
    return Fingerprint.packages_only(packages, source, "pip inspect")


def _git_show(spec: str) -> str:
    import subprocess

    from ..errors import InputError

    try:
        completed = subprocess.run(["git", "show", spec], capture_output=True, timeout=60,
                                   check=False)
    except FileNotFoundError as exc:
        raise InputError(f"{spec}: git is not installed") from exc
    if completed.returncode != 0:
        why = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        raise InputError(f"{spec}: not found in git ({why[-1] if why else 'no output'})")
    try:
        return completed.stdout.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{spec}: not JSON (not UTF-8 text)") from exc


def resolve(spec: str, stdin: TextIO | None = None, python: str | None = None,
            timeout: float = DEFAULT_TIMEOUT) -> Fingerprint:
    """Turn one input of ``diff``/``check`` into a fingerprint.

    ``-`` stdin; ``.`` the live environment (``python`` or the default target);
    ``docker:IMAGE`` / ``docker-container:NAME``; ``@last``, ``@prev``, ``@N``,
    ``@YYYY-MM-DD`` from the local history; a file; ``REV:path`` a file at a git
    revision.
    """
    from ..errors import InputError
    from ..model import read_document

    if spec == "-":
        return parse_document((stdin or sys.stdin).read(), "stdin")
    if spec.startswith(("docker:", "docker-container:")):
        return container(spec, timeout=timeout)
    if spec.startswith("@"):
        return from_history(spec, python)
    if spec == ".":
        return live(python or default_target().python, timeout=timeout)
    if os.path.exists(spec):
        return parse_document(read_document(spec), spec)
    if ":" in spec and not spec.startswith(("/", "./")):
        return parse_document(_git_show(spec), spec)
    raise InputError(f"{spec}: no such file")


def container(spec: str, python: str | None = None, timeout: float = DEFAULT_TIMEOUT,
              nvml_timeout: float = DEFAULT_NVML_TIMEOUT, gpus: bool = False) -> Fingerprint:
    """Fingerprint ``docker:IMAGE`` (a new, removed container) or ``docker-container:NAME``."""
    from .. import containers
    from ..errors import UsageError

    kind, _, name = spec.partition(":")
    if not name:
        raise UsageError(f"{spec}: name an image (docker:IMAGE) or container "
                         "(docker-container:NAME)")
    if kind == "docker":
        raw = containers.snapshot_image(name, python=python, timeout=timeout,
                                        nvml_timeout=nvml_timeout, gpus=gpus)
    else:
        raw = containers.snapshot_container(name, python=python, timeout=timeout,
                                            nvml_timeout=nvml_timeout)
    return Fingerprint.from_probe(raw, __version__)


def history_key(fingerprint: Fingerprint, spec: str | None = None) -> str:
    """Which environment a history entry belongs to: the interpreter, or the image."""
    if spec and spec.startswith(("docker:", "docker-container:")):
        return spec
    python = fingerprint.data.get("python") or {}
    return str(python.get("executable") or "unknown interpreter")


def current_interpreter(python: str | None = None) -> str:
    """The interpreter ``.`` means now, as the history records it."""
    if python is not None:
        import shutil

        # As recorded: the probe's sys.executable is absolute; "python3" is found on PATH.
        return os.path.abspath(shutil.which(python) or python)
    return default_target().python or sys.executable


def from_history(spec: str, python: str | None = None) -> Fingerprint:
    """``@last``, ``@prev``, ``@N`` or ``@YYYY-MM-DD`` of this interpreter's snapshots."""
    from ..store import History

    with History() as history:
        return history.resolve(spec, current_interpreter(python))
