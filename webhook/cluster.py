"""Cluster state: the one module that talks to the Kubernetes API (placeholder interface)."""

from __future__ import annotations

from typing import Any, Protocol


class ClusterUnavailable(Exception):
    """The Kubernetes API (or the inventory) cannot answer."""


class ClusterState(Protocol):
    """Namespaces and NetworkPolicies as the webhook needs them."""

    def is_ready(self) -> bool: ...

    def get_namespace(self, name: str, *, live: bool = False) -> dict[str, Any] | None: ...

    def list_network_policies(self, namespace: str, *,
                              live: bool = False) -> list[dict[str, Any]]: ...
