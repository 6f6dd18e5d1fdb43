"""Every kind of input, in the order they are asked whether a spec is theirs.

Order matters where specs overlap: ``-``, ``docker:``, ``@`` and ``.`` are
claimed before any file of that name, lock formats before the JSON file
reader, and ``REV:path`` last (``C:\\x`` or ``a:b.json`` on disk is a file).
"""

from __future__ import annotations

from dataclasses import replace

from ..errors import InputError
from ..model import Fingerprint
from ..model.pins import PinnedLock
from .base import FleetSource, LockSource, Markers, Member, Request, Source
from .conda_environment import CondaEnvironmentSource
from .conda_explicit import CondaExplicitSource
from .conda_lock import CondaLockSource
from .dask import DaskSource
from .docker import DockerSource
from .file import FileSource
from .git import GitSource
from .github import GitHubSource
from .history import HistorySource
from .live import LiveSource
from .mlflow import MlflowSource
from .pixi_lock import PixiLockSource
from .pylock import PylockSource
from .ray import RaySource
from .requirements import RequirementsSource
from .stdin import StdinSource
from .unsupported import UnsupportedLockSource
from .uvlock import UvLockSource

SOURCES: tuple[Source, ...] = (
    StdinSource(), DockerSource(), GitHubSource(), MlflowSource(), DaskSource(), RaySource(),
    HistorySource(), LiveSource(),
    PylockSource(), CondaExplicitSource(), CondaLockSource(), PixiLockSource(),
    CondaEnvironmentSource(), RequirementsSource(), UvLockSource(), UnsupportedLockSource(),
    FileSource(), GitSource(),
)


def source_for(spec: str, expected: bool = False) -> Source:
    """The source that claims ``spec``; lock formats only for the expected side of a check."""
    for source in SOURCES:
        if (expected or not source.expected_only) and source.claims(spec):
            return source
    raise InputError(f"{spec}: no such file")


def resolve(spec: str, request: Request | None = None) -> Fingerprint:
    """One input of ``diff``, ``compare`` or ``audit`` as a fingerprint.

    ``-`` stdin; ``.`` the live environment (``request.python`` or the default
    target); ``docker:IMAGE`` / ``docker-container:NAME``; ``@last``, ``@prev``,
    ``@N``, ``@YYYY-MM-DD`` from the local history; a file; ``REV:path`` a file
    at a git revision.
    """
    request = request or Request()
    return source_for(spec).load(spec, request)


def fleet_members(spec: str, request: Request | None = None) -> list[Member] | None:
    """The members ``spec`` names when it names many (``compare mlflow:EXPERIMENT``,
    ``dask://HOST:PORT``, ``ray://ADDRESS``); None for an input of one environment."""
    source = source_for(spec)
    if isinstance(source, FleetSource):
        return source.members(spec, request or Request())
    return None


def expected(spec: str, markers: Markers | None = None,
             request: Request | None = None, current: Fingerprint | None = None,
             ) -> Fingerprint | PinnedLock:
    """The expected side of ``check``: anything ``resolve`` reads (a fingerprint, or a conda
    lock), or a user's lock read into pins (``markers``: the target's environment for its
    markers; ``current``: the environment being checked)."""
    base = request or Request()
    request = replace(base, markers=markers if markers is not None else base.markers,
                      current=current if current is not None else base.current)
    source = source_for(spec, expected=True)
    if isinstance(source, LockSource):
        return source.pins(spec, request)
    return source.load(spec, request)
