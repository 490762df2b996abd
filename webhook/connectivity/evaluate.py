"""Who reaches whom, per pair of pod classes and external atoms.

Nodes are numbered: classes ``0..C-1``, then external atoms ``C..C+A-1``. A policy is compiled
once into, per rule, the set of nodes its peers select and the ports it allows (named ports kept
by name: they resolve per destination class). A connection from ``s`` to ``d`` is allowed on the
ports in both ``s``'s egress allowance towards ``d`` and ``d``'s ingress allowance from ``s``; a
class that no policy isolates in a direction allows everything in it, and external atoms are
never isolated (no policy selects them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from webhook.connectivity.classes import Classes, PortMap
from webhook.connectivity.ipspace import AddressSpace
from webhook.connectivity.model import Model, Policy
from webhook.connectivity.ports import (
    ALL_CONNS,
    NO_CONNS,
    Conns,
    intersection,
    protocol_conns,
    union,
)
from webhook.connectivity.selectors import matches
from webhook.engine.apidefaults import EGRESS, INGRESS
from webhook.engine.normalize import Peer, Port, Rule

# One direction's allowance of a node: None (not isolated: everything), else a list of
# (nodes, conns) entries; entries with named ports are already resolved.
Allowance = list[tuple[frozenset[int], Conns]] | None


@dataclass(frozen=True, slots=True)
class PortSpec:
    """A rule's ports: numbers and ranges now, names resolved per destination."""

    numeric: Conns
    named: tuple[tuple[str, str], ...]  # (protocol, name)

    def resolve(self, ports: PortMap) -> Conns:
        """The ports allowed towards a destination with these named ports."""
        conns = self.numeric
        for protocol, name in self.named:
            number = ports.get((protocol, name))
            if number is not None:
                conns = union(conns, protocol_conns(protocol, number, number))
        return conns


ALL_PORTS = PortSpec(ALL_CONNS, ())


def compile_ports(ports: Sequence[Port] | None) -> PortSpec:
    """A rule's port list as a PortSpec (absent: every port of every protocol)."""
    if ports is None:
        return ALL_PORTS
    numeric = NO_CONNS
    named: list[tuple[str, str]] = []
    for port in ports:
        protocol = port.protocol if isinstance(port.protocol, str) else ""
        if isinstance(port.port, str):
            named.append((protocol, port.port))
        elif port.port is None:
            numeric = union(numeric, protocol_conns(protocol))
        else:
            end = port.end_port if port.end_port is not None else port.port
            numeric = union(numeric, protocol_conns(protocol, port.port, end))
    return PortSpec(numeric, tuple(sorted(set(named))))


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """The nodes a rule's peers select and the ports it allows."""

    peers: frozenset[int]
    ports: PortSpec


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    """A policy as node sets: the classes it selects and its rules per direction."""

    name: str
    namespace: str
    selected: frozenset[int]
    types: tuple[str, ...]
    ingress: tuple[CompiledRule, ...]
    egress: tuple[CompiledRule, ...]


class Compiler:
    """Compiles policies against fixed classes and atoms."""

    def __init__(self, model: Model, classes: Classes, space: AddressSpace) -> None:
        self.model = model
        self.classes = classes
        self.offset = len(classes.classes)
        self.all_nodes = frozenset(range(self.offset + len(space.atoms)))
        self.space = space

    def _namespace_classes(self, namespace: str, selector: object) -> list[int]:
        members = self.classes.by_namespace.get(namespace, [])
        if selector is None:
            return members
        assert isinstance(selector, dict)
        return [c for c in members if matches(selector, self.classes.classes[c].labels)]

    def peer_nodes(self, peer: Peer, namespace: str) -> set[int]:
        """The nodes one peer selects (a podSelector alone: the policy's own namespace)."""
        if peer.ip_block is not None:
            block = peer.ip_block
            return {self.offset + a for a in self.space.block(block.network, block.excepts)}
        if peer.namespace_selector is None:
            namespaces = [namespace] if (peer.pod_selector is not None) else []
        else:
            namespaces = [ns for ns, labels in self.model.namespaces.items()
                          if matches(peer.namespace_selector, labels)]
        nodes: set[int] = set()
        for ns in namespaces:
            nodes.update(self._namespace_classes(ns, peer.pod_selector))
        return nodes

    def rule(self, rule: Rule, namespace: str) -> CompiledRule:
        """A rule's peers (absent: every node) and ports."""
        if rule.peers is None:
            peers = self.all_nodes
        else:
            found: set[int] = set()
            for peer in rule.peers:
                found |= self.peer_nodes(peer, namespace)
            peers = frozenset(found)
        return CompiledRule(peers, compile_ports(rule.ports))

    def policy(self, policy: Policy) -> CompiledPolicy:
        """Compile one policy."""
        view = policy.view
        selected = frozenset(self._namespace_classes(policy.namespace, view.pod_selector))
        return CompiledPolicy(
            policy.name, policy.namespace, selected, view.policy_types,
            tuple(self.rule(r, policy.namespace) for r in view.ingress),
            tuple(self.rule(r, policy.namespace) for r in view.egress))


class Evaluation:
    """Per-class allowances for one set of compiled policies, and the pairs they allow."""

    def __init__(self, classes: Classes, atoms: int, policies: Iterable[CompiledPolicy]) -> None:
        self.classes = classes
        self.count = len(classes.classes)
        self.atoms = atoms
        self.policies = list(policies)
        count = self.count
        self._ingress_of: list[list[int]] = [[] for _ in range(count)]
        self._egress_of: list[list[int]] = [[] for _ in range(count)]
        for index, policy in enumerate(self.policies):
            for c in policy.selected:
                if INGRESS in policy.types:
                    self._ingress_of[c].append(index)
                if EGRESS in policy.types:
                    self._egress_of[c].append(index)
        self._ingress_cache: dict[tuple[object, ...], Allowance] = {}
        self._egress_cache: dict[tuple[int, ...], Allowance] = {}

    def ingress(self, node: int) -> Allowance:
        """What ``node`` accepts (atoms and non-isolated classes: everything)."""
        if node >= self.count or not self._ingress_of[node]:
            return None
        pod_class = self.classes.classes[node]
        key = (tuple(self._ingress_of[node]), pod_class.port_signature)
        cached = self._ingress_cache.get(key, False)
        if cached is not False:
            return cached  # type: ignore[return-value]
        merged: dict[Conns, set[int]] = {}
        for index in self._ingress_of[node]:
            for rule in self.policies[index].ingress:
                conns = rule.ports.resolve(pod_class.ports)
                if conns != NO_CONNS and rule.peers:
                    merged.setdefault(conns, set()).update(rule.peers)
        allowance = [(frozenset(nodes), conns) for conns, nodes in merged.items()]
        self._ingress_cache[key] = allowance
        return allowance

    def egress(self, node: int) -> Allowance:
        """What ``node`` may send (atoms and non-isolated classes: everything)."""
        if node >= self.count or not self._egress_of[node]:
            return None
        key = tuple(self._egress_of[node])
        cached = self._egress_cache.get(key, False)
        if cached is not False:
            return cached  # type: ignore[return-value]
        merged: dict[Conns, set[int]] = {}
        for index in key:
            for rule in self.policies[index].egress:
                self._add_egress_rule(rule, merged)
        allowance = [(frozenset(nodes), conns) for conns, nodes in merged.items() if nodes]
        self._egress_cache[key] = allowance
        return allowance

    def _add_egress_rule(self, rule: CompiledRule, merged: dict[Conns, set[int]]) -> None:
        spec = rule.ports
        if not spec.named:
            if spec.numeric != NO_CONNS:
                merged.setdefault(spec.numeric, set()).update(rule.peers)
            return
        # Named ports resolve per destination: split the peers by named-port signature.
        # External atoms have no containers, so only the numeric ports reach them.
        atoms = {n for n in rule.peers if n >= self.count}
        if atoms and spec.numeric != NO_CONNS:
            merged.setdefault(spec.numeric, set()).update(atoms)
        for members in self.classes.by_port_signature.values():
            inside = rule.peers.intersection(members)
            if inside:
                conns = spec.resolve(self.classes.classes[members[0]].ports)
                if conns != NO_CONNS:
                    merged.setdefault(conns, set()).update(inside)

    def pair(self, src: int, dst: int, egress: Allowance, ingress: Allowance) -> Conns:
        """The connections from ``src`` to ``dst`` given their allowances."""
        out = ALL_CONNS if egress is None else _conns_towards(egress, dst)
        if out == NO_CONNS:
            return out
        return out if ingress is None else intersection(out, _conns_towards(ingress, src))

    def row(self, src: int) -> dict[int, Conns]:
        """Every node ``src`` may reach, with the connections."""
        egress = self.egress(src)
        total = self.count + self.atoms
        if egress is None:
            candidates: Iterable[int] = range(self.count if src >= self.count else total)
        else:
            found: set[int] = set()
            for nodes, _ in egress:
                found |= nodes
            candidates = found if src < self.count else (n for n in found if n < self.count)
        out: dict[int, Conns] = {}
        for dst in candidates:
            conns = self.pair(src, dst, egress, self.ingress(dst))
            if conns != NO_CONNS:
                out[dst] = conns
        return out

    def column(self, dst: int) -> dict[int, Conns]:
        """Every node that may reach ``dst``, with the connections."""
        ingress = self.ingress(dst)
        total = self.count + self.atoms
        sources: Iterable[int] = range(self.count if dst >= self.count else total)
        if ingress is not None:
            found: set[int] = set()
            for nodes, _ in ingress:
                found |= nodes
            sources = found if dst < self.count else (n for n in found if n < self.count)
        out: dict[int, Conns] = {}
        for src in sources:
            conns = self.pair(src, dst, self.egress(src), ingress)
            if conns != NO_CONNS:
                out[src] = conns
        return out

    def all_pairs(self) -> dict[tuple[int, int], Conns]:
        """Every allowed (src, dst) pair of nodes (atom to atom excluded)."""
        pairs: dict[tuple[int, int], Conns] = {}
        for src in range(self.count):
            for dst, conns in self.row(src).items():
                pairs[(src, dst)] = conns
        # External sources have no egress policy: only the destination's ingress decides, and
        # classes with the same policies share one allowance, so read each allowance once.
        atoms = range(self.count, self.count + self.atoms)
        by_allowance: dict[int, dict[int, Conns]] = {}
        for dst in range(self.count):
            ingress = self.ingress(dst)
            if ingress is None:
                for atom in atoms:
                    pairs[(atom, dst)] = ALL_CONNS
                continue
            admitted = by_allowance.get(id(ingress))
            if admitted is None:
                admitted = {}
                for nodes, conns in ingress:
                    for node in nodes:
                        if node >= self.count:
                            admitted[node] = union(admitted.get(node, NO_CONNS), conns)
                by_allowance[id(ingress)] = admitted
            for atom, conns in admitted.items():
                pairs[(atom, dst)] = conns
        return pairs


def _conns_towards(allowance: list[tuple[frozenset[int], Conns]], node: int) -> Conns:
    conns = NO_CONNS
    for nodes, allowed in allowance:
        if node in nodes:
            conns = union(conns, allowed)
    return conns
