"""Rules on address blocks: the whole internet (NP005), broader than the cluster allows (NP006),
the cloud metadata endpoint (NP007), the cluster's own pod and service ranges (NP014)."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from webhook.engine.cidr import IPNetwork, parse_networks
from webhook.engine.normalize import IPBlock, NormalisedNetworkPolicy
from webhook.engine.nprules.shared import Finding, finding, is_dns_allowance
from webhook.policy.model import Policy, RuleConfig


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
        findings.append(finding(
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
        findings.append(finding(
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
            if is_dns_allowance(rule, policy):
                continue
            names = ", ".join(map(_endpoint_words, endpoints))
            findings.append(finding(
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
            findings.append(finding(
                path,
                f"{path} is {_cidr_words(block)}, which includes the cloud metadata endpoint "
                f"{names}, which hands out the node's cloud credentials. Add "
                f'{", ".join(str(e) for e in reached)} to its "except" or narrow the CIDR.',
                f"{path} includes the cloud metadata endpoint {names}"))
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
        findings.append(finding(
            path,
            f"{path} is {_cidr_words(block)}, which overlaps the cluster's "
            f"{' and '.join(overlapping)}, whose addresses move between pods and services. Select "
            "in-cluster peers with podSelector and namespaceSelector, and keep ipBlock for "
            'addresses outside the cluster (or list the cluster ranges in "except").',
            f"{path} overlaps the cluster's {overlapping[0]}"))
    return findings


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
