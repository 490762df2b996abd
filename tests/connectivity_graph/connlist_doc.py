"""A ConnectivityReport document (the `-o json` contract) built from a fixture's connlist.

The pictures are drawn from that document; these documents let the picture tests run on the
fixtures' real connectivity without the analysis. `SRC => DST : CONNS` lines map one to one onto
the document's connections; the workloads and externals are the ends those lines name.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any

CASES = Path(__file__).resolve().parent.parent / "fixtures" / "connectivity" / "cases"
_LINE = re.compile(r"^(?P<src>\S+) => (?P<dst>\S+) : (?P<conns>.+)$")
_WORKLOAD = re.compile(r"^(?P<ns>[^/]+)/(?P<name>[^\[]+)\[(?P<kind>[A-Za-z]+)\]$")
_PROTOCOLS = ("SCTP", "TCP", "UDP")


def parse_conns(conns: str) -> dict[str, list[list[int]]]:
    """`SCTP 1-65535,TCP 80,8080-8090` -> {"SCTP": [[1, 65535]], "TCP": [[80, 80], [8080, 8090]],
    "UDP": []}."""
    if conns == "All Connections":
        return {p: [[1, 65535]] for p in _PROTOCOLS}
    out: dict[str, list[list[int]]] = {p: [] for p in _PROTOCOLS}
    current = None
    for item in conns.split(","):
        words = item.split()
        if words[0] in _PROTOCOLS:
            current, words = words[0], words[1:]
        if current is None or len(words) != 1:
            raise ValueError(f"not a connlist connection set: {conns!r}")
        low, _, high = words[0].partition("-")
        out[current].append([int(low), int(high or low)])
    return out


def _external(node_id: str) -> dict[str, Any]:
    start, _, end = node_id.removesuffix("[External]").partition("-")
    first, last = ipaddress.ip_address(start), ipaddress.ip_address(end)
    cidrs = [str(n) for n in ipaddress.summarize_address_range(first, last)]  # type: ignore[arg-type]
    return {"id": node_id, "start": start, "end": end, "cidrs": cidrs}


def _workload(node_id: str) -> dict[str, Any]:
    m = _WORKLOAD.match(node_id)
    if m is None:
        raise ValueError(f"not a workload id: {node_id!r}")
    return {"id": node_id, "namespace": m["ns"], "name": m["name"], "kind": m["kind"], "pods": 1}


def document_from_connlist(text: str) -> dict[str, Any]:
    connections, ends = [], set()
    for line in text.splitlines():
        if not line.strip():
            continue
        m = _LINE.match(line)
        if m is None:
            raise ValueError(f"not a connlist line: {line!r}")
        ends.update((m["src"], m["dst"]))
        conns = m["conns"]
        connections.append({"src": m["src"], "dst": m["dst"], "conns": conns,
                            "all": conns == "All Connections", "protocols": parse_conns(conns)})
    externals = [_external(e) for e in ends if e.endswith("[External]")]
    externals.sort(key=lambda e: (ipaddress.ip_address(e["start"]).version,
                                  int(ipaddress.ip_address(e["start"]))))
    workloads = sorted((_workload(e) for e in ends if not e.endswith("[External]")),
                       key=lambda w: w["id"])
    connections.sort(key=lambda c: (c["src"], c["dst"]))
    return {
        "apiVersion": "netpol-guard.io/v1",
        "kind": "ConnectivityReport",
        "namespaces": sorted({w["namespace"] for w in workloads}),
        "workloads": workloads,
        "externals": externals,
        "connections": connections,
        "exposure": None,
        "warnings": [],
    }


def case_document(name: str) -> dict[str, Any]:
    return document_from_connlist((CASES / f"{name}.connlist.txt").read_text(encoding="utf-8"))
