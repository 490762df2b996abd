"""The JSON document of a result (``connectivity -o json``), version 1.

Every output, the pictures included, is rendered from this one document; its shape is the
contract between the analysis and the renderers (see docs/connectivity.md).
"""

from __future__ import annotations

from typing import Any

from webhook.connectivity.exposure import Exposure
from webhook.connectivity.ports import ALL_CONNS, as_json, conns_text
from webhook.connectivity.result import Result

API_VERSION = "netpol-guard.io/v1"
KIND = "ConnectivityReport"


def to_document(result: Result, exposure: Exposure | None = None) -> dict[str, Any]:
    """The document: namespaces, workloads, externals, connections, exposure, warnings."""
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "namespaces": result.namespaces,
        "workloads": [{"id": w.id, "namespace": w.namespace, "name": w.name, "kind": w.kind,
                       "pods": w.pods} for w in result.workloads],
        "externals": [{"id": r.id, "start": r.start_text, "end": r.end_text, "cidrs": r.cidrs}
                      for r in result.externals],
        "connections": [{"src": c.src.id, "dst": c.dst.id, "conns": conns_text(c.conns),
                         "all": c.conns == ALL_CONNS, "protocols": as_json(c.conns)}
                        for c in sorted(result.connections, key=lambda c: (c.src.id, c.dst.id))],
        "exposure": None if exposure is None else {
            "fromAllNamespaces": exposure.from_all_namespaces,
            "fromAnyPod": exposure.from_any_pod,
            "fromOutside": exposure.from_outside,
            "toWholeWorld": exposure.to_whole_world,
        },
        "warnings": list(result.warnings),
    }
