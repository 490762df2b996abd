"""`-o dot` and `-o svg`: the connectivity graph for Graphviz users and for documents.

DOT is written by hand (it is a small text format); SVG comes from the system `dot` binary, the
one tool Graphviz users already have. Without it, `render_svg` raises GraphvizMissing whose
message is the single line the CLI prints before exiting 2.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

from .model import EXTERNAL_GROUP, Graph, build_graph

INSTALL_HINT = "install Graphviz (apt-get install graphviz, or brew install graphviz)"

_WORKLOAD_FILL = "#dbeafe"
_EXTERNAL_FILL = "#fde7c8"
_ALL_COLOUR = "#c0392b"
_PORTS_COLOUR = "#4a5568"
# Past this many edges, labels are placed after the layout (xlabel) and network simplex is capped:
# with a virtual node per label, Graphviz 2.43 takes minutes on the fixtures' 500-edge cases.
DENSE_EDGES = 80


class GraphvizMissing(RuntimeError):
    """`dot` is not on PATH; str(error) is one line that says what to install."""


class GraphvizFailed(RuntimeError):
    """`dot` ran and failed; str(error) is its first line of complaint."""


def quote(text: str) -> str:
    """A DOT double-quoted string. DOT itself unescapes only \\"; backslashes are doubled so
    that label escapes (\\n, \\l) cannot be smuggled in and a trailing one cannot eat the quote."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _cluster_name(index: int, group: str) -> str:
    # Subgraph names must start with "cluster" to be drawn as boxes; an index keeps them unique.
    return quote(f"cluster_{index}_{group}")


def _node_lines(graph: Graph, group: str, indent: str) -> list[str]:
    lines = []
    for n in graph.nodes:
        if n.group != group:
            continue
        attrs = [f"label={quote(n.title + chr(10) + n.subtitle)}", f"tooltip={quote(n.detail)}"]
        if n.external:
            attrs += ["shape=box", 'style="filled,dashed"', f'fillcolor="{_EXTERNAL_FILL}"']
        lines.append(f"{indent}{quote(n.id)} [{', '.join(attrs)}];")
    return lines


def _group_lines(graph: Graph) -> list[str]:
    lines = []
    for i, group in enumerate(graph.groups):
        label = group if group == EXTERNAL_GROUP else f"namespace {group}"
        style = "dashed" if group == EXTERNAL_GROUP else "rounded"
        lines.append(f"  subgraph {_cluster_name(i, group)} {{")
        lines.append(f'    label={quote(label)}; style="{style}"; color="#94a3b8";')
        lines.extend(_node_lines(graph, group, "    "))
        lines.append("  }")
    return lines


def render_dot(doc: dict[str, Any]) -> str:
    """The document as a DOT digraph: a cluster per namespace, one for external ranges,
    edges labelled with the allowed protocols and ports (red for All Connections)."""
    graph = build_graph(doc)
    dense = len(graph.edges) > DENSE_EDGES
    # newrank: without it, edges between clusters end in "trouble in init_rank" (Graphviz 2.43).
    tuning = "newrank=true" + (", nslimit=2, nslimit1=2" if dense else "")
    label = "xlabel" if dense else "label"
    lines = [
        "digraph connectivity {",
        f'  graph [rankdir=LR, {tuning}, fontname="Helvetica", fontsize=12, nodesep=0.3,'
        " ranksep=1.1];",
        f'  node [shape=box, style="rounded,filled", fillcolor="{_WORKLOAD_FILL}",'
        ' fontname="Helvetica", fontsize=10];',
        f'  edge [fontname="Helvetica", fontsize=9, color="{_PORTS_COLOUR}",'
        f' fontcolor="{_PORTS_COLOUR}"];',
    ]
    lines.extend(_group_lines(graph))
    for e in graph.edges:
        attrs = [f"{label}={quote(e.label)}"]
        if e.all:
            attrs += [f'color="{_ALL_COLOUR}"', f'fontcolor="{_ALL_COLOUR}"', "penwidth=1.6"]
        lines.append(f"  {quote(e.src)} -> {quote(e.dst)} [{', '.join(attrs)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_svg(doc: dict[str, Any]) -> str:
    """The DOT graph drawn by the system `dot` binary as SVG text."""
    binary = shutil.which("dot")
    if binary is None:
        raise GraphvizMissing(f"-o svg needs the Graphviz `dot` command, not found on PATH: "
                              f"{INSTALL_HINT}; or use -o dot or -o html")
    proc = subprocess.run(
        [binary, "-Tsvg"], input=render_dot(doc), capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        first = next((ln for ln in proc.stderr.splitlines() if ln.strip()), "no message")
        raise GraphvizFailed(f"dot -Tsvg failed (exit {proc.returncode}): {first}")
    return proc.stdout
