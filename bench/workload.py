"""The review mix for the load benchmark and the inventory it runs against."""

from __future__ import annotations

import random
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "admission"

# Real AdmissionReviews captured from kube-apiserver v1.36 (tests/fixtures/admission), weighted
# like a busy cluster: pod and workload creates dominate (controllers create pods), then
# NetworkPolicy changes (with and without violations), then namespaces.
MIX: dict[str, int] = {
    "pod-create-kubectl-run": 25,
    "deployment-create": 10,
    "replicaset-create": 5,
    "namespace-create": 4,
    "namespace-update-label": 6,
    "networkpolicy-create-default-deny-all": 6,          # clean
    "networkpolicy-create-namespace-and-pod-selector": 8,  # clean
    "networkpolicy-create-ipblock-except": 4,
    "networkpolicy-update-apply-add-port": 8,             # UPDATE
    "networkpolicy-update-server-side-apply": 6,          # UPDATE
    "networkpolicy-create-allow-all-ingress": 6,          # violations (deny)
    "networkpolicy-create-egress-world-cidr": 6,          # violations (deny)
    "networkpolicy-create-namespace-selector-all": 6,     # violations (deny)
}


def write_body_list(path: Path, seed: int = 7) -> dict[str, float]:
    """Write the weighted, shuffled list of review files for wrk; the share of each."""
    entries = [str(FIXTURES / f"{name}.json") for name, weight in MIX.items()
               for _ in range(weight)]
    random.Random(seed).shuffle(entries)
    path.write_text("\n".join(entries) + "\n", encoding="utf-8")
    total = sum(MIX.values())
    return {name: weight / total for name, weight in MIX.items()}


def _namespace(name: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}}}


def _default_deny(namespace: str) -> dict[str, object]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "default-deny", "namespace": namespace},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}


def _allow_frontend(namespace: str) -> dict[str, object]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "allow-frontend-to-api", "namespace": namespace},
            "spec": {"podSelector": {"matchLabels": {"app": "api"}},
                     "policyTypes": ["Ingress"],
                     "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "frontend"}}}],
                                  "ports": [{"protocol": "TCP", "port": 8080}]}]}}


def write_inventory(directory: Path, namespaces: int = 200) -> None:
    """A cluster of ``namespaces`` compliant namespaces (team-a among them): each has its
    default-deny and one allow policy, so workload creates in team-a are allowed."""
    directory.mkdir(parents=True, exist_ok=True)
    names = ["team-a"] + [f"team-{i:04d}" for i in range(1, namespaces)]
    documents: list[dict[str, object]] = []
    for name in names:
        documents += [_namespace(name), _default_deny(name), _allow_frontend(name)]
    with open(directory / "cluster.yaml", "w", encoding="utf-8") as handle:
        yaml.safe_dump_all(documents, handle, sort_keys=False)
