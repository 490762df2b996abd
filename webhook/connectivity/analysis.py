"""The analysis: objects in, Result out; and the delta one policy change makes.

``Analysis`` holds the model, the pod classes, the external atoms and the compiled policies, so a
caller can ask for the whole result or for what changing one policy does. The change is computed
incrementally: only the classes the old or new policy selects change their allowances, so only
their rows (egress) and columns (ingress) are recomputed, before and after.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from webhook.connectivity.classes import build_classes, referenced_keys
from webhook.connectivity.evaluate import CompiledPolicy, Compiler, Evaluation
from webhook.connectivity.ipspace import AddressSpace
from webhook.connectivity.model import InputObject, Model, Policy, WorkloadKey, build_model
from webhook.connectivity.ports import Conns, union
from webhook.connectivity.result import Connection, ExternalRange, Result, Workload
from webhook.engine.apidefaults import EGRESS, INGRESS
from webhook.engine.cidr import IPNetwork

NodePairs = dict[tuple[int, int], Conns]


def _networks(policies: Iterable[Policy]) -> list[IPNetwork]:
    networks: list[IPNetwork] = []
    for policy in policies:
        for block in policy.view.ip_blocks:
            if block.network is not None:
                networks.append(block.network)
            networks.extend(block.excepts)
    return networks


@dataclass(frozen=True, slots=True)
class ReachDelta:
    """Connections before and after a change, as results over the same workloads."""

    before: Result
    after: Result


class Analysis:
    """The model with its classes, atoms and compiled policies.

    ``extra_policies`` take part in the grouping into classes and the cutting of the address
    space without being applied, so a change to them can be evaluated on the same classes.
    """

    def __init__(self, model: Model, extra_policies: Iterable[Policy] = ()) -> None:
        self.model = model
        self.extra_policies = list(extra_policies)
        every = [*model.policies, *self.extra_policies]
        self._keys, self._port_names = referenced_keys(every)
        self.classes = build_classes(model, every)
        self.space = AddressSpace(_networks(every))
        self.compiler = Compiler(model, self.classes, self.space)
        self.compiled = [self.compiler.policy(p) for p in model.policies]
        self.offset = len(self.classes.classes)
        self._workloads_of_class: list[list[WorkloadKey]] = [[] for _ in self.classes.classes]
        self.workloads: dict[WorkloadKey, Workload] = {}
        self._split: set[WorkloadKey] = set()
        self._group_workloads()

    def _group_workloads(self) -> None:
        classes_of: dict[WorkloadKey, set[int]] = {}
        counts: dict[WorkloadKey, int] = {}
        for pod, class_index in zip(self.model.pods, self.classes.of_pod, strict=True):
            classes_of.setdefault(pod.workload, set()).add(class_index)
            counts[pod.workload] = counts.get(pod.workload, 0) + pod.count
        for key in sorted(classes_of):
            namespace, kind, name = key
            self.workloads[key] = Workload(namespace, name, kind, counts[key])
            for class_index in sorted(classes_of[key]):
                self._workloads_of_class[class_index].append(key)
            if len(classes_of[key]) > 1:
                self._split.add(key)

    def warnings(self) -> list[str]:
        """The model's warnings and the workloads whose pods policies tell apart."""
        notes = [f"workload {self.workloads[k].id}: its pods differ in labels or named ports "
                 f"that policies read; its connections are the union over its pods"
                 for k in sorted(self._split)]
        return [*self.model.warnings, *notes]

    def evaluation(self, compiled: Iterable[CompiledPolicy] | None = None) -> Evaluation:
        """An evaluation of the model's policies (or of ``compiled``)."""
        return Evaluation(self.classes, len(self.space.atoms),
                          self.compiled if compiled is None else compiled)

    def result(self) -> Result:
        """Every allowed connection between workloads and external ranges."""
        return self.to_result(self.evaluation().all_pairs())

    def to_result(self, pairs: NodePairs) -> Result:
        """Node pairs expanded to workloads; adjacent atoms with equal connections merged."""
        acc: dict[tuple[WorkloadKey, WorkloadKey], Conns] = {}
        external_out: dict[WorkloadKey, dict[int, Conns]] = {}
        external_in: dict[WorkloadKey, dict[int, Conns]] = {}
        offset = self.offset
        for (src, dst), conns in pairs.items():
            if src < offset and dst < offset:
                for ws in self._workloads_of_class[src]:
                    for wd in self._workloads_of_class[dst]:
                        if ws != wd:
                            # Keyed by the key tuples: they hash faster than Workloads.
                            known = acc.get((ws, wd))
                            acc[(ws, wd)] = conns if known is None else union(known, conns)
            elif src < offset:
                for ws in self._workloads_of_class[src]:
                    row = external_out.setdefault(ws, {})
                    row[dst - offset] = union(row.get(dst - offset, conns), conns)
            else:
                for wd in self._workloads_of_class[dst]:
                    row = external_in.setdefault(wd, {})
                    row[src - offset] = union(row.get(src - offset, conns), conns)
        workloads = self.workloads
        connections = [Connection(workloads[s], workloads[d], c) for (s, d), c in acc.items()]
        ranges = self._merged_ranges(external_out)
        for key, row in external_out.items():
            connections.extend(Connection(self.workloads[key], ranges[a], c)
                               for a, c in row.items() if a in ranges)
        ranges = self._merged_ranges(external_in)
        for key, row in external_in.items():
            connections.extend(Connection(ranges[a], self.workloads[key], c)
                               for a, c in row.items() if a in ranges)
        connections.sort(key=lambda c: (c.src.id, c.dst.id))
        return Result(sorted(self.workloads.values(), key=lambda w: w.id), connections,
                      self.warnings())

    def _merged_ranges(self, table: dict[WorkloadKey, dict[int, Conns]]
                       ) -> dict[int, ExternalRange]:
        """Adjacent atoms that every workload reaches alike (or is reached from alike), merged.

        Merging across all workloads at once (per direction, as the reference analyzer does)
        keeps one set of external nodes per direction, so lines and pictures name the same
        ranges. Returns, for the first atom of each merged range, the range; the other atoms of
        a range are absent, and their rows are dropped.
        """
        signature: dict[int, list[tuple[WorkloadKey, Conns]]] = {}
        for key, row in table.items():
            for atom, conns in row.items():
                signature.setdefault(atom, []).append((key, conns))
        atoms = self.space.atoms
        ranges: dict[int, ExternalRange] = {}
        first, previous, previous_sig = -1, -2, None
        for index in sorted(signature):
            sig = sorted(signature[index])
            piece = atoms[index]
            if (index == previous + 1 and sig == previous_sig
                    and atoms[first].version == piece.version):
                ranges[first] = ExternalRange(piece.version, atoms[first].start, piece.end)
            else:
                first = index
                ranges[index] = ExternalRange(piece.version, piece.start, piece.end)
            previous, previous_sig = index, sig
        return ranges

    def reach_delta(self, old: Policy | None, new: Policy | None) -> ReachDelta:
        """Connections touched by replacing policy ``old`` with ``new`` (either may be None).

        ``old`` is matched among the model's policies by namespace and name. Both results hold
        only the pairs whose source the changed policy selects for egress or whose destination
        it selects for ingress: every other pair cannot change. A ``new`` policy that reads a
        label key or port name, or cuts the address space where, no policy of this analysis
        does is evaluated on an analysis rebuilt with it (the classes would not tell its pods
        apart).
        """
        if new is not None and not self.covers(new):
            return Analysis(self.model, [*self.extra_policies, new]).reach_delta(old, new)
        kept = [c for p, c in zip(self.model.policies, self.compiled, strict=True)
                if old is None or (p.namespace, p.name) != (old.namespace, old.name)]
        changed = [self.compiler.policy(p) for p in (old, new) if p is not None]
        before_policies = kept + [self.compiler.policy(old)] if old is not None else kept
        after_policies = kept + [self.compiler.policy(new)] if new is not None else kept
        rows = {c for p in changed if EGRESS in p.types for c in p.selected}
        columns = {c for p in changed if INGRESS in p.types for c in p.selected}
        return ReachDelta(
            self.to_result(_touched(self.evaluation(before_policies), rows, columns)),
            self.to_result(_touched(self.evaluation(after_policies), rows, columns)))


    def covers(self, policy: Policy) -> bool:
        """True when the classes and atoms of this analysis can evaluate ``policy``."""
        keys, names = referenced_keys([policy])
        return (keys <= self._keys and names <= self._port_names
                and self.space.has_cuts(_networks([policy])))


def _touched(evaluation: Evaluation, rows: set[int], columns: set[int]) -> NodePairs:
    pairs: NodePairs = {}
    for src in rows:
        for dst, conns in evaluation.row(src).items():
            pairs[(src, dst)] = conns
    for dst in columns:
        for src, conns in evaluation.column(dst).items():
            pairs[(src, dst)] = conns
    return pairs


def analyse(objects: Iterable[InputObject]) -> Result:
    """The connectivity of a set of objects (see the module docstrings for the semantics)."""
    return Analysis(build_model(objects)).result()


def reach_delta(objects: Iterable[InputObject], old: Policy | None,
                new: Policy | None) -> ReachDelta:
    """What replacing ``old`` by ``new`` among ``objects`` changes (only touched pairs)."""
    model = build_model(objects)
    return Analysis(model, [p for p in (new,) if p is not None]).reach_delta(old, new)
