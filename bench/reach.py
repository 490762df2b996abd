"""NP018 (reach-delta) under load: NetworkPolicy reviews at 200/s, and Pod/workload reviews
with NP018 on and off, side by side in one run.

    python -m bench.reach [--duration 10] [--rate 200]

Two ``netpol-guard serve`` processes (2 workers each, TLS, keep-alive) read the same inventory:
a synthetic cluster of 1,000 workloads (5,000 pods) in 100 namespaces with about 1,000
NetworkPolicies (``bench/reach_cluster.py``). One runs the default policy (NP018 ``warn``), the
other the same policy with NP018 ``off``. wrk (``bench/wrk/reviews.lua``) sends, at a fixed
rate, either NetworkPolicy CREATE/UPDATE/DELETE reviews of that cluster's namespaces, or Pod and
Deployment CREATE reviews; each point runs on both servers, alternating which goes first. The
Pod/workload mix runs in ``WORKLOAD_ROUNDS`` alternating rounds: its target compares CPU per
review with NP018 on and off, a difference of a few per cent, and single runs of the same
server moved by ±10 % here. The figures (latency percentiles, CPU per review, per run) go to
bench/results/reach-latest.json.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.load import LoadPoint, Server, _free_port, ensure_wrk, run_wrk
from bench.reach_cluster import namespace_objects, pod_objects, policy_objects
from bench.workload import FIXTURES, REPO

RESULTS = Path(__file__).resolve().parent / "results"
WORKLOADS, PODS_PER_WORKLOAD, NAMESPACES = 1000, 5, 100
TARGET_P99_MS = 10.0
POLICY_MIX, WORKLOAD_MIX = "NetworkPolicy reviews", "Pod/workload reviews"
WORKLOAD_ROUNDS = 4  # of half the duration each, the order alternating
# Of each wrk run (bench.load.run_wrk): "failed" and "lost" are its accounting, as for the load
# runs (a socket error, timeout, non-2xx, answer that is not a review or worker replaced).
KEPT = ("server", "point", "connections", "achieved_rate", "latency_us",
        "server_cpu_ms_per_review", "socket_errors", "non_2xx", "not_reviews", "other_cpu_cores",
        "allowed", "denied", "failed", "lost")


def write_inventory(directory: Path) -> dict[str, int]:
    directory.mkdir(parents=True, exist_ok=True)
    namespaces = namespace_objects(NAMESPACES)
    pods = pod_objects(WORKLOADS, PODS_PER_WORKLOAD, NAMESPACES)
    policies = policy_objects(NAMESPACES, WORKLOADS // NAMESPACES)
    for name, items in (("namespaces", namespaces), ("pods", pods), ("policies", policies)):
        (directory / f"{name}.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List",
                                                            "items": items}), encoding="utf-8")
    return {"namespaces": len(namespaces), "pods": len(pods), "networkPolicies": len(policies)}


def _review(request: dict[str, Any], uid: str) -> dict[str, Any]:
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {**request, "uid": uid}}


def _policy_request(operation: str, new: dict[str, Any] | None,
                    old: dict[str, Any] | None) -> dict[str, Any]:
    obj = new or old
    assert obj is not None
    group = {"group": "networking.k8s.io", "version": "v1"}
    return {"kind": {**group, "kind": "NetworkPolicy"},
            "resource": {**group, "resource": "networkpolicies"},
            "namespace": obj["metadata"]["namespace"], "name": obj["metadata"]["name"],
            "operation": operation, "userInfo": {"username": "alice@example.com"},
            "object": new, "oldObject": old, "dryRun": False}


def policy_reviews() -> list[dict[str, Any]]:
    """NetworkPolicy reviews against the synthetic cluster: new allows (same namespace, from
    the frontend namespaces, from one named namespace), port changes, deletions."""
    existing = policy_objects(NAMESPACES, WORKLOADS // NAMESPACES)
    by_key = {(p["metadata"]["namespace"], p["metadata"]["name"]): p for p in existing}
    reviews: list[dict[str, Any]] = []
    for n in range(0, NAMESPACES, 4):
        namespace = f"team-{n:03d}"
        peers = [[{"podSelector": {"matchLabels": {"app": "app1"}}}],
                 [{"namespaceSelector": {"matchLabels": {"tier": "frontend"}}}],
                 [{"namespaceSelector": {"matchLabels": {
                     "kubernetes.io/metadata.name": f"team-{(n + 1) % NAMESPACES:03d}"}}}]]
        new = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
               "metadata": {"name": "bench-allow", "namespace": namespace},
               "spec": {"podSelector": {"matchLabels": {"app": "app3"}},
                        "policyTypes": ["Ingress"],
                        "ingress": [{"from": peers[n % 3],
                                     "ports": [{"protocol": "TCP", "port": 8080}]}]}}
        reviews.append(_policy_request("CREATE", new, None))
        old = by_key[(namespace, "app2-ingress")]
        changed = copy.deepcopy(old)
        changed["spec"]["ingress"][0]["ports"] = [{"protocol": "TCP", "port": 9090}]
        reviews.append(_policy_request("UPDATE", changed, old))
        reviews.append(_policy_request("DELETE", None, by_key[(namespace, "app4-ingress")]))
    return [_review(r, f"np-{i}") for i, r in enumerate(reviews)]


def workload_reviews() -> list[dict[str, Any]]:
    """Pod and Deployment CREATEs (the captured reviews) moved into the cluster's namespaces."""
    reviews = []
    for fixture in ("pod-create-kubectl-run", "deployment-create"):
        base = json.loads((FIXTURES / f"{fixture}.json").read_text(encoding="utf-8"))
        for n in range(0, NAMESPACES, 10):
            review = copy.deepcopy(base)
            review["request"]["namespace"] = f"team-{n:03d}"
            review["request"]["object"]["metadata"]["namespace"] = f"team-{n:03d}"
            review["request"]["uid"] = f"{fixture}-{n}"
            reviews.append(review)
    return reviews


def _write_bodies(directory: Path, name: str, reviews: list[dict[str, Any]]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, review in enumerate(reviews):
        path = directory / f"{name}-{index:03d}.json"
        path.write_text(json.dumps(review), encoding="utf-8")
        paths.append(str(path))
    listing = directory / f"{name}.txt"
    listing.write_text("\n".join(paths) + "\n", encoding="utf-8")
    return listing


def _servers(workdir: Path, certs: Any, inventory: Path) -> list[Server]:
    default = (REPO / "webhook" / "policy" / "default-policy.yaml").read_text(encoding="utf-8")
    off = workdir / "np018-off.yaml"
    off.write_text(default.replace("  NP018: {action: warn,", '  NP018: {action: "off",'),
                   encoding="utf-8")
    assert 'NP018: {action: "off"' in off.read_text(encoding="utf-8")
    servers = []
    for key, policy in (("np018-on", None), ("np018-off", off)):
        port = _free_port()
        command = [sys.executable, "-m", "webhook.cli.main", "serve",
                   "--bind", f"127.0.0.1:{port}", "--cert", str(certs.cert),
                   "--key", str(certs.key), "--cluster-source", "inventory",
                   "--inventory", str(inventory), "--workers", "2"]
        if policy is not None:
            command += ["--policy", str(policy)]
        servers.append(Server(key, f"netpol-guard serve, NP018 {key.split('-')[1]}", command,
                              port, workdir / f"{key}.stats", workdir / f"{key}.log"))
    return servers


def run(duration: float, rate: int, log: Any = print) -> dict[str, Any]:
    wrk = ensure_wrk()
    from webhook.cli.certs import write_dev_certificates

    with tempfile.TemporaryDirectory(prefix="netpol-guard-reach-") as temp:
        workdir = Path(temp)
        certs = write_dev_certificates(workdir / "certs")
        cluster = write_inventory(workdir / "inventory")
        mixes = {POLICY_MIX: _write_bodies(workdir / "bodies", "np", policy_reviews()),
                 WORKLOAD_MIX: _write_bodies(workdir / "bodies", "workloads",
                                             workload_reviews())}
        servers = _servers(workdir, certs, workdir / "inventory")
        # results[mix][server]: one entry per run (per round for the workload mix).
        report: dict[str, Any] = {"cluster": cluster, "rate": rate, "duration": duration,
                                  "results": {}}
        try:
            for server in servers:
                server.start(Path(certs.ca_cert))
            for server in servers:  # warm: the inventory's pod classes, compiled policies
                for bodies in mixes.values():
                    run_wrk(wrk, server, LoadPoint("warm-up", 8, rate), 3, bodies)
            point = LoadPoint(f"rate {rate}/s", 8, rate)
            for index, (mix, bodies) in enumerate(mixes.items()):
                rounds = WORKLOAD_ROUNDS if mix == WORKLOAD_MIX else 1
                seconds = duration / 2 if rounds > 1 else duration
                for round_index in range(rounds):
                    order = servers if (index + round_index) % 2 == 0 else servers[::-1]
                    for server in order:
                        log(f"  reach: {server.key:<10} {mix} at {rate}/s "
                            f"(run {round_index + 1}/{rounds}) ...")
                        result = run_wrk(wrk, server, point, seconds, bodies)
                        report["results"].setdefault(mix, {}).setdefault(server.key, []).append(
                            {key: result[key] for key in KEPT if key in result})
        finally:
            for server in servers:
                server.stop()
    return report


def workload_cpu_ratios(report: dict[str, Any]) -> list[float] | None:
    """CPU per Pod/workload review with NP018 on / off, per round; None when a run of either
    lost reviews (it has no figure)."""
    runs = report["results"][WORKLOAD_MIX]
    pairs = list(zip(runs["np018-on"], runs["np018-off"], strict=True))
    if any(on["failed"] or off["failed"] for on, off in pairs):
        return None
    return [on["server_cpu_ms_per_review"] / off["server_cpu_ms_per_review"]
            for on, off in pairs]


def render(report: dict[str, Any]) -> str:
    lines = [f"NP018 bench: {report['cluster']['pods']} pods, "
             f"{report['cluster']['networkPolicies']} NetworkPolicies, "
             f"{report['cluster']['namespaces']} namespaces; {report['rate']}/s, "
             f"{report['duration']:g} s per NetworkPolicy run, {WORKLOAD_ROUNDS} alternating "
             f"rounds of {report['duration'] / 2:g} s for Pod/workload reviews",
             "| reviews | NP018 | run | rate/s | p50 ms | p90 ms | p99 ms | max ms "
             "| CPU ms/review | lost |", "|---|---|---|---|---|---|---|---|---|---|"]
    for mix, by_server in report["results"].items():
        for key, results in by_server.items():
            for number, result in enumerate(results, 1):
                latency = result["latency_us"]
                rate = "FAILED" if result["failed"] else f"{result['achieved_rate']:.0f}"
                lost = ", ".join(f"{n} {cause}" for cause, n in result["lost"].items()) or "0"
                lines.append(
                    f"| {mix} | {key.split('-')[1]} | {number} | {rate} "
                    f"| {latency['p50'] / 1000:.2f} | {latency['p90'] / 1000:.2f} | "
                    f"{latency['p99'] / 1000:.2f} | {latency['max'] / 1000:.2f} | "
                    f"{result['server_cpu_ms_per_review']:.2f} | {lost} |")
    if WORKLOAD_MIX in report["results"]:
        ratios = workload_cpu_ratios(report)
        lines.append("Pod/workload CPU per review, NP018 on / off, per round: " + (
            "no figure (a run lost reviews)" if ratios is None else
            " ".join(f"{ratio:.2f}" for ratio in ratios)
            + f"; median {statistics.median(ratios):.2f}"))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reach", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--rate", type=int, default=200)
    args = parser.parse_args(argv)
    started = time.time()
    report = run(args.duration, args.rate, log=lambda text: print(text, file=sys.stderr))
    report["started"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started))
    text = render(report)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "reach-latest.json").write_text(json.dumps(report, indent=2) + "\n",
                                               encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
