"""Evaluate one admission request by kind (pure: the cluster state comes in as a snapshot).

``review.review_request`` gathers the snapshot (from the cache, then live to confirm a deny)
and calls ``evaluate``; the offline CLI can call it with a snapshot built from files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from webhook.admission.decision import Action, Decision, Violation, allow, decide
from webhook.admission.request import AdmissionRequest
from webhook.engine import defaultdeny as dd
from webhook.engine import defaultdeny_verdicts as ddv
from webhook.engine import policyconfigmap as pcm
from webhook.engine.networkpolicy import check_network_policy
from webhook.policy.model import Policy

JSONObject = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ClusterSnapshot:
    """What the cluster holds for the request's namespace.

    ``namespace`` is the Namespace object, or None when it is unknown (then it is judged by
    name). ``available`` is False when the state could not be read at all.
    """

    namespace: JSONObject | None = None
    network_policies: tuple[JSONObject, ...] = ()
    available: bool = True


UNAVAILABLE = ClusterSnapshot(available=False)
EMPTY = ClusterSnapshot()


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The decision, and how far it rests on cluster state.

    ``depends_on_state``: a deny in it came from cluster state (it is confirmed with a live
    read before it is returned). ``allow_depends_on_state``: an allow that a lagging cache could
    make wrong — a default-deny is deleted or changed and another one, seen in the cache, was
    what kept the namespace compliant (``kubectl delete networkpolicy --all`` deletes them one
    after the other, faster than a watch may deliver).
    """

    decision: Decision
    depends_on_state: bool = False
    allow_depends_on_state: bool = False


def _default_loader() -> Callable[[str, str], object]:
    # Imported lazily: the loader compiles the JSON Schema, which only the ConfigMap check needs.
    from webhook.policy.loader import load_policy_text
    return load_policy_text


@dataclass(slots=True)
class _Checks:
    """Violations found on the object itself, and those that depend on cluster state."""

    on_object: list[Violation] = field(default_factory=list)
    on_state: list[Violation] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    allow_from_state: bool = False


def needs_state(request: AdmissionRequest) -> bool:
    """True when ``evaluate`` may look at the snapshot for this request.

    NetworkPolicy CREATE, Namespace CREATE/DELETE, ConfigMaps and other kinds need none, so the
    caller can skip reading the cluster for them.
    """
    if request.sub_resource:
        return False
    if request.kind == "NetworkPolicy":
        return request.operation in ("UPDATE", "DELETE")
    if request.kind == "Namespace":
        return request.operation == "UPDATE"
    return request.kind in dd.WORKLOAD_KINDS and request.operation == "CREATE"


def evaluate(request: AdmissionRequest, policy: Policy, snapshot: ClusterSnapshot, *,
             policy_configmap: str = pcm.POLICY_CONFIGMAP_NAME,
             load_policy: Callable[[str, str], object] | None = None) -> Evaluation:
    """The verdict for ``request`` under ``policy``, given the cluster ``snapshot``.

    Global exemptions (``Policy.exemptions``: namespaces and principals) pass everything.
    Checks on the object itself always run; checks that need cluster state follow
    ``policy.cluster_unavailable`` when ``snapshot.available`` is False.
    """
    if policy.exemptions.covers(request.namespace, request.user) or request.sub_resource:
        return Evaluation(allow())
    checks = _Checks()
    kind, operation = request.kind, request.operation
    if kind == "NetworkPolicy":
        _network_policy(request, policy, snapshot, checks)
    elif kind == "Namespace":
        _namespace(request, policy, snapshot, checks)
    elif kind in dd.WORKLOAD_KINDS and operation == "CREATE":
        _workload(request, policy, snapshot, checks)
    elif kind == "ConfigMap" and operation in ("CREATE", "UPDATE"):
        if pcm.is_policy_configmap(request.obj, policy_configmap):
            loader = load_policy or _default_loader()
            checks.on_object.extend(pcm.policy_configmap_violations(
                request.obj or {}, request.subject, loader))
    decision = decide(_subject(request), [*checks.on_object, *checks.on_state], checks.warnings)
    from_state = any(v.action is Action.DENY for v in checks.on_state)
    return Evaluation(decision, depends_on_state=not decision.allowed and from_state,
                      allow_depends_on_state=decision.allowed and checks.allow_from_state)


def _subject(request: AdmissionRequest) -> str:
    # A Namespace is cluster-scoped even though request.namespace carries its name.
    if request.kind == "Namespace":
        return f"Namespace {request.name or request.namespace}"
    return request.subject


def _state_or_unavailable(snapshot: ClusterSnapshot, namespace: str, policy: Policy,
                          checks: _Checks, action: Action) -> bool:
    """True when the snapshot can be used for a check whose action is ``action``; otherwise
    records DD005 and returns False."""
    if snapshot.available:
        return True
    violation = ddv.cluster_unavailable_violation(namespace, policy)
    if action is not Action.DENY and violation.action is Action.DENY:
        # A check that could at most warn must not deny because its state is missing.
        violation = replace(violation, action=Action.WARN)
    checks.on_state.append(violation)
    return False


def _network_policy(request: AdmissionRequest, policy: Policy, snapshot: ClusterSnapshot,
                    checks: _Checks) -> None:
    if request.operation in ("CREATE", "UPDATE") and request.obj is not None:
        checks.on_object.extend(check_network_policy(request.obj, policy, request.user,
                                                     request.namespace))
    if request.operation not in ("UPDATE", "DELETE"):
        return
    # The last deny: deletes and updates in terminating namespaces always pass (cluster
    # recovery must never be blocked), and so do those in unprotected ones.
    if not _compliance_state_at_hand(request, policy, snapshot, checks,
                                     policy.default_deny.last_deny):
        return
    violations = ddv.last_deny_violations(
        request.old_obj, request.obj if request.operation == "UPDATE" else None,
        request.namespace, snapshot.network_policies, policy, name=request.name)
    checks.on_state.extend(violations)
    if not violations and request.old_obj is not None:
        checks.allow_from_state = any(dd.is_default_deny(request.old_obj, direction)
                                      for direction in policy.default_deny.directions)


def _compliance_state_at_hand(request: AdmissionRequest, policy: Policy,
                              snapshot: ClusterSnapshot, checks: _Checks,
                              action: Action) -> bool:
    """True when the request's namespace needs a compliance check under ``action`` and its
    state is at hand (when it is not, ``checks`` already says what clusterUnavailable wants).
    The namespace is judged by name first, so exempt ones never need cluster state."""
    if action is Action.OFF or not ddv.needs_compliance_check(None, policy, request.user,
                                                              request.namespace):
        return False
    if not _state_or_unavailable(snapshot, request.namespace, policy, checks, action):
        return False
    return ddv.needs_compliance_check(snapshot.namespace, policy, request.user,
                                     request.namespace)


def _namespace(request: AdmissionRequest, policy: Policy, snapshot: ClusterSnapshot,
               checks: _Checks) -> None:
    if request.operation == "CREATE" and request.obj is not None:
        violations, warnings = ddv.namespace_create_violations(request.obj, policy, request.user)
        checks.on_object.extend(violations)
        checks.warnings.extend(warnings)
        return
    if request.operation != "UPDATE" or request.obj is None:
        return  # DELETE (and CONNECT) of a namespace always passes.
    label_violations = ddv.exempt_label_violations(request.old_obj, request.obj, policy,
                                                  request.user)
    if label_violations:
        checks.on_object.extend(label_violations)
        return
    action = policy.default_deny.namespace_updates
    if action is Action.OFF or not ddv.needs_compliance_check(request.obj, policy, request.user):
        return
    if not _state_or_unavailable(snapshot, request.namespace, policy, checks, action):
        return
    checks.on_state.extend(ddv.namespace_update_violations(
        request.old_obj, request.obj, snapshot.network_policies, policy, request.user))


def _workload(request: AdmissionRequest, policy: Policy, snapshot: ClusterSnapshot,
              checks: _Checks) -> None:
    if not _compliance_state_at_hand(request, policy, snapshot, checks,
                                     policy.default_deny.workloads):
        return
    checks.on_state.extend(ddv.workload_violations(request.kind, request.namespace,
                                                  snapshot.network_policies, policy))
