"""The least-privilege rules NP001–NP017 for NetworkPolicy (DESIGN.md §2).

``check_network_policy`` normalises the object once (``normalize.normalise_network_policy``) and
runs each rule that is not ``off`` for the namespace and user. A rule (engine/nprules/, one
module per family) is a small pure function from the normalised policy and its ``RuleConfig``
to findings: the JSON path of the offending field, a sentence for the person at the terminal
(path, meaning, fix) and a short warning form.
Nothing here does I/O or raises on a malformed object.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any, NamedTuple

from webhook.admission.decision import Action, Violation
from webhook.admission.request import UserInfo
from webhook.engine.normalize import normalise_network_policy
from webhook.engine.nprules.cidrs import (
    broad_cidr,
    cluster_cidr_ipblock,
    metadata_endpoint,
    world_cidr,
)
from webhook.engine.nprules.peers import (
    allow_all_destinations,
    allow_all_sources,
    and_or_confusion,
    cluster_wide_peer,
    cross_namespace_not_allowed,
    mutable_namespace_label,
)
from webhook.engine.nprules.ports import (
    all_ports,
    all_ports_of_protocol,
    named_port,
    protocol_not_allowed,
    wide_port_range,
)
from webhook.engine.nprules.scope import ignored_rules, select_all_allow
from webhook.engine.nprules.shared import RuleCheck
from webhook.policy.model import Policy, RuleConfig


def check_network_policy(obj: dict[str, Any], policy: Policy, user: UserInfo,
                         namespace: str | None = None) -> list[Violation]:
    """Every least-privilege violation of a NetworkPolicy, ordered by rule id, then path.

    ``obj`` may be raw (a manifest) or defaulted (what the API server hands a webhook); both give
    the same result. ``namespace`` defaults to ``metadata.namespace``. Each violation carries the
    rule's action for this namespace and user (``policy.action_for``); rules that are off, or
    exempt here, are not evaluated at all.
    """
    view = normalise_network_policy(obj, namespace)
    violations: list[Violation] = []
    for rule_id, rule_check, config, action in _active_checks(policy, view.namespace, user):
        findings = rule_check(view, config, policy)
        if not findings:
            continue
        if len(findings) > 1:
            findings.sort(key=lambda finding: _path_order(finding.path))
        violations.extend(Violation(rule_id, config.name, finding.path, finding.message, action,
                                    finding.short) for finding in findings)
    return violations


ActiveCheck = tuple[str, RuleCheck, RuleConfig, Action]


def _active_checks(policy: Policy, namespace: str, user: UserInfo) -> Sequence[ActiveCheck]:
    """The rules to run, each with its action for this namespace and user.

    The same as ``policy.action_for`` for every rule, but worked out once per policy where the
    namespace and user cannot change it: the global exemptions are checked once, and rules
    without exemptions of their own keep the action of a cached plan.
    """
    plan = _plan(_Identity(policy))
    if plan.global_exemptions and policy.exemptions.covers(namespace, user):
        return ()
    if plan.fixed is not None:
        return plan.fixed
    active: list[ActiveCheck] = []
    for rule_id, rule_check, config, fixed_action in plan.entries:
        action = fixed_action or policy.action_for(rule_id, namespace, user)
        if action is not Action.OFF:
            active.append((rule_id, rule_check, config, action))
    return active


class _Identity:
    """A Policy as a cache key by identity (its mapping fields are not hashable)."""

    __slots__ = ("policy",)

    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    def __hash__(self) -> int:
        return id(self.policy)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Identity) and other.policy is self.policy


class _Plan(NamedTuple):
    global_exemptions: bool
    # Rules that are not off, with their action, or None where exemptions decide it.
    entries: tuple[tuple[str, RuleCheck, RuleConfig, Action | None], ...]
    # The same when no rule has exemptions: then it is the answer for every request.
    fixed: tuple[ActiveCheck, ...] | None


@functools.lru_cache(maxsize=8)
def _plan(key: _Identity) -> _Plan:
    """What can be decided about a policy's rules before knowing the namespace and user."""
    policy = key.policy
    entries: list[tuple[str, RuleCheck, RuleConfig, Action | None]] = []
    fixed: list[ActiveCheck] = []
    for rule_id, rule_check in CHECKS:
        config = policy.rules.get(rule_id)
        if config is None or config.action is Action.OFF:
            continue
        exemptions = config.exemptions
        if exemptions.namespaces or exemptions.principals:
            entries.append((rule_id, rule_check, config, None))
        else:
            entries.append((rule_id, rule_check, config, config.action))
            fixed.append((rule_id, rule_check, config, config.action))
    global_exemptions = bool(policy.exemptions.namespaces or policy.exemptions.principals)
    return _Plan(global_exemptions, tuple(entries),
                 tuple(fixed) if len(fixed) == len(entries) else None)


def _path_order(path: str) -> list[Any]:
    # spec.ingress[2] before spec.ingress[10]: compare the indices as numbers.
    parts: list[Any] = re.split(r"(\d+)", path)
    parts[1::2] = [int(number) for number in parts[1::2]]
    return parts


CHECKS: tuple[tuple[str, RuleCheck], ...] = (
    ("NP001", allow_all_sources),
    ("NP002", allow_all_destinations),
    ("NP003", cluster_wide_peer),
    ("NP004", mutable_namespace_label),
    ("NP005", world_cidr),
    ("NP006", broad_cidr),
    ("NP007", metadata_endpoint),
    ("NP008", all_ports),
    ("NP009", all_ports_of_protocol),
    ("NP010", wide_port_range),
    ("NP011", named_port),
    ("NP012", select_all_allow),
    ("NP013", ignored_rules),
    ("NP014", cluster_cidr_ipblock),
    ("NP015", protocol_not_allowed),
    ("NP016", and_or_confusion),
    ("NP017", cross_namespace_not_allowed),
)
