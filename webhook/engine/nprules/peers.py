"""Rules on who is reached: rules without peers (NP001, NP002), namespaceSelectors that reach
every namespace (NP003), by mutable labels (NP004) or outside the allowed ones (NP017), and
separate peers read as AND (NP016)."""

from __future__ import annotations

import re
from typing import Any

from webhook.engine.apidefaults import EGRESS, INGRESS, NAMESPACE_NAME_LABEL, selects_all
from webhook.engine.normalize import NormalisedNetworkPolicy
from webhook.engine.nprules.shared import Finding, finding, is_dns_only
from webhook.policy.globmatch import matches_any
from webhook.policy.model import Policy, RuleConfig


def allow_all_sources(view: NormalisedNetworkPolicy, config: RuleConfig,
                      policy: Policy) -> list[Finding]:
    """NP001: an ingress rule with no ``from`` admits every source."""
    if not view.governs(INGRESS):
        return []
    return [finding(rule.path,
                     f'{rule.path} has no "from", so it admits traffic from every pod and every '
                     "address. List the peers that need access.",
                     f'{rule.path} has no "from": every pod and address may connect')
            for rule in view.ingress if rule.peers is None]


def allow_all_destinations(view: NormalisedNetworkPolicy, config: RuleConfig,
                           policy: Policy) -> list[Finding]:
    """NP002: an egress rule with no ``to`` reaches every destination (DNS may be allowed)."""
    if not view.governs(EGRESS):
        return []
    fix = "List the destinations it needs."
    if config.allow_dns:
        fix += ' Only a rule whose ports are all 53 (UDP or TCP, for DNS) may omit "to".'
    return [finding(rule.path,
                     f'{rule.path} has no "to", so it sends traffic to every pod and every '
                     f"address. {fix}",
                     f'{rule.path} has no "to": every pod and address is reachable')
            for rule in view.egress
            if rule.peers is None and not (config.allow_dns and is_dns_only(rule))]


def cluster_wide_peer(view: NormalisedNetworkPolicy, config: RuleConfig,
                      policy: Policy) -> list[Finding]:
    """NP003: a peer's namespaceSelector selects every namespace."""
    findings = []
    for peer in view.peers:
        if peer.namespace_selector is None:
            continue
        reach = _every_namespace(peer.namespace_selector)
        if reach is None:
            continue
        path = f"{peer.path}.namespaceSelector"
        every_pod = peer.pod_selector is None or selects_all(peer.pod_selector)
        pods = "every pod" if every_pod else "the pods its podSelector matches"
        if reach == "all":
            selected = "every namespace"
            peer_is = "every pod in the cluster" if every_pod else f"{pods} in every namespace"
        else:
            selected = "every namespace but the ones it names"
            peer_is = f"{pods} in all the others"
        findings.append(finding(
            path,
            f"{path} selects {selected}, so this peer is {peer_is}, including namespaces "
            "created later. Select the namespaces by kubernetes.io/metadata.name.",
            f"{path} selects {selected}: the peer is cluster-wide"))
    return findings


def mutable_namespace_label(view: NormalisedNetworkPolicy, config: RuleConfig,
                            policy: Policy) -> list[Finding]:
    """NP004: a namespaceSelector keys on labels that namespace owners can change."""
    findings = []
    for peer in view.peers:
        selector = peer.namespace_selector
        # A selector pinned to names by the immutable label cannot be widened by relabelling.
        if selector is None or _pins_names(selector):
            continue
        base = f"{peer.path}.namespaceSelector"
        labels = selector.get("matchLabels")
        keyed: list[tuple[str, object]] = []
        if isinstance(labels, dict):
            keyed.extend((_label_key_path(f"{base}.matchLabels", str(key)), key)
                         for key in labels)
        expressions = selector.get("matchExpressions")
        if isinstance(expressions, list):
            keyed.extend((f"{base}.matchExpressions[{index}]",
                          expression.get("key") if isinstance(expression, dict) else None)
                         for index, expression in enumerate(expressions))
        for path, key in keyed:
            if isinstance(key, str) and (key == NAMESPACE_NAME_LABEL
                                         or matches_any(config.allowed_keys, key)):
                continue
            findings.append(finding(
                path,
                f'{path} selects namespaces by the label "{key}", which anyone allowed to label '
                "a namespace can set, so a namespace can join this peer by labelling itself. "
                "Select the namespaces by kubernetes.io/metadata.name.",
                f'{path} uses the mutable namespace label "{key}"'))
    return findings


def and_or_confusion(view: NormalisedNetworkPolicy, config: RuleConfig,
                     policy: Policy) -> list[Finding]:
    """NP016: one from/to list with a namespaceSelector-only and a podSelector-only peer."""
    findings = []
    for rule in view.rules:
        if not rule.peers or len(rule.peers) < 2:
            continue
        # The first peer with only a namespaceSelector (every pod in those namespaces) and the
        # first with only a podSelector (those pods in this namespace).
        namespace_only = pod_only = None
        for peer in rule.peers:
            if peer.ip_block is not None:
                continue
            if peer.pod_selector is None:
                if peer.namespace_selector is not None and namespace_only is None:
                    namespace_only = peer
            elif peer.namespace_selector is None and pod_only is None:
                pod_only = peer
        if namespace_only is None or pod_only is None:
            continue
        path = f"{rule.path}.{rule.peers_key}"
        findings.append(finding(
            path,
            f"{path} has a peer with only a namespaceSelector ({namespace_only.path}) and a peer "
            f"with only a podSelector ({pod_only.path}); separate peers are OR, so this means "
            "every pod in those namespaces, plus those pods in this namespace. If you meant "
            "those pods in those namespaces, put both selectors in one peer.",
            f"{path}: separate namespaceSelector and podSelector peers are OR, not AND"))
    return findings


def cross_namespace_not_allowed(view: NormalisedNetworkPolicy, config: RuleConfig,
                                policy: Policy) -> list[Finding]:
    """NP017: a peer reaches namespaces outside what the config allows for this namespace.

    A podSelector-only peer stays in the policy's own namespace, which is always allowed. A
    namespaceSelector reaches the names it pins by kubernetes.io/metadata.name; one that pins no
    names (other labels, NotIn, Exists, select-all) can reach any namespace, which only a peer
    pattern matching every name (``*``) allows.
    """
    own = view.namespace
    patterns = tuple(pattern for allowance in config.allow
                     if matches_any(allowance.namespaces, own) for pattern in allowance.peers)
    allowed_words = ", ".join(dict.fromkeys([own, *patterns] if own else patterns)) or "none"
    findings = []
    for peer in view.peers:
        selector = peer.namespace_selector
        if selector is None:
            continue
        path = f"{peer.path}.namespaceSelector"
        names = _pinned_names(selector)
        if names is None:
            if any(_matches_every_name(pattern) for pattern in patterns):
                continue
            findings.append(finding(
                path,
                f"{path} does not name its namespaces by kubernetes.io/metadata.name, so it can "
                f"reach namespaces that policies in {own or 'this namespace'} may not reach "
                f"(allowed: {allowed_words}). Select the namespaces by "
                "kubernetes.io/metadata.name.",
                f"{path} can reach any namespace, not only allowed ones"))
            continue
        outside = sorted(name for name in names
                         if name != own and not matches_any(patterns, name))
        if not outside:
            continue
        listed = ", ".join(outside)
        noun, pronoun = ("namespace", "it") if len(outside) == 1 else ("namespaces", "them")
        findings.append(finding(
            path,
            f"{path} reaches {noun} {listed}, which policies in {own or 'this namespace'} may "
            f"not reach (allowed: {allowed_words}). Remove {pronoun}, or ask for a "
            "cross-namespace allowance in NP017's allow list.",
            f"{path} reaches {listed}, not allowed from {own or 'here'}"))
    return findings


def _pinned_names(selector: dict[str, Any]) -> frozenset[str] | None:
    """The namespace names a namespaceSelector pins by kubernetes.io/metadata.name, or None.

    matchLabels and ``In`` requirements on that label pin names (several pins intersect); other
    requirements can only narrow a pinned set further. None means the selector does not pin
    names, so it can match namespaces whatever they are called.
    """
    names: frozenset[str] | None = None
    labels = selector.get("matchLabels")
    if isinstance(labels, dict):
        value = labels.get(NAMESPACE_NAME_LABEL)
        if value is not None:
            names = frozenset((value,)) if isinstance(value, str) else frozenset()
    for requirement in _requirements(selector):
        if requirement.get("key") == NAMESPACE_NAME_LABEL and requirement.get("operator") == "In":
            values = requirement.get("values")
            pinned = frozenset(v for v in values if isinstance(v, str)) \
                if isinstance(values, list) else frozenset()
            names = pinned if names is None else names & pinned
    return names


def _pins_names(selector: dict[str, Any]) -> bool:
    """``_pinned_names(selector) is not None``, without building the set (NP004, per peer)."""
    labels = selector.get("matchLabels")
    if isinstance(labels, dict) and labels.get(NAMESPACE_NAME_LABEL) is not None:
        return True
    expressions = selector.get("matchExpressions")
    return isinstance(expressions, list) and any(
        isinstance(e, dict) and e.get("key") == NAMESPACE_NAME_LABEL and e.get("operator") == "In"
        for e in expressions)


def _requirements(selector: dict[str, Any]) -> list[dict[str, Any]]:
    expressions = selector.get("matchExpressions")
    if not isinstance(expressions, list):
        return []
    return [e for e in expressions if isinstance(e, dict)]


def _every_namespace(selector: dict[str, Any]) -> str | None:
    """How a namespaceSelector reaches every namespace: "all", "all-but", or None (it does not).

    Besides selecting all, a selector whose only requirements are ``Exists`` or ``NotIn`` on
    kubernetes.io/metadata.name (a label every namespace has) matches every namespace there is
    or will be, save the ones it names.
    """
    labels = selector.get("matchLabels")
    if isinstance(labels, dict) and labels:
        return None  # matchLabels require values that not every namespace has
    expressions = selector.get("matchExpressions")
    if not isinstance(expressions, list) or not expressions:
        return "all"  # selects_all(selector)
    operators = set()
    for requirement in expressions:
        if not isinstance(requirement, dict) or requirement.get("key") != NAMESPACE_NAME_LABEL:
            return None
        operator = requirement.get("operator")
        if operator not in ("Exists", "NotIn"):
            return None
        operators.add(operator)
    return "all-but" if "NotIn" in operators else "all"


def _label_key_path(base: str, key: str) -> str:
    return f"{base}.{key}" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", key) else f'{base}["{key}"]'


def _matches_every_name(pattern: str) -> bool:
    return bool(pattern) and set(pattern) == {"*"}
