"""``dask://HOST:PORT``: the scheduler and every worker of a running Dask cluster, each
fingerprinted through Dask itself (``envcheck compare``; workers labelled by name and address)."""

from __future__ import annotations

from ..errors import TargetError, UsageError
from ..model import Fingerprint
from .base import Member, Request

PREFIX = "dask://"


class DaskSource:
    kind = "Dask cluster: its scheduler and every worker"
    expected_only = False

    def claims(self, spec: str) -> bool:
        return spec.startswith(PREFIX)

    def load(self, spec: str, request: Request) -> Fingerprint:
        raise UsageError(f"{spec}: a cluster is many environments: envcheck compare {spec}")

    def members(self, spec: str, request: Request) -> list[Member]:
        from ..integrations import dask

        address = spec[len(PREFIX):]
        if not address:
            raise UsageError(f"{spec}: name the scheduler (dask://HOST:PORT)")
        try:
            client = dask.connect(f"tcp://{address}", request.timeout)
        except (OSError, TimeoutError) as exc:
            raise TargetError(f"{spec}: cannot reach the scheduler ({exc})") from exc
        try:
            return [(label, dask.constant(fp))
                    for label, fp in dask.cluster_members(client, request.timeout)]
        finally:
            client.close()
