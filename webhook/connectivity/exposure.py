"""Exposure: the workloads open to the whole cluster or to the outside, and those open to the world.

Read from a result (who actually reaches whom, after both sides' policies):

- ``from_all_namespaces``: from every namespace (at least two exist), some workload reaches it;
- ``from_any_pod``: every other workload of the cluster reaches it (at least one exists);
- ``from_outside``: some address outside the cluster reaches it;
- ``to_whole_world``: it reaches every external address (all of IPv4, and all of IPv6 when the
  policies brought IPv6 into the analysis).
"""

from __future__ import annotations

from dataclasses import dataclass

from webhook.connectivity.ipspace import IPV4_END, IPV6_END
from webhook.connectivity.result import ExternalRange, Result, Workload


@dataclass(frozen=True, slots=True)
class Exposure:
    """Workload ids, sorted, per kind of exposure."""

    from_all_namespaces: list[str]
    from_any_pod: list[str]
    from_outside: list[str]
    to_whole_world: list[str]


def _covers(ranges: list[ExternalRange], version: int) -> bool:
    end = IPV4_END if version == 4 else IPV6_END
    reached = -1
    for item in sorted((r for r in ranges if r.version == version), key=lambda r: r.start):
        if item.start > reached + 1:
            return False
        reached = max(reached, item.end)
    return reached >= end


def exposure(result: Result) -> Exposure:
    """The exposure lists of a (whole, unfiltered) result."""
    sources: dict[str, set[str]] = {}
    outside: set[str] = set()
    world: dict[str, list[ExternalRange]] = {}
    versions = {r.version for r in result.externals} | {4}
    for connection in result.connections:
        src, dst = connection.src, connection.dst
        if isinstance(dst, Workload):
            if isinstance(src, Workload):
                sources.setdefault(dst.id, set()).add(src.id)
            else:
                outside.add(dst.id)
        elif isinstance(src, Workload):
            world.setdefault(src.id, []).append(dst)
    namespace_of = {w.id: w.namespace for w in result.workloads}
    namespaces = set(namespace_of.values())
    all_ids = set(namespace_of)
    from_namespaces, from_pods = [], []
    for workload in sorted(all_ids):
        reached_from = sources.get(workload, set())
        others = all_ids - {workload}
        if others and reached_from >= others:
            from_pods.append(workload)
        seen = {namespace_of[s] for s in reached_from}
        # Its own namespace counts when it holds some other workload.
        needed = {namespace_of[o] for o in others}
        if len(namespaces) > 1 and needed and seen >= needed:
            from_namespaces.append(workload)
    to_world = sorted(w for w, ranges in world.items()
                      if all(_covers(ranges, v) for v in versions))
    return Exposure(from_namespaces, from_pods, sorted(outside), to_world)
