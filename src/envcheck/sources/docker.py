"""``docker:IMAGE`` (a new container, always removed) and ``docker-container:NAME``."""

from __future__ import annotations

from .. import __version__, containers
from ..errors import UsageError
from ..model import Fingerprint
from .base import Request
from .defaults import DEFAULT_NVML_TIMEOUT, DEFAULT_TIMEOUT

PREFIXES = ("docker:", "docker-container:")


def container(spec: str, python: str | None = None, timeout: float = DEFAULT_TIMEOUT,
              nvml_timeout: float = DEFAULT_NVML_TIMEOUT, gpus: bool = False,
              numerics_timeout: float | None = None) -> Fingerprint:
    """Fingerprint ``docker:IMAGE`` (a new, removed container) or ``docker-container:NAME``."""
    kind, _, name = spec.partition(":")
    if not name:
        raise UsageError(f"{spec}: name an image (docker:IMAGE) or container "
                         "(docker-container:NAME)")
    if kind == "docker":
        raw = containers.snapshot_image(name, python=python, timeout=timeout,
                                        nvml_timeout=nvml_timeout, gpus=gpus,
                                        numerics_timeout=numerics_timeout)
    else:
        raw = containers.snapshot_container(name, python=python, timeout=timeout,
                                            nvml_timeout=nvml_timeout,
                                            numerics_timeout=numerics_timeout)
    return Fingerprint.from_probe(raw, __version__)


class DockerSource:
    kind = "Docker image or container"
    expected_only = False

    def claims(self, spec: str) -> bool:
        return spec.startswith(PREFIXES)

    def load(self, spec: str, request: Request) -> Fingerprint:
        return container(spec, timeout=request.timeout)
