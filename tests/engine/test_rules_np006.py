"""NP006 broad-cidr: an ipBlock prefix shorter than the configured minimum (per family)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.npcases import corpus_object, fired, netpol, paths, policy_with, review_object
from webhook.admission.decision import Action


def egress_to(*cidrs: str) -> dict[str, Any]:
    return netpol({"policyTypes": ["Egress"], "egress": [
        {"to": [{"ipBlock": {"cidr": c}} for c in cidrs], "ports": [{"port": 443}]}]})


@pytest.mark.parametrize(("obj", "expected"), [
    pytest.param(review_object("networkpolicy-create-ipblock-except"),
                 ["spec.egress[0].to[0].ipBlock.cidr"], id="a /8 is broader than /16"),
    pytest.param(egress_to("10.1.2.3/8"), ["spec.egress[0].to[0].ipBlock.cidr"],
                 id="host bits do not hide a /8"),
    pytest.param(egress_to("::ffff:10.0.0.0/104"), ["spec.egress[0].to[0].ipBlock.cidr"],
                 id="an IPv4-mapped /104 is an IPv4 /8"),
    pytest.param(egress_to("2001:db8::/32"), ["spec.egress[0].to[0].ipBlock.cidr"],
                 id="an IPv6 /32 is broader than /48"),
    pytest.param(egress_to("10.0.0.0/16", "10.0.0.0/15"), ["spec.egress[0].to[1].ipBlock.cidr"],
                 id="only the block under the minimum is reported"),
    pytest.param(egress_to("10.0.0.0/16"), [], id="a /16 meets the minimum"),
    pytest.param(corpus_object("052-egress-metadata"), [], id="a /32 is narrow"),
    pytest.param(egress_to("2001:db8::/48"), [], id="an IPv6 /48 meets the minimum"),
    pytest.param(egress_to("0.0.0.0/0"), [], id="the world is NP005's, not reported twice"),
])
def test_np006(obj: dict[str, Any], expected: list[str]) -> None:
    assert paths(fired(obj, "NP006")) == expected


@pytest.mark.parametrize(("params", "expected"), [
    pytest.param({"min_prefix_v4": 8}, [], id="a lower IPv4 minimum allows a /8"),
    pytest.param({"min_prefix_v4": 24},
                 ["spec.egress[0].to[0].ipBlock.cidr", "spec.egress[0].to[1].ipBlock.cidr"],
                 id="a higher IPv4 minimum reports a /16 too"),
    pytest.param({"min_prefix_v6": 64},
                 ["spec.egress[0].to[0].ipBlock.cidr", "spec.egress[0].to[2].ipBlock.cidr"],
                 id="the IPv6 minimum is separate"),
])
def test_np006_minimums(params: dict[str, int], expected: list[str]) -> None:
    obj = egress_to("10.0.0.0/8", "10.0.0.0/16", "2001:db8::/56")
    assert paths(fired(obj, "NP006", policy_with("NP006", Action.WARN, **params))) == expected


def test_np006_message_names_the_size_and_the_parameter() -> None:
    (violation,) = fired(egress_to("010.0.0.0/8"), "NP006")
    assert violation.message == (
        'spec.egress[0].to[0].ipBlock.cidr is "010.0.0.0/8" (that is 10.0.0.0/8), 16,777,216 '
        "addresses, broader than the /16 this cluster allows (minPrefixV4 of NP006). Narrow it "
        "to the addresses that need access.")
