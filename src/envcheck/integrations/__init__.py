"""Thin adapters for the tools training runs live in; each imports its framework only itself.

================  =========================================================  ============
module            what                                                       extra
================  =========================================================  ============
``mlflow``        log a fingerprint on a run; runs as inputs (``mlflow:``)   mlflow
``wandb``         log a fingerprint on a run (offline mode too)              wandb
``lightning``     ``EnvcheckCallback``: every rank checked at fit start      lightning
``transformers``  ``EnvcheckCallback`` for ``Trainer``, the same             transformers
``dask``          ``check_cluster``; ``EnvcheckPlugin`` for joining workers  dask
``ray``           ``check_cluster`` over every alive node                    ray
================  =========================================================  ============

Each extra installs with ``pip install 'envcheck[EXTRA]'``. Importing
``envcheck.integrations`` imports none of them.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING

from ..errors import UsageError

if TYPE_CHECKING:
    from ..model import Fingerprint

# Where a run keeps its fingerprint, in every tracker.
ARTIFACT = "envcheck/fingerprint.json"


class MissingExtraError(UsageError):
    """An integration's framework is not installed."""


def require(module: str, extra: str) -> ModuleType:
    """Import ``module`` for an integration, or say which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(f"{module} is not installed ({exc}); "
                                f"pip install 'envcheck[{extra}]'") from exc


def fingerprint_now(numerics: bool = False) -> Fingerprint:
    """This process's fingerprint, with measured numerics when asked and available."""
    import envcheck

    if not numerics:
        return envcheck.snapshot()
    try:
        return envcheck.snapshot(numerics=True)
    except TypeError as exc:  # an envcheck without measured numerics
        raise UsageError("numerics=True needs an envcheck that measures numerics") from exc
