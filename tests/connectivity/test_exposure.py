"""Exposure lists, and the warning for a workload whose pods policies tell apart."""

from __future__ import annotations

from typing import Any

from tests.connectivity.helpers import namespace, pod, policy
from webhook.connectivity import analyse
from webhook.connectivity.exposure import exposure
from webhook.connectivity.model import InputObject


def _result(*objects: dict[str, Any]) -> Any:
    return analyse(InputObject(o, "test") for o in objects)


CLUSTER = [namespace("a"), namespace("b"), namespace("c"),
           pod("a", "api", {"app": "api"}), pod("a", "db", {"app": "db"}),
           pod("b", "web", {"app": "web"}), pod("c", "job", {"app": "job"})]
ISOLATE_ALL = [policy(ns, "deny", policy_types=["Ingress", "Egress"]) for ns in "abc"]


def test_nothing_is_exposed_when_everything_is_denied() -> None:
    found = exposure(_result(*CLUSTER, *ISOLATE_ALL))
    assert found.from_all_namespaces == found.from_any_pod == []
    assert found.from_outside == found.to_whole_world == []


def test_without_policies_everything_is_exposed() -> None:
    found = exposure(_result(*CLUSTER))
    everyone = ["a/api[Pod]", "a/db[Pod]", "b/web[Pod]", "c/job[Pod]"]
    assert found.from_any_pod == found.from_all_namespaces == everyone
    assert found.from_outside == found.to_whole_world == everyone


def test_a_namespace_selector_for_all_namespaces_exposes_to_every_namespace() -> None:
    open_egress = [policy(ns, "out", policy_types=["Egress"], egress=[{}]) for ns in "abc"]
    api = policy("a", "api", podSelector={"matchLabels": {"app": "api"}},
                 ingress=[{"from": [{"namespaceSelector": {},
                                     "podSelector": {"matchLabels": {"app": "web"}}},
                                    {"namespaceSelector": {"matchLabels": {
                                        "kubernetes.io/metadata.name": "c"}}},
                                    {"podSelector": {}}]}])
    found = exposure(_result(*CLUSTER, *ISOLATE_ALL, *open_egress, api))
    assert found.from_all_namespaces == ["a/api[Pod]"]
    assert found.from_any_pod == ["a/api[Pod]"]
    assert found.from_outside == []
    assert found.to_whole_world == ["a/api[Pod]", "a/db[Pod]", "b/web[Pod]", "c/job[Pod]"]


def test_an_except_keeps_a_workload_from_reaching_the_whole_world() -> None:
    out = policy("a", "out", podSelector={"matchLabels": {"app": "api"}},
                 policy_types=["Egress"],
                 egress=[{"to": [{"ipBlock": {"cidr": "0.0.0.0/0",
                                              "except": ["169.254.169.254/32"]}}]}])
    found = exposure(_result(*CLUSTER, out))
    assert "a/api[Pod]" not in found.to_whole_world
    assert "a/db[Pod]" in found.to_whole_world


def test_pods_of_one_owner_told_apart_by_a_selector_are_one_workload_with_a_warning() -> None:
    objects = [pod("a", "w-1", {"app": "w", "role": "leader"}, owner=("StatefulSet", "w")),
               pod("a", "w-2", {"app": "w", "role": "follower"}, owner=("StatefulSet", "w")),
               pod("a", "client", {"app": "client"}),
               policy("a", "leader", podSelector={"matchLabels": {"role": "leader"}},
                      ingress=[{"from": [{"podSelector": {"matchLabels": {"app": "client"}}}],
                                "ports": [{"port": 5432}]}])]
    result = _result(*objects)
    assert [w.id for w in result.workloads] == ["a/client[Pod]", "a/w[StatefulSet]"]
    # The follower is not isolated: the union over the workload's pods is all connections.
    assert "a/client[Pod] => a/w[StatefulSet] : All Connections" in result.lines()
    assert any("a/w[StatefulSet]: its pods differ" in w for w in result.warnings)
