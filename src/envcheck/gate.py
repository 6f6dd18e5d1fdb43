"""The gate at the start of a training job: the live environment against a lock."""

from __future__ import annotations

from .config import Config, discover
from .drift import Report, diff
from .errors import DriftError
from .lock import expected
from .sources import default_target, live


def check(lock: str, fail_on: str = "breaking", python: str | None = None,
          config: Config | None = None) -> Report:
    """Compare this environment (or ``python``'s) with ``lock``; raise DriftError at ``fail_on``.

    ``lock`` is a lockfile or fingerprint, a ``requirements.txt`` of ``==`` pins, or a
    ``pylock.toml``. Meant as the first line of a training script::

        envcheck.check("lockfiles/train.json")
    """
    report = diff(expected(lock), live(python or default_target().python),
                  config if config is not None else discover(), labels=(lock, "live"))
    if report.fails(fail_on):
        worst = [c for c in report.changes if c.severity == report.worst()]
        listed = "; ".join(f"{c.path}: {c.before} -> {c.after}" for c in worst[:3])
        more = f" (+{len(report.changes) - 3} more)" if len(report.changes) > 3 else ""
        raise DriftError(f"the environment differs from {lock} "
                         f"({', '.join(f'{n} {k}' for k, n in report.summary().items() if n)}): "
                         f"{listed}{more}", report)
    return report
