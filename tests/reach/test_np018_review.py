"""NP018 reach-delta through review_request: real AdmissionReview JSON, a cluster state with pods.

Named by behaviour: what a change opens and closes is warned (dry-run the same), the exposure
and size parameters deny, an unsynced pod cache or an exhausted time budget answers without
NP018 and says so, exemptions and `off` leave it out.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from types import MappingProxyType
from typing import Any

import pytest

import webhook.engine.reachdelta
import webhook.serving.reachreview
from webhook.admission.decision import WARNING_MAX_CHARS, Action, Decision
from webhook.admission.wire import parse_review
from webhook.engine.reach import PodInfo, ReachView
from webhook.engine.reachview import StaticReachView
from webhook.kube.state import ClusterUnavailable
from webhook.observe.metrics import REACH_DELTAS, REVIEW_TALLY
from webhook.policy.loader import default_policy
from webhook.policy.model import Exemptions, Policy
from webhook.serving.review import review_request

JSON = dict[str, Any]


def ns(name: str, **labels: str) -> JSON:
    return {"kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def pod(namespace: str, workload: str, app: str, ports: tuple[tuple[str, int], ...] = (),
        kind: str = "Deployment") -> PodInfo:
    return PodInfo(namespace, f"{workload}-abc12", {"app": app}, kind, workload,
                   tuple((name, port, "TCP") for name, port in ports))


def deny_all(namespace: str) -> JSON:
    return {"kind": "NetworkPolicy", "apiVersion": "networking.k8s.io/v1",
            "metadata": {"name": "default-deny", "namespace": namespace,
                         "resourceVersion": "1"},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}


def allow_egress_all(namespace: str) -> JSON:
    return {"kind": "NetworkPolicy", "apiVersion": "networking.k8s.io/v1",
            "metadata": {"name": "egress-all", "namespace": namespace, "resourceVersion": "2"},
            "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{}]}}


def db_from(peers: list[JSON], name: str = "db-from-frontend") -> JSON:
    return {"kind": "NetworkPolicy", "apiVersion": "networking.k8s.io/v1",
            "metadata": {"name": name, "namespace": "payments"},
            "spec": {"podSelector": {"matchLabels": {"app": "db"}},
                     "policyTypes": ["Ingress"],
                     "ingress": [{"from": peers, "ports": [{"protocol": "TCP", "port": 5432}]}]}}


FRONTEND = {"namespaceSelector": {"matchLabels": {"team": "frontend"}}}
NAMESPACES = [ns("payments"), ns("frontend", team="frontend"), ns("shop", team="frontend"),
              ns("batch"), ns("empty")]
PODS = [pod("payments", "db", "db", (("pg", 5432),)), pod("payments", "api", "api"),
        pod("frontend", "web", "web"), pod("frontend", "admin", "admin"),
        pod("shop", "cart", "cart"), pod("batch", "report", "report")]
BASE = [p for name in ("payments", "frontend", "shop", "batch")
        for p in (deny_all(name), allow_egress_all(name))]


class Cluster:
    """A cluster source that keeps pods (the webhook's cache), or whose pods are not synced."""

    def __init__(self, policies: list[JSON], synced: bool = True) -> None:
        self.policies, self.synced = policies, synced

    def is_ready(self) -> bool:
        return True

    def get_namespace(self, name: str, *, live: bool = False) -> JSON | None:
        return next((n for n in NAMESPACES if n["metadata"]["name"] == name), None)

    def list_network_policies(self, namespace: str, *, live: bool = False) -> list[JSON]:
        return [p for p in self.policies if p["metadata"]["namespace"] == namespace]

    def reach_view(self) -> ReachView:
        if not self.synced:
            raise ClusterUnavailable("the webhook's pod cache has not synced yet")
        return StaticReachView(NAMESPACES, PODS, self.policies)


def review(operation: str, new: JSON | None, old: JSON | None = None, *,
           dry_run: bool = False, cluster: Cluster | None = None,
           policy: Policy | None = None) -> Decision:
    obj = new or old
    assert obj is not None
    body = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "u-1", "kind": {"group": "networking.k8s.io", "version": "v1",
                               "kind": "NetworkPolicy"},
        "resource": {"group": "networking.k8s.io", "version": "v1",
                     "resource": "networkpolicies"},
        "namespace": obj["metadata"]["namespace"], "name": obj["metadata"]["name"],
        "operation": operation, "userInfo": {"username": "alice"},
        "object": new, "oldObject": old, "dryRun": dry_run}}
    request = parse_review(json.dumps(body).encode())[1]
    return review_request(request, policy or default_policy(), cluster or Cluster(BASE))


def with_np018(off: tuple[str, ...] = (), **changes: Any) -> Policy:
    base = default_policy()
    rules = dict(base.rules)
    rules["NP018"] = replace(rules["NP018"], **changes)
    for rule_id in off:
        rules[rule_id] = replace(rules[rule_id], action=Action.OFF)
    return replace(base, rules=MappingProxyType(rules))


def np018(decision: Decision) -> list[str]:
    return [w for w in decision.warnings if w.startswith("NP018")]


def outcome(name: str) -> float:
    REVIEW_TALLY.flush()  # NP018's outcomes are counted in the review tally's batches
    return REACH_DELTAS.labels(name)._value.get()  # type: ignore[no-any-return]


def test_create_warns_which_workloads_it_newly_lets_in() -> None:
    decision = review("CREATE", db_from([FRONTEND]))
    assert decision.allowed
    assert np018(decision) == [
        "NP018 reach-delta: newly allows frontend/admin, frontend/web, shop/cart to reach "
        "payments/db[Deployment] on TCP 5432"]
    assert all(len(w) <= WARNING_MAX_CHARS for w in decision.warnings)
    [violation] = [v for v in decision.violations if v.rule_id == "NP018"]
    assert violation.message == (
        "this change newly allows 3 workloads in 2 namespaces to reach payments/db[Deployment] "
        "on TCP 5432: frontend/admin, frontend/web, shop/cart")


def test_dry_run_gets_the_same_warnings() -> None:
    assert review("CREATE", db_from([FRONTEND]), dry_run=True) == review(
        "CREATE", db_from([FRONTEND]))


def test_update_warns_what_it_adds_and_what_it_removes() -> None:
    old = {**db_from([FRONTEND]), "metadata": {**db_from([])["metadata"], "resourceVersion": "7"}}
    new = db_from([{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name":
                                                          "batch"}}}])
    decision = review("UPDATE", new, old, cluster=Cluster([*BASE, old]))
    assert np018(decision) == [
        "NP018 reach-delta: newly allows batch/report to reach payments/db[Deployment] on TCP 5432",
        "NP018 reach-delta: no longer allows frontend/admin, frontend/web, shop/cart to reach "
        "payments/db[Deployment] on TCP 5432"]


def test_delete_warns_what_it_removes() -> None:
    old = {**db_from([FRONTEND]), "metadata": {**db_from([])["metadata"], "resourceVersion": "7"}}
    decision = review("DELETE", None, old, cluster=Cluster([*BASE, old]))
    assert decision.allowed
    assert np018(decision) == [
        "NP018 reach-delta: no longer allows frontend/admin, frontend/web, shop/cart to reach "
        "payments/db[Deployment] on TCP 5432"]


def test_a_policy_in_a_namespace_without_pods_changes_nothing() -> None:
    before = outcome("evaluated")
    policy = {**db_from([{}]), "metadata": {"name": "any", "namespace": "empty"}}
    decision = review("CREATE", policy)
    assert decision.allowed and np018(decision) == []
    assert outcome("evaluated") == before + 1


def test_a_namespace_without_pods_is_answered_without_compiling_the_change(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Compiling both sides was most of NP018's cost on each review in such a namespace.
    def compiled(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("compiled a change that selects no pod")

    monkeypatch.setattr(webhook.engine.reachdelta, "compile_policy", compiled)
    before = outcome("evaluated")
    policy = {**db_from([{}]), "metadata": {"name": "any", "namespace": "empty"}}
    decision = review("CREATE", policy)
    assert decision.allowed and np018(decision) == []
    assert outcome("evaluated") == before + 1


def test_unsynced_pod_cache_answers_without_np018_in_one_warning() -> None:
    before = outcome("unsynced")
    decision = review("CREATE", db_from([FRONTEND]), cluster=Cluster(BASE, synced=False))
    assert decision.allowed
    assert np018(decision) == [
        "NP018 reach-delta: not evaluated: the webhook's pod cache has not synced yet"]
    assert outcome("unsynced") == before + 1


@pytest.fixture
def slow_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    ticks = iter(range(0, 10**9, 1))
    monkeypatch.setattr(webhook.serving.reachreview, "clock", lambda: float(next(ticks)))
    yield


def test_over_budget_answers_without_np018_in_one_warning(slow_clock: None) -> None:
    before = outcome("budget")
    decision = review("CREATE", db_from([FRONTEND]), policy=with_np018(time_budget_ms=1))
    assert decision.allowed
    assert np018(decision) == [
        "NP018 reach-delta: not evaluated: the change's effect took longer than 1 ms "
        "(timeBudgetMs) to compute"]
    assert outcome("budget") == before + 1


@pytest.mark.parametrize(("name", "peers", "changes", "says"), [
    ("every namespace", [{"namespaceSelector": {}}], {"deny_exposure_to_all_namespaces": True},
     "newly exposes payments/db[Deployment] to every namespace"),
    ("outside the cluster", [{"ipBlock": {"cidr": "203.0.113.0/24"}}],
     {"deny_exposure_to_outside": True},
     "newly exposes payments/db[Deployment] to addresses outside the cluster"),
    ("more pairs than allowed", [FRONTEND], {"max_added_pairs": 2},
     "newly allows 3 workload pairs, more than the 2"),
])
def test_parameters_deny_exposure_and_size(name: str, peers: list[JSON],
                                           changes: dict[str, Any], says: str) -> None:
    # NP003 (cluster-wide peer) would refuse the first case on its own.
    decision = review("CREATE", db_from(peers), policy=with_np018(("NP003",), **changes))
    assert not decision.allowed and decision.code == 403
    assert [v.rule_id for v in decision.violations if v.action is Action.DENY] == ["NP018"]
    assert says in decision.message


@pytest.mark.parametrize(("peers", "changes"), [
    ([FRONTEND], {"deny_exposure_to_all_namespaces": True, "deny_exposure_to_outside": True}),
    ([FRONTEND], {"max_added_pairs": 3}),
])
def test_parameters_let_narrower_changes_pass(peers: list[JSON], changes: dict[str, Any]) -> None:
    decision = review("CREATE", db_from(peers), policy=with_np018(**changes))
    assert decision.allowed and np018(decision)


def test_a_failure_inside_np018_answers_without_it(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(webhook.serving.reachreview, "reach_delta", broken)
    before = outcome("error")
    decision = review("CREATE", db_from([FRONTEND]))
    assert decision.allowed and decision.code == 200
    assert np018(decision) == [
        "NP018 reach-delta: not evaluated: it failed (the webhook's log has the error)"]
    assert outcome("error") == before + 1


def test_exempt_namespace_and_rule_off_leave_np018_out() -> None:
    exempt = with_np018(exemptions=Exemptions(namespaces=("pay*",)))
    assert np018(review("CREATE", db_from([FRONTEND]), policy=exempt)) == []
    assert np018(review("CREATE", db_from([FRONTEND]),
                        policy=with_np018(action=Action.OFF))) == []


def test_a_terminating_namespace_is_left_alone() -> None:
    class Terminating(Cluster):
        def get_namespace(self, name: str, *, live: bool = False) -> JSON | None:
            return {**ns(name), "status": {"phase": "Terminating"}}

    decision = review("CREATE", db_from([FRONTEND]), cluster=Terminating(BASE))
    assert decision.allowed and np018(decision) == []


def test_a_denied_request_is_not_evaluated() -> None:
    # NP001 denies an ingress rule without `from`: NP018 adds nothing to a refusal.
    policy = db_from([])
    policy["spec"]["ingress"][0].pop("from")
    decision = review("CREATE", policy)
    assert not decision.allowed
    assert "NP018" not in decision.message and np018(decision) == []


def test_sources_whose_own_egress_is_shut_are_left_out_and_open_ones_kept() -> None:
    """Namespaces whose policies cannot let their pods out towards payments are skipped as
    sources; one whose egress names payments is not."""
    def egress_to(namespace: str, target: str) -> JSON:
        return {"kind": "NetworkPolicy", "apiVersion": "networking.k8s.io/v1",
                "metadata": {"name": "egress", "namespace": namespace, "resourceVersion": "3"},
                "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"to": [
                    {"namespaceSelector": {"matchLabels": {
                        "kubernetes.io/metadata.name": target}}}]}]}}

    extra = [ns("partner", team="frontend"), ns("sealed", team="frontend")]
    pods = [pod("partner", "sync", "sync"), pod("sealed", "vault", "vault")]
    policies = [*BASE, deny_all("partner"), egress_to("partner", "payments"),
                deny_all("sealed"), egress_to("sealed", "kube-system")]

    class Wider(Cluster):
        def reach_view(self) -> ReachView:
            return StaticReachView([*NAMESPACES, *extra], [*PODS, *pods], self.policies)

    decision = review("CREATE", db_from([FRONTEND]), cluster=Wider(policies))
    [violation] = [v for v in decision.violations if v.rule_id == "NP018"]
    assert violation.message == (
        "this change newly allows 4 workloads in 3 namespaces to reach payments/db[Deployment] "
        "on TCP 5432: frontend/admin, frontend/web, partner/sync, shop/cart")
