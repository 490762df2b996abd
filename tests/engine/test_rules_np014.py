"""NP014 cluster-cidr-ipblock: an ipBlock overlaps the configured pod or service CIDRs."""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.npcases import fired, netpol, paths, policy_with, review_object
from webhook.admission.decision import Action

CLUSTER = policy_with("NP014", Action.WARN, pod_cidrs=("10.244.0.0/16",),
                      service_cidrs=("10.96.0.0/12", "fd00:10:96::/112"))


def egress_to(cidr: str, *excepts: str) -> dict[str, Any]:
    block: dict[str, Any] = {"cidr": cidr}
    if excepts:
        block["except"] = list(excepts)
    return netpol({"policyTypes": ["Egress"], "egress": [
        {"to": [{"ipBlock": block}], "ports": [{"port": 443}]}]})


@pytest.mark.parametrize(("obj", "expected"), [
    pytest.param(egress_to("10.244.1.0/24"), ["spec.egress[0].to[0].ipBlock.cidr"],
                 id="a block inside the pod CIDR is reported"),
    pytest.param(egress_to("10.0.0.0/8"), ["spec.egress[0].to[0].ipBlock.cidr"],
                 id="a block around the cluster CIDRs is reported"),
    pytest.param(egress_to("10.0.0.0/8", "10.96.0.0/12"), ["spec.egress[0].to[0].ipBlock.cidr"],
                 id="excepting the service CIDR alone still overlaps the pod CIDR"),
    pytest.param(egress_to("10.244.0.0/16", "10.244.0.0/17"),
                 ["spec.egress[0].to[0].ipBlock.cidr"],
                 id="an except covering half still overlaps"),
    pytest.param(egress_to("fd00:10:96::/64"), ["spec.egress[0].to[0].ipBlock.cidr"],
                 id="IPv6 service CIDRs are checked"),
    pytest.param(egress_to("::ffff:10.96.0.10/128"), ["spec.egress[0].to[0].ipBlock.cidr"],
                 id="an IPv4-mapped service address is reported"),
    pytest.param(review_object("networkpolicy-create-ipblock-except"), [],
                 id="a block that excepts both cluster CIDRs is allowed"),
    pytest.param(egress_to("10.244.0.0/16", "10.244.0.0/17", "10.244.128.0/17"), [],
                 id="excepts that cover the pod CIDR together are allowed"),
    pytest.param(egress_to("192.168.0.0/24"), [], id="a block outside the cluster is allowed"),
])
def test_np014(obj: dict[str, Any], expected: list[str]) -> None:
    assert paths(fired(obj, "NP014", CLUSTER)) == expected


def test_np014_does_nothing_without_configured_cidrs() -> None:
    assert fired(egress_to("10.244.1.0/24"), "NP014") == []


def test_np014_message_names_the_cluster_range_and_the_fix() -> None:
    (violation,) = fired(egress_to("10.244.1.0/24"), "NP014", CLUSTER)
    assert "pod CIDR 10.244.0.0/16" in violation.message
    assert "podSelector and namespaceSelector" in violation.message
    assert violation.action.value == "warn"
