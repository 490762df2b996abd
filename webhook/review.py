"""Review one admission request: gather cluster state, run the pure engine, confirm denies.

Placeholder until the engine lands: every request is allowed.
"""

from __future__ import annotations

from webhook.cluster import ClusterState
from webhook.decision import Decision, allow
from webhook.policy.model import Policy
from webhook.request import AdmissionRequest


def review_request(request: AdmissionRequest, policy: Policy,
                   cluster: ClusterState | None) -> Decision:
    """The decision for one request under ``policy`` with state from ``cluster``."""
    del request, policy, cluster
    return allow()
