"""NP008 all-ports: a rule with no "ports" opens every port and protocol."""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.npcases import check, corpus_object, fired, netpol, paths, review_object

FROM_APP = [{"podSelector": {"matchLabels": {"app": "frontend"}}}]


@pytest.mark.parametrize(("obj", "expected"), [
    pytest.param(review_object("networkpolicy-create-allow-all-ingress"), ["spec.ingress[0]"],
                 id="ingress with no ports is denied"),
    pytest.param(corpus_object("019-ports-empty-list"), ["spec.ingress[0]"],
                 id="ports: [] arrives absent and is denied"),
    pytest.param(review_object("networkpolicy-create-egress-world-cidr"), ["spec.egress[0]"],
                 id="egress with no ports is denied"),
    pytest.param(corpus_object("009-policytypes-omitted-both"),
                 ["spec.egress[0]", "spec.ingress[0]"],
                 id="each rule without ports is reported, ordered by path"),
    pytest.param(netpol({"ingress": [{"from": FROM_APP, "ports": [{"port": 80}]},
                                     {"from": FROM_APP}]}), ["spec.ingress[1]"],
                 id="only the rule without ports is reported"),
    pytest.param(review_object("networkpolicy-create-apply-allow-frontend"), [],
                 id="a rule with ports is allowed"),
    pytest.param(review_object("networkpolicy-create-dns-egress"), [],
                 id="DNS egress lists its ports"),
    pytest.param(review_object("networkpolicy-create-default-deny-all"), [],
                 id="a deny-only policy has no rules"),
])
def test_np008(obj: dict[str, Any], expected: list[str]) -> None:
    assert paths(fired(obj, "NP008")) == expected


def test_np008_message_matches_the_design() -> None:
    (violation,) = [v for v in check(review_object("networkpolicy-create-allow-all-ingress"))
                    if v.rule_id == "NP008"]
    assert violation.render() == (
        'NP008 all-ports: spec.ingress[0] has no "ports", so every port is open. List the ports.')
    assert violation.action.value == "deny"
