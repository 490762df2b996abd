"""Review one admission request: gather cluster state, run the pure engine, confirm denies.

The one place where the engine meets cluster state:

1. kinds that need no state (NetworkPolicy CREATE, Namespace CREATE/DELETE, ConfigMaps, ...)
   are evaluated without touching the cluster;
2. otherwise the snapshot comes from the cache; when the cache is not ready or cannot answer,
   the snapshot is "unavailable" and state-dependent checks follow ``clusterUnavailable``;
3. a deny that came from cluster state is confirmed with a live read (the API, or a rescan of
   the inventory) and re-evaluated, so a default-deny created a moment ago never causes a wrong
   deny. The outcome is counted in ``LIVE_CONFIRMS`` (confirmed, overturned, unavailable);
4. the deletion (or change) of a default-deny that the cache says is not the last one is
   re-checked live too, so deleting several in a row cannot slip past a lagging watch;
5. an allowed NetworkPolicy change gets NP018 (reach-delta, ``reachreview``): what it opens and
   closes, from the cached pods, within a time budget.

No side effects beyond metrics and logs: the same request (dry-run or not, retried with another
uid) gets the same verdict.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from webhook.admission.decision import Decision, with_warning
from webhook.admission.request import AdmissionRequest
from webhook.engine import dispatch
from webhook.engine.dispatch import ClusterSnapshot, Evaluation
from webhook.engine.policyconfigmap import POLICY_CONFIGMAP_NAME
from webhook.kube.state import ClusterState, ClusterUnavailable
from webhook.observe.metrics import LIVE_CONFIRMS
from webhook.policy.model import Policy
from webhook.serving.reachreview import with_reach_delta

log = logging.getLogger("netpol_guard.live")

# Prefixed like the other warnings (a rule id or the product name): kubectl prints it as is.
UNCONFIRMED_WARNING = ("netpol-guard: this verdict comes from its cache; the API server could "
                       "not be reached to confirm it")


def review_request(request: AdmissionRequest, policy: Policy, cluster: ClusterState | None, *,
                   policy_configmap: str = POLICY_CONFIGMAP_NAME) -> Decision:
    """The decision for one request under ``policy`` with state from ``cluster``.

    ``cluster`` None means no cluster state at all (state-dependent checks follow the policy's
    ``clusterUnavailable``). ``policy_configmap`` names the ConfigMap holding the policy.
    """
    decision = _review(request, policy, cluster, policy_configmap)
    return with_reach_delta(request, policy, cluster, decision)


def _review(request: AdmissionRequest, policy: Policy, cluster: ClusterState | None,
            policy_configmap: str) -> Decision:
    def evaluate(snapshot: ClusterSnapshot) -> Evaluation:
        return dispatch.evaluate(request, policy, snapshot, policy_configmap=policy_configmap)

    if not dispatch.needs_state(request):
        return evaluate(dispatch.EMPTY).decision
    cached = read_snapshot(request, cluster, live=False)
    first = evaluate(cached)
    if first.allow_depends_on_state:
        return _recheck_allow(request, cluster, first, evaluate)
    if not first.depends_on_state:
        return first.decision
    try:
        snapshot = read_snapshot(request, cluster, live=True, raise_unavailable=True)
    except ClusterUnavailable as error:
        LIVE_CONFIRMS.labels("unavailable").inc()
        log.warning("live confirmation of %s failed: %s", request.subject, error)
        fallback = evaluate(dispatch.UNAVAILABLE).decision
        # clusterUnavailable: allow turns the deny into an allow with a warning; with deny, the
        # cache's verdict is kept because it says more than "cluster state unavailable", but
        # the user is told it is unconfirmed: a cache that lags can be wrong. (Without a cache
        # the verdict already is DD005, "cluster state unavailable".)
        if fallback.allowed or cached is dispatch.UNAVAILABLE:
            return fallback if fallback.allowed else first.decision
        return with_warning(first.decision, UNCONFIRMED_WARNING)
    confirmed = evaluate(snapshot)
    LIVE_CONFIRMS.labels("confirmed" if not confirmed.decision.allowed else "overturned").inc()
    if confirmed.decision.allowed:
        log.info("live read overturned a cached deny of %s (cache was behind)", request.subject)
    return confirmed.decision


def _recheck_allow(request: AdmissionRequest, cluster: ClusterState | None, first: Evaluation,
                   evaluate: Callable[[ClusterSnapshot], Evaluation]) -> Decision:
    """Re-check live an allow that a lagging cache could have made wrong (the last deny)."""
    try:
        snapshot = read_snapshot(request, cluster, live=True, raise_unavailable=True)
    except ClusterUnavailable as error:
        # The cache's answer is the best there is; the API being down is no reason to refuse.
        log.warning("live re-check of %s failed: %s", request.subject, error)
        return first.decision
    return evaluate(snapshot).decision


def read_snapshot(request: AdmissionRequest, cluster: ClusterState | None, *, live: bool,
                  raise_unavailable: bool = False) -> ClusterSnapshot:
    """The namespace and its NetworkPolicies for ``request``, from the cache or (``live``)
    straight from the source. Unavailable state gives ``dispatch.UNAVAILABLE``, or raises
    ClusterUnavailable when ``raise_unavailable``."""
    try:
        if cluster is None:
            raise ClusterUnavailable("no cluster state is configured")
        if not live and not cluster.is_ready():
            raise ClusterUnavailable("the cluster cache is not ready")
        namespace = request.namespace
        # A Namespace request carries the namespace object itself.
        namespace_obj = (None if request.kind == "Namespace"
                         else cluster.get_namespace(namespace, live=live))
        policies = tuple(cluster.list_network_policies(namespace, live=live))
    except ClusterUnavailable:
        if raise_unavailable:
            raise
        return dispatch.UNAVAILABLE
    return ClusterSnapshot(namespace=namespace_obj, network_policies=policies)
