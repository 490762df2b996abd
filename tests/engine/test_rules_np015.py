"""NP015 protocol-not-allowed: a port uses a protocol outside the configured list."""

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
    pytest.param(ingress_ports({"protocol": "ICMP", "port": 8}),
                 ["spec.ingress[0].ports[0].protocol"], id="ICMP is not allowed"),
    pytest.param(ingress_ports({"port": 80}, {"protocol": "tcp", "port": 80}),
                 ["spec.ingress[0].ports[1].protocol"], id="protocols are case-sensitive"),
    pytest.param(review_object("networkpolicy-create-sctp"), [], id="SCTP is allowed"),
    pytest.param(corpus_object("073-protocol-only-udp"), [], id="UDP is allowed"),
    pytest.param(corpus_object("072-protocol-omitted"), [], id="the defaulted TCP is allowed"),
])
def test_np015(obj: dict[str, Any], expected: list[str]) -> None:
    assert paths(fired(obj, "NP015")) == expected


@pytest.mark.parametrize(("allowed", "expected"), [
    pytest.param(("TCP", "UDP"), ["spec.ingress[0].ports[0].protocol"],
                 id="SCTP is refused when the list leaves it out"),
    pytest.param(("TCP", "UDP", "SCTP"), [], id="SCTP is allowed when listed"),
])
def test_np015_allowed_protocols(allowed: tuple[str, ...], expected: list[str]) -> None:
    policy = policy_with("NP015", Action.DENY, allowed_protocols=allowed)
    violations = fired(review_object("networkpolicy-create-sctp"), "NP015", policy)
    assert paths(violations) == expected
    for violation in violations:
        assert violation.message == (
            "spec.ingress[0].ports[0].protocol is SCTP, a protocol this cluster does not allow "
            "(allowed: TCP, UDP). Use one of the allowed protocols.")


def test_np015_defaulted_protocol_is_checked_too() -> None:
    policy = policy_with("NP015", Action.DENY, allowed_protocols=("UDP",))
    assert paths(fired(ingress_ports({"port": 80}), "NP015", policy)) == [
        "spec.ingress[0].ports[0].protocol"]
