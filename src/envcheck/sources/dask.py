"""``dask://HOST:PORT``: the scheduler and every worker of a running Dask cluster, each
fingerprinted through Dask itself (``envcheck compare``; workers labelled by name and address)."""

from __future__ import annotations

from ..errors import TargetError, UsageError
from .base import ClusterSource, Member, Request

PREFIX = "dask://"


class DaskSource(ClusterSource):
    prefix = PREFIX
    kind = "Dask cluster: its scheduler and every worker"

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
