"""The default-deny verdicts of DESIGN.md §3, one per kind of request (pure: no I/O): DD001 on
Namespace create/update and workloads, DD002 on the last default-deny, DD003 on the exemption
label, DD004 on namespace creation, DD005 when cluster state is unavailable."""

from __future__ import annotations

from collections.abc import Sequence

from webhook.admission.decision import Action, Violation
from webhook.admission.request import UserInfo
from webhook.engine.defaultdeny import (
    CLUSTER_STATE_UNAVAILABLE,
    EXEMPT_LABEL_PRINCIPAL,
    LAST_DEFAULT_DENY,
    MISSING_DEFAULT_DENY,
    NAMESPACE_CREATE_RESTRICTED,
    JSONObject,
    directions_text,
    exempt_label,
    fix_command,
    is_protected,
    is_terminating,
    missing_directions,
    name_of,
    user_exempt,
)
from webhook.policy.model import EXEMPT_LABEL, Policy


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
    name = name_of(new) or name_of(old)
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
    if violations or not is_protected(namespace_obj, policy) or user_exempt(policy, user):
        return violations, []
    config = policy.default_deny
    name = name_of(namespace_obj)
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
        f"({directions_text(directions)}); {consequence}",
        f"Fix: {fix_command(name, directions)}",
    ]
    return [], warnings


def _missing_violation(path: str, namespace: str, missing: Sequence[str],
                       action: Action, consequence: str) -> Violation:
    rule_id, rule_name = MISSING_DEFAULT_DENY
    what = directions_text(missing)
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
    return [_missing_violation("metadata", name_of(new), missing,
                               policy.default_deny.namespace_updates,
                               "the namespace cannot be changed until it has one")]


def needs_compliance_check(namespace: JSONObject | str | None, policy: Policy,
                           user: UserInfo, name: str = "") -> bool:
    """True when a request in this namespace must see the namespace's NetworkPolicies.

    False for terminating or unprotected namespaces and for exempt principals: those pass
    without cluster state. ``namespace`` is the object, its name, or None (unknown: judged by
    ``name``).
    """
    if user_exempt(policy, user):
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
    kept: list[JSONObject] = [p for p in policies if name_of(p) != name]
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
    name = name_of(old_np) or name_of(new_np) or name
    # The cache may lag behind: make sure the stored version is part of "before".
    before = _replace_policy(policies, name, old_np) if old_np is not None else list(policies)
    after = _replace_policy(before, name, new_np)
    directions = policy.default_deny.directions
    missing_before = missing_directions(before, directions)
    lost = [d for d in missing_directions(after, directions) if d not in missing_before]
    if not lost:
        return []
    rule_id, rule_name = LAST_DEFAULT_DENY
    what = directions_text(lost)
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
