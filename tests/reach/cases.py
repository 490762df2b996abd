"""The shared connectivity fixtures (tests/fixtures/connectivity) read into reach views."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any

import yaml

from webhook.engine.conns import NONE, PROTOCOLS, ConnSet, port_range_conns
from webhook.engine.reach import PodInfo
from webhook.engine.reachview import StaticReachView, pod_info

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "connectivity"
CASES = FIXTURES / "cases"
WORKLOAD_KINDS = {"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job",
                  "ReplicationController"}


def _objects(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, dict):
        return []
    kind = str(value.get("kind", ""))
    if kind.endswith("List") and isinstance(value.get("items"), list):
        # Items of a typed list (PodList) may leave their kind out.
        item_kind = kind[: -len("List")] if kind != "List" else None
        return [o for item in value["items"] if isinstance(item, dict)
                for o in _objects({"kind": item_kind, **item} if item_kind else item)]
    return [value]


def case_objects(name: str) -> list[dict[str, Any]]:
    """Every object of a case, files in sorted order."""
    objects: list[dict[str, Any]] = []
    for path in sorted((CASES / name).rglob("*")):
        if path.suffix not in (".yaml", ".yml", ".json"):
            continue
        text = path.read_text(encoding="utf-8")
        documents = [json.loads(text)] if path.suffix == ".json" else list(
            yaml.safe_load_all(text))
        for document in documents:
            objects.extend(_objects(document))
    return objects


def _template_pod(obj: dict[str, Any]) -> PodInfo | None:
    """One pod standing for a workload controller's template."""
    spec = obj.get("spec") or {}
    template = spec.get("template") or {}
    metadata = obj.get("metadata") or {}
    pod = {"metadata": {"name": metadata.get("name"), "namespace": metadata.get("namespace"),
                        "labels": (template.get("metadata") or {}).get("labels") or {}},
           "spec": template.get("spec") or {}}
    record = pod_info(pod)
    if record is None:
        return None
    return PodInfo(record.namespace, record.name, record.labels, obj["kind"], record.owner_name,
                   record.ports, record.phase)


def case_view(objects: list[dict[str, Any]]) -> StaticReachView:
    """Namespaces, pods (Pods, and one per workload template) and policies of a case.
    Pods keep their direct controller, as the fixtures name workloads."""
    namespaces = [o for o in objects if o.get("kind") == "Namespace"]
    pods: list[PodInfo] = []
    for obj in objects:
        if obj.get("kind") == "Pod":
            record = pod_info(obj, resolve_deployments=False)
        elif obj.get("kind") in WORKLOAD_KINDS:
            record = _template_pod(obj)
        else:
            continue
        if record is not None:
            pods.append(record)
    policies = [o for o in objects if o.get("kind") == "NetworkPolicy"]
    return StaticReachView(namespaces, pods, policies)


def case_names() -> list[str]:
    return sorted(p.name for p in CASES.iterdir() if p.is_dir())


def parse_conns(text: str) -> ConnSet:
    if text == "All Connections":
        return port_range_conns("TCP", 1, 65535) | port_range_conns(
            "UDP", 1, 65535) | port_range_conns("SCTP", 1, 65535)
    result = NONE
    protocol = ""
    for part in text.split(","):
        words = part.split()
        if len(words) == 2:
            protocol, part = words
        start, _, end = part.strip().partition("-")
        assert protocol in PROTOCOLS
        result = result | port_range_conns(protocol, int(start), int(end or start))
    return result


def expected_connlist(name: str) -> dict[tuple[str, str], ConnSet]:
    lines = (CASES / f"{name}.connlist.txt").read_text(encoding="utf-8").splitlines()
    result = {}
    for line in lines:
        if "=>" not in line:
            continue
        pair, _, conns = line.partition(" : ")
        src, _, dst = pair.partition(" => ")
        result[(src.strip(), dst.strip())] = parse_conns(conns.strip())
    return result


def _interval(node: str) -> tuple[int, int, int] | None:
    if not node.endswith("[External]"):
        return None
    start, _, end = node[: -len("[External]")].partition("-")
    first, last = ipaddress.ip_address(start), ipaddress.ip_address(end)
    return (first.version, int(first), int(last))


def refine(connections: dict[tuple[str, str], ConnSet],
           cuts: set[tuple[int, int]]) -> dict[tuple[str, str], ConnSet]:
    """The same connections with every external range cut at ``cuts`` ((version, start)),
    so two results with different atoms compare by meaning."""
    result: dict[tuple[str, str], ConnSet] = {}
    for (src, dst), conns in connections.items():
        for s in _pieces(src, cuts):
            for d in _pieces(dst, cuts):
                result[(s, d)] = conns
    return result


def cuts_of(connections: dict[tuple[str, str], ConnSet]) -> set[tuple[int, int]]:
    cuts = set()
    for pair in connections:
        for node in pair:
            interval = _interval(node)
            if interval:
                cuts.add((interval[0], interval[1]))
                cuts.add((interval[0], interval[2] + 1))
    return cuts


def _pieces(node: str, cuts: set[tuple[int, int]]) -> list[str]:
    interval = _interval(node)
    if interval is None:
        return [node]
    version, start, end = interval
    inner = sorted(c for v, c in cuts if v == version and start < c <= end)
    bounds = [start, *inner, end + 1]
    return [f"{version}:{a}-{b - 1}" for a, b in zip(bounds, bounds[1:], strict=False)]
