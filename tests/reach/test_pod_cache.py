"""Pods in the webhook's cluster state: watched like namespaces and policies, kept compact,
never in the way of readiness or the default-deny checks.

Against the Kubernetes API test double (tests/kubeapi_double.py), through a kubeconfig.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.defaultdeny.test_kube_api import DENY_INGRESS, pod_in, wait_until
from tests.kubeapi_double import KubeAPIDouble, namespace, network_policy
from webhook.engine.reach import PodInfo
from webhook.kube.cluster import KubernetesCluster
from webhook.kube.state import ClusterUnavailable
from webhook.policy.loader import default_policy
from webhook.serving.review import review_request


def pod(namespace_name: str, name: str, labels: dict[str, str], *,
        owner: tuple[str, str] | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": namespace_name, "labels": labels,
                                "annotations": {"big": "x" * 2000}}
    if owner:
        metadata["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": owner[0],
                                        "name": owner[1], "controller": True, "uid": "u"}]
    return {"kind": "Pod", "apiVersion": "v1", "metadata": metadata,
            "spec": {"containers": [{"name": "c", "image": "i", "ports": [
                {"name": "http", "containerPort": 8080, "protocol": "TCP"}]}]},
            "status": {"phase": "Running", "podIP": "10.0.0.1"}}


@pytest.fixture
def api() -> Iterator[KubeAPIDouble]:
    double = KubeAPIDouble().start()
    double.create(namespace("team-a"))
    double.create(network_policy("team-a", "default-deny-ingress", DENY_INGRESS))
    double.create(pod("team-a", "web-7d9f8b6c5-x1", {"app": "web",
                                                    "pod-template-hash": "7d9f8b6c5"},
                      owner=("ReplicaSet", "web-7d9f8b6c5")))
    double.create(pod("team-a", "solo", {"app": "solo"}))
    yield double
    double.stop()


@pytest.fixture
def cluster(api: KubeAPIDouble, tmp_path: Path) -> Iterator[KubernetesCluster]:
    started = KubernetesCluster(
        kubeconfig=str(api.write_kubeconfig(tmp_path / "kubeconfig")),
        policy=default_policy, watch_timeout_seconds=2, request_timeout=2, live_timeout=1,
        backoff_initial=0.02, backoff_max=0.2, metrics_interval=0.02)
    yield started
    started.stop()


def test_pods_are_listed_and_watched_as_compact_records(api: KubeAPIDouble,
                                                        cluster: KubernetesCluster) -> None:
    cluster.start()
    wait_until(lambda: cluster.status()["pods"]["synced"], "the pod cache has synced")
    view = cluster.reach_view()
    pods = {p.name: p for p in view.pods_in("team-a")}
    assert pods["web-7d9f8b6c5-x1"] == PodInfo(
        "team-a", "web-7d9f8b6c5-x1", {"app": "web", "pod-template-hash": "7d9f8b6c5"},
        "Deployment", "web", (("http", 8080, "TCP"),), "Running")
    assert pods["solo"].workload == "team-a/solo[Pod]"
    api.create(pod("team-a", "late", {"app": "late"}))
    wait_until(lambda: "late" in {p.name for p in view.pods_in("team-a")}, "a watched ADD")
    api.delete("Pod", "solo", "team-a")
    wait_until(lambda: "solo" not in {p.name for p in view.pods_in("team-a")},
               "a watched DELETE")
    assert {p.workload for p in view.classes_in("team-a")} == {
        "team-a/web[Deployment]", "team-a/late[Pod]"}


def test_label_strings_are_shared_between_pods(api: KubeAPIDouble,
                                               cluster: KubernetesCluster) -> None:
    api.create(pod("team-a", "web-7d9f8b6c5-x2", {"app": "web",
                                                  "pod-template-hash": "7d9f8b6c5"},
                   owner=("ReplicaSet", "web-7d9f8b6c5")))
    cluster.start()
    wait_until(lambda: cluster.status()["pods"]["count"] == 3, "three pods cached")
    first, second = (p for p in cluster.reach_view().pods_in("team-a")
                     if p.name.startswith("web-"))
    [(key_1, value_1)] = [(k, v) for k, v in first.labels.items() if k == "app"]
    [(key_2, value_2)] = [(k, v) for k, v in second.labels.items() if k == "app"]
    assert key_1 is key_2 and value_1 is value_2


def test_failing_pod_watch_leaves_readiness_and_default_deny_alone(
        api: KubeAPIDouble, cluster: KubernetesCluster) -> None:
    api.fail_resources = {"pods"}
    api.fail_status = None
    cluster.start()
    wait_until(cluster.is_ready, "namespaces and policies synced")
    assert cluster.status()["pods"] == {"synced": False, "count": 0}
    with pytest.raises(ClusterUnavailable, match="pod cache has not synced"):
        cluster.reach_view()
    # The default-deny check of a pod CREATE still runs on the synced cache.
    assert review_request(pod_in("team-a"), default_policy(), cluster).allowed
