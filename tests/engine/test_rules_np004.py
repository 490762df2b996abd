"""NP004 mutable-namespace-label: a namespaceSelector keys on labels namespace owners can set."""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.npcases import corpus_object, fired, netpol, paths, policy_with, review_object
from webhook.admission.decision import Action

NAME = "kubernetes.io/metadata.name"


def ingress_from(*peers: dict[str, Any]) -> dict[str, Any]:
    return netpol({"podSelector": {"matchLabels": {"app": "api"}},
                   "ingress": [{"from": list(peers), "ports": [{"port": 8080}]}]})


@pytest.mark.parametrize(("obj", "expected"), [
    pytest.param(ingress_from({"namespaceSelector": {"matchLabels": {"team": "payments"}}}),
                 ["spec.ingress[0].from[0].namespaceSelector.matchLabels.team"],
                 id="a matchLabels key other than the name label is reported"),
    pytest.param(ingress_from({"namespaceSelector": {"matchExpressions": [
        {"key": "env", "operator": "In", "values": ["prod"]}]}}),
                 ["spec.ingress[0].from[0].namespaceSelector.matchExpressions[0]"],
                 id="a matchExpressions key other than the name label is reported"),
    pytest.param(ingress_from({"namespaceSelector": {"matchLabels": {"netpol.io/tier": "a"}}}),
                 ['spec.ingress[0].from[0].namespaceSelector.matchLabels["netpol.io/tier"]'],
                 id="a prefixed key is quoted in the path"),
    pytest.param(ingress_from({"namespaceSelector": {"matchExpressions": [
        {"key": NAME, "operator": "NotIn", "values": ["a"]},
        {"key": "team", "operator": "Exists"}]}}),
                 ["spec.ingress[0].from[0].namespaceSelector.matchExpressions[1]"],
                 id="NotIn on the name label does not pin names, so other keys count"),
    pytest.param(netpol({"policyTypes": ["Egress"], "egress": [{"to": [
        {"namespaceSelector": {"matchLabels": {"team": "a", "env": "prod"}}}],
        "ports": [{"port": 80}]}]}),
                 ["spec.egress[0].to[0].namespaceSelector.matchLabels.env",
                  "spec.egress[0].to[0].namespaceSelector.matchLabels.team"],
                 id="each mutable key of an egress peer is reported, ordered by path"),
    pytest.param(review_object("networkpolicy-create-namespace-and-pod-selector"), [],
                 id="the name label is allowed"),
    pytest.param(corpus_object("088-nssel-metadata-name-in"), [],
                 id="an In list on the name label is allowed"),
    pytest.param(ingress_from({"namespaceSelector": {
        "matchLabels": {NAME: "team-b", "team": "payments"}}}), [],
                 id="another label beside a pinned name can only narrow it"),
    pytest.param(ingress_from({"podSelector": {"matchLabels": {"team": "x"}}}), [],
                 id="pod selector labels are not namespace labels"),
    pytest.param(review_object("networkpolicy-create-namespace-selector-all"), [],
                 id="a select-all namespace selector has no key (NP003 reports it)"),
])
def test_np004(obj: dict[str, Any], expected: list[str]) -> None:
    assert paths(fired(obj, "NP004")) == expected


@pytest.mark.parametrize(("allowed", "expected"), [
    pytest.param(("team",), [], id="a key on the allowlist is allowed"),
    pytest.param(("netpol-guard.io/*",),
                 ["spec.ingress[0].from[0].namespaceSelector.matchLabels.team"],
                 id="the allowlist takes globs and this one does not match"),
    pytest.param(("*",), [], id="a glob allowlist that matches every key allows all"),
])
def test_np004_allowed_keys(allowed: tuple[str, ...], expected: list[str]) -> None:
    policy = policy_with("NP004", Action.WARN, allowed_keys=allowed)
    obj = ingress_from({"namespaceSelector": {"matchLabels": {"team": "payments"}}})
    assert paths(fired(obj, "NP004", policy)) == expected


def test_np004_message_names_the_key_and_the_fix() -> None:
    (violation,) = fired(ingress_from({"namespaceSelector": {"matchLabels": {"team": "x"}}}),
                         "NP004")
    assert '"team"' in violation.message and "labelling itself" in violation.message
    assert violation.message.endswith("Select the namespaces by kubernetes.io/metadata.name.")
