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
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from webhook.engine.apidefaults import apply_api_defaults, effective_policy_types
from webhook.engine.cidr import parse_cidr

JSONObject = dict[str, Any]
Labels = Mapping[str, str]
# An address range outside the cluster: (IP version, first address, last address) as ints.
Atom = tuple[int, int, int]


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
