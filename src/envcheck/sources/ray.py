"""``ray://HOST:PORT``: every alive node of a running Ray cluster, reached through its Ray
Client server (the address as Ray spells it) and fingerprinted by a task pinned to each node
(``envcheck compare``; nodes labelled by node id and IP)."""

from __future__ import annotations

from ..errors import UsageError
from .base import ClusterSource, Member, Request

PREFIX = "ray://"


class RaySource(ClusterSource):
    prefix = PREFIX
    kind = "Ray cluster: every alive node"

    def members(self, spec: str, request: Request) -> list[Member]:
        from ..integrations import ray

        if not spec[len(PREFIX):].strip("/"):
            raise UsageError(f"{spec}: name the head's Ray Client server (ray://HOST:PORT)")
        with ray.connected(spec):
            return [(label, ray.constant(fp))
                    for label, fp in ray.cluster_members(request.timeout)]
