"""The connectivity a NetworkPolicy change adds and removes (pure; the cluster comes in a view).

Incremental: a change of policy P in namespace N only changes the ingress (if P governs
Ingress, before or after) and the egress (if it governs Egress) of the pods P selects, before or
after. So only pairs with such a pod at the right end are evaluated, under the policies before
and after; every other pair is the same on both sides. ``analyse`` is the full, non-incremental
analysis of one state (for audits and to check the delta against).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from webhook.engine.conns import NONE, ConnSet
from webhook.engine.reach import (
    Atom,
    CompiledPolicy,
    JSONObject,
    Labels,
    Peer,
    PodInfo,
    ReachView,
    compile_policy,
    namespace_labels_of,
)
from webhook.engine.reacheval import (
    Endpoint,
    allowed,
    atom_id,
    atoms_of,
    governing,
    open_to_all_namespaces,
    rule_ports,
)

# Deadline checks every this many evaluated pairs: cheap enough, fine enough for a 1 ms budget.
_CHECK_EVERY = 64


class BudgetExceeded(Exception):
    """The delta did not finish within its time budget."""


@dataclass(frozen=True, slots=True)
class PairChange:
    """One (source, destination) pair whose allowed connections differ."""

    src: str
    dst: str
    before: ConnSet
    after: ConnSet


@dataclass(frozen=True, slots=True)
class ReachDelta:
    """What one change does: changed pairs (sorted), the workloads it selects, and those it
    newly exposes to every namespace or to addresses outside the cluster."""

    changes: tuple[PairChange, ...] = ()
    affected: frozenset[str] = frozenset()
    exposed_to_all_namespaces: tuple[str, ...] = ()
    exposed_to_outside: tuple[str, ...] = ()

    @property
    def added_pairs(self) -> int:
        """Pairs that had no connection before and have one after."""
        return sum(1 for change in self.changes if not change.before and change.after)


def _with_policy(policies: Sequence[JSONObject], namespace: str, name: str,
                 replacement: JSONObject | None) -> list[CompiledPolicy]:
    kept = [compile_policy(p) for p in policies
            if (p.get("metadata") or {}).get("name") != name]
    if replacement is not None:
        kept.append(compile_policy(_placed(replacement, namespace)))
    return kept


def _placed(obj: JSONObject, namespace: str) -> JSONObject:
    metadata = obj.get("metadata") or {}
    if metadata.get("namespace") == namespace:
        return obj
    return {**obj, "metadata": {**metadata, "namespace": namespace}}


@dataclass(slots=True)
class _Namespace:
    """A namespace's compiled policies and its pods' governors, kept in the view's memo while
    ``version`` (its pods and policies) stays the same."""

    version: Hashable
    policies: list[CompiledPolicy]
    # (id(pod), direction) -> (pod, governors); the pod is kept to check the id's identity.
    governors: dict[tuple[int, str], tuple[PodInfo, tuple[CompiledPolicy, ...]]] = field(
        default_factory=dict)


def _namespace(view: ReachView, namespace: str) -> _Namespace:
    memo = view.memo()
    version = view.namespace_version(namespace)
    entry = memo.get(("namespace", namespace))
    if not isinstance(entry, _Namespace) or entry.version != version:
        entry = _Namespace(version, [compile_policy(p) for p in view.policies_in(namespace)])
        memo[("namespace", namespace)] = entry
    return entry


@dataclass(slots=True)
class _Side:
    """What an affected pod's policies allow in one direction: per pod class (by id), unless
    ``open_all`` (not isolated, or a rule without peers): then every class is evaluated."""

    open_all: bool
    admitted: dict[int, tuple[PodInfo, ConnSet]] = field(default_factory=dict)


@dataclass(slots=True)
class _State:
    """The cluster under one set of policies (before or after), evaluated lazily."""

    view: ReachView
    labels: Mapping[str, Labels]
    # The changed policy: (namespace, name, the object on this side or None); none for a
    # plain analysis.
    override: tuple[str, str, JSONObject | None] = ("", "", None)
    sides: dict[tuple[int, str], _Side] = field(default_factory=dict)
    # What a pod outside the changed namespace allows is the same before and after: both
    # states share this cache, keyed by the pod, the direction and the other end.
    outside: dict[tuple[int, str, object], ConnSet] = field(default_factory=dict)
    _changed: list[CompiledPolicy] | None = None
    _governing: dict[tuple[int, str], tuple[CompiledPolicy, ...]] = field(default_factory=dict)
    _entries: dict[str, _Namespace] = field(default_factory=dict)

    def _entry(self, namespace: str) -> _Namespace:
        entry = self._entries.get(namespace)
        if entry is None:
            entry = self._entries[namespace] = _namespace(self.view, namespace)
        return entry

    def policies(self, namespace: str) -> list[CompiledPolicy]:
        if namespace != self.override[0]:
            return self._entry(namespace).policies
        if self._changed is None:
            self._changed = _with_policy(self.view.policies_in(namespace), *self.override)
        return self._changed

    def governors(self, pod: PodInfo, direction: str) -> tuple[CompiledPolicy, ...]:
        key = (id(pod), direction)
        if pod.namespace == self.override[0]:
            cached = self._governing.get(key)
            if cached is None:
                cached = self._governing[key] = governing(self.policies(pod.namespace),
                                                          direction, pod)
            return cached
        entry = self._entry(pod.namespace)
        found = entry.governors.get(key)
        if found is None or found[0] is not pod:
            found = (pod, governing(entry.policies, direction, pod))
            entry.governors[key] = found
        return found[1]

    def _allowed(self, subject: PodInfo, direction: str, other: Endpoint) -> ConnSet:
        side = self.sides.get((id(subject), direction))
        if side is not None and not side.open_all and isinstance(other, PodInfo):
            admitted = side.admitted.get(id(other))
            return admitted[1] if admitted is not None and admitted[0] is other else NONE
        if subject.namespace == self.override[0]:
            return allowed(self.governors(subject, direction), direction, subject, other,
                           self.labels)
        # Both ends stay alive for the whole delta, so their ids name them.
        key = (id(subject), direction, other if isinstance(other, tuple) else id(other))
        found = self.outside.get(key)
        if found is None:
            found = self.outside[key] = allowed(self.governors(subject, direction), direction,
                                                subject, other, self.labels)
        return found

    def conns(self, src: Endpoint, dst: Endpoint) -> ConnSet:
        """Allowed connections from ``src`` to ``dst``: the destination's ingress first (it
        is most often the one that allows nothing), then the source's egress."""
        ingress = self._allowed(dst, "ingress", src) if isinstance(dst, PodInfo) else None
        if ingress is not None and not ingress:
            return NONE
        if isinstance(src, PodInfo):
            egress = self._allowed(src, "egress", dst)
            return egress if ingress is None else egress & ingress
        return ingress if ingress is not None else NONE


def _labels(view: ReachView, namespaces: Iterable[str]) -> dict[str, Labels]:
    known = dict(view.namespace_labels())
    for name in namespaces:
        known.setdefault(name, namespace_labels_of(name, None))
    return known


def _endpoint_id(endpoint: Endpoint) -> str:
    return endpoint.workload if isinstance(endpoint, PodInfo) else atom_id(endpoint)


class _Clock:
    def __init__(self, deadline: float | None, clock: Callable[[], float]) -> None:
        self.deadline, self.clock, self.count = deadline, clock, 0

    def tick(self) -> None:
        self.count += 1
        if (self.deadline is not None and self.count % _CHECK_EVERY == 1
                and self.clock() > self.deadline):
            raise BudgetExceeded()


def _accumulate(into: dict[tuple[str, str], ConnSet], src: Endpoint, dst: Endpoint,
                conns: ConnSet) -> None:
    if not conns:
        return
    key = (_endpoint_id(src), _endpoint_id(dst))
    if key[0] == key[1]:
        return
    into[key] = into.get(key, NONE) | conns


def analyse(view: ReachView) -> dict[tuple[str, str], ConnSet]:
    """Every allowed (source, destination) pair of the whole cluster, with its connections.

    Sources and destinations are workloads and the external atoms the policies induce.
    """
    namespaces = sorted(view.namespaces_with_pods())
    state = _State(view, _labels(view, namespaces))
    classes = [c for ns in namespaces for c in view.classes_in(ns)]
    blocks = [b for ns in namespaces for p in state.policies(ns) for b in p.blocks()]
    atoms = atoms_of(blocks)
    result: dict[tuple[str, str], ConnSet] = {}
    sources: list[Endpoint] = [*classes, *atoms]
    for dst in classes:
        for src in sources:
            if src is not dst:
                _accumulate(result, src, dst, state.conns(src, dst))
    for src in classes:
        for atom in atoms:
            _accumulate(result, src, atom, state.conns(src, atom))
    return result


def reach_delta(view: ReachView, namespace: str, name: str, old: JSONObject | None,
                new: JSONObject | None, *, deadline: float | None = None,
                clock: Callable[[], float] = time.perf_counter) -> ReachDelta:
    """What replacing NetworkPolicy ``namespace/name`` ``old`` by ``new`` changes.

    ``old`` None is a CREATE, ``new`` None a DELETE. Raises BudgetExceeded when ``clock``
    passes ``deadline``.
    """
    timer = _Clock(deadline, clock)
    namespaces = sorted(set(view.namespaces_with_pods()) | {namespace})
    labels = _labels(view, namespaces)
    before = _State(view, labels, (namespace, name, old))
    after = _State(view, labels, (namespace, name, new), outside=before.outside)
    changed = [compile_policy(_placed(p, namespace)) for p in (old, new) if p is not None]
    affected = [c for c in view.classes_in(namespace) if any(p.selects_pod(c) for p in changed)]
    if not affected:
        return ReachDelta()
    # External sources only meet the ingress of affected pods, external destinations only
    # their egress: the blocks of this namespace's policies (both sides) cut the atoms.
    atoms = atoms_of([b for state in (before, after) for p in state.policies(namespace)
                      for b in p.blocks()])
    peers = _Peers(view, namespaces, labels, (before, after))
    pairs: dict[tuple[int, int], tuple[Endpoint, Endpoint]] = {}
    for direction in ("ingress", "egress"):
        if not any((p.ingress if direction == "ingress" else p.egress) is not None
                   for p in changed):
            continue
        for pod in affected:
            others: list[Endpoint] = [*peers.sides(pod, direction), *atoms]
            for other in others:
                if other is pod:
                    continue
                pair: tuple[Endpoint, Endpoint] = ((other, pod) if direction == "ingress"
                                                   else (pod, other))
                pairs.setdefault((id(pair[0]), id(pair[1])), pair)
    was: dict[tuple[str, str], ConnSet] = {}
    now: dict[tuple[str, str], ConnSet] = {}
    for src, dst in pairs.values():
        timer.tick()
        _accumulate(was, src, dst, before.conns(src, dst))
        _accumulate(now, src, dst, after.conns(src, dst))
    _add_unaffected_classes(was, now, view, atoms, {id(c) for c in affected}, before, timer)
    changes = tuple(PairChange(src, dst, was.get((src, dst), NONE), now.get((src, dst), NONE))
                    for src, dst in sorted(set(was) | set(now))
                    if was.get((src, dst), NONE) != now.get((src, dst), NONE))
    exposed_all = tuple(sorted({
        c.workload for c in affected
        if open_to_all_namespaces(after.governors(c, "ingress"))
        and not open_to_all_namespaces(before.governors(c, "ingress"))}))
    outside = tuple(sorted({c.dst for c in changes if c.src.endswith("[External]")
                            and (c.after - c.before)}))
    return ReachDelta(changes, frozenset(c.workload for c in affected), exposed_all, outside)


class _Peers:
    """The pod classes a pod's policies can let in (or out to), before or after the change:
    only those can have a connection with it, so only those are evaluated. What the policies
    allow each of them is kept as the pod's ``_Side`` in each state."""

    def __init__(self, view: ReachView, namespaces: Sequence[str], labels: Mapping[str, Labels],
                 states: Sequence[_State]) -> None:
        self.view, self.namespaces, self.labels, self.states = view, namespaces, labels, states

    def _every(self) -> list[PodInfo]:
        return [c for ns in self.namespaces for c in self.view.classes_in(ns)]

    def sides(self, pod: PodInfo, direction: str) -> list[PodInfo]:
        """Computes the pod's side in every state; returns the classes to evaluate with it."""
        found: dict[int, PodInfo] = {}
        every = False
        for state in self.states:
            side = self._side(state, pod, direction)
            state.sides[(id(pod), direction)] = side
            every = every or side.open_all
            found.update((key, other) for key, (other, _) in side.admitted.items())
        candidates = self._every() if every else list(found.values())
        return self._without_closed(candidates, pod, direction)

    def _without_closed(self, candidates: list[PodInfo], pod: PodInfo,
                        direction: str) -> list[PodInfo]:
        """Drop the candidates of namespaces whose own policies shut them to ``pod``'s
        namespace (every class isolated the other way, no rule that can name it): their
        connections with ``pod`` are none before and after. The changed namespace stays."""
        other_way = "egress" if direction == "ingress" else "ingress"
        closed: dict[str, bool] = {}
        kept = []
        for candidate in candidates:
            namespace = candidate.namespace
            if namespace == self.states[0].override[0]:
                kept.append(candidate)
                continue
            shut = closed.get(namespace)
            if shut is None:
                shut = closed[namespace] = self._shut(namespace, pod.namespace, other_way)
            if not shut:
                kept.append(candidate)
        return kept

    def _shut(self, namespace: str, towards: str, direction: str) -> bool:
        state = self.states[0]  # outside the changed namespace both states agree
        if any(not state.governors(c, direction) for c in self.view.classes_in(namespace)):
            return False
        for policy in state.policies(namespace):
            for rule in (policy.ingress if direction == "ingress" else policy.egress) or ():
                if rule.peers is None:
                    return False
                for peer in rule.peers:
                    if peer.blocks is not None:
                        continue
                    if peer.own_namespace:
                        if namespace == towards:
                            return False
                    elif (peer.all_namespaces or peer.namespaces is None
                          or peer.namespaces(self.labels[towards])):
                        return False
        return True

    def _side(self, state: _State, pod: PodInfo, direction: str) -> _Side:
        governors = state.governors(pod, direction)
        if not governors:
            return _Side(open_all=True)  # not isolated: everything may connect
        side = _Side(open_all=False)
        for policy in governors:
            for rule in (policy.ingress if direction == "ingress" else policy.egress) or ():
                if rule.peers is None:
                    return _Side(open_all=True)
                # Ingress ports resolve against the pod itself, egress ports per destination.
                fixed = rule_ports(rule, pod) if direction == "ingress" else None
                for peer in rule.peers:
                    for other in self._classes(peer, policy.namespace):
                        ports = fixed if fixed is not None else rule_ports(rule, other)
                        if ports:
                            known = side.admitted.get(id(other))
                            side.admitted[id(other)] = (
                                other, ports if known is None else known[1] | ports)
        return side

    def _classes(self, peer: Peer, policy_namespace: str) -> Iterable[PodInfo]:
        if peer.blocks is not None:
            return
        if peer.own_namespace:
            namespaces: Iterable[str] = (policy_namespace,)
        elif peer.all_namespaces or peer.namespaces is None:
            namespaces = self.namespaces
        else:
            matcher = peer.namespaces
            namespaces = [ns for ns in self.namespaces if matcher(self.labels[ns])]
        for namespace in namespaces:
            for pod in self.view.classes_in(namespace):
                if peer.pods is None or peer.pods(pod.labels):
                    yield pod


def _add_unaffected_classes(was: dict[tuple[str, str], ConnSet],
                            now: dict[tuple[str, str], ConnSet], view: ReachView,
                            atoms: Sequence[Atom], affected: set[int], state: _State,
                            timer: _Clock) -> None:
    """A workload with classes the change does not select keeps their connections: add them
    to the workload pairs the delta touched, so both sides compare whole workloads."""
    touched = set(was) | set(now)
    ends: dict[str, list[Endpoint]] = {atom_id(atom): [atom] for atom in atoms}
    for workload in {w for pair in touched for w in pair} - set(ends):
        namespace = workload.split("/", 1)[0]
        ends[workload] = [c for c in view.classes_in(namespace) if c.workload == workload]
    mixed = {w for w, pods in ends.items()
             if len(pods) > 1 and any(id(p) in affected for p in pods)}
    for src_id, dst_id in touched:
        if src_id not in mixed and dst_id not in mixed:
            continue
        for src in ends[src_id]:
            for dst in ends[dst_id]:
                if id(src) in affected or id(dst) in affected:
                    continue
                timer.tick()
                conns = state.conns(src, dst)
                _accumulate(was, src, dst, conns)
                _accumulate(now, src, dst, conns)


def external_atoms(view: ReachView) -> tuple[Atom, ...]:
    """The atoms every policy of the cluster induces (for a full analysis's externals)."""
    return atoms_of(b for ns in view.namespaces_with_pods() for p in view.policies_in(ns)
                    for b in compile_policy(p).blocks())
