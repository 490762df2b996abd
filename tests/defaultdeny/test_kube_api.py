"""The Kubernetes API source: the real KubernetesCluster (and the official client) against a
test double of the API server.

There is no real API server in CI: ``tests/kubeapi_double.py`` is a real HTTP server speaking
the list/watch protocol (chunked watch events, resourceVersions, 410 Gone as an ERROR event,
dropped connections); its docstring says how it is kept faithful. The cluster connects to it
through a kubeconfig file, like ``netpol-guard serve --kubeconfig``. Timeouts and backoff are
shortened through constructor parameters; waits poll a condition with a bound, never assert on
timing.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import load_review
from tests.kubeapi_double import KubeAPIDouble, namespace, network_policy
from webhook.admission.request import AdmissionRequest
from webhook.admission.wire import parse_review
from webhook.kube.cluster import KubernetesCluster, make_cluster
from webhook.kube.state import ClusterUnavailable
from webhook.observe.metrics import API_ERRORS, CACHE_SYNCED, LIVE_CONFIRMS, NAMESPACES
from webhook.policy.loader import default_policy, load_policy_text
from webhook.policy.model import Policy
from webhook.serving.review import UNCONFIRMED_WARNING, review_request

DENY_INGRESS = {"podSelector": {}, "policyTypes": ["Ingress"]}
DEFAULT = default_policy()
ALLOW_WHEN_UNAVAILABLE = load_policy_text(
    "apiVersion: netpol-guard.io/v1\nkind: Policy\nclusterUnavailable: allow\n")


def wait_until(condition: Callable[[], object], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting until {what}")


def value(metric: Any, *labels: str) -> float:
    child = metric.labels(*labels) if labels else metric
    return float(child._value.get())


def request(fixture: str, namespace_name: str = "team-a") -> AdmissionRequest:
    review = load_review(fixture)
    review["request"]["namespace"] = namespace_name
    for key in ("object", "oldObject"):
        if review["request"].get(key):
            review["request"][key]["metadata"]["namespace"] = namespace_name
    return parse_review(json.dumps(review).encode())[1]


def pod_in(namespace_name: str) -> AdmissionRequest:
    return request("pod-create-kubectl-run", namespace_name)


@pytest.fixture
def api() -> Iterator[KubeAPIDouble]:
    double = KubeAPIDouble().start()
    double.create(namespace("team-a"))  # no default-deny
    double.create(namespace("team-b"))
    double.create(network_policy("team-b", "default-deny-ingress", DENY_INGRESS))
    double.create(namespace("kube-system"))
    yield double
    double.stop()


ClusterFactory = Callable[..., KubernetesCluster]


@pytest.fixture
def make(api: KubeAPIDouble, tmp_path: Path) -> Iterator[ClusterFactory]:
    """Builds started clusters connected to ``api``; stops them at the end."""
    started: list[KubernetesCluster] = []
    kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig")

    def factory(policy: Policy = DEFAULT, start: bool = True,
                watch_timeout: int = 2) -> KubernetesCluster:
        cluster = KubernetesCluster(
            kubeconfig=str(kubeconfig), policy=lambda: policy,
            watch_timeout_seconds=watch_timeout,
            request_timeout=2, live_timeout=1, backoff_initial=0.02, backoff_max=0.2,
            metrics_interval=0.02)
        started.append(cluster)
        if start:
            cluster.start()
        return cluster

    yield factory
    for cluster in started:
        cluster.stop()


def names(policies: list[dict[str, Any]]) -> set[str]:
    return {p["metadata"]["name"] for p in policies}


def test_cache_syncs_namespaces_and_network_policies(api: KubeAPIDouble,
                                                     make: ClusterFactory) -> None:
    cluster = make()
    wait_until(cluster.is_ready, "the cache has synced")
    assert value(CACHE_SYNCED) == 1
    assert {n["metadata"]["name"] for n in cluster.list_namespaces()} == {
        "team-a", "team-b", "kube-system"}
    assert names(cluster.list_network_policies("team-b")) == {"default-deny-ingress"}
    assert cluster.list_network_policies("team-a") == []
    team_b = cluster.get_namespace("team-b")
    assert team_b is not None and team_b["kind"] == "Namespace"
    assert cluster.get_namespace("missing") is None
    assert [p["kind"] for p in cluster.list_all_network_policies()] == ["NetworkPolicy"]
    status = cluster.status()
    assert status["ready"] and status["synced"] == {"namespaces": True, "networkpolicies": True}
    # The namespaces gauge is computed from the cache with the policy in force.
    wait_until(lambda: value(NAMESPACES, "not_compliant") == 1
               and value(NAMESPACES, "compliant") == 1 and value(NAMESPACES, "exempt") == 1,
               "the namespaces gauge counts team-a, team-b and kube-system")
    assert value(NAMESPACES, "protected") == 2


def test_large_lists_are_read_in_pages_of_one_snapshot(api: KubeAPIDouble,
                                                      make: ClusterFactory,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import webhook.kube.watchcache

    monkeypatch.setattr(webhook.kube.watchcache, "LIST_PAGE_SIZE", 3)
    for index in range(10):
        api.create(network_policy("team-b", f"allow-{index}", DENY_INGRESS))
    cluster = make()
    wait_until(cluster.is_ready, "the cache has synced")

    assert len(cluster.list_network_policies("team-b")) == 11
    policy_lists = [query for method, resource, query in api.requests
                    if resource == "networkpolicies" and "watch" not in query]
    assert [q.get("limit") for q in policy_lists[:4]] == ["3"] * 4
    assert "continue" not in policy_lists[0] and all("continue" in q for q in policy_lists[1:4])


def test_not_ready_until_both_resources_have_synced(api: KubeAPIDouble,
                                                    make: ClusterFactory) -> None:
    api.fail_resources = {"networkpolicies"}
    errors = value(API_ERRORS, "list")
    cluster = make()
    wait_until(lambda: value(API_ERRORS, "list") >= errors + 2, "the NetworkPolicy list failed")
    assert cluster.status()["synced"]["namespaces"] is True
    assert not cluster.is_ready()
    with pytest.raises(ClusterUnavailable):
        cluster.list_network_policies("team-b")
    api.fail_resources = set()
    wait_until(cluster.is_ready, "the cache has synced after the API recovered")
    assert names(cluster.list_network_policies("team-b")) == {"default-deny-ingress"}


def test_review_before_first_sync_follows_cluster_unavailable(api: KubeAPIDouble,
                                                              make: ClusterFactory) -> None:
    api.stop()  # the API server is down from the start: the cache can never sync
    cluster = make()
    assert not cluster.is_ready()
    denied = review_request(pod_in("team-b"), DEFAULT, cluster)
    assert not denied.allowed and "cluster state unavailable" in denied.message
    assert UNCONFIRMED_WARNING not in denied.warnings  # DD005 says it already
    warned = review_request(pod_in("team-b"), ALLOW_WHEN_UNAVAILABLE, cluster)
    assert warned.allowed and any("DD005" in w for w in warned.warnings)
    # Rules on the object itself still run without cluster state.
    allow_all = review_request(request("networkpolicy-create-allow-all-ingress"),
                               ALLOW_WHEN_UNAVAILABLE, cluster)
    assert not allow_all.allowed and "NP001" in allow_all.message


def test_watch_events_update_the_cache(api: KubeAPIDouble, make: ClusterFactory) -> None:
    cluster = make()
    wait_until(cluster.is_ready, "the cache has synced")
    api.create(network_policy("team-a", "default-deny-ingress", DENY_INGRESS))
    wait_until(lambda: names(cluster.list_network_policies("team-a")) == {"default-deny-ingress"},
               "the ADDED policy is cached")
    api.update(network_policy("team-a", "default-deny-ingress",
                              {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}))
    wait_until(lambda: cluster.list_network_policies("team-a")[0]["spec"]["policyTypes"]
               == ["Ingress", "Egress"], "the MODIFIED policy is cached")
    api.update(namespace("team-a", {"env": "prod"}))
    wait_until(lambda: (cluster.get_namespace("team-a") or {})["metadata"]["labels"].get("env")
               == "prod", "the MODIFIED namespace is cached")
    api.delete("NetworkPolicy", "default-deny-ingress", "team-a")
    wait_until(lambda: cluster.list_network_policies("team-a") == [], "the DELETED policy left")
    api.delete("Namespace", "team-a")
    wait_until(lambda: cluster.get_namespace("team-a") is None, "the DELETED namespace left")
    api.bookmark()
    wait_until(lambda: cluster.status()["resourceVersion"]["namespaces"]
               == api.resource_version, "a BOOKMARK advances the resourceVersion")


def test_410_gone_forces_a_relist(api: KubeAPIDouble, make: ClusterFactory) -> None:
    cluster = make()
    wait_until(cluster.is_ready, "the cache has synced")
    lists = api.count_requests("networkpolicies", watch=False)
    api.hold_events = True  # the change below never reaches the open watch...
    api.create(network_policy("team-a", "default-deny-ingress", DENY_INGRESS))
    api.compact()  # ...and the history it would resume from is gone
    api.drop_watches()
    api.release_events()
    wait_until(lambda: names(cluster.list_network_policies("team-a")) == {"default-deny-ingress"},
               "the relist brought the policy in")
    assert api.count_requests("networkpolicies", watch=False) > lists
    assert cluster.is_ready()


def test_dropped_watch_connection_resumes_from_its_resource_version(
        api: KubeAPIDouble, make: ClusterFactory) -> None:
    cluster = make()
    wait_until(cluster.is_ready, "the cache has synced")
    lists = api.count_requests("networkpolicies", watch=False)
    watches = api.count_requests("networkpolicies", watch=True)
    errors = value(API_ERRORS, "watch")
    api.drop_watches()
    api.create(network_policy("team-a", "default-deny-ingress", DENY_INGRESS))
    wait_until(lambda: names(cluster.list_network_policies("team-a")) == {"default-deny-ingress"},
               "the event after the drop is cached")
    assert api.count_requests("networkpolicies", watch=True) > watches
    assert api.count_requests("networkpolicies", watch=False) == lists  # no relist needed
    assert value(API_ERRORS, "watch") > errors


def test_watch_timeout_ends_the_stream_and_the_watch_resumes_without_relist(
        api: KubeAPIDouble, make: ClusterFactory) -> None:
    errors = value(API_ERRORS, "watch")
    cluster = make(watch_timeout=1)
    wait_until(cluster.is_ready, "the cache has synced")
    lists = api.count_requests("networkpolicies", watch=False)
    wait_until(lambda: api.count_requests("networkpolicies", watch=True) >= 2,
               "the server ended the first watch and the client watched again")
    watches = [q for _, resource, q in api.requests
               if resource == "networkpolicies" and q.get("watch") == "true"]
    assert all(q["timeoutSeconds"] == "1" and q["allowWatchBookmarks"] == "true"
               for q in watches)
    assert watches[1]["resourceVersion"] == watches[0]["resourceVersion"]
    assert api.count_requests("networkpolicies", watch=False) == lists
    assert value(API_ERRORS, "watch") == errors  # a clean end of stream is no error
    age = cluster.status()["cacheAgeSeconds"]
    assert age is not None and age >= 0


def test_stale_cache_then_live_confirm_gives_no_wrong_deny(api: KubeAPIDouble,
                                                          make: ClusterFactory) -> None:
    cluster = make()
    wait_until(cluster.is_ready, "the cache has synced")
    api.hold_events = True  # the watch lags behind: the cache will not see the new policy
    api.create(network_policy("team-a", "default-deny-ingress", DENY_INGRESS))
    assert cluster.list_network_policies("team-a") == []
    overturned = value(LIVE_CONFIRMS, "overturned")
    decision = review_request(pod_in("team-a"), DEFAULT, cluster)
    assert decision.allowed and not decision.warnings
    assert value(LIVE_CONFIRMS, "overturned") == overturned + 1
    # The live read also confirms a deny that is right.
    api.create(namespace("team-c"))
    confirmed = value(LIVE_CONFIRMS, "confirmed")
    assert not review_request(pod_in("team-c"), DEFAULT, cluster).allowed
    assert value(LIVE_CONFIRMS, "confirmed") == confirmed + 1


def test_deleting_default_denies_one_after_another_cannot_outrun_the_watch(
        api: KubeAPIDouble, make: ClusterFactory) -> None:
    api.create(network_policy("team-b", "default-deny-all",
                              {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}))
    cluster = make()
    wait_until(lambda: cluster.is_ready()
               and len(cluster.list_network_policies("team-b")) == 2, "both denies are cached")
    api.hold_events = True
    # kubectl delete networkpolicy --all -n team-b: the first delete went through...
    api.delete("NetworkPolicy", "default-deny-all", "team-b")
    assert len(cluster.list_network_policies("team-b")) == 2
    # ...and the second is judged on the live state, not on the lagging cache.
    decision = review_request(request("networkpolicy-delete-default-deny-ingress", "team-b"),
                              DEFAULT, cluster)
    assert not decision.allowed and "DD002 last-default-deny" in decision.message


@pytest.mark.parametrize(("policy", "verdict"), [(DEFAULT, "denied"),
                                                 (ALLOW_WHEN_UNAVAILABLE, "warned")])
def test_api_down_after_sync_follows_cluster_unavailable(
        api: KubeAPIDouble, make: ClusterFactory, policy: Policy, verdict: str) -> None:
    cluster = make(policy)
    wait_until(cluster.is_ready, "the cache has synced")
    api.stop()
    unavailable = value(LIVE_CONFIRMS, "unavailable")
    # The cache allows: no live read is needed, so the verdict does not depend on the API.
    assert review_request(pod_in("team-b"), policy, cluster).verdict == "allowed"
    # The cache denies and the live read fails: clusterUnavailable decides.
    pod = review_request(pod_in("team-a"), policy, cluster)
    assert pod.verdict == verdict
    delete = review_request(request("networkpolicy-delete-default-deny-ingress", "team-b"),
                            policy, cluster)
    assert delete.verdict == verdict
    if verdict == "warned":
        assert any("cluster state unavailable" in w for w in pod.warnings)
    else:
        assert "DD001" in pod.message and "DD002" in delete.message
        # The cache's deny is kept, and the user is told it could not be confirmed.
        assert pod.warnings[0] == delete.warnings[0] == UNCONFIRMED_WARNING
    assert value(LIVE_CONFIRMS, "unavailable") == unavailable + 2
    with pytest.raises(ClusterUnavailable):
        cluster.get_namespace("team-a", live=True)
    # The API comes back on the same port: the watch reconnects and the cache follows.
    api.start()
    api.create(network_policy("team-a", "default-deny-ingress", DENY_INGRESS))
    wait_until(lambda: names(cluster.list_network_policies("team-a")) == {"default-deny-ingress"},
               "the cache caught up after the API came back")
    assert review_request(pod_in("team-a"), policy, cluster).verdict == "allowed"


def test_live_reads_go_to_the_api(api: KubeAPIDouble, make: ClusterFactory) -> None:
    cluster = make(start=False)  # live reads need no cache
    team_b = cluster.get_namespace("team-b", live=True)
    assert team_b is not None and team_b["metadata"]["name"] == "team-b"
    assert cluster.get_namespace("missing", live=True) is None
    assert names(cluster.list_network_policies("team-b", live=True)) == {"default-deny-ingress"}
    errors = value(API_ERRORS, "get")
    api.fail_status = 500
    with pytest.raises(ClusterUnavailable):
        cluster.get_namespace("team-b", live=True)
    assert value(API_ERRORS, "get") == errors + 1


def test_make_cluster_builds_both_sources(api: KubeAPIDouble, tmp_path: Path) -> None:
    kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig")
    cluster = make_cluster("kubernetes", kubeconfig=str(kubeconfig))
    assert isinstance(cluster, KubernetesCluster)
    assert names(cluster.list_network_policies("team-b", live=True)) == {"default-deny-ingress"}
    assert make_cluster("inventory").is_ready()
    with pytest.raises(ValueError, match="unknown cluster source"):
        make_cluster("etcd")


GEVENT_SCRIPT = """
from gevent import monkey
monkey.patch_all()
import sys, time
sys.path.insert(0, {repo!r})
from pathlib import Path
from tests.kubeapi_double import KubeAPIDouble, namespace, network_policy
from webhook.kube.cluster import KubernetesCluster
api = KubeAPIDouble().start()
api.create(namespace("team-a"))
cluster = KubernetesCluster(kubeconfig=str(api.write_kubeconfig(Path({tmp!r}) / "kc")),
                            watch_timeout_seconds=2, backoff_initial=0.02, backoff_max=0.2)
cluster.start()
deadline = time.monotonic() + 20
while not cluster.is_ready() and time.monotonic() < deadline:
    time.sleep(0.02)
api.create(network_policy("team-a", "dd", {{"podSelector": {{}}}}))
while not cluster.list_network_policies("team-a") and time.monotonic() < deadline:
    time.sleep(0.02)
print(cluster.is_ready(), len(cluster.list_network_policies("team-a")))
cluster.stop()
api.stop()
"""


def test_list_and_watch_work_under_gevent_monkey_patching(tmp_path: Path) -> None:
    repo = str(Path(__file__).resolve().parents[2])
    script = GEVENT_SCRIPT.format(repo=repo, tmp=str(tmp_path))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=60, cwd=repo)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["True", "1"], result.stderr[-2000:]
