"""The gate at the start of a training job: the live environment against a lock."""

from __future__ import annotations

from .config import Config, discover
from .contract import check_pins
from .drift import Report, diff
from .errors import DriftError
from .model import Fingerprint
from .model.pins import DEFAULT_SELECTION, PinnedLock, Selection
from .model.severity import FailOn
from .sources.base import Request
from .sources.live import default_target, live
from .sources.registry import expected


def marker_environment(fingerprint: Fingerprint) -> dict[str, str]:
    """PEP 508 marker values of the fingerprinted interpreter, for a lock's markers."""
    python = fingerprint.python
    system = str(fingerprint.os.get("system") or "")
    version = str(python.get("version") or "")
    environment = {
        "python_full_version": version,
        "python_version": ".".join(version.split(".")[:2]),
        "implementation_name": str(python.get("implementation") or ""),
        "platform_system": system,
        "sys_platform": {"Linux": "linux", "Darwin": "darwin", "Windows": "win32"}.get(
            system, system.lower()),
        "os_name": "nt" if system == "Windows" else "posix",
        "platform_machine": str(fingerprint.cpu.get("architecture") or ""),
    }
    return {key: value for key, value in environment.items() if value}


def against_lock(lock: str, current: Fingerprint, config: Config | None = None,
                 strict: bool = False, selection: Selection = DEFAULT_SELECTION) -> Report:
    """The judged differences from ``lock`` (expected) to ``current``: a user's lock
    (requirements.txt, pylock.toml, uv.lock; ``selection``: its extras and groups) as a
    contract (``contract.check_pins``), a fingerprint or lockfile by ``diff``."""
    config = config if config is not None else discover()
    wanted = expected(lock, marker_environment(current), Request(selection=selection),
                      current=current)
    if isinstance(wanted, PinnedLock):
        return check_pins(wanted, current, config, strict=strict)
    return diff(wanted, current, config, labels=(lock, "live"))


def check(lock: str, fail_on: FailOn | str = FailOn.BREAKING, python: str | None = None,
          config: Config | None = None) -> Report:
    """Compare this environment (or ``python``'s) with ``lock``; raise DriftError at ``fail_on``.

    ``lock`` is a lockfile or fingerprint, a ``requirements.txt`` of ``==`` pins, or a
    ``pylock.toml``. Meant as the first line of a training script::

        envcheck.check("lockfiles/train.json")

    The error's message is :func:`drift_summary`; its ``report`` holds every change,
    for the caller to render (``envcheck.render.report.render_report``).
    """
    threshold = FailOn.parse(fail_on)
    report = against_lock(lock, live(python or default_target().python), config)
    if report.fails(threshold):
        raise DriftError(drift_summary(lock, report), report)
    return report


def drift_summary(lock: str, report: Report, limit: int = 3) -> str:
    """One line from the report's data: the counts, and where the worst changes are (their
    paths; values, reasons and escaping are the renderers')."""
    worst = [c.path for c in report.changes if c.severity == report.worst()]
    more = f" (+{len(report.changes) - len(worst[:limit])} more)" \
        if len(report.changes) > len(worst[:limit]) else ""
    counts = ", ".join(f"{n} {k}" for k, n in report.summary().items() if n)
    return f"the environment differs from {lock} ({counts}): {'; '.join(worst[:limit])}{more}"
