"""The inventory source: Namespace and NetworkPolicy manifests on disk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from webhook.kube.inventory import InventoryCluster
from webhook.kube.state import ClusterUnavailable

MULTI_DOC = """\
apiVersion: v1
kind: Namespace
metadata: {name: team-a, labels: {env: prod}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny-ingress, namespace: team-a}
spec: {podSelector: {}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: ignored, namespace: team-a}
"""

LIST = """\
apiVersion: v1
kind: List
items:
  - apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: allow-web, namespace: team-a}
    spec: {podSelector: {matchLabels: {app: web}}}
  - apiVersion: networking.k8s.io/v1
    kind: NetworkPolicyList
    items:
      - {apiVersion: networking.k8s.io/v1, kind: NetworkPolicy,
         metadata: {name: no-namespace}, spec: {podSelector: {}}}
"""


def names(objects: list[dict]) -> set[str]:  # type: ignore[type-arg]
    return {o["metadata"]["name"] for o in objects}


def test_reads_multi_document_files_lists_and_subdirectories(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(MULTI_DOC)
    (tmp_path / "nested" / "deeper").mkdir(parents=True)
    (tmp_path / "nested" / "deeper" / "b.yml").write_text(LIST)
    (tmp_path / "notes.txt").write_text("kind: Namespace\nmetadata: {name: not-read}\n")
    cluster = InventoryCluster(tmp_path)
    assert cluster.is_ready()
    assert names(cluster.list_namespaces()) == {"team-a"}
    team_a = cluster.get_namespace("team-a")
    assert team_a is not None and team_a["metadata"]["labels"] == {"env": "prod"}
    assert names(cluster.list_network_policies("team-a")) == {"default-deny-ingress",
                                                              "allow-web"}
    # Without a namespace, a manifest lands where kubectl apply would put it.
    assert names(cluster.list_network_policies("default")) == {"no-namespace"}
    assert len(cluster.list_all_network_policies()) == 3
    assert cluster.status()["networkPolicies"] == 3


def test_cache_reads_do_not_rescan_but_live_reads_do(tmp_path: Path) -> None:
    cluster = InventoryCluster(tmp_path)
    (tmp_path / "a.yaml").write_text(MULTI_DOC)
    assert cluster.get_namespace("team-a") is None
    assert cluster.list_network_policies("team-a") == []
    assert cluster.get_namespace("team-a", live=True) is not None
    assert names(cluster.list_network_policies("team-a", live=True)) == {"default-deny-ingress"}
    (tmp_path / "a.yaml").unlink()
    assert cluster.list_network_policies("team-a", live=True) == []


def test_empty_embedded_inventory() -> None:
    cluster = InventoryCluster(None)
    assert cluster.is_ready()
    assert cluster.list_namespaces() == []
    assert cluster.list_network_policies("team-a", live=True) == []


def test_broken_manifest_makes_the_inventory_unavailable_and_keeps_the_last_state(
        tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(MULTI_DOC)
    cluster = InventoryCluster(tmp_path)
    (tmp_path / "b.yaml").write_text("kind: [unclosed\n")
    with pytest.raises(ClusterUnavailable, match="b.yaml"):
        cluster.list_network_policies("team-a", live=True)
    assert names(cluster.list_network_policies("team-a")) == {"default-deny-ingress"}


def test_missing_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ClusterUnavailable, match="not a directory"):
        InventoryCluster(tmp_path / "missing")


def test_reads_kubectl_json_lists(tmp_path: Path) -> None:
    import json

    listing = {"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-j"}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
         "metadata": {"name": "deny", "namespace": "team-j"},
         "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}]}
    (tmp_path / "cluster.json").write_text(json.dumps(listing), encoding="utf-8")
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")

    with pytest.raises(ClusterUnavailable, match="broken.json"):
        InventoryCluster(tmp_path)
    (tmp_path / "broken.json").unlink()
    cluster = InventoryCluster(tmp_path)

    assert cluster.get_namespace("team-j") is not None
    assert [p["metadata"]["name"] for p in cluster.list_network_policies("team-j")] == ["deny"]


def test_live_reads_parse_the_files_only_when_they_changed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import webhook.kube.inventory

    parsed: list[Path] = []
    real_load = webhook.kube.inventory.load_inventory

    def counting_load(directory: Path, pods: Any = None) -> Any:
        parsed.append(directory)
        return real_load(directory, pods)

    monkeypatch.setattr(webhook.kube.inventory, "load_inventory", counting_load)
    (tmp_path / "a.yaml").write_text(MULTI_DOC)
    cluster = InventoryCluster(tmp_path)

    cluster.get_namespace("team-a", live=True)
    cluster.list_network_policies("team-a", live=True)
    assert len(parsed) == 1
    (tmp_path / "b.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n")
    assert cluster.get_namespace("b", live=True) is not None
    assert len(parsed) == 2
