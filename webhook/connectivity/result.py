"""The result of an analysis: the one structure every output format is fed from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from webhook.connectivity.ipspace import address_text, range_cidrs
from webhook.connectivity.ports import Conns, conns_text


@dataclass(frozen=True, slots=True)
class Workload:
    """A workload: a controller and its pods, or a lone Pod."""

    namespace: str
    name: str
    kind: str
    pods: int
    # ``namespace/name[Kind]``; computed once (every line and every document entry names it).
    id: str = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", f"{self.namespace}/{self.name}[{self.kind}]")


@dataclass(frozen=True, slots=True)
class ExternalRange:
    """An inclusive range of addresses outside the cluster (IPv4 or IPv6)."""

    version: int
    start: int
    end: int
    # ``a.b.c.d-e.f.g.h[External]``; computed once.
    id: str = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", f"{self.start_text}-{self.end_text}[External]")

    @property
    def start_text(self) -> str:
        return address_text(self.version, self.start)

    @property
    def end_text(self) -> str:
        return address_text(self.version, self.end)

    @property
    def cidrs(self) -> list[str]:
        return range_cidrs(self.version, self.start, self.end)


Node = Workload | ExternalRange


class Connection(NamedTuple):
    """``src`` may reach ``dst`` with ``conns`` (never empty).

    A named tuple: a result may hold hundreds of thousands, and a frozen dataclass costs
    several times as much to build."""

    src: Node
    dst: Node
    conns: Conns


def node_sort_key(node: Node) -> tuple[int, int, int, str]:
    """Externals by family and start address, workloads by id."""
    if isinstance(node, ExternalRange):
        return (0, node.version, node.start, "")
    return (1, 0, 0, node.id)


@dataclass(slots=True)
class Result:
    """Workloads, the external ranges in connections, the allowed connections, warnings."""

    workloads: list[Workload]
    connections: list[Connection]
    warnings: list[str] = field(default_factory=list)

    @property
    def externals(self) -> list[ExternalRange]:
        """The external ranges that appear in connections, by family and start."""
        found = {node for c in self.connections for node in (c.src, c.dst)
                 if isinstance(node, ExternalRange)}
        return sorted(found, key=lambda r: (r.version, r.start, r.end))

    @property
    def namespaces(self) -> list[str]:
        return sorted({w.namespace for w in self.workloads})

    def lines(self) -> list[str]:
        """``SRC => DST : CONNS`` sorted, the reference analyzer's text form."""
        return sorted(f"{c.src.id} => {c.dst.id} : {conns_text(c.conns)}"
                      for c in self.connections)


def filtered(result: Result, keep: set[str]) -> Result:
    """Only the connections with a workload of ``keep`` (ids) at one end, and the workloads in
    those connections or in ``keep``."""
    connections = [c for c in result.connections if c.src.id in keep or c.dst.id in keep]
    seen = {n.id for c in connections for n in (c.src, c.dst)} | keep
    return Result([w for w in result.workloads if w.id in seen], connections,
                  list(result.warnings))
