"""NP001 allow-all-sources: an ingress rule with no "from", with Ingress in policyTypes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.npcases import check, corpus_object, fired, netpol, paths, review_object

FROM_APP = [{"podSelector": {"matchLabels": {"app": "frontend"}}}]
PORT_80 = [{"protocol": "TCP", "port": 80}]


@pytest.mark.parametrize(("obj", "expected"), [
    pytest.param(review_object("networkpolicy-create-allow-all-ingress"), ["spec.ingress[0]"],
                 id="ingress with no from is denied"),
    pytest.param(corpus_object("018-from-empty-list"), ["spec.ingress[0]"],
                 id="from: [] arrives absent and is denied"),
    pytest.param(netpol({"ingress": [{"from": [], "ports": PORT_80}]}), ["spec.ingress[0]"],
                 id="from: [] in a raw manifest is denied"),
    pytest.param(netpol({"ingress": [{"from": FROM_APP, "ports": PORT_80},
                                     {"ports": PORT_80}]}), ["spec.ingress[1]"],
                 id="only the rule without from is reported"),
    pytest.param(netpol({"policyTypes": ["Ingress", "Egress"], "ingress": [{}], "egress": [{}]}),
                 ["spec.ingress[0]"], id="egress rules with no to are not NP001"),
    pytest.param(review_object("networkpolicy-create-apply-allow-frontend"), [],
                 id="ingress from a pod selector is allowed"),
    pytest.param(corpus_object("024-peer-nsselector-all"), [],
                 id="a cluster-wide from is another rule's business"),
    pytest.param(review_object("networkpolicy-create-default-deny-ingress-apply"), [],
                 id="default-deny has no rules and is allowed"),
    pytest.param(netpol({"policyTypes": ["Egress"], "ingress": [{}], "egress": [
        {"to": FROM_APP, "ports": PORT_80}]}), [],
                 id="ingress rules ignored by policyTypes are not NP001"),
    pytest.param(netpol({"ingress": [{"from": ["garbage"], "ports": PORT_80}]}), [],
                 id="a from list that cannot be read is not read as absent"),
])
def test_np001(obj: dict[str, Any], expected: list[str]) -> None:
    assert paths(fired(obj, "NP001")) == expected


def test_np001_message_matches_the_design() -> None:
    (violation,) = [v for v in check(review_object("networkpolicy-create-allow-all-ingress"))
                    if v.rule_id == "NP001"]
    assert violation.render() == (
        'NP001 allow-all-sources: spec.ingress[0] has no "from", so it admits traffic from every '
        "pod and every address. List the peers that need access.")
    assert violation.action.value == "deny"
    assert len(violation.short) <= 120 and "spec.ingress[0]" in violation.short
