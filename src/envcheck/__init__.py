"""envcheck: is this environment the same as that one, and will the difference change results?

The public Python API::

    import envcheck
    fp = envcheck.snapshot()              # this interpreter
    fp = envcheck.snapshot(python="/opt/venv/bin/python")
    fp.to_json()
    same = envcheck.load("lockfiles/train.json")
    report = envcheck.diff(same, fp)      # report.changes, report.fails("breaking")
    envcheck.check("lockfiles/train.json")  # first line of train.py: raises DriftError
"""

from __future__ import annotations

__version__ = "0.1.0"

TYPE_CHECKING = False
if TYPE_CHECKING:  # ``import envcheck`` stays cheap at the top of a training script
    import os

    from .config import Config
    from .model import Fingerprint
    from .model.report import Report

__all__ = ["DriftError", "EnvcheckError", "Fingerprint", "Report", "__version__", "check", "diff",
           "load", "snapshot"]


def snapshot(python: str | None = None, timeout: float = 120.0, numerics: bool = False,
             numerics_timeout: float = 120.0) -> Fingerprint:
    """Fingerprint this interpreter's environment, or the interpreter at ``python``.

    ``numerics``: also run the numeric canaries in a child process of that interpreter
    (never in this one), for at most ``numerics_timeout`` seconds.
    """
    from .sources.live import live

    return live(python, timeout=timeout,
                numerics_timeout=numerics_timeout if numerics else None)


def load(path: str | os.PathLike[str]) -> Fingerprint:
    """Read a fingerprint (or lockfile) written by ``envcheck snapshot -o``, or a ``pip
    inspect`` report (packages only): the documents ``envcheck diff FILE`` reads."""
    from .reader import read_bytes
    from .sources.document import from_json

    return from_json(read_bytes(path), str(path))


def diff(a: Fingerprint, b: Fingerprint, config: Config | None = None) -> Report:
    """Compare two fingerprints; every difference judged breaking, risky or benign."""
    from .drift import diff as compare

    return compare(a, b, config)


def check(lock: str, fail_on: str = "breaking", python: str | None = None) -> Report:
    """Stop a job on the wrong environment: raises ``DriftError`` (with ``.report``) when this
    environment differs from ``lock`` at or above ``fail_on``; returns the report otherwise."""
    from .gate import check as gate

    return gate(lock, fail_on, python)


def __getattr__(name: str) -> object:
    # Lazy re-exports keep ``import envcheck`` cheap at the top of a training script.
    if name == "Fingerprint":
        from .model import Fingerprint

        return Fingerprint
    if name == "Report":
        from .model.report import Report

        return Report
    if name in ("EnvcheckError", "DriftError"):
        from . import errors

        return getattr(errors, name)
    raise AttributeError(f"module 'envcheck' has no attribute {name!r}")
