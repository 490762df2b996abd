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

The verdict functions return violations; ``dispatch.evaluate`` turns them into a Decision.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from webhook.admission.decision import Action, Violation
from webhook.admission.request import UserInfo
from webhook.engine.normalize import effective_policy_types, selects_all
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

POLICY_CONFIGMAP_NAME = "netpol-guard-policy"
POLICY_CONFIGMAP_LABEL = "netpol-guard.io/policy"
POLICY_CONFIGMAP_KEY = "policy.yaml"

_RULES_KEY = {"Ingress": "ingress", "Egress": "egress"}
_PEERS_KEY = {"Ingress": "from", "Egress": "to"}

# Loads a policy document; raises an exception with ``.problems`` when it is invalid.
PolicyLoader = Callable[[str, str], object]


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


def _name_of(obj: JSONObject | None) -> str:
    metadata = obj.get("metadata") if isinstance(obj, dict) else None
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return name if isinstance(name, str) else ""


def _labels(obj: JSONObject | None) -> JSONObject:
    metadata = obj.get("metadata") if isinstance(obj, dict) else None
    labels = metadata.get("labels") if isinstance(metadata, dict) else None
    return labels if isinstance(labels, dict) else {}


def exempt_label(namespace_obj: JSONObject | None) -> str | None:
    """The value of ``netpol-guard.io/exempt`` on the namespace, or None when absent."""
    value = _labels(namespace_obj).get(EXEMPT_LABEL)
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
    if is_exempt_by_name(_name_of(namespace), policy):
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


def _user_exempt(policy: Policy, user: UserInfo) -> bool:
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


def _directions_text(directions: Sequence[str]) -> str:
    return " and ".join(directions)


# --- verdicts ---------------------------------------------------------------------------------

def exempt_label_violations(old: JSONObject | None, new: JSONObject | None,
                            policy: Policy, user: UserInfo) -> list[Violation]:
    """DD003 when the exemption label is added, changed or removed by a principal not allowed.

    Allowed principals are ``defaultDeny.labelPrincipals`` (global exemptions are handled by
    the dispatcher before any check runs).
    """
    before, after = exempt_label(old), exempt_label(new)
    if before == after or policy.default_deny.label_principals.includes(user):
        return []
    if after is None:
        change = f"removes the label {EXEMPT_LABEL}"
    elif before is None:
        change = f'sets the label {EXEMPT_LABEL}="{after}"'
    else:
        change = f'changes the label {EXEMPT_LABEL} from "{before}" to "{after}"'
    name = _name_of(new) or _name_of(old)
    rule_id, rule_name = EXEMPT_LABEL_PRINCIPAL
    return [Violation(
        rule_id, rule_name, f"metadata.labels.{EXEMPT_LABEL}",
        f"this request {change} on namespace {name}. The label decides whether the namespace "
        "needs a default-deny NetworkPolicy, so only the principals in defaultDeny."
        f"labelPrincipals of the netpol-guard policy may set, change or remove it, and user "
        f"{user.username or '<unknown>'} is not one of them. Leave the label as it was, or ask "
        "one of them.")]


def namespace_create_violations(namespace_obj: JSONObject, policy: Policy,
                                user: UserInfo) -> tuple[list[Violation], list[str]]:
    """Namespace CREATE: (violations, warnings).

    A new namespace cannot have a NetworkPolicy yet, so a protected one is allowed with two
    warnings (DD001 naming what is missing, then the one-line fix); in ``onCreate: deny`` mode
    only ``creators`` may create protected namespaces (DD004). Setting the exemption label
    needs a label principal (DD003).
    """
    violations = exempt_label_violations(None, namespace_obj, policy, user)
    if violations or not is_protected(namespace_obj, policy) or _user_exempt(policy, user):
        return violations, []
    config = policy.default_deny
    name = _name_of(namespace_obj)
    directions = config.directions
    if config.on_create == "deny" and not config.creators.includes(user):
        rule_id, rule_name = NAMESPACE_CREATE_RESTRICTED
        return [Violation(
            rule_id, rule_name, "metadata.name",
            f"namespaces are created only by platform automation here (defaultDeny.onCreate: "
            f"deny), and user {user.username or '<unknown>'} is not one of defaultDeny.creators. "
            "Ask the platform team to create the namespace with its default-deny NetworkPolicy.")
        ], []
    rule_id, rule_name = MISSING_DEFAULT_DENY
    consequence = ("its pods are refused until it has one" if config.workloads is Action.DENY
                   else "add one with the command below")
    warnings = [
        f"{rule_id} {rule_name}: namespace {name} has no default-deny "
        f"({_directions_text(directions)}); {consequence}",
        f"Fix: {fix_command(name, directions)}",
    ]
    return [], warnings


def _missing_violation(path: str, namespace: str, missing: Sequence[str],
                       action: Action, consequence: str) -> Violation:
    rule_id, rule_name = MISSING_DEFAULT_DENY
    what = _directions_text(missing)
    return Violation(
        rule_id, rule_name, path,
        f"namespace {namespace} has no default-deny NetworkPolicy for {what} "
        f"(a policy with podSelector {{}} that lists {what} in policyTypes and has no rules), "
        f"so {consequence}. Fix: {fix_command(namespace, missing)}",
        action=action,
        short=f"namespace {namespace} has no default-deny for {what}",
    )


def namespace_update_violations(old: JSONObject | None, new: JSONObject,
                                policies: Sequence[JSONObject] | None, policy: Policy,
                                user: UserInfo) -> list[Violation]:
    """Namespace UPDATE: DD003 for an unauthorised exemption-label change; DD001 (per
    ``defaultDeny.namespaceUpdates``) while the namespace is protected and not compliant.

    ``policies`` are the NetworkPolicies in the namespace, or None when cluster state is not
    needed (terminating or unprotected) — callers may pass None only then.
    """
    violations = exempt_label_violations(old, new, policy, user)
    if violations:
        return violations
    if not needs_compliance_check(new, policy, user):
        return []
    missing = missing_directions(policies or (), policy.default_deny.directions)
    if not missing:
        return []
    return [_missing_violation("metadata", _name_of(new), missing,
                               policy.default_deny.namespace_updates,
                               "the namespace cannot be changed until it has one")]


def needs_compliance_check(namespace: JSONObject | str | None, policy: Policy,
                           user: UserInfo, name: str = "") -> bool:
    """True when a request in this namespace must see the namespace's NetworkPolicies.

    False for terminating or unprotected namespaces and for exempt principals: those pass
    without cluster state. ``namespace`` is the object, its name, or None (unknown: judged by
    ``name``).
    """
    if _user_exempt(policy, user):
        return False
    if namespace is None:
        return bool(name) and is_protected(name, policy)
    if isinstance(namespace, dict) and is_terminating(namespace):
        return False
    return is_protected(namespace, policy)


def workload_violations(kind: str, namespace: str, policies: Sequence[JSONObject],
                        policy: Policy) -> list[Violation]:
    """Pod/workload CREATE in a namespace that needs a check: DD001 per
    ``defaultDeny.workloads`` when its policies leave a required direction open."""
    missing = missing_directions(policies, policy.default_deny.directions)
    if not missing:
        return []
    noun = "pods" if kind == "Pod" else "workloads"
    return [_missing_violation("metadata.namespace", namespace, missing,
                               policy.default_deny.workloads,
                               f"{noun} cannot be created in it until it has one")]


def _replace_policy(policies: Sequence[JSONObject], name: str,
                    replacement: JSONObject | None) -> list[JSONObject]:
    kept: list[JSONObject] = [p for p in policies if _name_of(p) != name]
    if replacement is not None:
        kept.append(replacement)
    return kept


def last_deny_violations(old_np: JSONObject | None, new_np: JSONObject | None,
                         namespace: str, policies: Sequence[JSONObject],
                         policy: Policy, name: str = "") -> list[Violation]:
    """NetworkPolicy UPDATE (``new_np`` set) or DELETE (``new_np`` None): DD002 per
    ``defaultDeny.lastDeny`` when the change leaves a required direction without a default-deny
    that it had before. A namespace already missing a direction may still change or delete
    its other policies (cleaning up must stay possible). ``name`` is the policy's name when
    neither object carries it.
    """
    name = _name_of(old_np) or _name_of(new_np) or name
    # The cache may lag behind: make sure the stored version is part of "before".
    before = _replace_policy(policies, name, old_np) if old_np is not None else list(policies)
    after = _replace_policy(before, name, new_np)
    directions = policy.default_deny.directions
    missing_before = missing_directions(before, directions)
    lost = [d for d in missing_directions(after, directions) if d not in missing_before]
    if not lost:
        return []
    rule_id, rule_name = LAST_DEFAULT_DENY
    what = _directions_text(lost)
    if new_np is None:
        change, path, why = "deleting it", "metadata.name", "it is the last one"
    else:
        change, path, why = "this change", "spec", "it removes or cancels the last one"
    return [Violation(
        rule_id, rule_name, path,
        f"{change} would leave namespace {namespace} without a default-deny for {what} "
        f"({why}). Create another default-deny first: "
        f"{fix_command(namespace, lost)}",
        action=policy.default_deny.last_deny,
        short=f"{change} leaves namespace {namespace} without a default-deny for {what}",
    )]


def cluster_unavailable_violation(namespace: str, policy: Policy) -> Violation:
    """DD005: the check needs cluster state that cannot be read; ``clusterUnavailable`` decides
    (deny, or allow with this as a warning)."""
    rule_id, rule_name = CLUSTER_STATE_UNAVAILABLE
    deny = policy.cluster_unavailable == "deny"
    return Violation(
        rule_id, rule_name, "metadata.namespace",
        f"cluster state unavailable: the Kubernetes API cannot be read, so the default-deny "
        f"of namespace {namespace} cannot be checked "
        f"(clusterUnavailable: {policy.cluster_unavailable}). "
        + ("Retry once the API server is reachable." if deny else "The request was not checked."),
        action=Action.DENY if deny else Action.WARN,
        short=f"cluster state unavailable: default-deny of namespace {namespace} not checked",
    )


def is_policy_configmap(configmap: JSONObject | None,
                        name: str = POLICY_CONFIGMAP_NAME) -> bool:
    """True for the ConfigMap that holds netpol-guard's policy (by name or by label)."""
    if not isinstance(configmap, dict):
        return False
    return _name_of(configmap) == name or _labels(configmap).get(POLICY_CONFIGMAP_LABEL) == "true"


def policy_configmap_violations(configmap: JSONObject, subject: str,
                                load: PolicyLoader) -> list[Violation]:
    """CM001 when ``data["policy.yaml"]`` is missing or fails ``load`` (schema, YAML).

    ``load(text, source)`` raises an exception carrying ``.problems`` (each with ``path``,
    ``line``, ``message``) for an invalid document.
    """
    rule_id, rule_name = INVALID_POLICY
    data = configmap.get("data")
    text = data.get(POLICY_CONFIGMAP_KEY) if isinstance(data, dict) else None
    path = f"data.{POLICY_CONFIGMAP_KEY}"
    if not isinstance(text, str):
        return [Violation(
            rule_id, rule_name, path,
            f"{path} is missing: the policy ConfigMap must hold the policy document under the "
            f"key {POLICY_CONFIGMAP_KEY}. Create it with --from-file={POLICY_CONFIGMAP_KEY}=FILE.")]
    try:
        load(text, subject)
    except Exception as error:
        problems = getattr(error, "problems", None)
        if not problems:
            raise  # not a verdict on the document: a bug, answered as an engine error
        details = [_describe_problem(problem) for problem in problems]
        listed = "\n  ".join(f"* {detail}" for detail in details)
        return [Violation(
            rule_id, rule_name, path,
            f"{path} is not a valid netpol-guard policy ({len(details)} "
            f"problem{'s' if len(details) != 1 else ''}); the webhook would keep its last good "
            f"policy. Fix the document (check it with `netpol-guard policy validate FILE`):"
            f"\n  {listed}")]
    return []


def _describe_problem(problem: object) -> str:
    path = getattr(problem, "path", "") or "(document)"
    line = getattr(problem, "line", None)
    message = getattr(problem, "message", "") or str(problem)
    where = f"{path} (line {line})" if line else str(path)
    return f"{where}: {message}"
