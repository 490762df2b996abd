"""`-o dot` and `-o svg`: Graphviz reads what we write, and every node and edge is in it."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.connectivity_graph.connlist_doc import case_document, document_from_connlist
from webhook.cli.connectivity_graph import (
    GraphvizFailed,
    GraphvizMissing,
    render_dot,
    render_svg,
)

CASES = ["onlineboutique", "new_online_boutique", "ipblockstest", "multiple_topology_resources_1"]


@pytest.fixture
def graphviz() -> str:
    """`dot`'s path. Skips without it, except in CI (.ci/run installs Debian's graphviz)."""
    found = shutil.which("dot")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("Graphviz `dot` is not on PATH; .ci/run installs Debian's graphviz")
    pytest.skip("Graphviz `dot` is not on PATH (apt-get install graphviz)")


# Ids no Kubernetes name can have, to prove the quoting: quotes, backslashes (a trailing one
# would eat the closing quote), DOT keywords and punctuation, a newline, non-ASCII.
def _odd_document() -> dict[str, Any]:
    doc = document_from_connlist("ns/a[Pod] => ns/b[Pod] : TCP 80\n"
                                 "ns/b[Pod] => ns/c[Pod] : All Connections\n"
                                 "ns/c[Pod] => ns/d[Pod] : TCP 1-2,UDP 53\n")
    names = {"ns/a[Pod]": 'a"b', "ns/b[Pod]": "c\\", "ns/c[Pod]": "subgraph{ -> }",
             "ns/d[Pod]": "ünïcode;x=y\nz"}
    ids = {old: f"ns/{new}[Pod]" for old, new in names.items()}
    for w in doc["workloads"]:
        w["name"], w["id"] = names[w["id"]], ids[w["id"]]
    for c in doc["connections"]:
        c["src"], c["dst"] = ids[c["src"]], ids[c["dst"]]
    return doc


ODD = _odd_document()

def _node_and_edge_statements(dot: str) -> tuple[list[str], list[tuple[str, str]]]:
    """Node and edge statements of our DOT, unquoted (a reader for the subset we write)."""
    quoted = r'"((?:[^"\\]|\\.)*)"'
    nodes = re.findall(rf"^\s*{quoted} \[", dot, flags=re.M)
    edges = re.findall(rf"^\s*{quoted} -> {quoted} \[", dot, flags=re.M)

    def unquote(s: str) -> str:
        return re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m[1], m[1]), s)

    return [unquote(n) for n in nodes], [(unquote(a), unquote(b)) for a, b in edges]


def _ids(doc: dict[str, Any]) -> set[str]:
    return {w["id"] for w in doc["workloads"]} | {e["id"] for e in doc["externals"]}


@pytest.mark.parametrize("case", CASES)
def test_dot_names_every_node_once_and_every_connection_as_an_edge(case: str) -> None:
    doc = case_document(case)
    nodes, edges = _node_and_edge_statements(render_dot(doc))
    assert sorted(nodes) == sorted(_ids(doc))
    assert edges == [(c["src"], c["dst"]) for c in doc["connections"]]


def test_dot_clusters_per_namespace_and_labels_edges_with_the_connections() -> None:
    doc = case_document("ipblockstest")
    dot = render_dot(doc)
    for ns in doc["namespaces"]:
        assert f'label="namespace {ns}";' in dot
    assert 'label="outside the cluster";' in dot
    for c in doc["connections"]:
        edge = f'  "{c["src"]}" -> "{c["dst"]}"'
        line = next(ln for ln in dot.splitlines() if ln.startswith(edge))
        assert f'xlabel="{c["conns"]}"' in line  # a dense graph: labels placed after layout
        assert ('color="#c0392b"' in line) == c["all"]


def _graphviz_json(graphviz: str, dot: str) -> dict[str, Any]:
    done = subprocess.run([graphviz, "-Tjson"], input=dot, capture_output=True, text=True,
                          check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    parsed: dict[str, Any] = json.loads(done.stdout)
    return parsed


@pytest.mark.parametrize("doc", [case_document("ipblockstest"), ODD, document_from_connlist("")],
                         ids=["ipblockstest", "odd", "empty"])
def test_graphviz_reads_every_node_cluster_and_edge_back(graphviz: str,
                                                        doc: dict[str, Any]) -> None:
    graph = _graphviz_json(graphviz, render_dot(doc))
    objects = graph.get("objects", [])  # absent when the graph is empty
    leaves = [o for o in objects if "nodes" not in o]
    # DOT keeps a quoted id as written except \" -> "; ours also spell \ and a newline as \\, \n.
    names = [re.sub(r"\\([\\n])", lambda m: "\n" if m[1] == "n" else "\\", o["name"])
             for o in leaves]
    assert sorted(names) == sorted(_ids(doc))
    clusters = {o["label"] for o in objects if "nodes" in o}
    outside = {"outside the cluster"} if doc["externals"] else set()
    assert clusters == {f"namespace {ns}" for ns in doc["namespaces"]} | outside
    by_index = {o["_gvid"]: n for o, n in zip(leaves, names, strict=True)}
    edges = [(by_index[e["tail"]], by_index[e["head"]], e.get("label", e.get("xlabel")))
             for e in graph.get("edges", [])]
    assert sorted(edges) == sorted((c["src"], c["dst"], c["conns"]) for c in doc["connections"])


@pytest.mark.parametrize("case", CASES)
def test_svg_draws_every_workload_and_external(graphviz: str, case: str) -> None:
    doc = case_document(case)
    svg = render_svg(doc)
    assert svg.lstrip().startswith("<?xml") and svg.rstrip().endswith("</svg>")
    titles = {html.unescape(t) for t in re.findall(r"<title>(.*?)</title>", svg)}
    assert _ids(doc) <= titles
    texts = {html.unescape(t) for t in re.findall(r"<text\b[^>]*>(.*?)</text>", svg)}
    assert {w["name"] for w in doc["workloads"]} <= texts


def _path_with(tmp_path: Path, **programs: str) -> str:
    """A PATH of one directory holding only the given shell scripts."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name, body in programs.items():
        script = bindir / name
        script.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
        script.chmod(0o755)
    return str(bindir)


def test_svg_without_dot_is_one_line_that_says_what_to_install(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", _path_with(tmp_path))
    with pytest.raises(GraphvizMissing) as caught:
        render_svg(case_document("onlineboutique"))
    message = str(caught.value)
    assert "\n" not in message
    assert "apt-get install graphviz" in message and "-o dot" in message


def test_svg_when_dot_fails_says_how(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", _path_with(tmp_path, dot="echo 'Error: syntax error in line 3' >&2"
                                                        "\nexit 1"))
    with pytest.raises(GraphvizFailed, match=r"^dot -Tsvg failed \(exit 1\): Error: syntax error "
                                             r"in line 3$"):
        render_svg(case_document("onlineboutique"))
