"""The Kubernetes API (tests/kubeapi_double.py) down at start, and down then back under load.

Two real servers read the double through ``--cluster-source kubernetes --kubeconfig``: one with
``clusterUnavailable: deny`` (the default), one with ``allow``. Checked:

- started while the API is down: /readyz is 503, state-dependent checks (a Pod create) follow
  ``clusterUnavailable``, checks on the object itself still run; once the API is up the cache
  syncs by itself and /readyz turns 200;
- the API stopped under load: every answer keeps its verdict (cached state, and a deny that
  cannot be confirmed live stays a deny under ``deny``; becomes an allow with a warning under
  ``allow``); after the API comes back the watch resumes by itself and a change made during the
  outage reaches the cache without a live read.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ServedWebhook, load_review
from tests.kubeapi_double import KubeAPIDouble, namespace, network_policy
from tests.reliability import figures
from tests.reliability.conftest import ServerFactory
from tests.reliability.loadgen import LoadGenerator, baseline, verdict_of, with_canary
from tests.reliability.serving import metric, metrics, readyz, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.faults]

DEFAULT_DENY = {"podSelector": {}, "policyTypes": ["Ingress"]}
POLICY_TEXT = (Path(__file__).resolve().parents[2] / "webhook" / "policy"
               / "default-policy.yaml").read_text()


def pod_review(namespace_name: str) -> dict[str, Any]:
    review = with_canary(load_review("pod-create-kubectl-run"))
    review["request"]["namespace"] = namespace_name
    review["request"]["object"]["metadata"]["namespace"] = namespace_name
    review["request"]["uid"] = f"pod-{namespace_name}-{time.monotonic_ns()}"
    return review


def ask(served: ServedWebhook, review: dict[str, Any]) -> dict[str, Any]:
    """One review on a fresh connection; the AdmissionReview response."""
    import http.client

    from tests.reliability.loadgen import HOST, client_context, post_review

    connection = http.client.HTTPSConnection(HOST, served.port, timeout=10,
                                             context=client_context(served.ca_file))
    try:
        status, document, _ = post_review(connection, review)
    finally:
        connection.close()
    assert status == 200 and verdict_of(document, review["request"]["uid"]) is not None
    assert document is not None
    response: dict[str, Any] = document["response"]
    return response


@pytest.fixture
def kube_api(tmp_path: Path) -> Iterator[tuple[KubeAPIDouble, Path]]:
    double = KubeAPIDouble().start()
    double.create(namespace("team-a"))
    double.create(namespace("team-b"))
    double.create(namespace("team-c"))
    double.create(network_policy("team-b", "default-deny", DEFAULT_DENY))
    kubeconfig = double.write_kubeconfig(tmp_path / "kubeconfig")
    yield double, kubeconfig
    double.stop()


def start_pair(serve: ServerFactory, tmp_path: Path, kubeconfig: Path,
               *, wait_ready: bool) -> tuple[ServedWebhook, ServedWebhook]:
    """A server with clusterUnavailable: deny and one with allow, started side by side."""
    deny_policy = tmp_path / "deny.yaml"
    deny_policy.write_text(POLICY_TEXT)
    allow_policy = tmp_path / "allow.yaml"
    allow_policy.write_text(POLICY_TEXT.replace("clusterUnavailable: deny",
                                                "clusterUnavailable: allow"))
    assert allow_policy.read_text() != POLICY_TEXT
    started: dict[str, ServedWebhook] = {}

    def start(name: str, policy: Path) -> None:
        started[name] = serve("--cluster-source", "kubernetes", "--kubeconfig", str(kubeconfig),
                              "--policy", str(policy), wait_ready=wait_ready)

    threads = [threading.Thread(target=start, args=("deny", deny_policy)),
               threading.Thread(target=start, args=("allow", allow_policy))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(started) == {"deny", "allow"}, "a server did not start"
    return started["deny"], started["allow"]


def test_started_while_the_api_is_down_it_is_not_ready_and_follows_cluster_unavailable(
        serve: ServerFactory, tmp_path: Path, kube_api: tuple[KubeAPIDouble, Path]) -> None:
    double, kubeconfig = kube_api
    double.stop()
    deny_server, allow_server = start_pair(serve, tmp_path, kubeconfig, wait_ready=False)
    figures.FAULTS_INJECTED["Kubernetes API down at start"] += 1

    for served in (deny_server, allow_server):
        status, body = readyz(served.port, served.ca_file)
        assert status == 503 and body["cluster"]["ready"] is False
    denied = ask(deny_server, pod_review("team-b"))
    allowed = ask(allow_server, pod_review("team-b"))
    assert denied["allowed"] is False
    assert "cluster state unavailable" in denied["status"]["message"]
    assert allowed["allowed"] is True
    assert any("cluster state unavailable" in w for w in allowed.get("warnings", []))
    for served in (deny_server, allow_server):  # rules on the object itself need no state
        response = ask(served, with_canary(load_review("networkpolicy-create-allow-all-ingress")))
        assert response["allowed"] is False and "NP001" in response["status"]["message"]
    figures.REQUESTS_UNDER_FAULTS["Kubernetes API down at start"] += 4

    double.start()
    took = max(wait_for(lambda s=served: readyz(s.port, s.ca_file)[0] == 200, 20,
                        "the cache to sync once the API is up")
               for served in (deny_server, allow_server))
    print(f"\nKubernetes API down at start: both servers ready {took:.1f}s after it came up")
    # Each worker syncs its own cache, and a /readyz answer speaks only for the worker that
    # answered it: wait until fresh connections (spread over both workers) all see the state.
    for served in (deny_server, allow_server):
        wait_for(lambda s=served: all(ask(s, pod_review("team-b"))["allowed"] for _ in range(6)),
                 20, "every worker's cache to sync once the API is up")
    for served in (deny_server, allow_server):
        assert ask(served, pod_review("team-b"))["allowed"] is True  # has its default-deny
        assert ask(served, pod_review("team-a"))["allowed"] is False  # has none


def test_an_api_outage_under_load_keeps_verdicts_and_the_cache_resyncs_by_itself(
        serve: ServerFactory, tmp_path: Path, kube_api: tuple[KubeAPIDouble, Path]) -> None:
    double, kubeconfig = kube_api
    deny_server, allow_server = start_pair(serve, tmp_path, kubeconfig, wait_ready=True)
    assert ask(allow_server, pod_review("team-c"))["allowed"] is False  # API up: real verdict
    names = ("pod-team-b", "pod-team-c", "networkpolicy-create-allow-all-ingress",
             "networkpolicy-create-default-deny-all", "networkpolicy-update-apply-add-port",
             "namespace-create")
    reviews = {"pod-team-b": pod_review("team-b"), "pod-team-c": pod_review("team-c")}
    items = baseline(deny_server.port, deny_server.ca_file, names, reviews=reviews)
    expected = {item.name: item.expected.allowed for item in items}
    assert expected["pod-team-b"] is True and expected["pod-team-c"] is False
    load = LoadGenerator(deny_server.port, deny_server.ca_file, items, threads=4,
                         max_seconds=40)
    load.start()
    try:
        load.wait_for_answers(100)
        watches = {resource: double.count_requests(resource, watch=True)
                   for resource in ("namespaces", "networkpolicies")}
        double.stop()
        down_at = time.monotonic()
        # A change while the API is down: it must reach the cache after the restart.
        double.create(network_policy("team-a", "default-deny", DEFAULT_DENY))
        during = ask(allow_server, pod_review("team-c"))
        ready_during = readyz(deny_server.port, deny_server.ca_file)[0]
        load.wait_for_answers(300)
        time.sleep(max(0.0, 3.0 - (time.monotonic() - down_at)))
        double.start()
        # Every worker of both servers (2 × 2) keeps its own watches: all must have resumed
        # before the cache can be asked, or a worker still in backoff answers from a stale one.
        took = wait_for(lambda: all(double.count_requests(resource, watch=True) >= count + 4
                                    for resource, count in watches.items()), 35,
                        "the watches of all four workers to resume after the API came back")
        load.wait_for_answers(200)
    finally:
        tally = load.stop()

    overturned = metric(metrics(deny_server.port, deny_server.ca_file),
                        "netpol_guard_live_confirms_total", outcome="overturned")
    team_a = ask(deny_server, pod_review("team-a"))
    samples = metrics(deny_server.port, deny_server.ca_file)
    figures.record_fault(
        "Kubernetes API stopped and restarted", tally,
        f"; watches resumed {took:.1f}s after the restart; live confirms unavailable: "
        f"{metric(samples, 'netpol_guard_live_confirms_total', outcome='unavailable'):.0f}, "
        f"API errors: {metric(samples, 'netpol_guard_cluster_api_errors_total'):.0f}")

    assert tally.failures == []  # every answer kept its verdict through the outage
    assert ready_during == 200  # a synced cache stays ready while the watch recovers
    assert during["allowed"] is True  # allow: the unconfirmable deny becomes a warning
    assert any("cluster state unavailable" in w for w in during.get("warnings", []))
    assert metric(samples, "netpol_guard_live_confirms_total", outcome="unavailable") > 0
    assert metric(samples, "netpol_guard_cluster_api_errors_total") > 0
    # The default-deny created during the outage came through the resumed watch: team-a's pod
    # is allowed from the cache, with no live read needed to overturn a stale deny.
    assert team_a["allowed"] is True
    assert metric(samples, "netpol_guard_live_confirms_total", outcome="overturned") == overturned
