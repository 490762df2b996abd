"""Normalisation of NetworkPolicy objects: the typed view the rules run on.

The webhook receives objects the API server has already decoded and defaulted; the offline CLI
reads raw YAML. Both go through this module so that the rules see one shape:

- ``apply_api_defaults`` (apidefaults.py) reproduces what the API server stores (and hands a
  webhook), so raw and defaulted objects read the same.
- ``normalise_network_policy`` builds the typed, read-only view the rules run on, with the JSON
  path of every rule, peer and port as the user wrote it (the API server only drops *whole*
  empty lists, so indices never shift between the manifest and the stored object).
- ``parse_cidr`` (cidr.py) sees through every spelling a CIDR can have reached etcd with:
  leading zeros, ``/00``, host bits, uncompressed IPv6 and IPv4-mapped IPv6.

Nothing here raises on a malformed object: the API server rejects such objects before any
webhook runs, so a wrong type is read in the way that hides the least (a rule that cannot be
read allows everything; a peer that cannot be read selects nothing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from webhook.engine.apidefaults import DEFAULT_PROTOCOL, EGRESS, INGRESS, effective_policy_types
from webhook.engine.cidr import IPNetwork, parse_cidr

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
