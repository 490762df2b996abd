"""NP017 cross-namespace-not-allowed: a peer reaches namespaces the config does not allow."""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.npcases import (
    check,
    corpus_object,
    fired,
    netpol,
    paths,
    policy_with,
    review_object,
)
from webhook.admission.decision import Action
from webhook.policy.model import CrossNamespaceAllowance

NAME = "kubernetes.io/metadata.name"
ALLOW = policy_with("NP017", Action.DENY, allow=(
    CrossNamespaceAllowance(namespaces=("team-*",), peers=("monitoring",)),
    CrossNamespaceAllowance(namespaces=("team-a",), peers=("team-b",)),
))


def ingress_from(*peers: dict[str, Any], namespace: str = "team-a") -> dict[str, Any]:
    return netpol({"podSelector": {"matchLabels": {"app": "api"}},
                   "ingress": [{"from": list(peers), "ports": [{"port": 8080}]}]},
                  namespace=namespace)


def names(*values: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchExpressions": [
        {"key": NAME, "operator": "In", "values": list(values)}]}}


@pytest.mark.parametrize(("obj", "expected"), [
    pytest.param(ingress_from(names("team-c")), ["spec.ingress[0].from[0].namespaceSelector"],
                 id="a namespace outside the allowance is denied"),
    pytest.param(ingress_from(names("team-b"), namespace="team-x"),
                 ["spec.ingress[0].from[0].namespaceSelector"],
                 id="an allowance for another namespace does not apply"),
    pytest.param(ingress_from({"namespaceSelector": {"matchLabels": {"team": "b"}}}),
                 ["spec.ingress[0].from[0].namespaceSelector"],
                 id="a selector on other labels can reach any namespace"),
    pytest.param(review_object("networkpolicy-create-namespace-selector-all"),
                 ["spec.ingress[0].from[0].namespaceSelector"],
                 id="a select-all namespace selector reaches every namespace"),
    pytest.param(ingress_from({"namespaceSelector": {"matchExpressions": [
        {"key": NAME, "operator": "NotIn", "values": ["team-c"]}]}}),
                 ["spec.ingress[0].from[0].namespaceSelector"],
                 id="NotIn reaches every other namespace"),
    pytest.param(netpol({"policyTypes": ["Egress"], "egress": [
        {"to": [names("team-c")], "ports": [{"port": 80}]}]}),
                 ["spec.egress[0].to[0].namespaceSelector"], id="egress peers are checked too"),
    pytest.param(review_object("networkpolicy-create-namespace-and-pod-selector"), [],
                 id="a namespace in the allowance is allowed"),
    pytest.param(review_object("networkpolicy-create-dryrun-server"), [],
                 id="an allowance by glob is allowed"),
    pytest.param(ingress_from(names("team-a")), [], id="the own namespace is always allowed"),
    pytest.param(review_object("networkpolicy-create-apply-allow-frontend"), [],
                 id="a pod-selector peer stays in its own namespace"),
    pytest.param(ingress_from({"namespaceSelector": {
        "matchLabels": {NAME: "team-b", "env": "prod"}}}), [],
                 id="other labels beside a pinned allowed name only narrow it"),
    pytest.param(ingress_from({"namespaceSelector": {
        "matchLabels": {NAME: "team-c"},
        "matchExpressions": [{"key": NAME, "operator": "In", "values": ["team-b"]}]}}), [],
                 id="contradictory pins select nothing"),
    pytest.param(corpus_object("052-egress-metadata"), [],
                 id="ipBlock peers are not namespaces"),
])
def test_np017(obj: dict[str, Any], expected: list[str]) -> None:
    assert paths(fired(obj, "NP017", ALLOW)) == expected


def test_np017_is_off_by_default() -> None:
    assert [v for v in check(ingress_from(names("team-c"))) if v.rule_id == "NP017"] == []


def test_np017_a_peer_pattern_matching_every_name_allows_unpinned_selectors() -> None:
    policy = policy_with("NP017", Action.DENY, allow=(
        CrossNamespaceAllowance(namespaces=("team-a",), peers=("*",)),))
    obj = review_object("networkpolicy-create-namespace-selector-all")
    assert fired(obj, "NP017", policy) == []


def test_np017_namespace_argument_overrides_metadata() -> None:
    obj = ingress_from(names("team-b"), namespace="team-x")
    assert fired(obj, "NP017", ALLOW, namespace="team-a") == []


def test_np017_message_lists_what_is_outside_and_what_is_allowed() -> None:
    (violation,) = fired(ingress_from(names("team-b", "team-c", "team-d")), "NP017", ALLOW)
    assert violation.message == (
        "spec.ingress[0].from[0].namespaceSelector reaches namespaces team-c, team-d, which "
        "policies in team-a may not reach (allowed: team-a, monitoring, team-b). Remove them, "
        "or ask for a cross-namespace allowance in NP017's allow list.")


def test_np017_reports_corpus_shape_with_names_outside() -> None:
    obj = corpus_object("088-nssel-metadata-name-in")
    assert paths(fired(obj, "NP017", ALLOW, namespace="team-a")) == [
        "spec.ingress[0].from[0].namespaceSelector"]
