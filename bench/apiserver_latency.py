"""Latency netpol-guard adds to ``kubectl create --dry-run=server`` of a NetworkPolicy, through a
real kube-apiserver v1.36 (the e2e tier's binaries and harness), against three references in the
same run:

- **none**: no admission for that namespace;
- **cel**: a ValidatingAdmissionPolicy (CEL, in the API server) enforcing three core checks
  (NP001 ingress rule without ``from``, NP005 world CIDR, NP008 rule without ``ports``);
- **floor**: ``bench/floor_server.py``, a minimal gevent TLS server answering every review
  ``allowed: true`` with no gunicorn, WSGI, deadlines or logs: about the least any webhook in
  Python adds;
- **reference**: ``bench/reference_app.py``, a bare Flask webhook answering every review
  ``allowed: true``, served with netpol-guard's own gunicorn configuration (``--worker
  webhook``: same worker, TLS context, timeouts); it has no ``ValidateRoute``, so its reviews
  take gunicorn's parser, WSGI and Flask, as the "bare Flask webhook" of issue 16;
- **netpol-guard**: ``netpol-guard serve`` (gunicorn, gevent workers, TLS, default settings)
  registered with the chart's ValidatingWebhookConfiguration (networkpolicies hook only).

The floor and the reference are registered with the same rendered configuration as
netpol-guard (each with its own name and namespace label). Each configuration owns a namespace
(selected by a label), so the five are measured against the same API server and etcd.
Requests are what kubectl sends (POST with ``dryRun=All`` and ``fieldValidation=Strict``),
over kept-alive admin connections, by 1
and by 8 parallel client threads. Rounds shuffle the order of the configurations; each
configuration's latencies are pooled over rounds, and the figures are the differences of
percentiles to **none** (what each adds) and, for netpol-guard, to **floor** and to
**reference**, p50 and p99.
A request that fails (anything but 201) fails the run: it has no figure.
"""

from __future__ import annotations

import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

TARGET_ADDED_P50_MS = {1: 1.2, 8: 4.0}
CONFIGS = ("none", "cel", "floor", "reference", "netpol-guard")
WEBHOOKS = ("floor", "reference", "netpol-guard")
BASELINES = ("floor", "reference")  # what netpol-guard is also compared with
LABEL = "bench.netpol-guard.io/admission"
POLICY = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
          "metadata": {"name": "allow-frontend"},
          "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{
              "from": [{"podSelector": {"matchLabels": {"app": "frontend"}}}],
              "ports": [{"port": 8080, "protocol": "TCP"}]}]}}
CEL_CHECKS = [
    ("!has(object.spec.ingress) || object.spec.ingress.all(r, has(r.from) && size(r.from) > 0)",
     "NP001 allow-all-sources: an ingress rule has no from"),
    ("[has(object.spec.ingress) ? object.spec.ingress : [], has(object.spec.egress) ? "
     "object.spec.egress : []].all(rules, rules.all(r, has(r.ports) && size(r.ports) > 0))",
     "NP008 all-ports: a rule has no ports"),
    ("(!has(object.spec.ingress) || object.spec.ingress.all(r, !has(r.from) || r.from.all(p, "
     "!has(p.ipBlock) || !(p.ipBlock.cidr in ['0.0.0.0/0', '::/0'])))) && "
     "(!has(object.spec.egress) || object.spec.egress.all(r, !has(r.to) || r.to.all(p, "
     "!has(p.ipBlock) || !(p.ipBlock.cidr in ['0.0.0.0/0', '::/0']))))",
     "NP005 world-cidr: an ipBlock is /0"),
]


def _cel_policy() -> list[dict[str, Any]]:
    name = "netpol-guard-bench-core"
    return [
        {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
         "metadata": {"name": name},
         "spec": {"failurePolicy": "Fail", "matchConstraints": {"resourceRules": [{
             "apiGroups": ["networking.k8s.io"], "apiVersions": ["v1"],
             "operations": ["CREATE", "UPDATE"], "resources": ["networkpolicies"]}]},
             "validations": [{"expression": expression, "message": message}
                             for expression, message in CEL_CHECKS]}},
        {"apiVersion": "admissionregistration.k8s.io/v1",
         "kind": "ValidatingAdmissionPolicyBinding", "metadata": {"name": name},
         "spec": {"policyName": name, "validationActions": ["Deny"], "matchResources": {
             "namespaceSelector": {"matchLabels": {LABEL: "cel"}}}}},
    ]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _measure(client: Any, namespace: str, clients: int, requests: int) -> list[float]:
    path = (f"/apis/networking.k8s.io/v1/namespaces/{namespace}/networkpolicies"
            "?dryRun=All&fieldManager=kubectl-create&fieldValidation=Strict")
    body = json.dumps(POLICY).encode()

    def one(_: int) -> float:
        start = time.perf_counter()
        answer = client.post(path, body)
        elapsed = time.perf_counter() - start
        if answer.status != 201:
            raise RuntimeError(f"{namespace}: {answer.status} {answer.message}")
        return elapsed * 1000

    with ThreadPoolExecutor(max_workers=clients) as pool:
        return list(pool.map(one, range(requests)))


def _start_baseline(config: str, workdir: Path, certs: Any) -> Any:
    """``bench.reference_app --worker webhook`` (2 workers, as netpol-guard serve's default) or
    ``bench.floor_server``."""
    from tests.conftest import ServedWebhook, free_port, wait_until_answers
    from tests.e2e.controlplane import clean_environment

    port = free_port()
    log_path = workdir / f"{config}-{port}.log"
    log_file = open(log_path, "wb")  # noqa: SIM115 - owned by the process for its lifetime
    options = ["--worker", "webhook", "--workers", "2"] if config == "reference" else []
    module = "bench.reference_app" if config == "reference" else "bench.floor_server"
    process = subprocess.Popen(
        [sys.executable, "-m", module, *options, "--bind", f"127.0.0.1:{port}",
         "--cert", str(certs.cert), "--key", str(certs.key)],
        stdout=log_file, stderr=subprocess.STDOUT, env=clean_environment(),
        cwd=Path(__file__).resolve().parent.parent)
    served = ServedWebhook(process, port, str(certs.ca_cert), log_path, certs.cert.parent,
                           log_handle=log_file)
    wait_until_answers(served, ready=True)
    return served


def _registration(config: str, port: int, ca_file: Path) -> dict[str, Any]:
    """The chart's ValidatingWebhookConfiguration (networkpolicies hook only) for the
    webhook of ``config``, selecting that configuration's namespace."""
    from tests.e2e.webhook import webhook_configuration

    configuration = webhook_configuration(port, ca_file, {"webhooks": {
        "namespaceSelectorExpressions": [{"key": LABEL, "operator": "In", "values": [config]}],
        "namespaces": {"enabled": False}, "workloads": {"enabled": False},
        "policyConfigMap": {"enabled": False}}})
    if config != "netpol-guard":  # two configurations cannot share a name
        configuration["metadata"]["name"] += f"-bench-{config}"
    return configuration


def _setup(plane: Any, kubectl: Any, workdir: Path, certs: Any,
           served: dict[str, Any]) -> None:
    """Namespaces, both webhooks started (into ``served``, which the caller stops) and
    registered, the CEL policy."""
    from tests.conftest import start_webhook
    from tests.e2e.controlplane import clean_environment

    for config in CONFIGS:
        kubectl.ok("create", "namespace", f"bench-{config}")
        kubectl.ok("label", "namespace", f"bench-{config}", f"{LABEL}={config}")
    for config in BASELINES:
        served[config] = _start_baseline(config, workdir, certs)
    served["netpol-guard"] = start_webhook(
        workdir, certs, "--cluster-source", "kubernetes", "--kubeconfig",
        str(plane.kubeconfig), env=clean_environment())
    registrations = [_registration(config, served[config].port, certs.ca_cert)
                     for config in WEBHOOKS]
    kubectl.ok("apply", "-f", "-", stdin=json.dumps(
        {"apiVersion": "v1", "kind": "List", "items": [*registrations, *_cel_policy()]}))


def _wait_enforced(client: Any) -> None:
    """Until the CEL policy and both webhooks are in force (their configs load asynchronously).

    The floor and the reference allow everything, so they cannot be seen in force; they are
    registered in the same List before netpol-guard, and the API server's informer sees
    configurations in the order they were written, so once netpol-guard is called they are
    too.
    """
    bad = dict(POLICY, spec={"podSelector": {}, "ingress": [{"ports": [{"port": 80}]}]})
    deadline = time.monotonic() + 60
    for config in ("cel", "netpol-guard"):
        path = (f"/apis/networking.k8s.io/v1/namespaces/bench-{config}/networkpolicies"
                "?dryRun=All&fieldValidation=Strict")
        while client.post(path, json.dumps(bad).encode()).status == 201:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{config} is not enforced")
            time.sleep(0.2)


def run_apiserver_latency(workdir: Path, rounds: int = 6, requests: int = 300,
                          log: Any = print) -> dict[str, Any]:
    from tests.e2e.binaries import find_binaries
    from tests.e2e.controlplane import ControlPlane, clean_environment
    from tests.e2e.rawclient import ApiClient
    from tests.e2e.webhook import Kubectl
    from webhook.cli.certs import write_dev_certificates

    binaries = find_binaries()
    plane = ControlPlane(binaries, workdir / "control-plane")
    plane.start()
    served: dict[str, Any] = {}
    client = ApiClient(plane)
    try:
        kubectl = Kubectl(binaries.kubectl, plane.kubeconfig, clean_environment())
        _setup(plane, kubectl, workdir, write_dev_certificates(workdir / "certs"), served)
        _wait_enforced(client)
        result: dict[str, Any] = {"rounds": rounds, "requests_per_round": requests,
                                  "clients": {}}
        for clients in (1, 8):
            samples: dict[str, list[float]] = {config: [] for config in CONFIGS}
            for config in CONFIGS:  # warm-up: connections, caches
                _measure(client, f"bench-{config}", clients, 50)
            for index in range(rounds):
                order = list(CONFIGS)
                random.Random(index).shuffle(order)
                for config in order:
                    samples[config] += _measure(client, f"bench-{config}", clients, requests)
                log(f"apiserver: {clients} client(s), round {index + 1}/{rounds}")
            result["clients"][str(clients)] = _summarise(samples)
        return result
    finally:
        client.close()
        for webhook in served.values():
            webhook.stop()
        plane.stop()


def _summarise(samples: dict[str, list[float]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for config, values in samples.items():
        out[config] = {"count": len(values), "p50_ms": _percentile(values, 0.50),
                       "p99_ms": _percentile(values, 0.99),
                       "mean_ms": statistics.fmean(values)}
    for config in CONFIGS[1:]:
        out[f"{config}_added"] = _difference(out[config], out["none"])
    for baseline in BASELINES:
        out[f"netpol-guard_over_{baseline}"] = _difference(out["netpol-guard"], out[baseline])
    return out


def _difference(config: dict[str, float], base: dict[str, float]) -> dict[str, float]:
    return {"p50_ms": config["p50_ms"] - base["p50_ms"],
            "p99_ms": config["p99_ms"] - base["p99_ms"]}


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 16's targets: added p50 over no admission. Beside it, for reading the figure,
    what the reference webhook adds and what netpol-guard adds beyond the reference."""
    rows = []
    for clients, limit in TARGET_ADDED_P50_MS.items():
        figures = result["clients"][str(clients)]
        added = figures["netpol-guard_added"]["p50_ms"]
        rows.append({"target": f"netpol-guard adds ≤ {limit:g} ms p50 to a dry-run create "
                               f"through the API server, {clients} client(s)",
                     "value": f"{added:+.2f} ms (floor "
                              f"{figures['floor_added']['p50_ms']:+.2f} ms, bare Flask "
                              f"reference {figures['reference_added']['p50_ms']:+.2f} ms)",
                     "met": added <= limit})
    return rows


def render(result: dict[str, Any]) -> list[str]:
    lines = ["", "Through kube-apiserver v1.36: dry-run NetworkPolicy creates, "
                 f"{result['rounds']} alternating rounds × {result['requests_per_round']} "
                 "requests per configuration (ms):",
             f"  {'clients':>7} {'admission':<14} {'p50':>7} {'p99':>7} {'added p50':>10} "
             f"{'added p99':>10} {'over floor p50':>15} {'over ref p50':>13}"]
    zero = {"p50_ms": 0.0, "p99_ms": 0.0}
    for clients, figures in result["clients"].items():
        for config in CONFIGS:
            row = figures[config]
            added = figures.get(f"{config}_added", zero)
            line = (f"  {clients:>7} {config:<14} {row['p50_ms']:>7.2f} {row['p99_ms']:>7.2f} "
                    f"{added['p50_ms']:>+10.2f} {added['p99_ms']:>+10.2f}")
            if config == "netpol-guard":
                line += (f" {figures['netpol-guard_over_floor']['p50_ms']:>+15.2f}"
                         f" {figures['netpol-guard_over_reference']['p50_ms']:>+13.2f}")
            lines.append(line)
    return lines


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="netpol-guard-bench-") as temp:
        figures = run_apiserver_latency(Path(temp))
        print("\n".join(render(figures)))
        for row in targets(figures):
            print(row)
