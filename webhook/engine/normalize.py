"""Normalisation of NetworkPolicy objects: the API server's defaults, selectors and CIDRs.

The webhook receives objects the API server has already decoded and defaulted; the offline CLI
reads raw YAML. Both go through this module so that the rules see one shape:

- ``apply_api_defaults`` reproduces what the API server stores (and hands a webhook): empty lists
  and maps vanish, a missing spec or podSelector becomes ``podSelector: {}``, ``policyTypes``
  defaults to ``[Ingress]`` (+ ``Egress`` when ``egress`` has entries), a port's protocol to TCP.
- ``normalise_network_policy`` builds the typed, read-only view the rules run on, with the JSON
  path of every rule, peer and port as the user wrote it (the API server only drops *whole*
  empty lists, so indices never shift between the manifest and the stored object).
- ``parse_cidr`` sees through every spelling a CIDR can have reached etcd with: leading zeros,
  ``/00``, host bits, uncompressed IPv6 and IPv4-mapped IPv6 (``::ffff:0.0.0.0/96`` is IPv4 /0).

Nothing here raises on a malformed object: the API server rejects such objects before any
webhook runs, so a wrong type is read in the way that hides the least (a rule that cannot be
read allows everything; a peer that cannot be read selects nothing).
"""

from __future__ import annotations

import copy
import functools
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

INGRESS = "Ingress"
EGRESS = "Egress"
DEFAULT_PROTOCOL = "TCP"
# The label the API server sets on every namespace to its own name; users cannot change it.
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"

_IPV4_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
# Longer CIDR texts are parsed without being cached: leading zeros are unbounded in what older
# API servers accepted, and the cache should not hold large strings.
_CACHED_CIDR_CHARS = 64


# --------------------------------------------------------------------------------------------
# The API server's defaults


def apply_api_defaults(obj: object) -> dict[str, Any]:
    """Return a new NetworkPolicy dict defaulted exactly as the API server stores it.

    The spec is decoded as the typed ``networking.k8s.io/v1`` struct would be: unknown fields are
    dropped, ``null`` and empty lists/maps are absent (``omitempty``), a missing spec or
    podSelector becomes ``podSelector: {}``, ``policyTypes`` (absent or ``[]``) becomes
    ``[Ingress]`` plus ``Egress`` when ``egress`` has entries, and a port with no protocol gets
    TCP. Values of the wrong type are copied unchanged for validation to report. Other top-level
    fields are deep-copied. Idempotent: an object the API server handed a webhook comes back
    equal. A non-dict is treated as an empty object.
    """
    source: dict[str, Any] = obj if isinstance(obj, dict) else {}
    result = {key: copy.deepcopy(value) for key, value in source.items() if key != "spec"}
    result["spec"] = _default_spec(source.get("spec"))
    return result


def _is_absent(value: object) -> bool:
    """``null``, ``[]`` and ``{}`` are all dropped by ``omitempty`` slices and maps."""
    return value is None or (isinstance(value, list | dict) and not value)


def _default_spec(spec: object) -> Any:
    if spec is None:
        spec = {}
    if not isinstance(spec, dict):
        return copy.deepcopy(spec)
    selector = spec.get("podSelector")
    # podSelector is a struct, not a pointer: absent or null decodes to {} (select all).
    out: dict[str, Any] = {"podSelector": {} if selector is None else _default_selector(selector)}
    for direction, peers_key in (("ingress", "from"), ("egress", "to")):
        rules = spec.get(direction)
        if _is_absent(rules):
            continue
        out[direction] = ([_default_rule(rule, peers_key) for rule in rules]
                          if isinstance(rules, list) else copy.deepcopy(rules))
    declared = spec.get("policyTypes")
    if _is_absent(declared):
        has_egress = isinstance(out.get("egress"), list)
        out["policyTypes"] = [INGRESS, EGRESS] if has_egress else [INGRESS]
    else:
        out["policyTypes"] = copy.deepcopy(declared)
    return out


def _default_selector(selector: object) -> Any:
    """A LabelSelector; None stays None (the caller decides what absent means)."""
    if selector is None or not isinstance(selector, dict):
        return copy.deepcopy(selector)
    out: dict[str, Any] = {}
    labels = selector.get("matchLabels")
    if not _is_absent(labels):
        out["matchLabels"] = copy.deepcopy(labels)
    expressions = selector.get("matchExpressions")
    if not _is_absent(expressions):
        out["matchExpressions"] = ([_default_requirement(e) for e in expressions]
                                   if isinstance(expressions, list)
                                   else copy.deepcopy(expressions))
    return out


def _default_requirement(requirement: object) -> Any:
    if not isinstance(requirement, dict):
        return copy.deepcopy(requirement)
    out = {key: copy.deepcopy(requirement[key]) for key in ("key", "operator")
           if key in requirement}
    values = requirement.get("values")
    if not _is_absent(values):
        out["values"] = copy.deepcopy(values)
    return out


def _default_rule(rule: object, peers_key: str) -> Any:
    if not isinstance(rule, dict):
        return copy.deepcopy(rule)
    out: dict[str, Any] = {}
    peers = rule.get(peers_key)
    if not _is_absent(peers):
        out[peers_key] = ([_default_peer(peer) for peer in peers]
                          if isinstance(peers, list) else copy.deepcopy(peers))
    ports = rule.get("ports")
    if not _is_absent(ports):
        out["ports"] = ([_default_port(port) for port in ports]
                        if isinstance(ports, list) else copy.deepcopy(ports))
    return out


def _default_peer(peer: object) -> Any:
    if not isinstance(peer, dict):
        return copy.deepcopy(peer)
    out: dict[str, Any] = {}
    for key in ("podSelector", "namespaceSelector"):
        selector = peer.get(key)
        if selector is not None:
            out[key] = _default_selector(selector)
    block = peer.get("ipBlock")
    if isinstance(block, dict):
        out["ipBlock"] = {key: copy.deepcopy(block[key]) for key in ("cidr",) if key in block}
        excepts = block.get("except")
        if not _is_absent(excepts):
            out["ipBlock"]["except"] = copy.deepcopy(excepts)
    elif block is not None:
        out["ipBlock"] = copy.deepcopy(block)
    return out


def _default_port(port: object) -> Any:
    if not isinstance(port, dict):
        return copy.deepcopy(port)
    protocol = port.get("protocol")
    out: dict[str, Any] = {"protocol": DEFAULT_PROTOCOL if protocol is None
                           else copy.deepcopy(protocol)}
    for key in ("port", "endPort"):
        if port.get(key) is not None:
            out[key] = copy.deepcopy(port[key])
    return out


def effective_policy_types(spec: object) -> tuple[str, ...]:
    """The directions a policy governs, after the API server's defaulting.

    ``policyTypes`` when it lists any (duplicates and unknown values dropped); otherwise
    ``("Ingress",)``, plus ``"Egress"`` when ``egress`` has entries.
    """
    if not isinstance(spec, dict):
        return (INGRESS,)
    declared = spec.get("policyTypes")
    if isinstance(declared, list) and declared:
        return tuple(dict.fromkeys(t for t in declared if t == INGRESS or t == EGRESS))
    egress = spec.get("egress")
    return (INGRESS, EGRESS) if isinstance(egress, list) and egress else (INGRESS,)


def selects_all(selector: object) -> bool:
    """True when a label selector has no matchLabels entries and no matchExpressions.

    ``{}``, ``{matchLabels: {}}``, ``{matchExpressions: []}`` and None (a missing podSelector is
    defaulted to ``{}``) all select everything. A value that is not a mapping has no entries
    either, so it counts as selecting everything too.
    """
    if not isinstance(selector, dict):
        return True
    labels = selector.get("matchLabels")
    expressions = selector.get("matchExpressions")
    has_labels = isinstance(labels, dict) and bool(labels)
    has_expressions = isinstance(expressions, list) and bool(expressions)
    return not has_labels and not has_expressions


# --------------------------------------------------------------------------------------------
# CIDRs


def parse_cidr(text: object) -> IPNetwork | None:
    """Parse a CIDR as the API server (in any version since 1.33) may have stored it.

    Accepts every spelling an older or ratcheted API server let through: leading zeros in IPv4
    octets (decimal, as Go's legacy parser read them: ``010.0.0.0/8`` is 10.0.0.0/8) and in the
    prefix (``/00``), host bits (``10.1.2.3/8`` is 10.0.0.0/8), uncompressed IPv6, and
    IPv4-mapped IPv6, which becomes the IPv4 network it maps (``::ffff:0.0.0.0/96`` is
    0.0.0.0/0, ``::ffff:10.0.0.0/104`` is 10.0.0.0/8). Returns None for anything else
    (including non-strings); never raises.
    """
    if not isinstance(text, str):
        return None
    return _parse_cidr(text) if len(text) <= _CACHED_CIDR_CHARS else _parse_cidr_text(text)


def _parse_cidr_text(text: str) -> IPNetwork | None:
    address, slash, prefix_text = text.partition("/")
    prefix = _decimal(prefix_text) if slash else None
    if prefix is None:
        return None
    if ":" not in address:
        value = _parse_ipv4(address)
        if value is None or prefix > 32:
            return None
        return ipaddress.IPv4Network((value, prefix), strict=False)
    ipv6 = _parse_ipv6(address)
    if ipv6 is None or prefix > 128:
        return None
    network = ipaddress.IPv6Network((ipv6, prefix), strict=False)
    if prefix >= 96 and network.subnet_of(_IPV4_MAPPED):
        return ipaddress.IPv4Network((int(network.network_address) & 0xFFFFFFFF, prefix - 96))
    return network


_parse_cidr = functools.lru_cache(maxsize=8192)(_parse_cidr_text)


def _decimal(text: str) -> int | None:
    """A decimal number, leading zeros allowed (Go's legacy parser took any number of them)."""
    # str.isdigit alone accepts "²" and other Unicode digits; int() would accept "+8" and " 8".
    if not text or not text.isascii() or not text.isdigit():
        return None
    significant = text.lstrip("0")
    # Every valid octet or prefix has at most three digits; refuse before int() does work.
    return int(significant or "0") if len(significant) <= 3 else None


def _parse_ipv4(text: str) -> int | None:
    parts = text.split(".")
    if len(parts) != 4:
        return None
    value = 0
    for part in parts:
        octet = _decimal(part)
        if octet is None or octet > 255:
            return None
        value = value << 8 | octet
    return value


def _parse_ipv6(text: str) -> int | None:
    if "%" in text:  # a zone is never part of a CIDR
        return None
    head, _, tail = text.rpartition(":")
    ipv4_tail = None
    if "." in tail:
        # An embedded IPv4 tail may carry leading zeros, which ipaddress refuses.
        ipv4_tail = _parse_ipv4(tail)
        if ipv4_tail is None:
            return None
        text = head
    groups = text.split(":")
    for index, group in enumerate(groups):
        if len(group) > 4:
            # Go's legacy parser read a group's hex digits until the value passed 0xFFFF, so
            # "00000" was 0; ipaddress allows four digits at most.
            significant = group.lstrip("0")
            if len(significant) > 4:
                return None
            groups[index] = significant or "0"
    text = ":".join(groups)
    if ipv4_tail is not None:
        text = f"{text}:{ipaddress.IPv4Address(ipv4_tail)}"
    try:
        return int(ipaddress.IPv6Address(text))
    except ValueError:
        return None


def parse_networks(texts: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Parse a configuration list of CIDRs or plain addresses; unparseable ones are dropped.

    A plain address (``169.254.169.254``, ``fd00:ec2::254``) is its single-address network.
    The result is cached per list: rules call this on every request with the same parameters.
    """
    return _parse_networks(tuple(text for text in texts if isinstance(text, str)))


@functools.lru_cache(maxsize=256)
def _parse_networks(texts: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    networks: list[IPNetwork] = []
    for text in texts:
        if "/" not in text:
            text = f"{text}/{128 if ':' in text else 32}"
        network = parse_cidr(text)
        if network is not None:
            networks.append(network)
    return tuple(networks)


# --------------------------------------------------------------------------------------------
# The normalised view the rules run on. Read-only by convention: frozen dataclasses cost three
# times as much to build, and one is built per peer and port of every request.


# Peers and ipBlocks keep their place (the list's path and the index) and spell their path only
# when asked: only a finding needs it, and a policy may have a thousand peers and no finding.


@dataclass(slots=True)
class IPBlock:
    """A peer's ipBlock: the CIDR as written, its parsed network and its parsed excepts."""

    peers_path: str  # spec.egress[0].to
    index: int  # of the peer in that list
    cidr: str
    network: IPNetwork | None
    excepts: tuple[IPNetwork, ...]

    @property
    def path(self) -> str:
        """spec.egress[0].to[1].ipBlock"""
        return f"{self.peers_path}[{self.index}].ipBlock"


@dataclass(slots=True)
class Peer:
    """One entry of a from/to list. Selectors are None when absent."""

    peers_path: str  # spec.ingress[0].from
    index: int
    pod_selector: dict[str, Any] | None
    namespace_selector: dict[str, Any] | None
    ip_block: IPBlock | None

    @property
    def path(self) -> str:
        """spec.ingress[0].from[1]"""
        return f"{self.peers_path}[{self.index}]"


@dataclass(slots=True)
class Port:
    """One entry of a rule's ports, protocol defaulted to TCP.

    ``port`` is a number, a port name, or None (every port of the protocol).
    """

    path: str  # spec.ingress[0].ports[2]
    protocol: object
    port: int | str | None
    end_port: int | None


@dataclass(slots=True)
class Rule:
    """One ingress or egress rule. ``peers``/``ports`` are None when absent (= all)."""

    direction: str  # Ingress | Egress
    path: str  # spec.ingress[0]
    peers_key: str  # from | to
    peers: tuple[Peer, ...] | None
    ports: tuple[Port, ...] | None


@dataclass(slots=True)
class NormalisedNetworkPolicy:
    """A NetworkPolicy as the rules see it: defaulted, typed, every part with its JSON path."""

    namespace: str
    pod_selector: dict[str, Any]
    policy_types: tuple[str, ...]
    ingress: tuple[Rule, ...]
    egress: tuple[Rule, ...]
    # Flattened once, because most rules walk one of these.
    rules: tuple[Rule, ...] = ()
    peers: tuple[Peer, ...] = ()
    ip_blocks: tuple[IPBlock, ...] = ()
    ports: tuple[Port, ...] = ()

    def governs(self, direction: str) -> bool:
        """True when ``direction`` is in the effective policyTypes."""
        return direction in self.policy_types


def normalise_network_policy(obj: object, namespace: str | None = None) -> NormalisedNetworkPolicy:
    """Build the rules' view of a NetworkPolicy, raw or already defaulted (never raises).

    Reads the object as ``apply_api_defaults`` would leave it without copying it. ``namespace``
    defaults to ``metadata.namespace``.
    """
    source: dict[str, Any] = obj if isinstance(obj, dict) else {}
    if namespace is None:
        metadata = source.get("metadata")
        found = metadata.get("namespace") if isinstance(metadata, dict) else None
        namespace = found if isinstance(found, str) else ""
    spec = source.get("spec")
    if not isinstance(spec, dict):
        spec = {}
    pod_selector = spec.get("podSelector")
    # One pass in document order; the flattened peers, ipBlocks and ports are collected on the
    # way. Calls are kept few on purpose: this runs once per NetworkPolicy review.
    peers: list[Peer] = []
    ip_blocks: list[IPBlock] = []
    ports: list[Port] = []
    ingress = _rules(spec.get("ingress"), INGRESS, "spec.ingress", "from", peers, ip_blocks,
                     ports)
    egress = _rules(spec.get("egress"), EGRESS, "spec.egress", "to", peers, ip_blocks, ports)
    return NormalisedNetworkPolicy(
        namespace=namespace,
        pod_selector=pod_selector if isinstance(pod_selector, dict) else {},
        policy_types=effective_policy_types(spec),
        ingress=ingress,
        egress=egress,
        rules=ingress + egress,
        peers=tuple(peers),
        ip_blocks=tuple(ip_blocks),
        ports=tuple(ports),
    )


def _rules(rules: object, direction: str, base: str, peers_key: str, all_peers: list[Peer],
           all_ip_blocks: list[IPBlock], all_ports: list[Port]) -> tuple[Rule, ...]:
    if not isinstance(rules, list):
        return ()
    out: list[Rule] = []
    for index, rule in enumerate(rules):
        path = f"{base}[{index}]"
        if not isinstance(rule, dict):
            out.append(Rule(direction, path, peers_key, None, None))
            continue
        peers = _peers(rule.get(peers_key), f"{path}.{peers_key}", all_ip_blocks)
        ports = _ports(rule.get("ports"), f"{path}.ports")
        if peers:
            all_peers.extend(peers)
        if ports:
            all_ports.extend(ports)
        out.append(Rule(direction, path, peers_key, peers, ports))
    return tuple(out)


def _peers(peers: object, base: str, all_ip_blocks: list[IPBlock]) -> tuple[Peer, ...] | None:
    if not isinstance(peers, list) or not peers:
        return None
    out: list[Peer] = []
    for index, peer in enumerate(peers):
        if not isinstance(peer, dict):
            continue
        pod = peer.get("podSelector")
        namespace = peer.get("namespaceSelector")
        block = peer.get("ipBlock")
        ip_block = None if block is None else _ip_block(block, base, index)
        if ip_block is not None:
            all_ip_blocks.append(ip_block)
        # A selector that is not a mapping has no requirements: read as selecting everything.
        out.append(Peer(base, index,
                        None if pod is None else pod if isinstance(pod, dict) else {},
                        None if namespace is None
                        else namespace if isinstance(namespace, dict) else {},
                        ip_block))
    return tuple(out)


def _ip_block(block: object, peers_path: str, index: int) -> IPBlock | None:
    if not isinstance(block, dict):
        return None
    cidr = block.get("cidr")
    excepts = block.get("except")
    parsed_excepts: tuple[IPNetwork, ...] = ()
    if isinstance(excepts, list):
        parsed_excepts = tuple(net for net in map(parse_cidr, excepts) if net is not None)
    return IPBlock(peers_path, index, cidr if isinstance(cidr, str) else repr(cidr),
                   parse_cidr(cidr), parsed_excepts)


def _ports(ports: object, base: str) -> tuple[Port, ...] | None:
    if not isinstance(ports, list) or not ports:
        return None
    out: list[Port] = []
    for index, port in enumerate(ports):
        path = f"{base}[{index}]"
        if not isinstance(port, dict):
            # Unreadable: read as every TCP port rather than as nothing.
            out.append(Port(path, DEFAULT_PROTOCOL, None, None))
            continue
        protocol = port.get("protocol")
        number = port.get("port")
        end = port.get("endPort")
        out.append(Port(path,
                        DEFAULT_PROTOCOL if protocol is None else protocol,
                        number if _is_int(number) or isinstance(number, str) else None,
                        end if _is_int(end) else None))
    return tuple(out)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
