"""NP003 cluster-wide-peer: a peer's namespaceSelector selects every namespace."""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.npcases import corpus_object, fired, netpol, paths, review_object

NAME = "kubernetes.io/metadata.name"


def ingress_from(*peers: dict[str, Any]) -> dict[str, Any]:
    return netpol({"podSelector": {"matchLabels": {"app": "api"}},
                   "ingress": [{"from": list(peers), "ports": [{"port": 8080}]}]})


@pytest.mark.parametrize(("obj", "expected", "words"), [
    pytest.param(review_object("networkpolicy-create-namespace-selector-all"),
                 ["spec.ingress[0].from[0].namespaceSelector"], "every pod in the cluster",
                 id="namespaceSelector {} alone is every pod in the cluster"),
    pytest.param(corpus_object("025-peer-ns-and-pod-all"),
                 ["spec.ingress[0].from[0].namespaceSelector"], "every pod in the cluster",
                 id="namespaceSelector {} with podSelector {} is every pod in the cluster"),
    pytest.param(ingress_from({"namespaceSelector": {},
                               "podSelector": {"matchLabels": {"app": "prometheus"}}}),
                 ["spec.ingress[0].from[0].namespaceSelector"],
                 "the pods its podSelector matches in every namespace",
                 id="namespaceSelector {} with a pod selector is those pods in every namespace"),
    pytest.param(ingress_from({"namespaceSelector": {"matchLabels": {}, "matchExpressions": []}}),
                 ["spec.ingress[0].from[0].namespaceSelector"], "every namespace",
                 id="empty matchLabels and matchExpressions select every namespace"),
    pytest.param(ingress_from({"namespaceSelector": {"matchExpressions": [
        {"key": NAME, "operator": "Exists"}]}}),
                 ["spec.ingress[0].from[0].namespaceSelector"], "every namespace",
                 id="Exists on the name label selects every namespace"),
    pytest.param(ingress_from({"namespaceSelector": {"matchExpressions": [
        {"key": NAME, "operator": "NotIn", "values": ["kube-system"]}]}}),
                 ["spec.ingress[0].from[0].namespaceSelector"],
                 "every pod in all the others",
                 id="NotIn on the name label selects every namespace but a few"),
    pytest.param(netpol({"policyTypes": ["Egress"], "egress": [
        {"to": [{"podSelector": {"matchLabels": {"a": "b"}}}, {"namespaceSelector": {}}],
         "ports": [{"port": 80}]}]}),
                 ["spec.egress[0].to[1].namespaceSelector"], "every namespace",
                 id="egress peers are checked too"),
    pytest.param(review_object("networkpolicy-create-namespace-and-pod-selector"), [], "",
                 id="a namespace pinned by name is allowed"),
    pytest.param(corpus_object("088-nssel-metadata-name-in"), [], "",
                 id="namespaces pinned by an In list are allowed"),
    pytest.param(ingress_from({"namespaceSelector": {"matchLabels": {"team": "a"}}}), [], "",
                 id="a labelled namespace selector is not cluster-wide"),
    pytest.param(ingress_from({"namespaceSelector": {"matchExpressions": [
        {"key": NAME, "operator": "Exists"}, {"key": "team", "operator": "Exists"}]}}), [], "",
                 id="Exists on the name label narrowed by another label is not cluster-wide"),
    pytest.param(review_object("networkpolicy-create-apply-allow-frontend"), [], "",
                 id="a pod-selector peer stays in its namespace"),
])
def test_np003(obj: dict[str, Any], expected: list[str], words: str) -> None:
    violations = fired(obj, "NP003")
    assert paths(violations) == expected
    for violation in violations:
        assert words in violation.message
        assert "kubernetes.io/metadata.name" in violation.message  # the fix
