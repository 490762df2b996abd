"""NetworkPolicy semantics, one behaviour per case: objects in, the expected lines out."""

from __future__ import annotations

from typing import Any

import pytest

from tests.connectivity.helpers import lines, namespace, pod, policy

A = "ns1/a[Pod]"
B = "ns1/b[Pod]"
C = "ns2/c[Pod]"
WORLD = "0.0.0.0-255.255.255.255[External]"
BASE = [namespace("ns1", team="one"), namespace("ns2", team="two"),
        pod("ns1", "a", {"app": "a"}), pod("ns1", "b", {"app": "b"}), pod("ns2", "c", {"app": "c"})]


def _deny_ingress(ns: str) -> dict[str, Any]:
    return policy(ns, "deny-in", policy_types=["Ingress"])


def _allow_to_a(peers: list[dict[str, Any]], ports: list[dict[str, Any]] | None = None
                ) -> dict[str, Any]:
    rule: dict[str, Any] = {"from": peers}
    if ports:
        rule["ports"] = ports
    return policy("ns1", "to-a", podSelector={"matchLabels": {"app": "a"}}, ingress=[rule])


def _into_a(found: set[str]) -> set[str]:
    return {line.split(" : ")[0].split(" => ")[0] + " : " + line.split(" : ")[1]
            for line in found if line.split(" => ")[1].startswith(A + " ")}


CASES: list[tuple[str, list[dict[str, Any]], set[str]]] = [
    ("without policies every pod reaches every pod and the world", [],
     {f"{B} : All Connections", f"{C} : All Connections", f"{WORLD} : All Connections"}),
    ("a policy selecting the pod with Ingress isolates its ingress", [_deny_ingress("ns1")],
     set()),
    ("an Egress-only policy leaves ingress open",
     [policy("ns1", "deny-out", policy_types=["Egress"])],
     # b may not send (egress isolated); a still accepts c and the world
     {f"{C} : All Connections", f"{WORLD} : All Connections"}),
    ("policies add up: the union of their rules",
     [_allow_to_a([{"podSelector": {"matchLabels": {"app": "b"}}}],
                  [{"port": 80}]),
      policy("ns1", "to-a-2", podSelector={"matchLabels": {"app": "a"}},
             ingress=[{"from": [{"podSelector": {"matchLabels": {"app": "b"}}}],
                       "ports": [{"port": 443}]}])],
     {f"{B} : TCP 80,443"}),
    ("a podSelector alone selects in the policy's own namespace",
     [_allow_to_a([{"podSelector": {}}])], {f"{B} : All Connections"}),
    ("a namespaceSelector alone selects every pod of the matching namespaces",
     [_allow_to_a([{"namespaceSelector": {"matchLabels": {"team": "two"}}}])],
     {f"{C} : All Connections"}),
    ("namespaceSelector and podSelector in one peer must both match",
     [_allow_to_a([{"namespaceSelector": {}, "podSelector": {"matchLabels": {"app": "b"}}}])],
     {f"{B} : All Connections"}),
    ("namespaceSelector and podSelector as two peers are either-or",
     [_allow_to_a([{"namespaceSelector": {"matchLabels": {"team": "two"}}},
                   {"podSelector": {"matchLabels": {"app": "b"}}}])],
     {f"{B} : All Connections", f"{C} : All Connections"}),
    ("matchExpressions NotIn also selects pods without the key",
     [_allow_to_a([{"namespaceSelector": {},
                    "podSelector": {"matchExpressions": [
                        {"key": "app", "operator": "NotIn", "values": ["b"]}]}}])],
     {f"{C} : All Connections"}),
    ("ports: UDP, SCTP and an endPort range",
     [_allow_to_a([{"podSelector": {}}], [{"protocol": "UDP", "port": 53},
                                          {"protocol": "SCTP", "port": 9000, "endPort": 9010},
                                          {"port": 8000, "endPort": 8080}])],
     {f"{B} : SCTP 9000-9010,TCP 8000-8080,UDP 53"}),
    ("a port without a number is every port of its protocol",
     [_allow_to_a([{"podSelector": {}}], [{"protocol": "UDP"}])], {f"{B} : UDP 1-65535"}),
    ("an ipBlock with except admits the block minus the except",
     [_allow_to_a([{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}])],
     {"10.0.0.0-10.0.255.255[External] : All Connections",
      "10.2.0.0-10.255.255.255[External] : All Connections"}),
]


@pytest.mark.parametrize(("objects", "expected"), [(c[1], c[2]) for c in CASES],
                         ids=[c[0] for c in CASES])
def test_who_reaches_a(objects: list[dict[str, Any]], expected: set[str]) -> None:
    assert _into_a(lines(*BASE, *objects)) == expected


def test_a_connection_needs_the_source_egress_and_the_destination_ingress() -> None:
    egress = policy("ns1", "b-out", podSelector={"matchLabels": {"app": "b"}},
                    egress=[{"ports": [{"port": 80, "endPort": 90}]}])
    ingress = _allow_to_a([{"podSelector": {}}], [{"port": 85, "endPort": 100}])
    assert _into_a(lines(*BASE, egress, ingress)) == {f"{B} : TCP 85-90"}


def test_egress_rules_in_a_policy_without_policy_types_isolate_egress() -> None:
    # The API server defaults policyTypes to [Ingress, Egress] when egress has entries.
    egress_only = policy("ns1", "b-out", podSelector={"matchLabels": {"app": "b"}},
                         egress=[{"to": [{"podSelector": {"matchLabels": {"app": "a"}}}],
                                  "ports": [{"port": 53, "protocol": "UDP"}]}])
    found = lines(*BASE, egress_only)
    assert f"{B} => {A} : UDP 53" in found
    assert f"{B} => {C} : All Connections" not in found
    assert f"{B} => {WORLD} : All Connections" not in found
    assert f"{WORLD} => {B} : All Connections" not in found  # ingress isolated too (default)


def test_a_named_port_resolves_per_destination_pod() -> None:
    objects = [namespace("ns1"),
               pod("ns1", "web1", {"app": "web"}, [{"name": "http", "containerPort": 8080}],
                   owner=("ReplicaSet", "web1")),
               pod("ns1", "web2", {"app": "web"}, [{"name": "http", "containerPort": 9090}],
                   owner=("ReplicaSet", "web2")),
               pod("ns1", "web3", {"app": "web"}, [{"name": "metrics", "containerPort": 7000}],
                   owner=("ReplicaSet", "web3")),
               pod("ns1", "client", {"app": "client"}),
               policy("ns1", "web", podSelector={"matchLabels": {"app": "web"}},
                      ingress=[{"from": [{"podSelector": {"matchLabels": {"app": "client"}}}],
                                "ports": [{"port": "http"}]}])]
    into = {line for line in lines(*objects) if line.startswith("ns1/client[Pod] => ns1/web")}
    # web3 defines no port named http: the rule allows nothing to it.
    assert into == {"ns1/client[Pod] => ns1/web1[ReplicaSet] : TCP 8080",
                    "ns1/client[Pod] => ns1/web2[ReplicaSet] : TCP 9090"}


def test_an_egress_named_port_resolves_against_the_destination() -> None:
    objects = [namespace("ns1"),
               pod("ns1", "db", {"app": "db"}, [{"name": "pg", "containerPort": 5432}]),
               pod("ns1", "cache", {"app": "cache"}, []),
               pod("ns1", "app", {"app": "app"}),
               policy("ns1", "out", podSelector={"matchLabels": {"app": "app"}},
                      policy_types=["Egress"], egress=[{"ports": [{"port": "pg"}]}])]
    out = {line for line in lines(*objects) if line.startswith("ns1/app[Pod] =>")}
    assert out == {"ns1/app[Pod] => ns1/db[Pod] : TCP 5432"}


def test_ipv6_blocks_are_cut_into_ipv6_ranges() -> None:
    allow = _allow_to_a([{"ipBlock": {"cidr": "fd00::/8", "except": ["fd00::/16"]}}])
    into = _into_a(lines(*BASE, allow))
    assert into == {"fd01::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff[External] : All Connections"}


def test_the_world_is_cut_at_ipblock_edges_and_equal_neighbours_merge() -> None:
    egress = policy("ns1", "a-out", podSelector={"matchLabels": {"app": "a"}},
                    policy_types=["Egress"],
                    egress=[{"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}},
                                    {"ipBlock": {"cidr": "11.0.0.0/8"}}]}])
    found = {line for line in lines(*BASE, egress) if line.startswith(f"{A} => ")}
    assert found == {f"{A} => 10.0.0.0-11.255.255.255[External] : All Connections"}


def test_pods_of_one_controller_are_one_workload() -> None:
    objects = [pod("ns1", "web-1", {"app": "web", "pod-template-hash": "1"},
                   owner=("ReplicaSet", "web-5d9")),
               pod("ns1", "web-2", {"app": "web", "pod-template-hash": "1"},
                   owner=("ReplicaSet", "web-5d9")),
               pod("ns1", "db", {"app": "db"})]
    assert lines(*objects) >= {"ns1/web-5d9[ReplicaSet] => ns1/db[Pod] : All Connections"}
    assert not any("web-1" in line for line in lines(*objects))


def test_a_replicaset_owned_by_a_deployment_in_the_input_is_the_deployment() -> None:
    replicaset = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                  "metadata": {"name": "web-5d9", "namespace": "ns1", "ownerReferences": [
                      {"kind": "Deployment", "name": "web", "controller": True}]},
                  "spec": {"template": {"metadata": {"labels": {"app": "web"}}}}}
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment",
                  "metadata": {"name": "web", "namespace": "ns1"},
                  "spec": {"replicas": 3,
                           "template": {"metadata": {"labels": {"app": "web"}}}}}
    objects = [replicaset, deployment, pod("ns1", "web-1", {"app": "web"},
                                           owner=("ReplicaSet", "web-5d9")),
               pod("ns1", "db", {"app": "db"})]
    assert "ns1/web[Deployment] => ns1/db[Pod] : All Connections" in lines(*objects)
    assert not any("[ReplicaSet]" in line for line in lines(*objects))


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet",
                                  "ReplicationController", "Job", "CronJob"])
def test_a_controller_without_pods_stands_for_its_template(kind: str) -> None:
    template = {"metadata": {"labels": {"app": "w"}}, "spec": {"containers": []}}
    spec: dict[str, Any] = ({"jobTemplate": {"spec": {"template": template}}}
                            if kind == "CronJob" else {"template": template})
    controller = {"apiVersion": "apps/v1", "kind": kind,
                  "metadata": {"name": "w", "namespace": "ns1"}, "spec": spec}
    deny = policy("ns1", "only-w", podSelector={}, ingress=[
        {"from": [{"podSelector": {"matchLabels": {"app": "w"}}}]}])
    found = lines(controller, pod("ns1", "db", {"app": "db"}), deny)
    assert f"ns1/w[{kind}] => ns1/db[Pod] : All Connections" in found
    assert "ns1/db[Pod] => ns1/w" not in " ".join(found)
