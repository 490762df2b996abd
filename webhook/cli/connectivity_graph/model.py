"""What every picture shows, read once from a ConnectivityReport document.

The dot, svg and html writers draw the same graph: one group per namespace, one node per workload,
one group of external ranges, one labelled edge per allowed connection. This module turns the
contract's document (see `to_document` in the connectivity core) into that graph, so the writers
differ only in how they draw it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The group that holds the external address ranges; not a namespace name (those have no spaces).
EXTERNAL_GROUP = "outside the cluster"


@dataclass(frozen=True)
class Node:
    id: str
    group: str  # namespace name, or EXTERNAL_GROUP
    title: str  # first label line: workload name or address range
    subtitle: str  # second label line: kind and pods, or "external"
    external: bool
    detail: str  # tooltip: the full id and, for externals, every CIDR


@dataclass(frozen=True)
class Edge:
    src: str
    dst: str
    label: str  # the contract's `conns` text: "TCP 7070", "SCTP 1-65535,TCP 80", "All Connections"
    all: bool


@dataclass(frozen=True)
class Graph:
    groups: list[str]  # namespaces in document order, then EXTERNAL_GROUP when there are externals
    nodes: list[Node]
    edges: list[Edge]


def _workload_node(wl: dict[str, Any]) -> Node:
    pods = int(wl.get("pods", 0))
    kind = str(wl.get("kind", ""))
    subtitle = f"{kind} · {pods} pod{'s' if pods != 1 else ''}" if pods else kind
    return Node(
        id=str(wl["id"]),
        group=str(wl["namespace"]),
        title=str(wl["name"]),
        subtitle=subtitle,
        external=False,
        detail=str(wl["id"]),
    )


def external_title(ext: dict[str, Any]) -> str:
    """The CIDRs when they are few (`0.0.0.0/0` reads better than its range), else the range."""
    cidrs = [str(c) for c in ext.get("cidrs", [])]
    if 0 < len(cidrs) <= 2:
        return ", ".join(cidrs)
    return f"{ext['start']} - {ext['end']}"


def _external_node(ext: dict[str, Any]) -> Node:
    cidrs = ", ".join(str(c) for c in ext.get("cidrs", []))
    return Node(
        id=str(ext["id"]),
        group=EXTERNAL_GROUP,
        title=external_title(ext),
        subtitle="external range",
        external=True,
        detail=f"{ext['id']}\n{cidrs}" if cidrs else str(ext["id"]),
    )


def build_graph(doc: dict[str, Any]) -> Graph:
    """The graph of a ConnectivityReport. A connection end that the document does not list as a
    workload or external (a hand-made document) still gets a node, so no edge is lost."""
    nodes = [_workload_node(w) for w in doc.get("workloads", [])]
    nodes += [_external_node(e) for e in doc.get("externals", [])]
    known = {n.id for n in nodes}
    edges = []
    for c in doc.get("connections", []):
        edge = Edge(str(c["src"]), str(c["dst"]), str(c["conns"]), bool(c.get("all", False)))
        for end in (edge.src, edge.dst):
            if end not in known:
                known.add(end)
                nodes.append(_orphan_node(end))
        edges.append(edge)
    groups = [str(ns) for ns in doc.get("namespaces", [])]
    for n in nodes:
        if n.group not in groups and n.group != EXTERNAL_GROUP:
            groups.append(n.group)
    if any(n.external for n in nodes):
        groups.append(EXTERNAL_GROUP)
    return Graph(groups=groups, nodes=nodes, edges=edges)


def _orphan_node(node_id: str) -> Node:
    if node_id.endswith("[External]"):
        rng = node_id[: -len("[External]")]
        return Node(node_id, EXTERNAL_GROUP, rng, "external range", True, node_id)
    ns, _, rest = node_id.partition("/")
    name, _, kind = rest.partition("[")
    return Node(node_id, ns, name or node_id, kind.rstrip("]"), False, node_id)
