"""Who can reach whom: NetworkPolicy connectivity over a set of objects (pure, no I/O).

``analyse(objects)`` reads Pods, workload controllers, Namespaces and NetworkPolicies and returns
a ``Result`` (workloads, external ranges, allowed connections). Pods are grouped into classes that
no selector tells apart and every policy is evaluated per class, not per pod; see
docs/connectivity.md for the semantics. Formatters live in the CLI, not here.
"""

from webhook.connectivity.analysis import Analysis, analyse, reach_delta
from webhook.connectivity.result import Connection, ExternalRange, Result, Workload

__all__ = ["Analysis", "Connection", "ExternalRange", "Result", "Workload", "analyse",
           "reach_delta"]
