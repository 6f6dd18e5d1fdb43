"""Members of a cluster (client, scheduler, workers, nodes) compared as `envcheck compare` does."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..config import Config
from ..errors import DriftError
from ..fleet import FleetReport, compare
from ..model import Fingerprint
from ..model.severity import FailOn, Severity
from ..render.escape import terminal, value_text

Member = tuple[str, Fingerprint]


def client_member(timeout: float = 120.0) -> Member:
    """This process's interpreter, probed in a child as the members are, so that what the
    client itself imported (Ray puts its own vendored packages on ``sys.path``) is not drift."""
    import platform
    import sys

    from ..sources.live import live

    return f"client ({platform.node() or 'this process'})", live(sys.executable, timeout)


def check_fail_on(fail_on: FailOn | str) -> FailOn:
    return FailOn.parse(fail_on)


def check_members(members: Sequence[Member], baseline: Member | None, fail_on: FailOn | str,
                  config: Config | None = None) -> FleetReport:
    """Group ``members`` by id against ``baseline`` (None: the majority); DriftError at fail_on."""
    report = compare([(name, constant(fp)) for name, fp in members],
                     (baseline[0], constant(baseline[1])) if baseline else None, config)
    if report.fails(fail_on):
        raise DriftError(drift_message(report, fail_on), report)
    return report


def drift_message(report: FleetReport, fail_on: FailOn | str = FailOn.ANY, limit: int = 3) -> str:
    """One line: who differs from the baseline at ``fail_on``, and their worst changes first."""
    failing = [o for o in report.outliers if o.report.fails(fail_on)] or report.outliers
    odd = [name for outlier in failing for name in outlier.group.members]
    changes = sorted((c for o in failing for c in o.report.changes
                      if c.severity is not Severity.BENIGN), key=lambda c: -c.severity.rank)
    shown = "; ".join(f"{c.path}: {value_text(c.before)} -> {value_text(c.after)} "
                      f"[{c.severity.value}]" for c in changes[:limit])
    more = f" (+{len(changes) - limit} more)" if len(changes) > limit else ""
    names = ", ".join(odd[:limit]) + (f" and {len(odd) - limit} more" if len(odd) > limit else "")
    verb = "differs" if len(odd) == 1 else "differ"
    return terminal(f"{names} {verb} from the baseline {report.baseline}: {shown}{more}")


def constant(fingerprint: Fingerprint) -> Callable[[], Fingerprint]:
    return lambda: fingerprint


