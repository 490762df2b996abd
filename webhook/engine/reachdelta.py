"""The connectivity a NetworkPolicy change adds and removes (pure; the cluster comes in a view).

Incremental: a change of policy P in namespace N only changes the ingress (if P governs
Ingress, before or after) and the egress (if it governs Egress) of the pods P selects, before or
after. So only pairs with such a pod at the right end are evaluated, under the policies before
and after; every other pair is the same on both sides. ``analyse`` is the full, non-incremental
analysis of one state (for audits and to check the delta against).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from webhook.engine.conns import NONE, ConnSet
from webhook.engine.reach import (
    Atom,
    JSONObject,
    Labels,
    Peer,
    PodInfo,
    ReachView,
    compile_policy,
)
from webhook.engine.reacheval import (
    Endpoint,
    atom_id,
    atoms_of,
    open_to_all_namespaces,
    rule_ports,
)
from webhook.engine.reachstate import Side, State, known_labels, placed

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
    state = State(view, known_labels(view, namespaces))
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
    classes = view.classes_in(namespace)
    if not classes:
        # No pod in the namespace: the change selects none, so it changes no pair. Saves
        # compiling both sides on every review in a namespace without pods (most of NP018's
        # cost there).
        return ReachDelta()
    timer = _Clock(deadline, clock)
    namespaces = sorted(set(view.namespaces_with_pods()) | {namespace})
    labels = known_labels(view, namespaces)
    before = State(view, labels, (namespace, name, old))
    after = State(view, labels, (namespace, name, new), outside=before.outside)
    changed = [compile_policy(placed(p, namespace)) for p in (old, new) if p is not None]
    affected = [c for c in classes if any(p.selects_pod(c) for p in changed)]
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
    allow each of them is kept as the pod's ``Side`` in each state."""

    def __init__(self, view: ReachView, namespaces: Sequence[str], labels: Mapping[str, Labels],
                 states: Sequence[State]) -> None:
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

    def _side(self, state: State, pod: PodInfo, direction: str) -> Side:
        governors = state.governors(pod, direction)
        if not governors:
            return Side(open_all=True)  # not isolated: everything may connect
        side = Side(open_all=False)
        for policy in governors:
            for rule in (policy.ingress if direction == "ingress" else policy.egress) or ():
                if rule.peers is None:
                    return Side(open_all=True)
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
                            atoms: Sequence[Atom], affected: set[int], state: State,
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
