"""The least-privilege rules NP001–NP017 for NetworkPolicy (DESIGN.md §2).

``check_network_policy`` normalises the object once (``normalize.normalise_network_policy``) and
runs each rule that is not ``off`` for the namespace and user. A rule is a small pure function
from the normalised policy and its ``RuleConfig`` to findings: the JSON path of the offending
field, a sentence for the person at the terminal (path, meaning, fix) and a short warning form.
Nothing here does I/O or raises on a malformed object.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from webhook.admission.decision import Action, Violation
from webhook.admission.request import UserInfo
from webhook.engine.normalize import (
    EGRESS,
    INGRESS,
    NAMESPACE_NAME_LABEL,
    IPBlock,
    IPNetwork,
    NormalisedNetworkPolicy,
    Rule,
    normalise_network_policy,
    parse_networks,
    selects_all,
)
from webhook.policy.globmatch import matches_any
from webhook.policy.model import Policy, RuleConfig

SHORT_MAX_CHARS = 120
DNS_PORT = 53
DNS_PROTOCOLS = ("UDP", "TCP")


class Finding(NamedTuple):
    """One place where a rule fires, before the rule's id, name and action are attached."""

    path: str
    message: str
    short: str


RuleCheck = Callable[[NormalisedNetworkPolicy, RuleConfig, Policy], list[Finding]]


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


def _finding(path: str, message: str, short: str) -> Finding:
    if len(short) > SHORT_MAX_CHARS:
        short = short[: SHORT_MAX_CHARS - 1] + "…"
    return Finding(path, message, short)


# --------------------------------------------------------------------------------------------
# Shapes the rules share


def _dns_allowance_on(policy: Policy) -> bool:
    config = policy.rules.get("NP002")
    return config is not None and config.allow_dns


def _is_dns_only(rule: Rule) -> bool:
    """Every port of the rule is 53 over UDP or TCP, with no range."""
    return bool(rule.ports) and all(
        port.port == DNS_PORT and port.end_port is None and port.protocol in DNS_PROTOCOLS
        for port in rule.ports or ())


def _is_dns_allowance(rule: Rule, policy: Policy) -> bool:
    """The configured DNS allowance: an egress rule with no ``to`` and only port 53."""
    return (rule.direction == EGRESS and rule.peers is None and _dns_allowance_on(policy)
            and _is_dns_only(rule))


@functools.lru_cache(maxsize=4096)
def _canonical(network: IPNetwork) -> str:
    # ipaddress builds the text anew on every str(); messages repeat the same few networks.
    return str(network)


def _cidr_words(block: IPBlock) -> str:
    """``10.0.0.0/8``, or ``"010.0.0.0/8" (that is 10.0.0.0/8)`` for an odd spelling."""
    if block.network is None:
        return block.cidr
    canonical = _canonical(block.network)
    return block.cidr if canonical == block.cidr else f'"{block.cidr}" (that is {canonical})'


def _reaches(block: IPBlock, target: IPNetwork) -> bool:
    """True when the block, minus its excepts, holds some address of ``target``."""
    network = block.network
    # Networks of different families never overlap (and ipaddress refuses to compare them).
    if network is None or network.version != target.version \
            or int(network.network_address) > int(target.broadcast_address) \
            or int(target.network_address) > int(network.broadcast_address):
        return False
    shared = target if target.prefixlen >= network.prefixlen else network
    return not _covered(shared, block.excepts)


def _covered(target: IPNetwork, excepts: Sequence[IPNetwork]) -> bool:
    """True when the excepts, together, hold every address of ``target``."""
    start, end = int(target.network_address), int(target.broadcast_address)
    spans = sorted((int(net.network_address), int(net.broadcast_address))
                   for net in excepts if net.version == target.version)
    for low, high in spans:
        if low > start:  # a gap before the next except
            return False
        start = max(start, high + 1)
        if start > end:
            return True
    return False


def _endpoint_words(endpoint: IPNetwork) -> str:
    return str(endpoint.network_address) if endpoint.num_addresses == 1 else str(endpoint)


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


# --------------------------------------------------------------------------------------------
# The rules


def allow_all_sources(view: NormalisedNetworkPolicy, config: RuleConfig,
                      policy: Policy) -> list[Finding]:
    """NP001: an ingress rule with no ``from`` admits every source."""
    if not view.governs(INGRESS):
        return []
    return [_finding(rule.path,
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
    return [_finding(rule.path,
                     f'{rule.path} has no "to", so it sends traffic to every pod and every '
                     f"address. {fix}",
                     f'{rule.path} has no "to": every pod and address is reachable')
            for rule in view.egress
            if rule.peers is None and not (config.allow_dns and _is_dns_only(rule))]


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
        findings.append(_finding(
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
            findings.append(_finding(
                path,
                f'{path} selects namespaces by the label "{key}", which anyone allowed to label '
                "a namespace can set, so a namespace can join this peer by labelling itself. "
                "Select the namespaces by kubernetes.io/metadata.name.",
                f'{path} uses the mutable namespace label "{key}"'))
    return findings


def world_cidr(view: NormalisedNetworkPolicy, config: RuleConfig,
               policy: Policy) -> list[Finding]:
    """NP005: an ipBlock is /0 once normalised; ``except`` does not make it narrow."""
    findings = []
    for block in view.ip_blocks:
        network = block.network
        if network is None or network.prefixlen != 0:
            continue
        path = f"{block.path}.cidr"
        family = "IPv4" if network.version == 4 else "IPv6"
        excepts = ', and "except" only carves holes in it' if block.excepts else ""
        findings.append(_finding(
            path,
            f"{path} is {_cidr_words(block)}, every {family} address: the whole internet and "
            f"every pod{excepts}. List the address ranges that need access.",
            f"{path} is {_canonical(network)}: every {family} address"))
    return findings


def broad_cidr(view: NormalisedNetworkPolicy, config: RuleConfig,
               policy: Policy) -> list[Finding]:
    """NP006: an ipBlock prefix is shorter than the configured minimum for its family.

    /0 is NP005's, not reported twice.
    """
    findings = []
    for block in view.ip_blocks:
        network = block.network
        if network is None or network.prefixlen == 0:
            continue
        v4 = network.version == 4
        minimum = config.min_prefix_v4 if v4 else config.min_prefix_v6
        if network.prefixlen >= minimum:
            continue
        path = f"{block.path}.cidr"
        key = "minPrefixV4" if v4 else "minPrefixV6"
        findings.append(_finding(
            path,
            f"{path} is {_cidr_words(block)}, {network.num_addresses:,} addresses, broader than "
            f"the /{minimum} this cluster allows ({key} of NP006). Narrow it to the addresses "
            "that need access.",
            f"{path} is {_canonical(network)}, broader than /{minimum}"))
    return findings


def metadata_endpoint(view: NormalisedNetworkPolicy, config: RuleConfig,
                      policy: Policy) -> list[Finding]:
    """NP007: an egress rule can reach a cloud metadata endpoint.

    ``to`` absent reaches it, except for the configured DNS allowance (only port 53: metadata
    services hand out credentials over HTTP, and on some clouds the endpoint's port 53 is the
    VPC's DNS resolver). An ipBlock reaches it unless one of its excepts covers it.
    """
    endpoints = parse_networks(config.endpoints)
    if not endpoints:
        return []
    findings = []
    for rule in view.egress:
        if rule.peers is None:
            if _is_dns_allowance(rule, policy):
                continue
            names = ", ".join(map(_endpoint_words, endpoints))
            findings.append(_finding(
                rule.path,
                f'{rule.path} has no "to", so it can reach the cloud metadata endpoint ({names}), '
                "which hands out the node's cloud credentials. List the destinations; for the "
                "internet use an ipBlock whose except lists the metadata endpoint.",
                f'{rule.path} has no "to": it can reach the cloud metadata endpoint'))
            continue
        for peer in rule.peers:
            block = peer.ip_block
            if block is None or block.network is None:
                continue
            reached = [e for e in endpoints if _reaches(block, e)]
            if not reached:
                continue
            path = f"{block.path}.cidr"
            names = ", ".join(map(_endpoint_words, reached))
            findings.append(_finding(
                path,
                f"{path} is {_cidr_words(block)}, which includes the cloud metadata endpoint "
                f"{names}, which hands out the node's cloud credentials. Add "
                f'{", ".join(str(e) for e in reached)} to its "except" or narrow the CIDR.',
                f"{path} includes the cloud metadata endpoint {names}"))
    return findings


def all_ports(view: NormalisedNetworkPolicy, config: RuleConfig,
              policy: Policy) -> list[Finding]:
    """NP008: a rule with no ``ports`` opens every port and protocol."""
    return [_finding(rule.path,
                     f'{rule.path} has no "ports", so every port is open. List the ports.',
                     f'{rule.path} has no "ports": every port is open')
            for rule in view.rules if rule.ports is None]


def all_ports_of_protocol(view: NormalisedNetworkPolicy, config: RuleConfig,
                          policy: Policy) -> list[Finding]:
    """NP009: a port entry names a protocol but no port."""
    return [_finding(port.path,
                     f'{port.path} has protocol {port.protocol} but no "port", so every '
                     f'{port.protocol} port is open. Add "port" (and "endPort" for a range).',
                     f'{port.path} has no "port": every {port.protocol} port is open')
            for port in view.ports if port.port is None]


def wide_port_range(view: NormalisedNetworkPolicy, config: RuleConfig,
                    policy: Policy) -> list[Finding]:
    """NP010: ``endPort - port + 1`` exceeds the configured maximum."""
    findings = []
    for port in view.ports:
        if not isinstance(port.port, int) or port.end_port is None:
            continue
        width = port.end_port - port.port + 1
        if width <= config.max_range:
            continue
        path = f"{port.path}.endPort"
        findings.append(_finding(
            path,
            f"{path} opens ports {port.port}-{port.end_port}, a range of {width} ports, wider "
            f"than the {config.max_range} this cluster allows (maxRange of NP010). Narrow the "
            "range to the ports in use.",
            f"{path}: {width} ports ({port.port}-{port.end_port}), more than {config.max_range}"))
    return findings


def named_port(view: NormalisedNetworkPolicy, config: RuleConfig,
               policy: Policy) -> list[Finding]:
    """NP011: a port given by name cannot be checked before the pods run."""
    findings = []
    for port in view.ports:
        if not isinstance(port.port, str):
            continue
        path = f"{port.path}.port"
        findings.append(_finding(
            path,
            f'{path} is the named port "{port.port}", which each selected pod maps to its own '
            "number, so the open port cannot be checked before the pods run. Use the port "
            "number.",
            f'{path} is the named port "{port.port}": use the number'))
    return findings


def select_all_allow(view: NormalisedNetworkPolicy, config: RuleConfig,
                     policy: Policy) -> list[Finding]:
    """NP012: ``spec.podSelector`` selects every pod and the policy allows some traffic.

    Deny-only policies are exempt, and so are DNS rules (every port 53) when the DNS allowance
    is on: a rule narrower than the allowance cannot be worse than it.
    """
    if not selects_all(view.pod_selector):
        return []
    dns_on = _dns_allowance_on(policy)
    allowing = [rule for rule in view.rules if view.governs(rule.direction)
                and not (dns_on and rule.direction == EGRESS and _is_dns_only(rule))]
    if not allowing:
        return []
    path = "spec.podSelector"
    more = f" (and {len(allowing) - 1} more)" if len(allowing) > 1 else ""
    return [_finding(
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
        findings.append(_finding(
            path,
            f"{path} has {count}, but spec.policyTypes {listed}, so the API server "
            f"accepts them and then ignores them. Add {direction} to spec.policyTypes, or "
            f"remove {path}.",
            f"{path} is ignored: spec.policyTypes lacks {direction}"))
    return findings


def cluster_cidr_ipblock(view: NormalisedNetworkPolicy, config: RuleConfig,
                         policy: Policy) -> list[Finding]:
    """NP014: an ipBlock (minus its excepts) overlaps the cluster's pod or service CIDRs."""
    if not config.pod_cidrs and not config.service_cidrs:
        return []
    cluster = [("pod CIDR", net) for net in parse_networks(config.pod_cidrs)]
    cluster += [("service CIDR", net) for net in parse_networks(config.service_cidrs)]
    if not cluster:
        return []
    findings = []
    for block in view.ip_blocks:
        if block.network is None:
            continue
        overlapping = [f"{kind} {net}" for kind, net in cluster if _reaches(block, net)]
        if not overlapping:
            continue
        path = f"{block.path}.cidr"
        findings.append(_finding(
            path,
            f"{path} is {_cidr_words(block)}, which overlaps the cluster's "
            f"{' and '.join(overlapping)}, whose addresses move between pods and services. Select "
            "in-cluster peers with podSelector and namespaceSelector, and keep ipBlock for "
            'addresses outside the cluster (or list the cluster ranges in "except").',
            f"{path} overlaps the cluster's {overlapping[0]}"))
    return findings


def protocol_not_allowed(view: NormalisedNetworkPolicy, config: RuleConfig,
                         policy: Policy) -> list[Finding]:
    """NP015: a port uses a protocol outside the configured list."""
    allowed = ", ".join(config.allowed_protocols) or "none"
    findings = []
    for port in view.ports:
        if port.protocol in config.allowed_protocols:
            continue
        path = f"{port.path}.protocol"
        findings.append(_finding(
            path,
            f"{path} is {port.protocol}, a protocol this cluster does not allow (allowed: "
            f"{allowed}). Use one of the allowed protocols.",
            f"{path} is {port.protocol}, not one of {allowed}"))
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
        findings.append(_finding(
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
            findings.append(_finding(
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
        findings.append(_finding(
            path,
            f"{path} reaches {noun} {listed}, which policies in {own or 'this namespace'} may "
            f"not reach (allowed: {allowed_words}). Remove {pronoun}, or ask for a "
            "cross-namespace allowance in NP017's allow list.",
            f"{path} reaches {listed}, not allowed from {own or 'here'}"))
    return findings


def _matches_every_name(pattern: str) -> bool:
    return bool(pattern) and set(pattern) == {"*"}


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
