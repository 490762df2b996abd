"""NP016 and-or-confusion: a namespaceSelector-only and a podSelector-only peer in one list."""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.npcases import check, fired, netpol, paths, review_object

NS_B = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "team-b"}}}
POD_FRONTEND = {"podSelector": {"matchLabels": {"app": "frontend"}}}


def ingress_from(*peers: dict[str, Any]) -> dict[str, Any]:
    return netpol({"podSelector": {"matchLabels": {"app": "api"}},
                   "ingress": [{"from": list(peers), "ports": [{"port": 8080}]}]})


@pytest.mark.parametrize(("obj", "expected"), [
    pytest.param(ingress_from(NS_B, POD_FRONTEND), ["spec.ingress[0].from"],
                 id="separate namespace and pod peers are reported"),
    pytest.param(ingress_from(POD_FRONTEND, {"ipBlock": {"cidr": "10.1.0.0/24"}}, NS_B),
                 ["spec.ingress[0].from"], id="the order of the peers does not matter"),
    pytest.param(netpol({"policyTypes": ["Egress"], "egress": [
        {"to": [NS_B, POD_FRONTEND], "ports": [{"port": 80}]}]}), ["spec.egress[0].to"],
                 id="egress lists are checked too"),
    pytest.param(review_object("networkpolicy-create-namespace-and-pod-selector"), [],
                 id="both selectors in one peer are allowed"),
    pytest.param(ingress_from(NS_B, {**NS_B, **POD_FRONTEND}), [],
                 id="a namespace peer beside a combined peer is allowed"),
    pytest.param(ingress_from(POD_FRONTEND, {"podSelector": {"matchLabels": {"app": "x"}}}), [],
                 id="two pod peers are allowed"),
])
def test_np016(obj: dict[str, Any], expected: list[str]) -> None:
    assert paths(fired(obj, "NP016")) == expected


def test_np016_warns_and_explains_or() -> None:
    (violation,) = [v for v in check(ingress_from(NS_B, POD_FRONTEND)) if v.rule_id == "NP016"]
    assert violation.action.value == "warn"
    assert "(spec.ingress[0].from[0])" in violation.message
    assert "(spec.ingress[0].from[1])" in violation.message
    assert "separate peers are OR" in violation.message
    assert violation.message.endswith("put both selectors in one peer.")
