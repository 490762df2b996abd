"""Evaluating compiled NetworkPolicies between pod classes and external address ranges (pure).

What one pod's governing policies allow towards another pod or an external atom, and the
atoms the policies' ipBlocks cut the address spaces into. See ``reach`` for the model.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence

from webhook.engine.conns import ALL, NONE, ConnSet, port_range_conns
from webhook.engine.reach import (
    Atom,
    CompiledPolicy,
    Labels,
    Peer,
    PodInfo,
    Rule,
    namespace_labels_of,
)

_SPACE: Mapping[int, int] = {4: (1 << 32) - 1, 6: (1 << 128) - 1}


def peer_admits_pod(peer: Peer, policy_namespace: str, pod: PodInfo,
                    namespace_labels: Mapping[str, Labels]) -> bool:
    """True when the peer entry covers ``pod``."""
    if peer.blocks is not None:
        return False  # ipBlocks stand for addresses outside the cluster
    if peer.own_namespace:
        if pod.namespace != policy_namespace:
            return False
    elif not peer.all_namespaces:
        labels = namespace_labels.get(pod.namespace)
        if labels is None:
            labels = namespace_labels_of(pod.namespace, None)
        if peer.namespaces is not None and not peer.namespaces(labels):
            return False
    return peer.pods is None or peer.pods(pod.labels)


def peer_admits_atom(peer: Peer, atom: Atom) -> bool:
    """True when the ipBlock of the peer covers the whole external ``atom``."""
    return any(v == atom[0] and lo <= atom[1] and atom[2] <= hi
               for v, lo, hi in peer.blocks or ())


def rule_ports(rule: Rule, destination: PodInfo | None) -> ConnSet:
    """The ports a rule opens towards ``destination`` (None: an external address)."""
    if rule.ports is None:
        return ALL
    result = NONE
    for protocol, port, end_port in rule.ports:
        if port is None:
            result = result | port_range_conns(protocol, 1, 65535)
        elif isinstance(port, int):
            result = result | port_range_conns(protocol, port, end_port or port)
        elif destination is not None:
            for name, number, container_protocol in destination.ports:
                if name == port and container_protocol == protocol:
                    result = result | port_range_conns(protocol, number, number)
    return result


Endpoint = PodInfo | Atom


def governing(policies: Sequence[CompiledPolicy], direction: str,
              subject: PodInfo) -> tuple[CompiledPolicy, ...]:
    """The policies that select ``subject`` and govern ``direction`` (``ingress``/``egress``);
    none means the subject is not isolated in that direction."""
    if direction == "ingress":
        return tuple(p for p in policies if p.ingress is not None and p.selects_pod(subject))
    return tuple(p for p in policies if p.egress is not None and p.selects_pod(subject))


def allowed(policies: Sequence[CompiledPolicy], direction: str, subject: PodInfo,
            other: Endpoint, namespace_labels: Mapping[str, Labels]) -> ConnSet:
    """What the ``governing`` policies of ``subject`` allow between it and ``other``.

    ``direction`` is ``ingress`` (``other`` is the source) or ``egress`` (``other`` is the
    destination); with no governing policy the subject is not isolated: everything.
    """
    if not policies:
        return ALL
    result = NONE
    destination = subject if direction == "ingress" else other
    ports_for = destination if isinstance(destination, PodInfo) else None
    for policy in policies:
        rules = policy.ingress if direction == "ingress" else policy.egress
        for rule in rules or ():
            if rule.peers is None or any(
                    peer_admits_atom(p, other) if isinstance(other, tuple)
                    else peer_admits_pod(p, policy.namespace, other, namespace_labels)
                    for p in rule.peers):
                result = result | rule_ports(rule, ports_for)
                if result.all:
                    return result
    return result


def open_to_all_namespaces(policies: Sequence[CompiledPolicy]) -> bool:
    """True when ``policies`` (the ingress governors of one pod) admit every pod of every
    namespace on some port: no governor, a rule without ``from``, or a peer whose
    namespaceSelector selects all namespaces and has no podSelector."""
    if not policies:
        return True
    return any(rule.peers is None or any(p.all_namespaces and p.pods is None
                                         for p in rule.peers)
               for policy in policies for rule in policy.ingress or ())


def atoms_of(blocks: Iterable[Atom]) -> tuple[Atom, ...]:
    """The whole IPv4 and IPv6 spaces cut at every boundary of ``blocks``."""
    # IPv6 is cut only when some block names it, as the fixtures' analyzer does.
    cuts: dict[int, set[int]] = {4: {0}}
    for version, start, end in blocks:
        cuts.setdefault(version, {0})
        cuts[version].add(start)
        if end < _SPACE[version]:
            cuts[version].add(end + 1)
    atoms: list[Atom] = []
    for version, starts in cuts.items():
        ordered = sorted(starts)
        for index, start in enumerate(ordered):
            end = ordered[index + 1] - 1 if index + 1 < len(ordered) else _SPACE[version]
            atoms.append((version, start, end))
    return tuple(atoms)


def atom_id(atom: Atom) -> str:
    """``10.0.0.0-10.255.255.255[External]``, the fixtures' external node id."""
    make = ipaddress.IPv4Address if atom[0] == 4 else ipaddress.IPv6Address
    return f"{make(atom[1])}-{make(atom[2])}[External]"
