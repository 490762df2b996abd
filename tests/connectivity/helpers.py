"""Small object builders for the connectivity tests."""

from __future__ import annotations

from typing import Any

from webhook.connectivity import analyse
from webhook.connectivity.model import InputObject


def namespace(name: str, **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": labels}}


def pod(ns: str, name: str, labels: dict[str, str] | None = None,
        ports: list[dict[str, Any]] | None = None,
        owner: tuple[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": ns, "labels": labels or {}}
    if owner:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": owner[0],
                                    "name": owner[1], "controller": True}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"containers": [{"name": "c", "image": "i", "ports": ports or []}]}}


def policy(ns: str, name: str, **spec: Any) -> dict[str, Any]:
    spec.setdefault("podSelector", {})
    if "policy_types" in spec:
        spec["policyTypes"] = spec.pop("policy_types")
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


def lines(*objects: dict[str, Any]) -> set[str]:
    return set(analyse(InputObject(o, "test") for o in objects).lines())


def world(workload: str, conns: str = "All Connections") -> set[str]:
    """``workload`` reaches, and is reached from, the whole IPv4 world."""
    return {f"0.0.0.0-255.255.255.255[External] => {workload} : {conns}",
            f"{workload} => 0.0.0.0-255.255.255.255[External] : {conns}"}
