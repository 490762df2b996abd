"""Who reaches whom, for the pods a NetworkPolicy change touches (pure: state comes in a view).

NP018 (reach-delta) needs the connections between workloads before and after one change. This
module evaluates NetworkPolicy semantics on compact pod records (``PodInfo``): a pod is isolated
for a direction only when a policy selecting it has that policyType (after the API server's
defaulting); a connection needs the source's egress and the destination's ingress; a peer's
namespaceSelector and podSelector in one entry are ANDed; ipBlocks (minus ``except``) are
addresses outside the cluster, cut into the atoms the policies' blocks induce; named ports are
resolved against the destination pod's container ports (unresolved: nothing).

Pods of one workload with the same labels and ports form a class; connections are computed per
class and reported per workload (``ns/name[Kind]``). Nothing here does I/O.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from webhook.engine.apidefaults import apply_api_defaults, effective_policy_types
from webhook.engine.cidr import parse_cidr
from webhook.engine.conns import ALL, NONE, ConnSet, port_range_conns

JSONObject = dict[str, Any]
Labels = Mapping[str, str]
# An address range outside the cluster: (IP version, first address, last address) as ints.
Atom = tuple[int, int, int]
_SPACE: Mapping[int, int] = {4: (1 << 32) - 1, 6: (1 << 128) - 1}


@dataclass(frozen=True, slots=True)
class PodInfo:
    """What the analysis keeps of a pod; ``owner_kind``/``owner_name`` name its workload."""

    namespace: str
    name: str
    labels: Labels
    owner_kind: str
    owner_name: str
    ports: tuple[tuple[str, int, str], ...] = ()  # (name, containerPort, protocol)
    phase: str = "Running"

    @property
    def workload(self) -> str:
        return f"{self.namespace}/{self.owner_name}[{self.owner_kind}]"


class ReachView(Protocol):
    """The cluster as the analysis reads it, one namespace at a time."""

    def namespace_labels(self) -> Mapping[str, Labels]:
        """Labels of every namespace the cluster knows (with or without pods)."""
        ...

    def namespaces_with_pods(self) -> Iterable[str]:
        """Every namespace that holds pods."""
        ...

    def classes_in(self, namespace: str) -> Sequence[PodInfo]:
        """One pod per class of ``namespace`` (``classes_of`` its pods; a view may cache it)."""
        ...

    def policies_in(self, namespace: str) -> Sequence[JSONObject]:
        """The NetworkPolicies of ``namespace``."""
        ...

    def namespace_version(self, namespace: str) -> Hashable:
        """Changes whenever a pod or a policy of ``namespace`` changes."""
        ...

    def memo(self) -> dict[Any, Any]:
        """A dict the analysis keeps derived data in, for as long as the view lives (entries
        are checked against ``namespace_version``)."""
        ...


_INACTIVE_PHASES = frozenset({"Succeeded", "Failed"})


def classes_of(pods: Iterable[PodInfo]) -> list[PodInfo]:
    """One representative pod per class: same workload, labels and container ports. Pods
    that have finished (Succeeded, Failed) are left out: they accept no connection."""
    seen: dict[tuple[object, ...], PodInfo] = {}
    for pod in pods:
        if pod.phase in _INACTIVE_PHASES:
            continue
        key = (pod.namespace, pod.owner_kind, pod.owner_name, tuple(sorted(pod.labels.items())),
               pod.ports)
        seen.setdefault(key, pod)
    return list(seen.values())


def namespace_labels_of(name: str, labels: Labels | None) -> Labels:
    """A namespace's labels, with the API server's immutable name label always present."""
    return {**(labels or {}), "kubernetes.io/metadata.name": name}


# --- selectors ----------------------------------------------------------------------------

Matcher = Callable[[Labels], bool]


def _requirement(expression: Any) -> Matcher:
    key = expression.get("key", "") if isinstance(expression, dict) else ""
    operator = expression.get("operator") if isinstance(expression, dict) else None
    values = frozenset(expression.get("values") or ()) if isinstance(expression, dict) else ()
    if operator == "In":
        return lambda labels: labels.get(key) in values
    if operator == "NotIn":
        return lambda labels: labels.get(key) not in values
    if operator == "Exists":
        return lambda labels: key in labels
    if operator == "DoesNotExist":
        return lambda labels: key not in labels
    return lambda labels: False  # the API server refuses other operators; select nothing


def compile_selector(selector: Any) -> Matcher | None:
    """A label selector as a function; None when it selects everything."""
    if not isinstance(selector, dict):
        return None
    pinned = dict(selector.get("matchLabels") or {}).items()
    requirements = tuple(_requirement(e) for e in selector.get("matchExpressions") or ())
    if not requirements:
        if not pinned:
            return None
        # A set comparison of items views runs in C: most selectors are matchLabels only.
        return lambda labels: pinned <= labels.items()

    def matches(labels: Labels) -> bool:
        return pinned <= labels.items() and all(requirement(labels)
                                                for requirement in requirements)
    return matches


# --- compiled policies --------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Peer:
    """One entry of ``from``/``to``. ``namespaces`` None: the policy's own namespace;
    ``all_namespaces``: a namespaceSelector that selects every namespace."""

    pods: Matcher | None = None
    namespaces: Matcher | None = None
    all_namespaces: bool = False
    own_namespace: bool = True
    blocks: tuple[Atom, ...] | None = None  # an ipBlock: the ranges it allows


# (protocol, port number or name or None for every port, endPort)
PortEntry = tuple[str, int | str | None, int | None]


def _port_entry(port: JSONObject) -> PortEntry:
    number, end = port.get("port"), port.get("endPort")
    return (str(port.get("protocol") or "TCP"),
            number if isinstance(number, int | str) else None,
            end if isinstance(end, int) else None)


@dataclass(frozen=True, slots=True)
class Rule:
    """One ingress or egress rule; ``peers`` None admits every peer, ``ports`` None every port."""

    peers: tuple[Peer, ...] | None
    ports: tuple[PortEntry, ...] | None


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    """A NetworkPolicy ready to evaluate: rules per direction it governs (None: not governed)."""

    namespace: str
    name: str
    selects: Matcher | None
    ingress: tuple[Rule, ...] | None
    egress: tuple[Rule, ...] | None

    def selects_pod(self, pod: PodInfo) -> bool:
        return pod.namespace == self.namespace and (self.selects is None
                                                    or self.selects(pod.labels))

    def blocks(self) -> Iterable[Atom]:
        for rules in (self.ingress or (), self.egress or ()):
            for rule in rules:
                for peer in rule.peers or ():
                    yield from peer.blocks or ()


def _block_ranges(block: Any) -> tuple[Atom, ...]:
    """An ipBlock as address ranges: the CIDR minus its excepts."""
    network = parse_cidr(block.get("cidr")) if isinstance(block, dict) else None
    if network is None:
        return ()
    ranges: list[Atom] = [(network.version, int(network.network_address),
                           int(network.broadcast_address))]
    for text in block.get("except") or ():
        hole = parse_cidr(text)
        if hole is None or hole.version != network.version:
            continue
        low, high = int(hole.network_address), int(hole.broadcast_address)
        kept: list[Atom] = []
        for version, start, end in ranges:
            if high < start or low > end:
                kept.append((version, start, end))
                continue
            if start < low:
                kept.append((version, start, low - 1))
            if high < end:
                kept.append((version, high + 1, end))
        ranges = kept
    return tuple(ranges)


def _peer(entry: Any) -> Peer:
    if not isinstance(entry, dict):
        return Peer(pods=lambda labels: False)
    if "ipBlock" in entry:
        return Peer(blocks=_block_ranges(entry["ipBlock"]))
    pods = compile_selector(entry.get("podSelector"))
    if "namespaceSelector" not in entry:
        return Peer(pods=pods)
    namespaces = compile_selector(entry["namespaceSelector"])
    return Peer(pods=pods, namespaces=namespaces, all_namespaces=namespaces is None,
                own_namespace=False)


def _rules(spec: JSONObject, key: str, peers_key: str) -> tuple[Rule, ...]:
    rules = []
    for rule in spec.get(key) or ():
        rule = rule if isinstance(rule, dict) else {}
        peers = rule.get(peers_key)
        ports = rule.get("ports")
        rules.append(Rule(
            peers=tuple(_peer(p) for p in peers) if peers else None,
            ports=tuple(_port_entry(p) for p in ports if isinstance(p, dict)) if ports else None))
    return tuple(rules)


def compile_policy(obj: JSONObject) -> CompiledPolicy:
    """``obj`` (a NetworkPolicy as stored or as written) compiled, API-server defaults applied."""
    return _compile_cached(_cache_key(obj), obj)


def _cache_key(obj: JSONObject) -> tuple[str, str, str] | None:
    metadata = obj.get("metadata") or {}
    version = metadata.get("resourceVersion")
    if not version:
        return None  # not from the API server: its content may differ under the same name
    return (metadata.get("namespace", ""), metadata.get("name", ""), str(version))


def _compile_cached(key: tuple[str, str, str] | None, obj: JSONObject) -> CompiledPolicy:
    if key is None:
        return _compile(obj)
    return _compile_by_version(key, _Carrier(obj))


class _Carrier:
    """Hashes as nothing, so the lru_cache keys on the resourceVersion key alone."""

    __slots__ = ("obj",)

    def __init__(self, obj: JSONObject) -> None:
        self.obj = obj

    def __hash__(self) -> int:
        return 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Carrier)


@functools.lru_cache(maxsize=8192)
def _compile_by_version(key: tuple[str, str, str], carrier: _Carrier) -> CompiledPolicy:
    return _compile(carrier.obj)


def _compile(obj: JSONObject) -> CompiledPolicy:
    stored = apply_api_defaults(obj)
    spec = stored["spec"]
    metadata = stored.get("metadata") or {}
    types = effective_policy_types(spec)
    return CompiledPolicy(
        namespace=metadata.get("namespace") or "default", name=metadata.get("name", ""),
        selects=compile_selector(spec.get("podSelector")),
        ingress=_rules(spec, "ingress", "from") if "Ingress" in types else None,
        egress=_rules(spec, "egress", "to") if "Egress" in types else None)


# --- evaluation ---------------------------------------------------------------------------

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
