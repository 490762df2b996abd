"""NP013 ignored-rules: rules for a direction that policyTypes explicitly leaves out."""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.npcases import corpus_object, fired, netpol, paths, review_object

FROM_APP = [{"podSelector": {"matchLabels": {"app": "frontend"}}}]
RULE = {"from": FROM_APP, "ports": [{"port": 80}]}
EGRESS_RULE = {"to": FROM_APP, "ports": [{"port": 80}]}


@pytest.mark.parametrize(("obj", "expected"), [
    pytest.param(netpol({"policyTypes": ["Egress"], "ingress": [RULE],
                         "egress": [EGRESS_RULE]}), ["spec.ingress"],
                 id="ingress rules with policyTypes [Egress] are reported"),
    pytest.param(netpol({"policyTypes": ["Ingress"], "ingress": [RULE],
                         "egress": [EGRESS_RULE, EGRESS_RULE]}), ["spec.egress"],
                 id="egress rules with policyTypes [Ingress] are reported"),
    pytest.param(netpol({"policyTypes": ["Egress", "Egress"], "ingress": [{}]}),
                 ["spec.ingress"], id="duplicates in policyTypes do not add a direction"),
    pytest.param(corpus_object("009-policytypes-omitted-both"), [],
                 id="omitted policyTypes cover both directions"),
    pytest.param(corpus_object("010-policytypes-empty-list"), [],
                 id="an empty policyTypes is defaulted from the rules"),
    pytest.param(netpol({"ingress": [RULE], "egress": [EGRESS_RULE]}), [],
                 id="a raw manifest without policyTypes covers both directions"),
    pytest.param(review_object("networkpolicy-create-egress-policytypes-omitted"), [],
                 id="the API server's defaulted policyTypes cover the rules"),
    pytest.param(netpol({"policyTypes": ["Egress"], "ingress": []}), [],
                 id="an empty ingress list is not rules"),
    pytest.param(netpol({"policyTypes": ["ingress"], "ingress": [RULE]}), ["spec.ingress"],
                 id="a misspelt policyTypes governs nothing, so the rules are ignored"),
])
def test_np013(obj: dict[str, Any], expected: list[str]) -> None:
    assert paths(fired(obj, "NP013")) == expected


def test_np013_message_says_what_is_ignored_and_the_fix() -> None:
    (violation,) = fired(netpol({"policyTypes": ["Ingress"], "ingress": [RULE],
                                 "egress": [EGRESS_RULE, EGRESS_RULE]}), "NP013")
    assert violation.message == (
        "spec.egress has 2 rules, but spec.policyTypes lists only Ingress, so the API server "
        "accepts them and then ignores them. Add Egress to spec.policyTypes, or remove "
        "spec.egress.")
    assert violation.action.value == "deny"
