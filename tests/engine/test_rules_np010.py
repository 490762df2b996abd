"""NP010 wide-port-range: endPort - port + 1 exceeds the configured maximum."""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.npcases import corpus_object, fired, netpol, paths, policy_with, review_object
from webhook.admission.decision import Action

FROM_APP = [{"podSelector": {"matchLabels": {"app": "frontend"}}}]


def ingress_ports(*ports: Any) -> dict[str, Any]:
    return netpol({"podSelector": {"matchLabels": {"app": "api"}},
                   "ingress": [{"from": FROM_APP, "ports": list(ports)}]})


@pytest.mark.parametrize(("obj", "expected"), [
    pytest.param(review_object("networkpolicy-create-endport-range"),
                 ["spec.egress[0].ports[0].endPort"], id="a range of 769 ports is reported"),
    pytest.param(corpus_object("057-port-full-range"), ["spec.ingress[0].ports[0].endPort"],
                 id="every port as a range is reported"),
    pytest.param(ingress_ports({"port": 8000, "endPort": 8100}),
                 ["spec.ingress[0].ports[0].endPort"], id="101 ports is one too many"),
    pytest.param(ingress_ports({"port": 8000, "endPort": 8099}), [],
                 id="exactly the maximum is allowed"),
    pytest.param(ingress_ports({"port": 8000}), [], id="a single port is allowed"),
    pytest.param(ingress_ports({"port": 8080, "endPort": 80}), [],
                 id="an inverted range (the API server refuses it) is not a wide one"),
])
def test_np010(obj: dict[str, Any], expected: list[str]) -> None:
    assert paths(fired(obj, "NP010")) == expected


@pytest.mark.parametrize(("max_range", "expected"), [
    pytest.param(1000, [], id="a larger maximum allows 769 ports"),
    pytest.param(768, ["spec.egress[0].ports[0].endPort"], id="a smaller one does not"),
])
def test_np010_max_range(max_range: int, expected: list[str]) -> None:
    policy = policy_with("NP010", Action.WARN, max_range=max_range)
    assert paths(fired(review_object("networkpolicy-create-endport-range"), "NP010",
                       policy)) == expected


def test_np010_message_names_the_range_and_the_parameter() -> None:
    (violation,) = fired(review_object("networkpolicy-create-endport-range"), "NP010")
    assert "32000-32768, a range of 769 ports" in violation.message
    assert "maxRange of NP010" in violation.message
