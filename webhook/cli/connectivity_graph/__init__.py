"""Pictures of a ConnectivityReport document: `-o dot`, `-o svg` and `-o html`.

All three take the `-o json` document (the connectivity core's `to_document`) and draw the same
graph: namespaces as groups, workloads as nodes, external ranges as their own nodes, one edge per
allowed connection labelled with its protocols and ports.
"""

from .dot import GraphvizFailed, GraphvizMissing, render_dot, render_svg
from .page import render_html

__all__ = ["GraphvizFailed", "GraphvizMissing", "render_dot", "render_html", "render_svg"]
