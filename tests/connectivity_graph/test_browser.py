"""The HTML picture in a real headless Chromium: every workload drawn, clicks filter the edges.

Driven over the DevTools protocol (cdp.py): the page is opened from a file, its drawn state read
from cytoscape, and clicks are real mouse events at the positions where the nodes are drawn.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.connectivity_graph.cdp import Browser, chromium_or_skip
from tests.connectivity_graph.connlist_doc import case_document, document_from_connlist
from webhook.cli.connectivity_graph import render_html

STATE = """(() => {
  const cy = netpolGraph.cy, r = cy.container().getBoundingClientRect();
  return {
    rect: {x: r.left, y: r.top, w: r.width, h: r.height},
    nodes: cy.nodes('.workload, .external').map(n => ({
      id: n.id(), visible: n.visible(), faded: n.hasClass('faded'), pos: n.renderedPosition(),
      bb: n.renderedBoundingBox({includeLabels: true})})),
    edges: cy.edges().filter(e => e.visible()).map(e => [e.source().id(), e.target().id()]),
    ingress: document.querySelectorAll('#ingress li').length,
    egress: document.querySelectorAll('#egress li').length,
    selectionShown: !document.getElementById('selection').hidden,
  };
})()"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    b = Browser(chromium_or_skip(), width=1400, height=900)
    yield b
    b.close()


def _open(browser: Browser, tmp_path: Path, doc: dict[str, Any]) -> Path:
    page = tmp_path / "connectivity.html"
    page.write_text(render_html(doc), encoding="utf-8")
    browser.events.clear()
    browser.open(page)
    assert browser.evaluate("document.body.dataset.ready") == "1"
    return page


def _pairs(doc: dict[str, Any], keep: Any = lambda c: True) -> set[tuple[str, str]]:
    return {(c["src"], c["dst"]) for c in doc["connections"] if keep(c)}


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return a["x1"] < b["x2"] and b["x1"] < a["x2"] and a["y1"] < b["y2"] and b["y1"] < a["y2"]


@pytest.mark.parametrize("case", ["onlineboutique", "new_online_boutique",
                                  "multiple_topology_resources_1", "ipblockstest"])
def test_every_workload_and_connection_is_drawn_apart_and_nothing_is_fetched(
        browser: Browser, tmp_path: Path, case: str) -> None:
    doc = case_document(case)
    page = _open(browser, tmp_path, doc)
    state = browser.evaluate(STATE)
    drawn = {n["id"]: n for n in state["nodes"]}
    assert set(drawn) == {w["id"] for w in doc["workloads"]} | {e["id"] for e in doc["externals"]}
    rect = state["rect"]
    for node in drawn.values():
        bb = node["bb"]
        assert node["visible"] and not node["faded"], node["id"]
        assert 0 <= bb["x1"] < bb["x2"] <= rect["w"] and 0 <= bb["y1"] < bb["y2"] <= rect["h"], node
    nodes = list(drawn.values())
    for i, a in enumerate(nodes):
        for b in nodes[i + 1:]:
            assert not _overlap(a["bb"], b["bb"]), (a["id"], b["id"])
    assert sorted(map(tuple, state["edges"])) == sorted(_pairs(doc))
    assert browser.requested_urls() == [page.resolve().as_uri()]


def _busiest_with_both_directions(doc: dict[str, Any]) -> str:
    ids = [w["id"] for w in doc["workloads"]]
    both = [i for i in ids if _pairs(doc, lambda c, i=i: c["dst"] == i)
            and _pairs(doc, lambda c, i=i: c["src"] == i)]
    return max(both, key=lambda i: len(_pairs(doc, lambda c: i in (c["src"], c["dst"]))))


@pytest.mark.parametrize("case", ["onlineboutique", "multiple_topology_resources_1"])
def test_clicking_a_workload_leaves_only_its_edges_and_the_background_brings_all_back(
        browser: Browser, tmp_path: Path, case: str) -> None:
    doc = case_document(case)
    _open(browser, tmp_path, doc)
    target = _busiest_with_both_directions(doc)
    mine = _pairs(doc, lambda c: target in (c["src"], c["dst"]))
    assert 0 < len(mine) < len(doc["connections"])
    state = browser.evaluate(STATE)
    rect, node = state["rect"], next(n for n in state["nodes"] if n["id"] == target)

    browser.click(rect["x"] + node["pos"]["x"], rect["y"] + node["pos"]["y"])
    state = browser.evaluate(STATE)
    assert set(map(tuple, state["edges"])) == mine
    peers = {end for pair in mine for end in pair}
    assert {n["id"] for n in state["nodes"] if not n["faded"]} == peers
    assert state["selectionShown"]
    assert (state["ingress"], state["egress"]) == (
        len({s for s, d in mine if d == target}), len({d for s, d in mine if s == target}))

    browser.click(rect["x"] + 4, rect["y"] + 4)  # inside the fit padding: background
    state = browser.evaluate(STATE)
    assert set(map(tuple, state["edges"])) == _pairs(doc)
    assert not state["selectionShown"]
    assert not any(n["faded"] for n in state["nodes"])


CHECKBOX = """(() => {
  const box = [...document.querySelectorAll('#ns-list input')].find(b => b.value === %s);
  const r = box.getBoundingClientRect();
  return {x: r.left + r.width / 2, y: r.top + r.height / 2, checked: box.checked};
})()"""


def test_the_namespace_filter_hides_a_namespace_with_its_edges(
        browser: Browser, tmp_path: Path) -> None:
    doc = case_document("ipblockstest")
    _open(browser, tmp_path, doc)
    hidden_ns = "kube-system"
    members = {w["id"] for w in doc["workloads"] if w["namespace"] == hidden_ns}
    assert members and len(doc["namespaces"]) > 1
    box = browser.evaluate(CHECKBOX % repr(hidden_ns))
    browser.click(box["x"], box["y"])
    assert browser.evaluate(CHECKBOX % repr(hidden_ns))["checked"] is False

    state = browser.evaluate(STATE)
    assert {n["id"] for n in state["nodes"] if not n["visible"]} == members
    assert set(map(tuple, state["edges"])) == _pairs(
        doc, lambda c: c["src"] not in members and c["dst"] not in members)
    for node in state["nodes"]:  # the rest is laid out again inside the view
        if node["visible"]:
            assert 0 <= node["bb"]["x1"] and node["bb"]["x2"] <= state["rect"]["w"], node

    button = browser.evaluate("(() => { const r = document.getElementById('ns-all')"
                              ".getBoundingClientRect(); "
                              "return {x: r.left + 5, y: r.top + 5}; })()")
    browser.click(button["x"], button["y"])
    state = browser.evaluate(STATE)
    assert all(n["visible"] for n in state["nodes"])
    assert set(map(tuple, state["edges"])) == _pairs(doc)


def test_hostile_names_are_drawn_as_text_and_run_nothing(browser: Browser, tmp_path: Path) -> None:
    from tests.connectivity_graph.test_html import HOSTILE, _hostile_document

    doc = _hostile_document()
    _open(browser, tmp_path, doc)
    assert browser.evaluate("typeof window.pwned") == "undefined"
    titles = browser.evaluate("netpolGraph.cy.nodes('.workload').map(n => n.data('title'))")
    assert HOSTILE in titles
    assert browser.evaluate("document.querySelector('#warning-list li').textContent") == HOSTILE


def test_the_real_html_output_with_exposure_in_the_browser(
        browser: Browser, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.connectivity_graph.test_command import connectivity, real_document

    doc = real_document(capsys, "--exposure")
    page = tmp_path / "real.html"
    page.write_text(connectivity(capsys, "-o", "html", "--exposure"), encoding="utf-8")
    browser.events.clear()
    browser.open(page)
    state = browser.evaluate(STATE)
    assert {n["id"] for n in state["nodes"] if n["visible"]} == (
        {w["id"] for w in doc["workloads"]} | {e["id"] for e in doc["externals"]})
    assert sorted(map(tuple, state["edges"])) == sorted(_pairs(doc))
    marked = browser.evaluate("netpolGraph.cy.nodes('.exposed').map(n => n.id())")
    assert marked == doc["exposure"]["fromOutside"]
    assert browser.evaluate("document.getElementById('legend-exposed').hidden") is False
    headings = browser.evaluate(
        "[...document.querySelectorAll('#exposure-body h2')].map(h => h.textContent)")
    assert "reachable from outside the cluster (1)" in headings
    assert browser.requested_urls() == [page.resolve().as_uri()]


def test_an_empty_report_is_an_empty_page_not_an_error(browser: Browser, tmp_path: Path) -> None:
    doc = document_from_connlist("")
    _open(browser, tmp_path, doc)
    assert browser.evaluate("netpolGraph.cy.elements().length") == 0
    assert browser.evaluate("document.getElementById('counts').textContent") == (
        "0 workloads · 0 external ranges · 0 connections")
