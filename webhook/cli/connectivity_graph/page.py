"""`-o html`: one self-contained page that draws the connectivity graph in a browser.

The page carries everything it runs: the vendored cytoscape.js with its dagre and fcose layouts
(vendor/, MIT, licences written into the page), the page script and the document itself as inert
JSON. Nothing is fetched when it is viewed, so it can be attached to a ticket or opened from a CI
artefact offline.
"""

from __future__ import annotations

import functools
import html
import json
import re
from dataclasses import asdict
from importlib import resources
from typing import Any

from .model import EXTERNAL_GROUP, build_graph

# In load order: cytoscape, then its two layouts (dagre for flows, fcose for dense graphs; fcose
# needs cose-base, which needs layout-base).
_VENDOR_SCRIPTS = ("cytoscape.min.js", "cytoscape-dagre.min.js", "layout-base.js", "cose-base.js",
                   "cytoscape-fcose.js")
_LICENCES = ("cytoscape", "cytoscape-dagre", "dagre", "graphlib", "layout-base", "cose-base",
             "cytoscape-fcose")


@functools.cache
def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def json_for_script(value: Any) -> str:
    """JSON that cannot end or confuse the <script> element holding it: `<`, `>` and `&` as \\u
    escapes (so no `</script>` or `<!--`), and the two line separators JavaScript once rejected."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escape)
    return text


def _script_text(code: str) -> str:
    # Vendored code has no `</script` today; this keeps an update from silently breaking the page
    # (`<\/` means `</` inside the JavaScript strings and regexes where such text can appear).
    return re.sub(r"</(script)", r"<\\/\1", code, flags=re.IGNORECASE)


def _licences() -> str:
    parts = [f"== {name} ==\n{_asset(f'vendor/LICENSE.{name}').strip()}" for name in _LICENCES]
    # They sit in an HTML comment, which these two strings would end or confuse.
    return "\n\n".join(parts).replace("--", "- -").replace("<!", "< !")


def render_html(doc: dict[str, Any], title: str = "netpol-guard: who can reach whom") -> str:
    """The document as a standalone HTML page (about 850 KB, most of it the vendored scripts)."""
    graph = build_graph(doc)
    view = {
        "externalGroup": EXTERNAL_GROUP,
        "groups": graph.groups,
        "nodes": [asdict(n) for n in graph.nodes],
    }
    slots = {
        "TITLE": html.escape(title),
        "LICENCES": _licences(),
        "DOCUMENT": json_for_script(doc),
        "VIEW": json_for_script(view),
        "VENDOR": "\n".join(
            f"<script>{_script_text(_asset('vendor/' + name))}</script>" for name in _VENDOR_SCRIPTS
        ),
        "APP": _script_text(_asset("page.js")),
    }
    # One pass, so text inside a slot (a workload named @@APP@@) is never taken for a slot.
    return re.sub(r"@@([A-Z]+)@@", lambda m: slots[m.group(1)], _asset("page.html"))
