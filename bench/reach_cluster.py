"""A synthetic cluster for NP018 (reach-delta): namespaces, pods as the API server lists them,
and NetworkPolicies of everyday shapes.

``cluster(workloads, pods_per_workload, namespaces)`` gives Namespace, Pod and NetworkPolicy
objects. Each namespace has a default-deny (Ingress and Egress), DNS egress, ingress from its own
frontend, from a monitoring namespace on a named port, egress to a shared database namespace,
and a few policies per workload, so 10 workloads per namespace come with about 10 policies.
"""

from __future__ import annotations

from typing import Any

JSON = dict[str, Any]


def _np(namespace: str, name: str, spec: JSON, index: int) -> JSON:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace, "uid": f"np-{index:08d}",
                         "resourceVersion": str(1000 + index), "generation": 1},
            "spec": spec}


def namespace_objects(namespaces: int) -> list[JSON]:
    return [{"apiVersion": "v1", "kind": "Namespace",
             "metadata": {"name": f"team-{n:03d}", "uid": f"ns-{n}",
                          "labels": {"kubernetes.io/metadata.name": f"team-{n:03d}",
                                     "tier": "frontend" if n % 4 == 0 else "backend"}},
             "status": {"phase": "Active"}} for n in range(namespaces)]


def pod_object(namespace: str, app: str, index: int, replica: int) -> JSON:
    """A pod with what a real one carries (most of it is dropped by the cache)."""
    template_hash = f"{index:06x}abc"[:9]
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": f"{app}-{template_hash}-{replica:05d}", "namespace": namespace,
            "uid": f"pod-{index}-{replica}", "resourceVersion": str(50_000 + index * 10 + replica),
            "creationTimestamp": "2026-12-04T10:00:00Z",
            "labels": {"app": app, "tier": "web" if index % 3 == 0 else "api",
                       "version": "v1", "pod-template-hash": template_hash,
                       "app.kubernetes.io/part-of": "shop"},
            "annotations": {"kubectl.kubernetes.io/restartedAt": "2026-12-04T10:00:00Z",
                            "prometheus.io/scrape": "true"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                 "name": f"{app}-{template_hash}", "uid": f"rs-{index}",
                                 "controller": True, "blockOwnerDeletion": True}],
        },
        "spec": {
            "containers": [{
                "name": app, "image": f"registry.example.com/shop/{app}:1.2.3",
                "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"},
                          {"name": "metrics", "containerPort": 9090, "protocol": "TCP"}],
                "env": [{"name": "LOG_LEVEL", "value": "info"}],
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                "volumeMounts": [{"name": "kube-api-access", "mountPath": "/var/run/secrets"}],
            }],
            "serviceAccountName": "default", "nodeName": f"node-{index % 50}",
            "volumes": [{"name": "kube-api-access", "projected": {"sources": []}}],
        },
        "status": {"phase": "Running", "podIP": f"10.{index % 250}.{replica}.{index % 200}",
                   "conditions": [{"type": "Ready", "status": "True"}],
                   "containerStatuses": [{"name": app, "ready": True, "restartCount": 0}]},
    }


def pod_objects(workloads: int, pods_per_workload: int, namespaces: int) -> list[JSON]:
    per_namespace = max(1, workloads // namespaces)
    return [pod_object(f"team-{(w // per_namespace) % namespaces:03d}", f"app{w % per_namespace}",
                       w, r)
            for w in range(workloads) for r in range(pods_per_workload)]


def policy_objects(namespaces: int, workloads_per_namespace: int) -> list[JSON]:
    """About ``workloads_per_namespace`` policies in each namespace."""
    out: list[JSON] = []
    for n in range(namespaces):
        ns = f"team-{n:03d}"
        base = len(out)
        out.append(_np(ns, "default-deny", {"podSelector": {},
                                             "policyTypes": ["Ingress", "Egress"]}, base))
        out.append(_np(ns, "allow-dns", {
            "podSelector": {}, "policyTypes": ["Egress"],
            "egress": [{"to": [{"namespaceSelector": {"matchLabels": {
                "kubernetes.io/metadata.name": "kube-system"}}}],
                "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}]},
            base + 1))
        out.append(_np(ns, "allow-monitoring", {
            "podSelector": {}, "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {
                "kubernetes.io/metadata.name": "team-000"}}}],
                "ports": [{"protocol": "TCP", "port": "metrics"}]}]}, base + 2))
        for w in range(max(0, workloads_per_namespace - 3)):
            app, caller = f"app{w}", f"app{(w + 1) % workloads_per_namespace}"
            out.append(_np(ns, f"{app}-ingress", {
                "podSelector": {"matchLabels": {"app": app}}, "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": caller}}},
                                      {"namespaceSelector": {"matchLabels": {"tier": "frontend"}},
                                       "podSelector": {"matchLabels": {"tier": "web"}}}],
                             "ports": [{"protocol": "TCP", "port": 8080}]}],
                "egress": [{"to": [{"podSelector": {"matchLabels": {"app": caller}}},
                                   {"ipBlock": {"cidr": "10.0.0.0/8",
                                                "except": [f"10.{n}.0.0/16"]}}],
                            "ports": [{"protocol": "TCP", "port": 8080, "endPort": 8090}]}]},
                base + 3 + w))
    return out
