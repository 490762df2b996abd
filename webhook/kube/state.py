"""What the rest of the webhook may know about the cluster: the ``ClusterState`` protocol,
``ClusterUnavailable``, and reading an object's name and namespace (no I/O here)."""

from __future__ import annotations

from typing import Any, Protocol

JSONObject = dict[str, Any]


class ClusterUnavailable(Exception):
    """The Kubernetes API (or the inventory) cannot answer."""


class ClusterState(Protocol):
    """Namespaces and NetworkPolicies as the webhook needs them."""

    def is_ready(self) -> bool:
        """True once the state can be read (the cache has synced)."""
        ...

    def get_namespace(self, name: str, *, live: bool = False) -> JSONObject | None:
        """The Namespace object, or None when it does not exist."""
        ...

    def list_network_policies(self, namespace: str, *, live: bool = False) -> list[JSONObject]:
        """The NetworkPolicies in ``namespace``."""
        ...

    def list_namespaces(self) -> list[JSONObject]:
        """Every Namespace (from the cache; for audit and metrics)."""
        ...

    def list_all_network_policies(self) -> list[JSONObject]:
        """Every NetworkPolicy in every namespace (from the cache; for audit)."""
        ...

    def start(self) -> None:
        """Begin syncing (no-op for sources that need none)."""
        ...

    def stop(self) -> None:
        """Stop syncing and release connections."""
        ...

    def status(self) -> dict[str, Any]:
        """A JSON-able summary for /readyz and logs."""
        ...


def metadata_of(obj: JSONObject) -> JSONObject:
    """``obj.metadata``, or an empty mapping when it is missing or not a mapping."""
    metadata = obj.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def name_of(obj: JSONObject) -> str:
    """``metadata.name`` ("" when missing)."""
    return str(metadata_of(obj).get("name") or "")


def namespace_of(obj: JSONObject) -> str:
    """``metadata.namespace`` ("" when missing: cluster-scoped, or not yet placed)."""
    return str(metadata_of(obj).get("namespace") or "")
