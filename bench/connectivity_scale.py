"""Connectivity at cluster scale: ``netpol-guard connectivity -o json`` on a generated cluster.

The cluster is generated deterministically (seeded): N workloads of 5 pods each (Pod objects
owned by a ReplicaSet, as ``kubectl get pods -o json`` lists them) in N/10 namespaces, and N
NetworkPolicies: a default-deny (ingress and egress) in every namespace, plus nine allow rules per
namespace of everyday shapes (DNS egress, same-namespace ingress on a named port, ingress from
other teams' frontends, egress to a database by named port, ingress from a load balancer's
ipBlock, egress to an internal range with an except, an endPort range, metrics scraping from a
monitoring namespace). Files are JSON Lists, one per namespace.

Each size is measured in a child process: wall time, CPU time (``os.wait4``) and peak RSS
(``VmHWM``). The target is ≤ 10 s and ≤ 1 GiB at 1,000 workloads on the 2-core machine.

    python -m bench.connectivity_scale            # 250, 500, 1000, 2000 workloads
    python -m bench.connectivity_scale --sizes 1000
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.scale import _run_child

SIZES = (250, 500, 1000, 2000)
PODS_PER_WORKLOAD = 5
WORKLOADS_PER_NAMESPACE = 10
SEED = 17
TARGET_SIZE = 1000
TARGET_SECONDS = 10.0
TARGET_MIB = 1024.0
TEAMS = 10
PORTS = {"http": 8080, "grpc": 9090, "metrics": 9100, "pg": 5432}


def _namespace(index: int) -> dict[str, Any]:
    name = f"ns-{index:03d}"
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": {"team": f"team-{index % TEAMS}",
                                                  "env": "prod" if index % 3 else "staging"}}}


def _pods(ns: str, workload: int, rng: random.Random) -> list[dict[str, Any]]:
    tier = ("frontend", "backend", "backend", "db", "worker")[workload % 5]
    app = f"app-{workload:04d}"
    names = ["http", "metrics"] + (["pg"] if tier == "db" else ["grpc"] if rng.random() < .5
                                   else [])
    ports = [{"name": n, "containerPort": PORTS[n], "protocol": "TCP"} for n in names]
    owner = f"{app}-{rng.randrange(16**8):08x}"
    return [{"apiVersion": "v1", "kind": "Pod",
             "metadata": {"name": f"{owner}-{i}", "namespace": ns,
                          "labels": {"app": app, "tier": tier, "pod-template-hash": owner[-8:]},
                          "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                               "name": owner, "controller": True}]},
             "spec": {"containers": [{"name": "main", "image": "registry.example/app:1",
                                      "ports": ports}]},
             "status": {"phase": "Running"}} for i in range(PODS_PER_WORKLOAD)]


def _np(ns: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


def _app(index: int) -> dict[str, Any]:
    return {"matchLabels": {"app": f"app-{index:04d}"}}


def _policies(ns_index: int, first: int, rng: random.Random) -> list[dict[str, Any]]:
    """The default-deny and nine allow policies of one namespace."""
    ns = f"ns-{ns_index:03d}"
    apps = list(range(first, first + WORKLOADS_PER_NAMESPACE))
    other_team = f"team-{rng.randrange(TEAMS)}"
    lb = f"192.168.{ns_index % 256}.0/24"
    internal = f"10.{ns_index % 256}.0.0/16"
    return [
        _np(ns, "default-deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
        _np(ns, "allow-dns", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{
            "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name":
                                                          "ns-000"}},
                    "podSelector": _app(0)}],
            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}]}),
        _np(ns, "frontend-to-backend", {
            "podSelector": {"matchLabels": {"tier": "backend"}},
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"tier": "frontend"}}}],
                         "ports": [{"port": "http"}, {"port": "grpc"}]}]}),
        _np(ns, "from-other-team", {
            "podSelector": _app(apps[0]),
            "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": other_team}},
                                   "podSelector": {"matchLabels": {"tier": "frontend"}}}],
                         "ports": [{"port": 8080}]}]}),
        _np(ns, "to-db", {
            "podSelector": {"matchExpressions": [{"key": "tier", "operator": "In",
                                                  "values": ["backend", "worker"]}]},
            "policyTypes": ["Egress"],
            "egress": [{"to": [{"podSelector": {"matchLabels": {"tier": "db"}}}],
                        "ports": [{"port": "pg"}]}]}),
        _np(ns, "db-ingress", {
            "podSelector": {"matchLabels": {"tier": "db"}},
            "ingress": [{"from": [{"podSelector": {"matchExpressions": [
                {"key": "tier", "operator": "NotIn", "values": ["frontend"]}]}}],
                "ports": [{"port": "pg"}]}]}),
        _np(ns, "from-load-balancer", {
            "podSelector": {"matchLabels": {"tier": "frontend"}},
            "ingress": [{"from": [{"ipBlock": {"cidr": lb}}], "ports": [{"port": 8080}]}]}),
        _np(ns, "to-internal", {
            "podSelector": {"matchLabels": {"tier": "backend"}}, "policyTypes": ["Egress"],
            "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": [internal]}}],
                        "ports": [{"port": 443}, {"port": 5432}]}]}),
        _np(ns, "worker-node-ports", {
            "podSelector": {"matchLabels": {"tier": "worker"}}, "policyTypes": ["Egress"],
            "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0",
                                            "except": ["169.254.169.254/32"]}}],
                        "ports": [{"port": 30000, "endPort": 32767}]}]}),
        _np(ns, "metrics-scrape", {
            "podSelector": {},
            "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"env": "staging"}},
                                   "podSelector": _app(apps[-1])}],
                         "ports": [{"port": "metrics"}]}]}),
    ]


def write_cluster(directory: Path, workloads: int) -> dict[str, int]:
    """The generated cluster as JSON List files under ``directory``; counts."""
    rng = random.Random(f"{SEED}-{workloads}")
    directory.mkdir(parents=True, exist_ok=True)
    counts = {"workloads": workloads, "pods": 0, "namespaces": 0, "policies": 0}
    for ns_index in range(max(1, workloads // WORKLOADS_PER_NAMESPACE)):
        first = ns_index * WORKLOADS_PER_NAMESPACE
        items: list[dict[str, Any]] = [_namespace(ns_index)]
        for workload in range(first, min(first + WORKLOADS_PER_NAMESPACE, workloads)):
            items.extend(_pods(f"ns-{ns_index:03d}", workload, rng))
        items.extend(_policies(ns_index, first, rng))
        counts["namespaces"] += 1
        counts["pods"] += sum(1 for i in items if i["kind"] == "Pod")
        counts["policies"] += sum(1 for i in items if i["kind"] == "NetworkPolicy")
        (directory / f"ns-{ns_index:03d}.json").write_text(
            json.dumps({"apiVersion": "v1", "kind": "List", "items": items}), encoding="utf-8")
    return counts


def measure(workloads: int, base: Path) -> dict[str, Any]:
    """Generate one size and run the command on it in a child process."""
    directory = base / f"cluster-{workloads}"
    counts = write_cluster(directory, workloads)
    run = _run_child([sys.executable, "-m", "webhook.cli", "connectivity", "-f", str(directory),
                      "-o", "json"])
    if run["exit_code"] != 0:
        raise RuntimeError(f"connectivity failed on {workloads} workloads:\n"
                           f"{run['stderr'].decode()[-3000:]}")
    doc = json.loads(run["stdout"])
    return {**counts, "wall_seconds": round(run["wall_seconds"], 2),
            "cpu_seconds": round(run["cpu_seconds"], 2),
            "peak_rss_mib": round(run["peak_rss_mib"], 1),
            "connections": len(doc["connections"]), "externals": len(doc["externals"])}


def run_connectivity_scale(sizes: tuple[int, ...] = SIZES) -> dict[str, Any]:
    """Every size; growth relative to the smallest."""
    with tempfile.TemporaryDirectory(prefix="netpol-guard-connectivity-") as temp:
        points = [measure(n, Path(temp)) for n in sizes]
    first = points[0]
    for point in points:
        # CPU time is the steadier figure on a shared machine; wall time is the target's.
        point["growth_time_vs_smallest"] = round(point["wall_seconds"] / first["wall_seconds"], 2)
        point["growth_cpu_vs_smallest"] = round(point["cpu_seconds"] / first["cpu_seconds"], 2)
        point["growth_size_vs_smallest"] = round(point["workloads"] / first["workloads"], 2)
    target = next((p for p in points if p["workloads"] == TARGET_SIZE), None)
    return {"points": points, "target_met": None if target is None else (
        target["wall_seconds"] <= TARGET_SECONDS and target["peak_rss_mib"] <= TARGET_MIB)}


def render(result: dict[str, Any]) -> str:
    """The table for the console and bench/README.md."""
    lines = ["| workloads | pods | namespaces | policies | connections | wall s | CPU s | "
             "peak RSS MiB | growth: size × / wall × / CPU × |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for p in result["points"]:
        lines.append(f"| {p['workloads']:,} | {p['pods']:,} | {p['namespaces']} | "
                     f"{p['policies']:,} | {p['connections']:,} | {p['wall_seconds']:.2f} | "
                     f"{p['cpu_seconds']:.2f} | {p['peak_rss_mib']:.0f} | "
                     f"{p['growth_size_vs_smallest']:g} / {p['growth_time_vs_smallest']:.2f} / "
                     f"{p['growth_cpu_vs_smallest']:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.connectivity_scale",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    args = parser.parse_args(argv)
    result = run_connectivity_scale(tuple(args.sizes))
    print(render(result))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
