"""NP012 select-all-allow: spec.podSelector selects all pods and the policy allows traffic."""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.npcases import fired, netpol, paths, policy_with, review_object
from webhook.admission.decision import Action

DNS_PORTS = [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]
FROM_APP = [{"podSelector": {"matchLabels": {"app": "frontend"}}}]
KUBE_DNS = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
             "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}]


@pytest.mark.parametrize(("obj", "expected"), [
    pytest.param(review_object("networkpolicy-create-allow-all-ingress"), ["spec.podSelector"],
                 id="allow-all for every pod is reported"),
    pytest.param(netpol({"podSelector": {}, "ingress": [{"from": FROM_APP,
                                                         "ports": [{"port": 80}]}]}),
                 ["spec.podSelector"], id="a narrow allow for every pod is reported"),
    pytest.param(netpol({"podSelector": {"matchLabels": {}}, "ingress": [
        {"from": FROM_APP, "ports": [{"port": 80}]}]}),
                 ["spec.podSelector"], id="empty matchLabels selects every pod too"),
    pytest.param(netpol({"ingress": [{"from": FROM_APP, "ports": [{"port": 80}]}]}),
                 ["spec.podSelector"], id="a missing podSelector selects every pod"),
    pytest.param(netpol({"podSelector": {}, "policyTypes": ["Egress"], "egress": [
        {"ports": DNS_PORTS}, {"to": FROM_APP, "ports": [{"port": 80}]}]}),
                 ["spec.podSelector"], id="DNS plus another egress rule is reported"),
    pytest.param(review_object("networkpolicy-create-default-deny-all"), [],
                 id="a deny-only policy is exempt"),
    pytest.param(review_object("networkpolicy-create-dns-egress"), [],
                 id="the DNS allowance for every pod is exempt"),
    pytest.param(netpol({"podSelector": {}, "policyTypes": ["Egress"], "egress": [
        {"to": KUBE_DNS, "ports": DNS_PORTS}]}), [],
                 id="DNS to kube-dns only is narrower than the allowance and exempt"),
    pytest.param(review_object("networkpolicy-create-apply-allow-frontend"), [],
                 id="a policy for some pods is allowed"),
    pytest.param(netpol({"podSelector": {}, "policyTypes": ["Egress"], "ingress": [{}]}), [],
                 id="rules ignored by policyTypes allow nothing (NP013 reports them)"),
])
def test_np012(obj: dict[str, Any], expected: list[str]) -> None:
    assert paths(fired(obj, "NP012")) == expected


def test_np012_dns_rule_counts_when_the_dns_allowance_is_off() -> None:
    policy = policy_with("NP002", Action.DENY, allow_dns=False)
    violations = [v for v in fired(review_object("networkpolicy-create-dns-egress"), "NP012",
                                   policy)]
    assert paths(violations) == ["spec.podSelector"]


def test_np012_message_names_the_rule_that_allows() -> None:
    (violation,) = fired(netpol({"podSelector": {}, "ingress": [
        {"from": FROM_APP, "ports": [{"port": 80}]}, {"from": FROM_APP,
                                                     "ports": [{"port": 81}]}]}), "NP012")
    assert violation.message == (
        "spec.podSelector selects every pod in the namespace, so what spec.ingress[0] (and 1 "
        "more) allows applies to every workload in it. Select only the pods that need this "
        "traffic.")
