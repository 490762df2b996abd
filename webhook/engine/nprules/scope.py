"""Rules on what a policy selects and governs: every pod with some traffic allowed (NP012),
rules for a direction policyTypes leaves out (NP013)."""

from __future__ import annotations

from webhook.engine.apidefaults import EGRESS, INGRESS, selects_all
from webhook.engine.normalize import NormalisedNetworkPolicy
from webhook.engine.nprules.shared import Finding, dns_allowance_on, finding, is_dns_only
from webhook.policy.model import Policy, RuleConfig


def select_all_allow(view: NormalisedNetworkPolicy, config: RuleConfig,
                     policy: Policy) -> list[Finding]:
    """NP012: ``spec.podSelector`` selects every pod and the policy allows some traffic.

    Deny-only policies are exempt, and so are DNS rules (every port 53) when the DNS allowance
    is on: a rule narrower than the allowance cannot be worse than it.
    """
    if not selects_all(view.pod_selector):
        return []
    dns_on = dns_allowance_on(policy)
    allowing = [rule for rule in view.rules if view.governs(rule.direction)
                and not (dns_on and rule.direction == EGRESS and is_dns_only(rule))]
    if not allowing:
        return []
    path = "spec.podSelector"
    more = f" (and {len(allowing) - 1} more)" if len(allowing) > 1 else ""
    return [finding(
        path,
        f"{path} selects every pod in the namespace, so what {allowing[0].path}{more} allows "
        "applies to every workload in it. Select only the pods that need this traffic.",
        f"{path} selects every pod, and the policy allows traffic ({allowing[0].path})")]


def ignored_rules(view: NormalisedNetworkPolicy, config: RuleConfig,
                  policy: Policy) -> list[Finding]:
    """NP013: rules for a direction that policyTypes leaves out are accepted and ignored."""
    findings = []
    listed = f"lists only {' and '.join(view.policy_types)}" if view.policy_types \
        else "lists neither direction"
    for direction, rules in ((INGRESS, view.ingress), (EGRESS, view.egress)):
        if not rules or view.governs(direction):
            continue
        path = f"spec.{direction.lower()}"
        count = f"{len(rules)} rule" + ("s" if len(rules) > 1 else "")
        findings.append(finding(
            path,
            f"{path} has {count}, but spec.policyTypes {listed}, so the API server "
            f"accepts them and then ignores them. Add {direction} to spec.policyTypes, or "
            f"remove {path}.",
            f"{path} is ignored: spec.policyTypes lacks {direction}"))
    return findings
