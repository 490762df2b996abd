"""Writers for ``connectivity`` and ``diff``: txt, csv, md and json, all fed from one result.

``txt`` is the reference analyzer's line format (``SRC => DST : CONNS``; ``Connectivity diff:``
then ``diff-type: ...`` lines), so that both tools' outputs can be compared by anyone.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Iterable
from typing import Any

from webhook.connectivity.diff import ConnectivityDiff, diff_line
from webhook.connectivity.document import API_VERSION, document_json
from webhook.connectivity.exposure import Exposure
from webhook.connectivity.ports import conns_text
from webhook.connectivity.result import Result

EXPOSURE_TITLES = (
    ("fromAllNamespaces", "from_all_namespaces", "Reachable from every namespace"),
    ("fromAnyPod", "from_any_pod", "Reachable from any pod"),
    ("fromOutside", "from_outside", "Reachable from outside the cluster"),
    ("toWholeWorld", "to_whole_world", "Can reach the whole world"),
)


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_connectivity(result: Result, output: str, exposure: Exposure | None = None) -> str:
    """The result in ``txt``, ``csv``, ``md`` or ``json``."""
    if output == "json":
        # Compact, from pre-serialised fragments (see document_json).
        return document_json(result, exposure) + "\n"
    if output == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["src", "dst", "conns"])
        for c in result.connections:
            writer.writerow([c.src.id, c.dst.id, conns_text(c.conns)])
        return buffer.getvalue()
    if output == "md":
        rows = ["| src | dst | conns |", "|-----|-----|-------|"]
        rows += [f"| {_md_cell(c.src.id)} | {_md_cell(c.dst.id)} | {conns_text(c.conns)} |"
                 for c in result.connections]
        text = "\n".join(rows) + "\n"
        if exposure is not None:
            text += "\n" + _exposure_md(exposure)
        return text
    text = "".join(line + "\n" for line in result.lines())
    if exposure is not None:
        text += "\n" + _exposure_txt(exposure)
    return text


def _exposure_txt(exposure: Exposure) -> str:
    parts = []
    for _, attribute, title in EXPOSURE_TITLES:
        ids: list[str] = getattr(exposure, attribute)
        parts.append(f"{title} ({len(ids)}):\n" + "".join(f"  {i}\n" for i in ids))
    return "Exposure:\n" + "".join(parts)


def _exposure_md(exposure: Exposure) -> str:
    parts = ["### Exposure\n"]
    for _, attribute, title in EXPOSURE_TITLES:
        ids: list[str] = getattr(exposure, attribute)
        parts.append(f"\n**{title}** ({len(ids)})\n\n"
                     + ("".join(f"- `{i}`\n" for i in ids) or "- none\n"))
    return "".join(parts)


def render_diff(changes: ConnectivityDiff, output: str, warnings: list[str]) -> str:
    """A diff in ``txt``, ``csv``, ``md`` (for a pull-request comment) or ``json``."""
    entries = changes.entries
    if output == "json":
        doc: dict[str, Any] = {
            "apiVersion": API_VERSION, "kind": "ConnectivityDiff",
            "changes": [{"type": e.kind, "src": e.src.id, "dst": e.dst.id,
                         "ref1": conns_text(e.ref1), "ref2": conns_text(e.ref2),
                         "workloadsDiffInfo": e.workload_info} for e in entries],
            "warnings": warnings}
        return json.dumps(doc, indent=2) + "\n"
    if output == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["diff-type", "source", "destination", "ref1", "ref2",
                         "workloads-diff-info"])
        for e in entries:
            writer.writerow([e.kind, e.src.id, e.dst.id, conns_text(e.ref1), conns_text(e.ref2),
                             e.workload_info or ""])
        return buffer.getvalue()
    if output == "md":
        return _diff_md(changes)
    return "Connectivity diff:\n" + "".join(diff_line(e) + "\n" for e in entries)


def _diff_md(changes: ConnectivityDiff) -> str:
    entries = changes.entries
    counts = {kind: sum(1 for e in entries if e.kind == kind)
              for kind in ("added", "removed", "changed")}
    if not entries:
        return "### Connectivity diff\n\nNo change in who can reach whom.\n"
    head = (f"### Connectivity diff\n\n**{counts['added']} added, {counts['removed']} removed, "
            f"{counts['changed']} changed** connections\n\n"
            "| change | source | destination | before | after |\n"
            "|--------|--------|-------------|--------|-------|\n")
    rows = []
    for e in entries:
        note = f" ({e.workload_info})" if e.workload_info else ""
        rows.append(f"| {e.kind}{note} | `{e.src.id}` | `{e.dst.id}` | {conns_text(e.ref1)} | "
                    f"{conns_text(e.ref2)} |")
    return head + "\n".join(rows) + "\n"


def emit(text: str, warnings: Iterable[str], *, output: str) -> None:
    """Write a report to stdout and its warnings to stderr (json carries them inside); a reader
    that closes the pipe early (``| head``) ends the output quietly."""
    if output != "json":
        for warning in warnings:
            print(f"warning: {warning}", file=sys.stderr)
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
