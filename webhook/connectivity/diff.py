"""What a change does to connectivity: the pairs added, removed and changed between two results.

External ranges may be cut differently on the two sides, so both sides' ranges are first cut into
common atoms (at every start and one past every end of either side); pairs are compared per atom,
and adjacent atoms with the same difference for every workload are merged again for display.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass

from webhook.connectivity.ports import NO_CONNS, Conns, conns_text
from webhook.connectivity.result import ExternalRange, Node, Result, Workload

ADDED = "added"
REMOVED = "removed"
CHANGED = "changed"


@dataclass(frozen=True, slots=True)
class DiffEntry:
    """One pair whose connections differ; ``workload_info`` names a workload on one side only."""

    kind: str
    src: Node
    dst: Node
    ref1: Conns
    ref2: Conns
    workload_info: str | None = None


@dataclass(slots=True)
class ConnectivityDiff:
    """The differences, sorted as their text lines."""

    entries: list[DiffEntry]

    def has(self, kind: str) -> bool:
        """True when some entry is of ``kind`` (``any``: any entry at all)."""
        return any(kind in ("any", e.kind) for e in self.entries)


def _cuts(results: Iterable[Result]) -> dict[int, list[int]]:
    cuts: dict[int, set[int]] = {}
    for result in results:
        for external in result.externals:
            found = cuts.setdefault(external.version, set())
            found.update((external.start, external.end + 1))
    return {version: sorted(points) for version, points in cuts.items()}


def _atoms(node: ExternalRange, cuts: dict[int, list[int]]) -> list[ExternalRange]:
    points = cuts[node.version]
    first = bisect.bisect_left(points, node.start)
    out = []
    for index in range(first, len(points) - 1):
        if points[index] > node.end:
            break
        out.append(ExternalRange(node.version, points[index], points[index + 1] - 1))
    return out


def atomised(result: Result, cuts: dict[int, list[int]]) -> dict[tuple[Node, Node], Conns]:
    """The result's connections keyed by (src, dst), external ranges cut at ``cuts``."""
    pairs: dict[tuple[Node, Node], Conns] = {}
    for connection in result.connections:
        sources = (_atoms(connection.src, cuts) if isinstance(connection.src, ExternalRange)
                   else [connection.src])
        destinations = (_atoms(connection.dst, cuts)
                        if isinstance(connection.dst, ExternalRange) else [connection.dst])
        for src in sources:
            for dst in destinations:
                pairs[(src, dst)] = connection.conns
    return pairs


def diff(old: Result, new: Result) -> ConnectivityDiff:
    """``ref1`` is ``old``, ``ref2`` is ``new``."""
    cuts = _cuts((old, new))
    before, after = atomised(old, cuts), atomised(new, cuts)
    old_ids = {w.id for w in old.workloads}
    new_ids = {w.id for w in new.workloads}
    changes: dict[tuple[Node, Node], tuple[Conns, Conns]] = {}
    for pair in before.keys() | after.keys():
        ref1, ref2 = before.get(pair, NO_CONNS), after.get(pair, NO_CONNS)
        if ref1 != ref2:
            changes[pair] = (ref1, ref2)
    entries = [_entry(src, dst, ref1, ref2, old_ids, new_ids)
               for (src, dst), (ref1, ref2) in _merge(changes).items()]
    entries.sort(key=diff_line)
    return ConnectivityDiff(entries)


def _entry(src: Node, dst: Node, ref1: Conns, ref2: Conns, old_ids: set[str],
           new_ids: set[str]) -> DiffEntry:
    kind = ADDED if ref1 == NO_CONNS else REMOVED if ref2 == NO_CONNS else CHANGED
    info = None
    for node in (src, dst):
        if isinstance(node, Workload) and (node.id in old_ids) != (node.id in new_ids):
            info = f"workload {node.id} {'added' if node.id in new_ids else 'removed'}"
            break
    return DiffEntry(kind, src, dst, ref1, ref2, info)


def _merge(changes: dict[tuple[Node, Node], tuple[Conns, Conns]]
           ) -> dict[tuple[Node, Node], tuple[Conns, Conns]]:
    """Adjacent atoms with the same change for every workload (per direction) merged."""
    out = {pair: change for pair, change in changes.items()
           if not isinstance(pair[0], ExternalRange) and not isinstance(pair[1], ExternalRange)}
    for side in (0, 1):  # 0: external source, 1: external destination
        signature: dict[ExternalRange, list[tuple[str, tuple[Conns, Conns]]]] = {}
        others: dict[ExternalRange, list[Node]] = {}
        for pair, change in changes.items():
            external = pair[side]
            if isinstance(external, ExternalRange):
                signature.setdefault(external, []).append((pair[1 - side].id, change))
                others.setdefault(external, []).append(pair[1 - side])
        merged: list[tuple[ExternalRange, list[ExternalRange]]] = []
        previous_sig: list[tuple[str, tuple[Conns, Conns]]] | None = None
        for atom in sorted(signature, key=lambda r: (r.version, r.start)):
            sig = sorted(signature[atom], key=lambda e: e[0])
            last = merged[-1][0] if merged else None
            if (last is not None and sig == previous_sig and last.version == atom.version
                    and last.end + 1 == atom.start):
                merged[-1] = (ExternalRange(atom.version, last.start, atom.end),
                              [*merged[-1][1], atom])
            else:
                merged.append((atom, [atom]))
            previous_sig = sig
        for whole, parts in merged:
            first = parts[0]
            for other in others[first]:
                pair = (first, other) if side == 0 else (other, first)
                out[(whole, other) if side == 0 else (other, whole)] = changes[pair]
    return out


def diff_line(entry: DiffEntry) -> str:
    """``diff-type: changed, source: A, destination: B, ref1: X, ref2: Y`` (the fixtures' form),
    with ``, workloads-diff-info: workload W added`` when a workload is on one side only."""
    line = (f"diff-type: {entry.kind}, source: {entry.src.id}, destination: {entry.dst.id}, "
            f"ref1: {conns_text(entry.ref1)}, ref2: {conns_text(entry.ref2)}")
    return f"{line}, workloads-diff-info: {entry.workload_info}" if entry.workload_info else line

