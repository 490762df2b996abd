"""NP018 reach-delta in a review: what a NetworkPolicy change opens, from the cached cluster.

Never slower than the API server's patience: when the pod cache has not synced, or the delta
takes longer than ``timeBudgetMs`` (or fails: a bug here never refuses a change), the review is
answered without NP018, with one warning that says so, and
``netpol_guard_reach_delta_total{outcome}`` counts it. Dry-run requests take the same path, so
``kubectl apply --dry-run=server`` shows what a change would do. Changes in a terminating
namespace are left alone (its pods are going away).
"""

from __future__ import annotations

import logging
import time
from typing import Protocol

from webhook.admission.decision import Action, Decision, Violation, decide
from webhook.admission.request import AdmissionRequest
from webhook.engine.defaultdeny import is_terminating
from webhook.engine.reach import ReachView
from webhook.engine.reachdelta import BudgetExceeded, reach_delta
from webhook.engine.reachrule import RULE_ID, reach_violations, skipped_warning
from webhook.kube.state import ClusterState, ClusterUnavailable
from webhook.observe.metrics import REACH_DELTAS, REVIEW_TALLY
from webhook.policy.model import Policy

log = logging.getLogger("netpol_guard.reach")
_OPERATIONS = frozenset({"CREATE", "UPDATE", "DELETE"})
# The clock of the time budget (a module attribute so a test can make time pass).
clock = time.perf_counter


class _HasReachView(Protocol):
    def reach_view(self) -> ReachView: ...


def applies(request: AdmissionRequest, policy: Policy) -> bool:
    """True when NP018 is to be evaluated for ``request`` (a NetworkPolicy change, the rule on
    for its namespace and user)."""
    return (request.kind == "NetworkPolicy" and not request.sub_resource
            and request.operation in _OPERATIONS
            and policy.action_for(RULE_ID, request.namespace, request.user) is not Action.OFF)


def with_reach_delta(request: AdmissionRequest, policy: Policy, cluster: ClusterState | None,
                     decision: Decision) -> Decision:
    """``decision`` with NP018's verdict added (a denied request is left as it is)."""
    if not decision.allowed or not applies(request, policy):
        return decision
    config = policy.rule(RULE_ID)
    action = policy.action_for(RULE_ID, request.namespace, request.user)
    started = clock()
    try:
        view = _view(cluster)
        if cluster is not None and is_terminating(cluster.get_namespace(request.namespace)):
            return decision  # a namespace on its way out: what it still reaches is moot
        delta = reach_delta(view, request.namespace, _name(request), request.old_obj,
                            request.obj if request.operation != "DELETE" else None,
                            deadline=started + config.time_budget_ms / 1000, clock=clock)
    except ClusterUnavailable as unavailable:
        REVIEW_TALLY.count(REACH_DELTAS, "unsynced")
        return _redecide(request, decision, [], [skipped_warning(str(unavailable))])
    except BudgetExceeded:
        REVIEW_TALLY.count(REACH_DELTAS, "budget")
        log.info("NP018 over its %d ms budget for %s", config.time_budget_ms, request.subject)
        return _redecide(request, decision, [], [skipped_warning(
            f"the change's effect took longer than {config.time_budget_ms} ms "
            "(timeBudgetMs) to compute")])
    except Exception:  # noqa: BLE001 - a bug in NP018 must not refuse what the rest allowed
        REVIEW_TALLY.count(REACH_DELTAS, "error")
        log.exception("NP018 failed for %s", request.subject)
        return _redecide(request, decision, [], [skipped_warning(
            "it failed (the webhook's log has the error)")])
    REVIEW_TALLY.count(REACH_DELTAS, "evaluated")
    violations = reach_violations(delta, config, action)
    if not violations:
        return decision
    return _redecide(request, decision, violations, [])


def _name(request: AdmissionRequest) -> str:
    for obj in (request.obj, request.old_obj):
        metadata = (obj or {}).get("metadata")
        if isinstance(metadata, dict) and isinstance(metadata.get("name"), str):
            return str(metadata["name"])
    return request.name


def _view(cluster: ClusterState | None) -> ReachView:
    if cluster is None:
        raise ClusterUnavailable("no cluster state is configured")
    reach_view = getattr(cluster, "reach_view", None)
    if reach_view is None:
        raise ClusterUnavailable("this cluster source keeps no pods")
    view: ReachView = reach_view()
    return view


def _redecide(request: AdmissionRequest, decision: Decision, violations: list[Violation],
              warnings: list[str]) -> Decision:
    own = {v.warning() for v in decision.violations if v.action is Action.WARN}
    extra = [w for w in decision.warnings if w not in own]
    return decide(request.subject, [*decision.violations, *violations], [*extra, *warnings])
