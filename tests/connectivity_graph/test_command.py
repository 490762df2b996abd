"""The pictures of the real `netpol-guard connectivity` output, through the CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.connectivity_graph.connlist_doc import CASES, case_document
from tests.connectivity_graph.test_dot import _node_and_edge_statements
from tests.connectivity_graph.test_html import _embedded, _parse
from webhook.cli.connectivity_graph import render_dot, render_html
from webhook.cli.main import main

ONLINEBOUTIQUE = str(CASES / "onlineboutique")


def connectivity(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code = main(["connectivity", "-f", ONLINEBOUTIQUE, *args])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def real_document(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(connectivity(capsys, "-o", "json", *args))
    return doc


def test_the_real_document_is_drawn_whole(capsys: pytest.CaptureFixture[str]) -> None:
    doc = real_document(capsys)
    # The analysis agrees with the fixture, so the picture of either is the same graph.
    expected = case_document("onlineboutique")
    assert [c["src"] + c["dst"] + c["conns"] for c in doc["connections"]] == [
        c["src"] + c["dst"] + c["conns"] for c in expected["connections"]]

    dot = connectivity(capsys, "-o", "dot")
    assert dot == render_dot(doc)
    nodes, edges = _node_and_edge_statements(dot)
    assert sorted(nodes) == sorted([w["id"] for w in doc["workloads"]] +
                                   [e["id"] for e in doc["externals"]])
    assert edges == [(c["src"], c["dst"]) for c in doc["connections"]]

    page = connectivity(capsys, "-o", "html")
    assert page == render_html(doc)
    assert _embedded(_parse(page), "netpol-doc") == doc


def test_html_with_exposure_carries_it(capsys: pytest.CaptureFixture[str]) -> None:
    doc = real_document(capsys, "--exposure")
    assert doc["exposure"]["fromOutside"] == ["default/redis-cart-78746d49dc[ReplicaSet]"]
    page = connectivity(capsys, "-o", "html", "--exposure")
    assert _embedded(_parse(page), "netpol-doc") == doc


def test_svg_without_graphviz_is_exit_2_and_one_line(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no `dot`
    code = main(["connectivity", "-f", ONLINEBOUTIQUE, "-o", "svg"])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    [line] = [ln for ln in err.splitlines() if not ln.startswith("warning: ")]
    assert line.startswith("netpol-guard connectivity: -o svg needs the Graphviz `dot` command")
    assert "apt-get install graphviz" in line
