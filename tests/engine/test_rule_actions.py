"""How check_network_policy applies actions, exemptions, namespaces and ordering."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

import pytest

from tests.engine.npcases import USER, netpol, review_object
from webhook.admission.decision import Action, Violation, decide
from webhook.admission.request import UserInfo
from webhook.engine.networkpolicy import check_network_policy
from webhook.policy.model import (
    RULES,
    Exemptions,
    Policy,
    Principals,
    RuleConfig,
    default_rules,
)

ALLOW_ALL = review_object("networkpolicy-create-allow-all-ingress")  # NP001, NP008, NP012


def policy(global_exemptions: Exemptions | None = None, **rules: RuleConfig) -> Policy:
    merged = {**default_rules(), **rules}
    return Policy(rules=MappingProxyType(merged), exemptions=global_exemptions or Exemptions())


def rule(rule_id: str, action: Action | None = None,
         exemptions: Exemptions | None = None) -> RuleConfig:
    config = default_rules()[rule_id]
    return dataclasses.replace(config, action=action or config.action,
                               exemptions=exemptions or Exemptions())


def ids(violations: list[Violation]) -> list[tuple[str, str]]:
    return [(v.rule_id, v.action.value) for v in violations]


@pytest.mark.parametrize(("the_policy", "user", "expected"), [
    pytest.param(policy(), USER, [("NP001", "deny"), ("NP008", "deny"), ("NP012", "warn")],
                 id="default actions"),
    pytest.param(policy(NP001=rule("NP001", Action.AUDIT)), USER,
                 [("NP001", "audit"), ("NP008", "deny"), ("NP012", "warn")],
                 id="a rule's action is carried on its violations"),
    pytest.param(policy(NP008=rule("NP008", Action.OFF)), USER,
                 [("NP001", "deny"), ("NP012", "warn")], id="a rule that is off does not fire"),
    pytest.param(policy(NP001=rule("NP001", exemptions=Exemptions(namespaces=("team-*",)))),
                 USER, [("NP008", "deny"), ("NP012", "warn")],
                 id="a rule's namespace glob exempts the namespace"),
    pytest.param(policy(NP001=rule("NP001", exemptions=Exemptions(namespaces=("team-b",)))),
                 USER, [("NP001", "deny"), ("NP008", "deny"), ("NP012", "warn")],
                 id="another namespace's exemption does not apply"),
    pytest.param(policy(NP008=rule("NP008", exemptions=Exemptions(
        principals=Principals(groups=("developers",))))), USER,
                 [("NP001", "deny"), ("NP012", "warn")],
                 id="a rule's group exemption exempts its members"),
    pytest.param(policy(NP008=rule("NP008", exemptions=Exemptions(
        principals=Principals(service_accounts=("argocd/*",))))),
                 UserInfo("system:serviceaccount:argocd:application-controller"),
                 [("NP001", "deny"), ("NP012", "warn")],
                 id="a rule's service account glob exempts the account"),
    pytest.param(policy(Exemptions(principals=Principals(users=("jane",)))), USER, [],
                 id="a global exemption silences every rule"),
    pytest.param(policy(Exemptions(namespaces=("team-a",))), USER, [],
                 id="a globally exempt namespace is not checked"),
])
def test_actions_and_exemptions(the_policy: Policy, user: UserInfo,
                                expected: list[tuple[str, str]]) -> None:
    violations = check_network_policy(ALLOW_ALL, the_policy, user)
    assert ids(violations) == expected
    for violation in violations:
        assert violation.action is the_policy.action_for(violation.rule_id, "team-a", user)


def test_namespace_defaults_to_the_objects_and_can_be_overridden() -> None:
    exempt_b = policy(Exemptions(namespaces=("team-b",)))
    assert check_network_policy(ALLOW_ALL, exempt_b, USER) != []
    assert check_network_policy(ALLOW_ALL, exempt_b, USER, "team-b") == []


def test_violations_are_ordered_by_rule_id_then_path_with_numeric_indices() -> None:
    ingress = [{"from": [{"podSelector": {"matchLabels": {"a": "b"}}}]} for _ in range(12)]
    violations = check_network_policy(netpol({"podSelector": {"matchLabels": {"a": "b"}},
                                              "ingress": ingress, "egress": [{}]}),
                                      policy(), USER)
    keys = [(v.rule_id, v.path) for v in violations]
    np008 = [path for rule_id, path in keys if rule_id == "NP008"]
    assert np008 == ["spec.egress[0]", *(f"spec.ingress[{i}]" for i in range(12))]
    assert [rule_id for rule_id, _ in keys] == sorted(rule_id for rule_id, _ in keys)


def test_every_violation_names_its_rule_and_fits_a_warning() -> None:
    violations = check_network_policy(
        review_object("networkpolicy-update-ratcheted-noncanonical-cidrs"), policy(), USER)
    assert violations
    for violation in violations:
        assert violation.rule_name == RULES[violation.rule_id][0]
        assert violation.message.startswith(violation.path + " ")
        assert violation.message.endswith(".")
        assert len(violation.short) <= 120 and len(violation.warning()) <= 120


def test_a_policy_swapped_for_another_is_not_confused_with_it() -> None:
    # Plans are cached per policy object: a new policy must take effect at once.
    first = policy()
    assert check_network_policy(ALLOW_ALL, first, USER) != []
    second = policy(**{rule_id: rule(rule_id, Action.OFF) for rule_id in RULES})
    assert check_network_policy(ALLOW_ALL, second, USER) == []


def test_the_design_example_reads_as_designed() -> None:
    obj = review_object("networkpolicy-create-allow-all-ingress")
    obj["metadata"]["name"] = "allow-all"
    decision = decide("NetworkPolicy team-a/allow-all",
                      check_network_policy(obj, policy(), USER))
    assert decision.message == (
        "NetworkPolicy team-a/allow-all violates 2 rules:\n"
        '- NP001 allow-all-sources: spec.ingress[0] has no "from", so it admits traffic from '
        "every pod and every address. List the peers that need access.\n"
        '- NP008 all-ports: spec.ingress[0] has no "ports", so every port is open. List the '
        "ports.")
    assert decision.warnings == (
        "NP012 select-all-allow: spec.podSelector selects every pod, and the policy allows "
        "traffic (spec.ingress[0])",)
