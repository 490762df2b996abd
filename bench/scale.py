"""Scale: the offline audit of a synthetic cluster (10,000 namespaces, 100,000 NetworkPolicies).

Two measurements, each in a child process whose peak memory is its ``VmHWM``, sampled until
it exits (``_run_child`` says why not ``ru_maxrss``):

- ``netpol-guard audit --inventory DIR -o json``: the whole command, JSON List files in (as
  ``kubectl get -o json`` writes them), report out (the parsing is part of it);
- ``webhook.cli.audit_scan.audit()`` alone over the same objects already in memory as JSON dicts,
  which is what a live audit has after listing the API (the list itself is not timed).

Each namespace gets a default-deny (but 5 % of them lack it) and nine more policies of
everyday shapes; about 6 % of the policies break a rule.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

NAMESPACES = 10_000
POLICIES_PER_NAMESPACE = 10
NAMESPACES_PER_FILE = 100
GENERATOR_VERSION = 2  # bump when the generator changes: cached inventories are regenerated


def _np(namespace: str, name: str, spec: dict[str, Any], index: int) -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace,
                         "uid": f"np-{index:08d}", "resourceVersion": str(1000 + index)},
            "spec": spec}


def _policies(namespace: str, ns_index: int, first: int) -> list[dict[str, Any]]:
    peer_ns = f"ns-{(ns_index + 1) % NAMESPACES:05d}"
    tcp = [{"protocol": "TCP", "port": 8080}]
    shapes: list[tuple[str, dict[str, Any]]] = [
        ("default-deny", {"podSelector": {}, "policyTypes": ["Ingress"]}),
        ("allow-frontend-to-api", {
            "podSelector": {"matchLabels": {"app": "api"}}, "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "frontend"}}}],
                         "ports": tcp}]}),
        ("allow-from-peer-namespace", {
            "podSelector": {"matchLabels": {"app": "api"}}, "policyTypes": ["Ingress"],
            "ingress": [{"from": [{
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": peer_ns}},
                "podSelector": {"matchLabels": {"app": "client"}}}], "ports": tcp}]}),
        ("allow-monitoring", {
            "podSelector": {}, "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {
                "kubernetes.io/metadata.name": "monitoring"}}}],
                "ports": [{"protocol": "TCP", "port": 9090}]}]}),
        ("allow-dns", {
            "podSelector": {}, "policyTypes": ["Egress"],
            "egress": [{"ports": [{"protocol": "UDP", "port": 53},
                                  {"protocol": "TCP", "port": 53}]}]}),
        ("allow-db-egress", {
            "podSelector": {"matchLabels": {"app": "api"}}, "policyTypes": ["Egress"],
            "egress": [{"to": [{"ipBlock": {"cidr": f"192.168.{ns_index % 256}.0/28"}}],
                        "ports": [{"protocol": "TCP", "port": 5432}]}]}),
        ("allow-worker-to-queue", {
            "podSelector": {"matchLabels": {"app": "queue"}}, "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "worker"}}},
                                  {"podSelector": {"matchLabels": {"app": "cron"}}}],
                         "ports": [{"protocol": "TCP", "port": 5672}]}]}),
        ("allow-web-https", {
            "podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "gateway"}}}],
                         "ports": [{"protocol": "TCP", "port": 8443},
                                   {"protocol": "TCP", "port": 8080}]}]}),
        ("allow-batch-egress", {
            "podSelector": {"matchLabels": {"app": "batch"}}, "policyTypes": ["Egress"],
            "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "api"}}}],
                        "ports": tcp}]}),
    ]
    # Everyday mistakes, here and there.
    if ns_index % 20 == 0:
        shapes[0] = ("allow-all-ingress", {"podSelector": {}, "policyTypes": ["Ingress"],
                                           "ingress": [{}]})  # and no default-deny
    if ns_index % 7 == 0:
        shapes.append(("egress-anywhere", {
            "podSelector": {"matchLabels": {"app": "crawler"}}, "policyTypes": ["Egress"],
            "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]}))
    else:
        shapes.append(("allow-metrics-scrape", {
            "podSelector": {"matchLabels": {"app": "api"}}, "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {
                "kubernetes.io/metadata.name": "monitoring"}},
                "podSelector": {"matchLabels": {"app": "prometheus"}}}],
                "ports": [{"protocol": "TCP", "port": 9100}]}]}))
    return [_np(namespace, name, spec, first + i) for i, (name, spec) in enumerate(shapes)]


def synthetic_cluster() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    namespaces: list[dict[str, Any]] = []
    policies: list[dict[str, Any]] = []
    for index in range(NAMESPACES):
        name = f"ns-{index:05d}"
        namespaces.append({"apiVersion": "v1", "kind": "Namespace",
                           "metadata": {"name": name, "uid": f"ns-{index:08d}",
                                        "labels": {"kubernetes.io/metadata.name": name,
                                                   "team": f"team-{index % 300}"}},
                           "status": {"phase": "Active"}})
        policies += _policies(name, index, len(policies))
    return namespaces, policies


def write_synthetic_inventory(directory: Path) -> tuple[int, int]:
    """The synthetic cluster as JSON ``List`` files, as ``kubectl get namespaces,networkpolicies
    -A -o json`` writes them; (namespaces, NetworkPolicies) written."""
    directory.mkdir(parents=True, exist_ok=True)
    namespaces, policies = synthetic_cluster()
    by_namespace: dict[str, list[dict[str, Any]]] = {}
    for np in policies:
        by_namespace.setdefault(np["metadata"]["namespace"], []).append(np)
    for start in range(0, len(namespaces), NAMESPACES_PER_FILE):
        documents: list[dict[str, Any]] = []
        for ns in namespaces[start:start + NAMESPACES_PER_FILE]:
            documents.append(ns)
            documents += by_namespace[ns["metadata"]["name"]]
        with open(directory / f"cluster-{start // NAMESPACES_PER_FILE:03d}.json", "w",
                  encoding="utf-8") as handle:
            json.dump({"apiVersion": "v1", "kind": "List", "items": documents}, handle)
    (directory.parent / "cluster.json").write_text(
        json.dumps({"namespaces": namespaces, "policies": policies}), encoding="utf-8")
    return len(namespaces), len(policies)


def _vm_hwm_kib(pid: int) -> int:
    """The peak resident set of a running process (``VmHWM``), in KiB; 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _run_child(command: list[str]) -> dict[str, Any]:
    """Run ``command``; wall time, CPU time and peak RSS of that child alone."""
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # Drain stdout/stderr without reaping (communicate() would reap and lose the rusage).
    chunks: dict[str, bytes] = {}

    def drain(name: str, stream: Any) -> None:
        chunks[name] = stream.read()

    readers = [threading.Thread(target=drain, args=(name, stream))
               for name, stream in (("out", process.stdout), ("err", process.stderr))]
    for reader in readers:
        reader.start()
    # ru_maxrss is no use here: Linux carries the forking parent's RSS high-water mark over
    # the child's exec, so every child of a bench process that holds a generated cluster would
    # report at least that. VmHWM belongs to the exec'd program alone; it only grows, so
    # sampling it until exit misses at most the last interval's growth.
    # Sampled beside the blocking wait, so the wall time ends at the exit, not at a poll.
    peaks = [0]
    exited = threading.Event()

    def sample() -> None:
        while not exited.wait(0.01):
            peaks.append(max(peaks[-1], _vm_hwm_kib(process.pid)))

    sampler = threading.Thread(target=sample)
    sampler.start()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - started
    exited.set()
    sampler.join()
    peak_kib = peaks[-1]
    for reader in readers:
        reader.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    return {"wall_seconds": wall, "peak_rss_mib": (peak_kib or usage.ru_maxrss) / 1024,
            "cpu_seconds": usage.ru_utime + usage.ru_stime, "exit_code": process.returncode,
            "stdout": chunks.get("out", b""), "stderr": chunks.get("err", b"")}


def run_scale(base: Path) -> dict[str, Any]:
    """Generate the cluster under ``base`` (reused when already there), then measure."""
    inventory = base / "inventory"
    marker = base / f"generated-v{GENERATOR_VERSION}"
    started = time.monotonic()
    if not marker.exists():
        shutil.rmtree(base, ignore_errors=True)  # an older generator's files must not linger
        base.mkdir(parents=True)
        write_synthetic_inventory(inventory)
        marker.touch()
    generated = time.monotonic() - started
    result: dict[str, Any] = {"namespaces": NAMESPACES,
                              "network_policies": NAMESPACES * POLICIES_PER_NAMESPACE,
                              "inventory_mib": sum(p.stat().st_size
                                                   for p in inventory.iterdir()) / 2**20,
                              "generate_seconds": generated}
    cli = _run_child([sys.executable, "-m", "webhook.cli.main", "audit", "--inventory",
                      str(inventory), "-o", "json", "--no-progress"])
    if cli["exit_code"] not in (0, 1):
        raise RuntimeError(f"netpol-guard audit failed: {cli['stderr'].decode()[-2000:]}")
    summary = json.loads(cli["stdout"])["summary"]
    result["cli"] = {key: cli[key] for key in ("wall_seconds", "peak_rss_mib", "cpu_seconds",
                                               "exit_code")}
    result["cli"]["summary"] = summary
    function = _run_child([sys.executable, "-m", "bench.scale",
                           str(base / "cluster.json")])
    if function["exit_code"] != 0:
        raise RuntimeError(f"audit() child failed: {function['stderr'].decode()[-2000:]}")
    inner = json.loads(function["stdout"])
    result["function"] = {"audit_seconds": inner["audit_seconds"],
                          "load_json_seconds": inner["load_seconds"],
                          "peak_rss_mib": function["peak_rss_mib"],
                          "summary": inner["summary"]}
    return result


def _audit_function_child(path: str) -> None:
    """Child: load the objects, time audit() alone; JSON on stdout."""
    from webhook.cli.audit_scan import audit
    from webhook.policy.loader import default_policy

    started = time.perf_counter()
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    loaded = time.perf_counter()
    policy = default_policy()
    begun = time.perf_counter()
    result = audit(data["namespaces"], data["policies"], policy)
    ended = time.perf_counter()
    print(json.dumps({"load_seconds": loaded - started, "audit_seconds": ended - begun,
                      "summary": result.summary()}))


if __name__ == "__main__":
    _audit_function_child(sys.argv[1])
