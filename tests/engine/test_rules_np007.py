"""NP007 metadata-endpoint: an egress rule can reach 169.254.169.254 (or fd00:ec2::254)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.npcases import corpus_object, fired, netpol, paths, policy_with, review_object
from webhook.admission.decision import Action

DNS_PORTS = [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]


def egress(*rules: dict[str, Any]) -> dict[str, Any]:
    return netpol({"policyTypes": ["Egress"], "egress": list(rules)})


def to_block(cidr: str, *excepts: str, ports: list[dict[str, Any]] | None = None
             ) -> dict[str, Any]:
    block: dict[str, Any] = {"cidr": cidr}
    if excepts:
        block["except"] = list(excepts)
    return {"to": [{"ipBlock": block}], "ports": ports or [{"port": 443}]}


@pytest.mark.parametrize(("obj", "expected"), [
    pytest.param(review_object("networkpolicy-create-egress-world-cidr"),
                 ["spec.egress[0].to[0].ipBlock.cidr"], id="egress to the world reaches it"),
    pytest.param(corpus_object("052-egress-metadata"), ["spec.egress[0].to[0].ipBlock.cidr"],
                 id="egress to the endpoint itself is denied"),
    pytest.param(egress({}), ["spec.egress[0]"], id="egress with no to reaches it"),
    pytest.param(egress({"ports": [{"port": 80}]}), ["spec.egress[0]"],
                 id="egress with no to on a port reaches it"),
    pytest.param(egress({"ports": [*DNS_PORTS, {"port": 80}]}), ["spec.egress[0]"],
                 id="no to with DNS and HTTP ports reaches it"),
    pytest.param(egress(to_block("169.254.169.254/32", ports=DNS_PORTS)),
                 ["spec.egress[0].to[0].ipBlock.cidr"],
                 id="an explicit ipBlock on port 53 still reaches it"),
    pytest.param(egress(to_block("169.254.0.0/16", "169.254.170.0/24")),
                 ["spec.egress[0].to[0].ipBlock.cidr"],
                 id="an except that misses the endpoint does not help"),
    pytest.param(egress(to_block("fd00:ec2::/32")), ["spec.egress[0].to[0].ipBlock.cidr"],
                 id="the IPv6 endpoint is covered too"),
    pytest.param(egress(to_block("::ffff:169.254.169.254/128")),
                 ["spec.egress[0].to[0].ipBlock.cidr"], id="the IPv4-mapped spelling reaches it"),
    pytest.param(egress(to_block("169.254.169.254/00")), ["spec.egress[0].to[0].ipBlock.cidr"],
                 id="an odd /00 spelling reaches it"),
    pytest.param(egress(to_block("10.0.0.0/8"), {}, to_block("0.0.0.0/0", "169.254.0.0/16")),
                 ["spec.egress[1]"], id="only the rule that reaches it is reported"),
    pytest.param(corpus_object("051-egress-world-minus-metadata"), [],
                 id="the world minus the endpoint is allowed"),
    pytest.param(egress(to_block("169.254.0.0/16", "169.254.169.0/25", "169.254.169.128/25")),
                 [], id="excepts that cover the endpoint together are allowed"),
    pytest.param(review_object("networkpolicy-create-dns-egress"), [],
                 id="the DNS allowance with no to is allowed"),
    pytest.param(review_object("networkpolicy-create-ipblock-except"), [],
                 id="a private range is allowed"),
    pytest.param(corpus_object("030-cidr-v4-world"), [], id="ingress rules are not egress"),
    pytest.param(egress({"to": [{"namespaceSelector": {}}]}), [],
                 id="selector peers are pods, not the endpoint"),
])
def test_np007(obj: dict[str, Any], expected: list[str]) -> None:
    assert paths(fired(obj, "NP007")) == expected


def test_np007_dns_rule_with_no_to_is_reported_when_the_dns_allowance_is_off() -> None:
    policy = policy_with("NP002", Action.DENY, allow_dns=False)
    violations = [v for v in fired(review_object("networkpolicy-create-dns-egress"), "NP007",
                                   policy)]
    assert paths(violations) == ["spec.egress[0]"]


@pytest.mark.parametrize(("endpoints", "cidr", "expected"), [
    pytest.param(("100.100.100.200",), "100.64.0.0/10", ["spec.egress[0].to[0].ipBlock.cidr"],
                 id="a configured endpoint is checked"),
    pytest.param(("100.100.100.200",), "169.254.169.254/32", [],
                 id="the configured list replaces the default"),
    pytest.param((), "0.0.0.0/0", [], id="no endpoints, nothing to reach"),
])
def test_np007_endpoints(endpoints: tuple[str, ...], cidr: str, expected: list[str]) -> None:
    policy = policy_with("NP007", Action.DENY, endpoints=endpoints)
    assert paths(fired(egress(to_block(cidr)), "NP007", policy)) == expected


def test_np007_message_names_the_endpoint_and_the_fix() -> None:
    (violation,) = fired(review_object("networkpolicy-create-egress-world-cidr"), "NP007")
    assert "169.254.169.254" in violation.message and "credentials" in violation.message
    assert '169.254.169.254/32 to its "except"' in violation.message
