"""Exposure findings of ``netpol-guard audit``: workloads reachable from every namespace, or from
addresses outside the cluster, read from the connectivity analysis (``webhook.connectivity``)
of the audited namespaces, NetworkPolicies and pods.

The pods come from the cluster source as compact records (the webhook's pod cache keeps them
for NP018); each is handed to the analysis as the minimal Pod object it reads (labels, owner,
named ports, phase).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from webhook.engine.reach import PodInfo

JSONObject = dict[str, Any]
FROM_ALL_NAMESPACES = "fromAllNamespaces"
FROM_OUTSIDE = "fromOutside"
_WHAT = {FROM_ALL_NAMESPACES: "is reachable from every namespace",
         FROM_OUTSIDE: "is reachable from addresses outside the cluster"}
_RULE = {FROM_ALL_NAMESPACES: "exposure-all-namespaces", FROM_OUTSIDE: "exposure-outside"}
_API_VERSIONS = {"Pod": "v1", "ReplicationController": "v1", "Job": "batch/v1",
                 "CronJob": "batch/v1"}


@dataclass(frozen=True, slots=True)
class ExposureFinding:
    """One workload open to every namespace (``fromAllNamespaces``) or to the outside."""

    namespace: str
    name: str
    kind: str
    exposure: str

    @property
    def workload(self) -> str:
        return f"{self.namespace}/{self.name}[{self.kind}]"

    @property
    def message(self) -> str:
        return f"workload {self.workload} {_WHAT[self.exposure]}"

    @property
    def rule(self) -> str:
        return _RULE[self.exposure]

    def resource(self) -> JSONObject:
        """The workload as a PolicyReport resource reference."""
        return {"apiVersion": _API_VERSIONS.get(self.kind, "apps/v1"), "kind": self.kind,
                "name": self.name, "namespace": self.namespace}


def pod_object(pod: PodInfo) -> JSONObject:
    """The Pod object the analysis reads, from the compact record."""
    metadata: JSONObject = {"name": pod.name, "namespace": pod.namespace,
                            "labels": dict(pod.labels)}
    if pod.owner_kind != "Pod" or pod.owner_name != pod.name:
        metadata["ownerReferences"] = [{"kind": pod.owner_kind, "name": pod.owner_name,
                                        "controller": True}]
    ports = [{"name": name, "containerPort": number, "protocol": protocol}
             for name, number, protocol in pod.ports if name]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata,
            "spec": {"containers": [{"name": "c", "ports": ports}]},
            "status": {"phase": pod.phase}}


def exposure_findings(namespaces: Iterable[JSONObject], policies: Iterable[JSONObject],
                      pods: Sequence[PodInfo]) -> list[ExposureFinding]:
    """Workloads reachable from every namespace or from outside, sorted (none without pods)."""
    if not pods:
        return []
    from webhook.connectivity import analyse
    from webhook.connectivity.exposure import exposure
    from webhook.connectivity.model import InputObject

    objects = [InputObject(o) for o in (*namespaces, *policies)]
    objects.extend(InputObject(pod_object(p)) for p in pods)
    result = analyse(objects)
    found = exposure(result)
    by_id = {w.id: w for w in result.workloads}
    findings = [ExposureFinding(by_id[w].namespace, by_id[w].name, by_id[w].kind, kind)
                for kind, ids in ((FROM_ALL_NAMESPACES, found.from_all_namespaces),
                                  (FROM_OUTSIDE, found.from_outside))
                for w in ids if w in by_id]
    return sorted(findings, key=lambda f: (f.namespace, f.workload, f.exposure))


def pods_of(cluster: Any) -> list[PodInfo]:
    """Every pod record of a cluster source that keeps pods (raises ClusterUnavailable while
    its pod cache has not synced)."""
    view = cluster.reach_view()
    return [p for ns in view.namespaces_with_pods() for p in view.pods_in(ns)]


def render_text(findings: Sequence[ExposureFinding]) -> list[str]:
    """The text section (empty without findings)."""
    if not findings:
        return []
    lines = [f"Exposed workloads ({len(findings)} findings):"]
    lines.extend(f"  warn  {f.workload}: {_WHAT[f.exposure]}" for f in findings)
    return [*lines, ""]


def as_json(findings: Sequence[ExposureFinding]) -> list[JSONObject]:
    return [{"namespace": f.namespace, "kind": f.kind, "name": f.name,
             "exposure": f.exposure, "message": f.message} for f in findings]


def in_namespace(findings: Sequence[ExposureFinding]) -> Mapping[str, list[ExposureFinding]]:
    grouped: dict[str, list[ExposureFinding]] = {}
    for finding in findings:
        grouped.setdefault(finding.namespace, []).append(finding)
    return grouped
