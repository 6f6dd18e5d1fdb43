"""PEP 508 markers of a lock, evaluated for the target interpreter.

Shared by every lock format, so a marker that cannot be evaluated is one input
error naming where it is, never a traceback: ``python_version ~= "3"`` compares
a version with a one-part ``~=`` (undefined in PEP 440), and PEP 751's
``'dev' in dependency_groups`` needs the groups being installed.
"""

from __future__ import annotations

from ..errors import InputError
from ..model.pins import DEFAULT_SELECTION, Selection
from .base import Markers


def marker_applies(marker: str, markers: Markers | None, where: str,
                   selection: Selection = DEFAULT_SELECTION,
                   default_groups: frozenset[str] = frozenset()) -> bool:
    """Whether ``marker`` holds for the target (``markers``) with the chosen extras/groups."""
    from packaging.markers import (
        InvalidMarker,
        Marker,
        UndefinedComparison,
        UndefinedEnvironmentName,
        default_environment,
    )

    environment: dict[str, str | frozenset[str]] = {
        key: str(value) for key, value in default_environment().items()}
    environment.update(markers or {})
    environment["extra"] = ""  # a lock is installed as a whole, not as some package's extra
    environment["extras"] = selection.extras
    environment["dependency_groups"] = selection.groups if selection.groups is not None \
        else default_groups
    try:
        return Marker(marker).evaluate(environment, context="lock_file")
    except InvalidMarker as exc:
        raise InputError(f"{where}: bad marker ({exc})") from exc
    except (UndefinedComparison, UndefinedEnvironmentName, ValueError) as exc:
        raise InputError(f"{where}: marker {marker!r} cannot be evaluated ({exc})") from exc
