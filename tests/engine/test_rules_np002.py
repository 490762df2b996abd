"""NP002 allow-all-destinations: an egress rule with no "to", with Egress in policyTypes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.npcases import fired, netpol, paths, policy_with, review_object
from webhook.admission.decision import Action

DNS_PORTS = [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]
TO_DB = [{"podSelector": {"matchLabels": {"app": "db"}}}]


@pytest.mark.parametrize(("obj", "expected"), [
    pytest.param(netpol({"policyTypes": ["Egress"], "egress": [{}]}), ["spec.egress[0]"],
                 id="egress with no to and no ports is denied"),
    pytest.param(netpol({"egress": [{"to": [], "ports": []}]}), ["spec.egress[0]"],
                 id="to: [] and ports: [] arrive as allow-all egress and are denied"),
    pytest.param(netpol({"policyTypes": ["Egress"], "egress": [
        {"ports": [{"protocol": "TCP", "port": 443}]}]}), ["spec.egress[0]"],
                 id="no to with a non-DNS port is denied"),
    pytest.param(netpol({"policyTypes": ["Egress"], "egress": [
        {"ports": [*DNS_PORTS, {"protocol": "TCP", "port": 443}]}]}), ["spec.egress[0]"],
                 id="DNS plus another port is not the DNS allowance"),
    pytest.param(netpol({"policyTypes": ["Egress"], "egress": [
        {"ports": [{"protocol": "UDP", "port": 53, "endPort": 60}]}]}), ["spec.egress[0]"],
                 id="a range starting at 53 is not the DNS allowance"),
    pytest.param(netpol({"policyTypes": ["Egress"], "egress": [
        {"ports": [{"protocol": "SCTP", "port": 53}]}]}), ["spec.egress[0]"],
                 id="port 53 over SCTP is not the DNS allowance"),
    pytest.param(netpol({"policyTypes": ["Egress"], "egress": [
        {"ports": [{"protocol": "UDP", "port": "dns"}]}]}), ["spec.egress[0]"],
                 id="a named DNS port is not the DNS allowance"),
    pytest.param(netpol({"policyTypes": ["Egress"], "egress": [
        {"to": TO_DB, "ports": [{"port": 5432}]}, {}]}), ["spec.egress[1]"],
                 id="only the rule without to is reported"),
    pytest.param(review_object("networkpolicy-create-dns-egress"), [],
                 id="DNS egress with no to is allowed"),
    pytest.param(netpol({"policyTypes": ["Egress"], "egress": [{"ports": [{"port": 53}]}]}), [],
                 id="port 53 with the protocol defaulted to TCP is the DNS allowance"),
    pytest.param(review_object("networkpolicy-create-egress-policytypes-omitted"), [],
                 id="egress to a pod selector is allowed"),
    pytest.param(netpol({"policyTypes": ["Ingress"], "ingress": [
        {"from": TO_DB, "ports": [{"port": 80}]}], "egress": [{}]}), [],
                 id="egress rules ignored by policyTypes are not NP002"),
    pytest.param(netpol({"ingress": [{}]}), [], id="ingress rules are not NP002"),
])
def test_np002(obj: dict[str, Any], expected: list[str]) -> None:
    assert paths(fired(obj, "NP002")) == expected


def test_np002_dns_allowance_can_be_turned_off() -> None:
    policy = policy_with("NP002", Action.DENY, allow_dns=False)
    obj = review_object("networkpolicy-create-dns-egress")
    (violation,) = fired(obj, "NP002", policy)
    assert violation.path == "spec.egress[0]"
    assert "53" not in violation.message


def test_np002_message_names_the_field_the_meaning_and_the_fix() -> None:
    (violation,) = fired(netpol({"policyTypes": ["Egress"], "egress": [{}]}), "NP002")
    assert violation.message.startswith('spec.egress[0] has no "to", so it sends traffic to '
                                        "every pod and every address. List the destinations")
    assert "53" in violation.message  # the allowance is on by default: say what passes
    assert violation.rule_name == "allow-all-destinations"
