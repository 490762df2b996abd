"""Compliance of a namespace's NetworkPolicies with the default-deny requirement (pure)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from webhook.engine.defaultdeny import (
    cancels_default_deny,
    default_deny_manifest,
    is_default_deny,
    is_protected,
    is_terminating,
    missing_directions,
)
from webhook.policy.loader import default_policy, load_policy_text
from webhook.policy.model import EXEMPT_LABEL


def np(spec: Any = None, name: str = "p") -> dict[str, Any]:
    obj: dict[str, Any] = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                           "metadata": {"name": name, "namespace": "team-a"}}
    if spec is not None:
        obj["spec"] = spec
    return obj


def ns(name: str = "team-a", labels: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": labels or {}, **extra}}


DENY_INGRESS = np({"podSelector": {}, "policyTypes": ["Ingress"]}, "default-deny-ingress")
DENY_EGRESS = np({"podSelector": {}, "policyTypes": ["Egress"]}, "default-deny-egress")
DENY_ALL = np({"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}, "default-deny-all")
ALLOW_ALL_INGRESS = np({"podSelector": {}, "ingress": [{}]}, "allow-all-ingress")
NARROW = np({"podSelector": {"matchLabels": {"app": "api"}},
             "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}],
                          "ports": [{"protocol": "TCP", "port": 8080}]}]}, "allow-web")


@pytest.mark.parametrize(("name", "policy", "direction", "expected"), [
    ("ingress deny with explicit policyTypes", DENY_INGRESS, "Ingress", True),
    ("ingress deny does not deny egress", DENY_INGRESS, "Egress", False),
    ("policyTypes omitted defaults to Ingress", np({"podSelector": {}}), "Ingress", True),
    ("missing spec is defaulted to a default-deny", np(None), "Ingress", True),
    ("missing podSelector selects all pods", np({"policyTypes": ["Ingress"]}), "Ingress", True),
    ("matchLabels {} selects all pods",
     np({"podSelector": {"matchLabels": {}}, "policyTypes": ["Ingress"]}), "Ingress", True),
    ("matchExpressions [] selects all pods",
     np({"podSelector": {"matchExpressions": []}, "policyTypes": ["Ingress"]}), "Ingress", True),
    ("empty ingress list counts as no rules",
     np({"podSelector": {}, "policyTypes": ["Ingress"], "ingress": []}), "Ingress", True),
    ("deny-all covers ingress", DENY_ALL, "Ingress", True),
    ("deny-all covers egress", DENY_ALL, "Egress", True),
    ("egress-only deny", DENY_EGRESS, "Egress", True),
    ("egress-only deny does not deny ingress", DENY_EGRESS, "Ingress", False),
    ("policy selecting some pods is not a default-deny",
     np({"podSelector": {"matchLabels": {"app": "api"}}, "policyTypes": ["Ingress"]}),
     "Ingress", False),
    ("policy with an ingress rule is not a default-deny for ingress", NARROW, "Ingress", False),
    ("egress rules with policyTypes omitted make it govern egress, not deny it",
     np({"podSelector": {}, "egress": [{"ports": [{"port": 53, "protocol": "UDP"}]}]}),
     "Egress", False),
    ("egress rules with policyTypes omitted still deny ingress",
     np({"podSelector": {}, "egress": [{"ports": [{"port": 53, "protocol": "UDP"}]}]}),
     "Ingress", True),
    ("allow-all ingress is not a default-deny", ALLOW_ALL_INGRESS, "Ingress", False),
])
def test_is_default_deny(name: str, policy: dict[str, Any], direction: str,
                         expected: bool) -> None:
    assert is_default_deny(policy, direction) is expected, name


@pytest.mark.parametrize(("name", "policy", "direction", "expected"), [
    ("ingress [{}] on all pods cancels", ALLOW_ALL_INGRESS, "Ingress", True),
    ("ingress [{}] does not cancel egress", ALLOW_ALL_INGRESS, "Egress", False),
    ("egress [{}] on all pods cancels egress",
     np({"podSelector": {}, "policyTypes": ["Egress"], "egress": [{}]}), "Egress", True),
    ("empty from and ports lists count as absent",
     np({"podSelector": {}, "ingress": [{"from": [], "ports": []}]}), "Ingress", True),
    ("allow-all on some pods does not cancel",
     np({"podSelector": {"matchLabels": {"app": "x"}}, "ingress": [{}]}), "Ingress", False),
    ("rule with ports only is not allow-all",
     np({"podSelector": {}, "ingress": [{"ports": [{"port": 80, "protocol": "TCP"}]}]}),
     "Ingress", False),
    ("ignored ingress rules (policyTypes Egress only) do not cancel",
     np({"podSelector": {}, "policyTypes": ["Egress"], "ingress": [{}]}), "Ingress", False),
    ("default-deny does not cancel itself", DENY_INGRESS, "Ingress", False),
])
def test_cancels_default_deny(name: str, policy: dict[str, Any], direction: str,
                              expected: bool) -> None:
    assert cancels_default_deny(policy, direction) is expected, name


@pytest.mark.parametrize(("name", "policies", "directions", "missing"), [
    ("no policies: ingress missing", [], ("Ingress",), ("Ingress",)),
    ("no policies: both missing, in config order", [], ("Ingress", "Egress"),
     ("Ingress", "Egress")),
    ("default-deny ingress is compliant", [DENY_INGRESS], ("Ingress",), ()),
    ("narrow allow beside the deny stays compliant", [DENY_INGRESS, NARROW], ("Ingress",), ()),
    ("only a narrow allow: missing", [NARROW], ("Ingress",), ("Ingress",)),
    ("egress required but only ingress denied", [DENY_INGRESS], ("Ingress", "Egress"),
     ("Egress",)),
    ("two single-direction denies cover both", [DENY_INGRESS, DENY_EGRESS],
     ("Ingress", "Egress"), ()),
    ("deny-all covers both", [DENY_ALL], ("Ingress", "Egress"), ()),
    ("allow-all ingress cancels the default-deny", [DENY_INGRESS, ALLOW_ALL_INGRESS],
     ("Ingress",), ("Ingress",)),
    ("allow-all ingress does not cancel egress", [DENY_ALL, ALLOW_ALL_INGRESS],
     ("Ingress", "Egress"), ("Ingress",)),
])
def test_missing_directions(name: str, policies: list[dict[str, Any]],
                            directions: tuple[str, ...], missing: tuple[str, ...]) -> None:
    assert missing_directions(policies, directions) == missing, name


def test_default_deny_manifest_is_a_default_deny_for_each_direction() -> None:
    import yaml

    for directions in (("Ingress",), ("Egress",), ("Ingress", "Egress")):
        manifest = yaml.safe_load(default_deny_manifest(directions))
        assert manifest["kind"] == "NetworkPolicy"
        assert missing_directions([manifest], directions) == ()


POLICY_WITH_GLOBS = load_policy_text("""
apiVersion: netpol-guard.io/v1
kind: Policy
defaultDeny:
  exemptions:
    namespaces: [kube-system, "sandbox-*"]
exemptions:
  namespaces: [break-glass]
""")


@pytest.mark.parametrize(("name", "namespace", "policy", "expected"), [
    ("ordinary namespace is protected", ns("team-a"), default_policy(), True),
    ("kube-system is exempt by default", ns("kube-system"), default_policy(), False),
    ("the webhook's own namespace is exempt by default", ns("netpol-guard"),
     default_policy(), False),
    ("name only: ordinary namespace is protected", "team-a", default_policy(), True),
    ("name only: kube-public is exempt", "kube-public", default_policy(), False),
    ("exempt label true exempts", ns("team-a", {EXEMPT_LABEL: "true"}), default_policy(), False),
    ("exempt label false does not exempt", ns("team-a", {EXEMPT_LABEL: "false"}),
     default_policy(), True),
    ("glob exemption matches", ns("sandbox-42"), POLICY_WITH_GLOBS, False),
    ("glob exemption does not match others", ns("team-a"), POLICY_WITH_GLOBS, True),
    ("global exemption exempts", ns("break-glass"), POLICY_WITH_GLOBS, False),
])
def test_is_protected(name: str, namespace: Any, policy: Any, expected: bool) -> None:
    assert is_protected(namespace, policy) is expected, name


@pytest.mark.parametrize(("name", "namespace", "expected"), [
    ("active namespace", {"metadata": {"name": "a"}, "status": {"phase": "Active"}}, False),
    ("deletionTimestamp set",
     {"metadata": {"name": "a", "deletionTimestamp": "2026-01-01T00:00:00Z"}}, True),
    ("phase Terminating", {"metadata": {"name": "a"}, "status": {"phase": "Terminating"}}, True),
    ("unknown namespace", None, False),
])
def test_is_terminating(name: str, namespace: Any, expected: bool) -> None:
    assert is_terminating(namespace) is expected, name


# missing_directions reads each policy once (it runs on every pod create); it must say exactly
# what the definition says in terms of is_default_deny and cancels_default_deny.
_selectors = st.one_of(st.none(), st.just({}), st.just({"matchLabels": {}}),
                       st.just({"matchLabels": {"app": "api"}}),
                       st.just({"matchExpressions": []}), st.just("not a selector"))
_rule_lists = st.one_of(st.none(), st.just([]), st.just([{}]), st.just(["junk"]),
                        st.just([{"from": [{"podSelector": {}}]}]),
                        st.just([{"to": [{"podSelector": {}}]}]),
                        st.just([{"ports": [{"port": 80}]}, {}]))
_types = st.one_of(st.none(), st.just([]), st.lists(st.sampled_from(
    ["Ingress", "Egress", "Other"]), max_size=3))


@st.composite
def _network_policies(draw: st.DrawFn) -> Any:
    spec: dict[str, Any] = {}
    for key, strategy in (("podSelector", _selectors), ("ingress", _rule_lists),
                          ("egress", _rule_lists), ("policyTypes", _types)):
        value = draw(strategy)
        if value is not None:
            spec[key] = value
    return draw(st.sampled_from([{"spec": spec}, {"spec": "junk"}, {}, "junk"]))


@given(st.lists(_network_policies(), max_size=4),
       st.sampled_from([("Ingress",), ("Egress",), ("Ingress", "Egress")]))
def test_missing_directions_matches_its_definition(policies: list[Any],
                                                   directions: tuple[str, ...]) -> None:
    expected = tuple(
        d for d in directions
        if not any(is_default_deny(p, d) for p in policies)
        or any(cancels_default_deny(p, d) for p in policies))

    assert missing_directions(policies, directions) == expected
