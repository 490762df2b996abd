"""Default-deny: namespace compliance and the verdicts of DESIGN.md §3 (pure: no I/O).

A namespace is *protected* unless it is exempt (by name/glob in ``defaultDeny.exemptions`` or
the global exemptions, or by the label ``netpol-guard.io/exempt: "true"``). A protected
namespace is *compliant* when, for each required direction, some NetworkPolicy in it selects
all pods, lists the direction in its effective policyTypes and has no rules for it — and no
select-all policy has a full allow-all rule for that direction that cancels it.

Rule ids (stable, shown to users and counted in metrics):

- DD001 missing-default-deny: the namespace has no effective default-deny (warned on Namespace
  CREATE; refuses Namespace UPDATE and Pod/workload CREATE).
- DD002 last-default-deny: a NetworkPolicy UPDATE/DELETE would leave the namespace without it.
- DD003 exempt-label-principal: the exemption label was set, changed or removed by a principal
  not listed in ``defaultDeny.labelPrincipals``.
- DD004 namespace-create-restricted: ``onCreate: deny`` and the creator is not in ``creators``.
- DD005 cluster-state-unavailable: a check needs cluster state that cannot be read
  (``clusterUnavailable`` decides: deny, or allow with this as a warning).
- CM001 invalid-policy: the policy ConfigMap's ``policy.yaml`` fails the loader (schema).

This module: the rule ids and namespace compliance. The verdicts are in defaultdeny_verdicts.py
(CM001 in policyconfigmap.py); ``dispatch.evaluate`` turns them into a Decision.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from webhook.admission.request import UserInfo
from webhook.engine.apidefaults import effective_policy_types, selects_all
from webhook.policy.model import EXEMPT_LABEL, Policy

JSONObject = dict[str, Any]

MISSING_DEFAULT_DENY = ("DD001", "missing-default-deny")
LAST_DEFAULT_DENY = ("DD002", "last-default-deny")
EXEMPT_LABEL_PRINCIPAL = ("DD003", "exempt-label-principal")
NAMESPACE_CREATE_RESTRICTED = ("DD004", "namespace-create-restricted")
CLUSTER_STATE_UNAVAILABLE = ("DD005", "cluster-state-unavailable")
INVALID_POLICY = ("CM001", "invalid-policy")

# Every rule id this module can emit, with its name (for docs, metrics and tests).
DEFAULT_DENY_RULES: Mapping[str, str] = {
    rule_id: name for rule_id, name in (
        MISSING_DEFAULT_DENY, LAST_DEFAULT_DENY, EXEMPT_LABEL_PRINCIPAL,
        NAMESPACE_CREATE_RESTRICTED, CLUSTER_STATE_UNAVAILABLE, INVALID_POLICY)
}

# Kinds whose CREATE runs pods; refused in a protected namespace without its default-deny.
WORKLOAD_KINDS = frozenset({
    "Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob",
    "ReplicationController",
})

_RULES_KEY = {"Ingress": "ingress", "Egress": "egress"}
_PEERS_KEY = {"Ingress": "from", "Egress": "to"}


# --- compliance -------------------------------------------------------------------------------

def _spec(np_obj: JSONObject) -> JSONObject:
    spec = np_obj.get("spec") if isinstance(np_obj, dict) else None
    # A missing spec is defaulted by the API server to podSelector {} (a default-deny).
    return spec if isinstance(spec, dict) else {}


def _selects_all_pods(spec: JSONObject) -> bool:
    selector = spec.get("podSelector")
    # podSelector is required but defaulted to {} when absent: it then selects every pod.
    return selector is None or selects_all(selector)


def _rules(spec: JSONObject, direction: str) -> list[Any]:
    rules = spec.get(_RULES_KEY[direction])
    return rules if isinstance(rules, list) else []


def _is_allow_all_rule(rule: Any, direction: str) -> bool:
    if not isinstance(rule, dict):
        return False
    return not rule.get(_PEERS_KEY[direction]) and not rule.get("ports")


def _default_deny_effect(np_obj: JSONObject) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(directions it denies by default, directions it cancels): one reading of a policy.

    Both are empty unless the policy selects all pods; each direction of its effective
    policyTypes is denied when it has no rules for it, cancelled when one of its rules allows
    all (no peers and no ports).
    """
    spec = _spec(np_obj)
    if not _selects_all_pods(spec):
        return (), ()
    denied: list[str] = []
    cancelled: list[str] = []
    for direction in effective_policy_types(spec):
        rules = _rules(spec, direction)
        if not rules:
            denied.append(direction)
        elif any(_is_allow_all_rule(rule, direction) for rule in rules):
            cancelled.append(direction)
    return tuple(denied), tuple(cancelled)


def is_default_deny(np_obj: JSONObject, direction: str) -> bool:
    """True when the NetworkPolicy denies ``direction`` ("Ingress"/"Egress") for every pod.

    It selects all pods, lists the direction in its effective policyTypes and has no rules
    for it (``ingress: []`` counts as no rules: the API server drops empty lists).
    """
    return direction in _default_deny_effect(np_obj)[0]


def cancels_default_deny(np_obj: JSONObject, direction: str) -> bool:
    """True when the policy selects all pods and has a rule for ``direction`` that allows all.

    Such a rule (``ingress: [{}]``: no peers and no ports) admits every source on every port
    to every pod, so policies being additive, any default-deny beside it is void.
    """
    return direction in _default_deny_effect(np_obj)[1]


def missing_directions(policies: Iterable[JSONObject],
                       directions: Sequence[str]) -> tuple[str, ...]:
    """The required directions that the namespace's policies do not deny by default.

    Empty means compliant. A direction is missing when no policy is a default-deny for it, or
    when a select-all policy cancels it with an allow-all rule. Each policy is read once: this
    runs on every pod create.
    """
    denied: set[str] = set()
    cancelled: set[str] = set()
    for np_obj in policies:
        policy_denied, policy_cancelled = _default_deny_effect(np_obj)
        denied.update(policy_denied)
        cancelled.update(policy_cancelled)
    return tuple(d for d in directions if d not in denied or d in cancelled)


def name_of(obj: JSONObject | None) -> str:
    """``metadata.name`` of an object ("" when missing or not an object)."""
    metadata = obj.get("metadata") if isinstance(obj, dict) else None
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return name if isinstance(name, str) else ""


def labels_of(obj: JSONObject | None) -> JSONObject:
    """``metadata.labels`` of an object (empty when missing)."""
    metadata = obj.get("metadata") if isinstance(obj, dict) else None
    labels = metadata.get("labels") if isinstance(metadata, dict) else None
    return labels if isinstance(labels, dict) else {}


def exempt_label(namespace_obj: JSONObject | None) -> str | None:
    """The value of ``netpol-guard.io/exempt`` on the namespace, or None when absent."""
    value = labels_of(namespace_obj).get(EXEMPT_LABEL)
    return value if isinstance(value, str) else None


def is_exempt_by_name(name: str, policy: Policy) -> bool:
    """True when the namespace name matches a default-deny or a global namespace exemption."""
    return (policy.default_deny.exemptions.covers_namespace(name)
            or policy.exemptions.covers_namespace(name))


def is_protected(namespace: JSONObject | str, policy: Policy) -> bool:
    """True when the namespace needs a default-deny (it is not exempt by name or by label).

    ``namespace`` is the Namespace object, or only its name when the object is unknown (then
    only the name exemptions can apply).
    """
    if isinstance(namespace, str):
        return not is_exempt_by_name(namespace, policy)
    if is_exempt_by_name(name_of(namespace), policy):
        return False
    return exempt_label(namespace) != "true"


def is_terminating(namespace_obj: JSONObject | None) -> bool:
    """True when the namespace is being deleted (deletionTimestamp set or phase Terminating)."""
    if not isinstance(namespace_obj, dict):
        return False
    metadata = namespace_obj.get("metadata")
    if isinstance(metadata, dict) and metadata.get("deletionTimestamp"):
        return True
    status = namespace_obj.get("status")
    return isinstance(status, dict) and status.get("phase") == "Terminating"


def user_exempt(policy: Policy, user: UserInfo) -> bool:
    """True when the user is one of ``defaultDeny.exemptions.principals``."""
    return policy.default_deny.exemptions.principals.includes(user)


# --- the fix shown to users -------------------------------------------------------------------

def default_deny_manifest(directions: Sequence[str]) -> str:
    """A minimal default-deny NetworkPolicy for ``directions``, as one line of YAML."""
    ordered = [d for d in ("Ingress", "Egress") if d in directions] or ["Ingress"]
    name = "default-deny-" + ("all" if len(ordered) == 2 else ordered[0].lower())
    return ("{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: "
            f"{name}}}, spec: {{podSelector: {{}}, policyTypes: [{', '.join(ordered)}]}}}}")


def fix_command(namespace: str, directions: Sequence[str]) -> str:
    """The one-line shell command that gives ``namespace`` its default-deny."""
    return f"echo '{default_deny_manifest(directions)}' | kubectl apply -n {namespace} -f -"


def directions_text(directions: Sequence[str]) -> str:
    """The directions joined for a message (``Ingress and Egress``)."""
    return " and ".join(directions)
