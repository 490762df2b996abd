"""`-o html`: one file carrying its library, their licences and the document; it loads nothing."""

from __future__ import annotations

import hashlib
import json
import re
from html.parser import HTMLParser
from importlib import resources
from typing import Any

import pytest

from tests.connectivity_graph.connlist_doc import case_document, document_from_connlist
from webhook.cli.connectivity_graph import render_html

PACKAGE = resources.files("webhook.cli.connectivity_graph")
VENDOR = PACKAGE / "vendor"
VENDORED_SCRIPTS = ["cytoscape.min.js", "cytoscape-dagre.min.js", "layout-base.js", "cose-base.js",
                    "cytoscape-fcose.js"]
LICENCES = ["cytoscape", "cytoscape-dagre", "dagre", "graphlib", "layout-base", "cose-base",
            "cytoscape-fcose"]
HOSTILE = "</script><script>window.pwned=1</script><!--&amp;\u2028\u2029>"


class _Elements(HTMLParser):
    """Every start tag with its attributes, and the text of each <script> element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._in_script: dict[str, str | None] | None = None
        self.comments: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = dict(attrs)
            self.scripts.append((self._in_script, ""))

    def handle_data(self, data: str) -> None:
        if self._in_script is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = None

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)


def _parse(page: str) -> _Elements:
    parser = _Elements()
    parser.feed(page)
    parser.close()
    return parser


def _embedded(parsed: _Elements, element_id: str) -> Any:
    [text] = [t for a, t in parsed.scripts if a.get("id") == element_id]
    return json.loads(text)


def _hostile_document() -> dict[str, Any]:
    doc = document_from_connlist("ns/a[Pod] => ns/b[Pod] : TCP 80\n")
    doc["workloads"][0]["name"] = HOSTILE
    doc["warnings"] = [HOSTILE]
    return doc


@pytest.mark.parametrize("case", ["onlineboutique", "ipblockstest"])
def test_the_page_loads_nothing_from_anywhere(case: str) -> None:
    parsed = _parse(render_html(case_document(case)))
    for tag, attrs in parsed.tags:
        for name in ("src", "href", "srcset", "data", "action", "poster"):
            assert attrs.get(name) is None, (tag, attrs)
        assert tag not in {"link", "iframe", "img", "object", "embed", "base", "form"}, tag
    app = parsed.scripts[-1][1]
    assert app == (PACKAGE / "page.js").read_text(encoding="utf-8")
    for remote in ("fetch(", "XMLHttpRequest", "import(", "importScripts", "WebSocket", "http"):
        assert remote not in app


def test_the_page_carries_the_vendored_library_its_licences_and_the_document() -> None:
    doc = case_document("onlineboutique")
    parsed = _parse(render_html(doc))
    inline = [text for attrs, text in parsed.scripts if not attrs]
    assert inline[:-1] == [(VENDOR / n).read_text(encoding="utf-8") for n in VENDORED_SCRIPTS]
    [notice] = parsed.comments
    for name in LICENCES:
        first = (VENDOR / f"LICENSE.{name}").read_text(encoding="utf-8").strip().splitlines()[0]
        assert f"== {name} ==" in notice and first.replace("--", "- -") in notice
    assert _embedded(parsed, "netpol-doc") == doc
    view = _embedded(parsed, "netpol-view")
    assert [n["id"] for n in view["nodes"]] == [w["id"] for w in doc["workloads"]] + [
        e["id"] for e in doc["externals"]]


def test_hostile_names_stay_data() -> None:
    doc = _hostile_document()
    page = render_html(doc, title=HOSTILE)
    parsed = _parse(page)
    # Exactly our scripts: two JSON blocks, the vendored ones, the page's own; none injected.
    assert len(parsed.scripts) == 2 + len(VENDORED_SCRIPTS) + 1
    assert _embedded(parsed, "netpol-doc") == doc
    for attrs, text in parsed.scripts[:2]:  # old JavaScript parsers end a line at these
        assert attrs["type"] == "application/json"
        assert "\u2028" not in text and "\u2029" not in text and "<" not in text
    [title] = re.findall(r"<title>(.*?)</title>", page)
    assert "<" not in title and ">" not in title


def test_vendored_files_are_the_published_ones_listed_in_the_vendor_readme() -> None:
    readme = (VENDOR / "README.md").read_text(encoding="utf-8")
    listed = dict((name, digest) for digest, name in
                  re.findall(r"^\s+([0-9a-f]{64})  (\S+)$", readme, flags=re.M))
    assert sorted(listed) == sorted(VENDORED_SCRIPTS)
    for name, digest in listed.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
    for name in LICENCES:
        assert "Permission is hereby granted" in (VENDOR / f"LICENSE.{name}").read_text("utf-8")
