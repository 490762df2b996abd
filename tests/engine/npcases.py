"""Helpers shared by the NetworkPolicy engine tests: real shapes, policies and checks."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from types import MappingProxyType
from typing import Any

from webhook.admission.decision import Action, Violation
from webhook.admission.request import UserInfo
from webhook.engine.networkpolicy import check_network_policy
from webhook.policy.model import Policy, default_rules

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CORPUS_RECORDS: list[dict[str, Any]] = [
    json.loads(line)
    for line in (FIXTURES / "apiserver-verdicts.jsonl").read_text(encoding="utf-8").splitlines()
    if line.strip()
]
ACCEPTED = {record["id"]: record for record in CORPUS_RECORDS if record["accepted"]}
USER = UserInfo("jane", ("developers", "system:authenticated"))


def review_object(name: str) -> dict[str, Any]:
    """``request.object`` of a captured AdmissionReview (tests/fixtures/admission/NAME.json)."""
    path = FIXTURES / "admission" / f"{name}.json"
    return copy.deepcopy(json.loads(path.read_text(encoding="utf-8"))["request"]["object"])


def corpus_object(record_id: str) -> dict[str, Any]:
    """The object a real API server stored for an accepted corpus manifest (``defaulted``)."""
    return copy.deepcopy(ACCEPTED[record_id]["defaulted"])


def netpol(spec: dict[str, Any] | None = None, namespace: str = "team-a",
           name: str = "np") -> dict[str, Any]:
    """A NetworkPolicy object around ``spec`` (raw: not defaulted)."""
    obj: dict[str, Any] = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                           "metadata": {"name": name, "namespace": namespace}}
    if spec is not None:
        obj["spec"] = spec
    return obj


def policy_with(rule_id: str | None = None, action: Action | None = None,
                **params: Any) -> Policy:
    """The default policy, with one rule's action and parameters replaced."""
    rules = dict(default_rules())
    if rule_id is not None:
        changes: dict[str, Any] = dict(params)
        if action is not None:
            changes["action"] = action
        rules[rule_id] = dataclasses.replace(rules[rule_id], **changes)
    return Policy(rules=MappingProxyType(rules))


DEFAULT_POLICY = policy_with()


def check(obj: dict[str, Any], policy: Policy | None = None,
          namespace: str | None = None) -> list[Violation]:
    """Every violation of the object under ``policy`` (default: the default policy)."""
    return check_network_policy(obj, policy or DEFAULT_POLICY, USER, namespace)


def fired(obj: dict[str, Any], rule_id: str, policy: Policy | None = None,
          namespace: str | None = None) -> list[Violation]:
    """The violations of one rule, with the rule forced on (deny) unless a policy is given."""
    return [v for v in check(obj, policy or policy_with(rule_id, Action.DENY), namespace)
            if v.rule_id == rule_id]


def paths(violations: list[Violation]) -> list[str]:
    return [v.path for v in violations]
