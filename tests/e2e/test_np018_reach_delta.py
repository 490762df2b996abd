"""NP018 reach-delta through the real kubectl and API server: what a NetworkPolicy change opens
and closes, from the webhook's watch of pods, namespaces and policies.

Two namespaces with their default-deny, a db pod (port 5432 named pg) and a web pod. Allowing
web into db warns, with ``--dry-run=server`` first (nothing is created) and then for real;
deleting the policy warns what it removes. With NETPOL_GUARD_E2E_TRANSCRIPT=FILE the commands
and what kubectl printed are written to FILE (the README's transcript comes from it).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from tests.e2e.conftest import Guard
from tests.e2e.webhook import Kubectl, KubectlResult

PAY, WEB = "np18-payments", "np18-frontend"
DENY = {"podSelector": {}, "policyTypes": ["Ingress"]}
ALLOW = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
         "metadata": {"name": "db-from-web", "namespace": PAY},
         "spec": {"podSelector": {"matchLabels": {"app": "db"}}, "policyTypes": ["Ingress"],
                  "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {
                      "kubernetes.io/metadata.name": WEB}}, "podSelector": {
                      "matchLabels": {"app": "web"}}}],
                      "ports": [{"protocol": "TCP", "port": 5432}]}]}}
OPENS = (f"Warning: NP018 reach-delta: newly allows {WEB}/web to reach {PAY}/db[Pod] "
         "on TCP 5432")
CLOSES = (f"Warning: NP018 reach-delta: no longer allows {WEB}/web to reach {PAY}/db[Pod] "
          "on TCP 5432")


def pod(namespace: str, name: str, ports: list[dict[str, object]]) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "Pod",
                       "metadata": {"name": name, "namespace": namespace,
                                    "labels": {"app": name}},
                       "spec": {"containers": [{"name": name, "image": "registry.k8s.io/pause",
                                                "ports": ports}]}})


class Transcript:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def record(self, command: str, result: KubectlResult) -> KubectlResult:
        self.lines += [f"$ {command}", *result.stderr.splitlines(), *result.stdout.splitlines()]
        return result

    def write(self) -> None:
        target = os.environ.get("NETPOL_GUARD_E2E_TRANSCRIPT")
        if target:
            Path(target).write_text("\n".join(self.lines) + "\n", encoding="utf-8")


def test_np018_warns_what_a_policy_change_opens_and_closes(guard: Guard, kubectl: Kubectl,
                                                           tmp_path: Path) -> None:
    for namespace in (PAY, WEB):
        kubectl.ok("create", "namespace", namespace)
        kubectl.ok("create", "serviceaccount", "default", "-n", namespace)
        kubectl.ok("create", "-f", "-", stdin=json.dumps({
            "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "default-deny-ingress", "namespace": namespace},
            "spec": DENY}))
    kubectl.ok("create", "-f", "-", stdin=pod(PAY, "db", [{"name": "pg",
                                                            "containerPort": 5432}]))
    kubectl.ok("create", "-f", "-", stdin=pod(WEB, "web", []))
    manifest = tmp_path / "db-from-web.yaml"
    manifest.write_text(json.dumps(ALLOW), encoding="utf-8")
    transcript = Transcript()

    # The webhook sees the pods through its watch: wait until it has them.
    deadline = time.monotonic() + 20
    while OPENS not in (tried := kubectl("apply", "--dry-run=server", "-f", str(manifest))
                        ).stderr:
        assert time.monotonic() < deadline, str(tried)
        time.sleep(0.2)

    dry = transcript.record("kubectl apply --dry-run=server -f db-from-web.yaml",
                            kubectl("apply", "--dry-run=server", "-f", str(manifest)))
    assert dry.returncode == 0, dry
    assert dry.stderr.splitlines() == [OPENS]
    assert dry.stdout == "networkpolicy.networking.k8s.io/db-from-web created (server dry run)\n"
    assert kubectl("get", "networkpolicy", "db-from-web", "-n", PAY).returncode == 1

    applied = transcript.record("kubectl apply -f db-from-web.yaml",
                                kubectl("apply", "-f", str(manifest)))
    assert applied.returncode == 0, applied
    assert applied.stderr.splitlines() == [OPENS]
    assert applied.stdout == "networkpolicy.networking.k8s.io/db-from-web created\n"

    deleted = transcript.record(f"kubectl delete networkpolicy db-from-web -n {PAY}",
                                kubectl("delete", "networkpolicy", "db-from-web", "-n", PAY))
    assert deleted.returncode == 0, deleted
    assert deleted.stderr.splitlines() == [CLOSES]
    assert deleted.stdout == (f'networkpolicy.networking.k8s.io "db-from-web" deleted from {PAY} '
                              "namespace\n")
    transcript.write()

    for namespace in (PAY, WEB):
        kubectl.ok("delete", "pods", "--all", "-n", namespace, "--grace-period=0", "--force")
