"""The one interface every kind of input implements, and what a caller asks of it.

A source claims the specs it understands (``-``, ``docker:IMAGE``, a path with
a given name, ...) and loads one into a :class:`~envcheck.model.Fingerprint`.
Lock formats that describe packages alone (requirements.txt, pylock.toml) are
``expected_only``: they are the expected side of ``check``, never a side of
``diff``. A new kind of input is one module with one such class, listed in
:mod:`envcheck.sources.registry`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO, Protocol, runtime_checkable

from ..errors import UsageError
from ..model import SCHEMA_VERSION, Fingerprint
from ..model.pins import PinnedLock, Selection, lock_document
from .defaults import DEFAULT_NVML_TIMEOUT, DEFAULT_TIMEOUT

__all__ = ["DEFAULT_NVML_TIMEOUT", "DEFAULT_TIMEOUT", "ClusterSource", "LockSource", "Markers",
           "Request", "Source", "pinned_fingerprint"]

# PEP 508 marker values of the interpreter a lock is checked against.
Markers = dict[str, str]


@dataclass(frozen=True)
class Request:
    """What the caller knows beyond the spec: where ``.`` points, stdin, limits."""

    python: str | None = None  # the interpreter ``.`` means; None: the default target
    timeout: float = DEFAULT_TIMEOUT
    stdin: BinaryIO | None = None  # for ``-``; None: this process's stdin
    markers: Markers | None = None  # for the markers of standard locks; None: this interpreter
    # The environment being checked: conda locks select its platform and leave open what
    # an environment.yml does not pin.
    current: Fingerprint | None = None
    selection: Selection = field(default_factory=Selection)  # a lock's extras and groups


class Source(Protocol):
    """One kind of input."""

    @property
    def kind(self) -> str:
        """What the input is, for documentation and ``meta.source``."""

    @property
    def expected_only(self) -> bool:
        """True for lock formats, which only ``check`` reads."""

    def claims(self, spec: str) -> bool:
        """Whether ``spec`` names an input of this kind (cheap: no reading)."""

    def load(self, spec: str, request: Request) -> Fingerprint:
        """The fingerprint ``spec`` names, or an EnvcheckError saying why not."""


Member = tuple[str, Callable[[], Fingerprint]]


@runtime_checkable
class FleetSource(Protocol):
    """An input that names many environments (an experiment's runs, a cluster's workers):
    ``compare`` takes each as a member; ``diff`` and ``check`` refuse it with a hint."""

    def members(self, spec: str, request: Request) -> list[Member]:
        """Each member's label (as a person finds it there) and how to load it."""


class ClusterSource:
    """A running cluster named by ``PREFIX`` + address: many environments, one per node,
    so a member source of ``compare`` only; ``diff`` and ``check`` are told so."""

    prefix = ""
    expected_only = False

    def claims(self, spec: str) -> bool:
        return spec.startswith(self.prefix)

    def load(self, spec: str, request: Request) -> Fingerprint:
        raise UsageError(f"{spec}: a cluster is many environments: envcheck compare {spec}")


@runtime_checkable
class LockSource(Source, Protocol):
    """A user's lock (requirements.txt, pylock.toml, uv.lock): read into pins, which
    ``check`` holds the environment to (``contract.check_pins``)."""

    def pins(self, spec: str, request: Request) -> PinnedLock:
        """The packages ``spec`` pins for the target (``request.markers``, ``selection``)."""


def pinned_fingerprint(lock: PinnedLock) -> Fingerprint:
    """A fingerprint of a lock's pins alone, packages (and conda records) only, where a
    fingerprint is asked for."""
    return Fingerprint.from_dict({"schema": SCHEMA_VERSION, **lock_document(lock),
                                  "errors": [], "meta": {"source": lock.format}}, lock.label)
