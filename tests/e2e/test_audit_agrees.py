"""``netpol-guard audit`` and ``check --cluster`` on this cluster agree with the webhook.

The cluster gets namespaces in every state (compliant, without a default-deny, with a
default-deny cancelled by an allow-all, exempt by label) and policies that pass with warnings.
Then, with the policy the webhook has in force (the chart's ConfigMap):

- audit's DD001 namespaces are exactly those where the webhook refuses a pod
  (``kubectl run --dry-run=server``), among the namespaces of this test;
- audit's findings on each NetworkPolicy are the rules the webhook reports when that policy is
  updated unchanged (``kubectl label --dry-run=server``);
- ``check --cluster`` on manifests gives each the webhook's verdict on
  ``kubectl create --dry-run=server`` of the same manifest: denied or not, and the same rules.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Guard
from tests.e2e.controlplane import ControlPlane
from tests.e2e.webhook import Kubectl

PREFIX = "audit-"
RULE = re.compile(r"(?:^- |^Warning: )((?:NP|DD|CM)\d{3}) ")


def policy(name: str, namespace: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}


DENY = {"podSelector": {}, "policyTypes": ["Ingress"]}
NAMED = {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{
    "from": [{"podSelector": {"matchLabels": {"app": "api"}}}], "ports": [{"port": "http"}]}]}
WIDE = {"podSelector": {"matchLabels": {"app": "db"}}, "ingress": [{
    "from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}],
    "ports": [{"port": 5432, "endPort": 5999}]}]}
SELECT_ALL = {"podSelector": {}, "ingress": [{
    "from": [{"podSelector": {"matchLabels": {"app": "api"}}}],
    "ports": [{"port": 80, "protocol": "TCP"}]}]}


@pytest.fixture(scope="module")
def landscape(guard: Guard, kubectl: Kubectl) -> list[str]:
    """Namespaces in every state; returns their names."""
    names = {"ok": [policy("default-deny", "", DENY), policy("named", "", NAMED),
                    policy("wide", "", WIDE)],
             "bare": [],
             "warned": [policy("select-all", "", SELECT_ALL)],
             "exempt": []}
    created = []
    for suffix, policies in names.items():
        namespace = PREFIX + suffix
        kubectl.ok("create", "namespace", namespace)
        kubectl.ok("create", "serviceaccount", "default", "-n", namespace)
        for item in policies:
            item["metadata"]["namespace"] = namespace
            kubectl.ok("create", "-f", "-", stdin=json.dumps(item))
        created.append(namespace)
    kubectl.ok("label", "namespace", PREFIX + "exempt", "netpol-guard.io/exempt=true")
    return created


def webhook_rules(result: Any) -> set[str]:
    return {match.group(1) for line in result.stderr.splitlines()
            if (match := RULE.match(line))}


def run_cli(*args: str) -> tuple[int, Any]:
    done = subprocess.run([sys.executable, "-m", "webhook.cli", *args, "-o", "json"],
                          capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)


def policy_file(guard: Guard, tmp_path: Path) -> str:
    path = tmp_path / "policy.yaml"
    path.write_text(guard.policy_configmap["data"]["policy.yaml"], encoding="utf-8")
    return str(path)


def test_audit_agrees_with_the_webhook(guard: Guard, kubectl: Kubectl, landscape: list[str],
                                       control_plane: ControlPlane, tmp_path: Path) -> None:
    _, report = run_cli("audit", "--kubeconfig", str(control_plane.kubeconfig),
                        "--policy", policy_file(guard, tmp_path), "--no-progress")
    audit_dd001 = {entry["name"] for entry in report["namespaces"]
                   if entry["rule"] == "DD001" and entry["name"] in landscape}
    refused = set()
    for namespace in landscape:
        result = kubectl("run", "probe", "-n", namespace, "--image=nginx:1.27",
                         "--dry-run=server")
        if result.returncode != 0:
            assert "DD001" in webhook_rules(result), str(result)
            refused.add(namespace)
    assert refused == {PREFIX + "bare", PREFIX + "warned"}, report
    assert audit_dd001 == refused, report

    audit_rules: dict[tuple[str, str], set[str]] = {}
    for finding in report["findings"]:
        if finding["kind"] == "NetworkPolicy" and finding["namespace"] in landscape:
            key = (finding["namespace"], finding["name"])
            audit_rules.setdefault(key, set()).add(finding["rule"])
    listed = json.loads(kubectl.ok("get", "networkpolicies", "-A", "-o", "json").stdout)
    for item in listed["items"]:
        key = (item["metadata"]["namespace"], item["metadata"]["name"])
        if key[0] not in landscape:
            continue
        result = kubectl("label", "networkpolicy", key[1], "-n", key[0], "audit=1",
                         "--dry-run=server")
        assert result.returncode == 0, str(result)
        assert audit_rules.get(key, set()) == webhook_rules(result), (key, str(result))
    assert audit_rules  # the landscape has findings to compare


CHECKED = {
    "named.json": policy("named2", PREFIX + "ok", NAMED),
    "open.json": policy("open", PREFIX + "ok", {"podSelector": {}, "ingress": [{}]}),
    "world.json": policy("world", PREFIX + "ok", {
        "podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Egress"],
        "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}],
                    "ports": [{"port": 443, "protocol": "TCP"}]}]}),
    "deny-bare.json": policy("default-deny", PREFIX + "bare", DENY),
    "pod-bare.json": {"apiVersion": "v1", "kind": "Pod",
                      "metadata": {"name": "web", "namespace": PREFIX + "bare"},
                      "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}},
    "pod-ok.json": {"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": "web", "namespace": PREFIX + "ok"},
                    "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}},
}


@pytest.mark.parametrize("name", sorted(CHECKED))
def test_check_cluster_agrees_with_the_webhook(guard: Guard, kubectl: Kubectl,
                                               landscape: list[str],
                                               control_plane: ControlPlane, tmp_path: Path,
                                               name: str) -> None:
    """One manifest at a time (a manifest set would let a default-deny in it cover a pod)."""
    path = tmp_path / name
    path.write_text(json.dumps(CHECKED[name]), encoding="utf-8")
    code, report = run_cli("check", "--cluster", "--kubeconfig",
                           str(control_plane.kubeconfig), "--policy",
                           policy_file(guard, tmp_path), "-f", str(path))
    obj = CHECKED[name]
    mine = [f for f in report["findings"] if f["kind"] == obj["kind"]
            and f["name"] == obj["metadata"]["name"]]
    result = kubectl("create", "--dry-run=server", "-f", str(path))
    assert (result.returncode != 0) == any(f["action"] == "deny" for f in mine), \
        (report, str(result))
    assert {f["rule"] for f in mine if f["action"] in ("deny", "warn")} == \
        webhook_rules(result), (report, str(result))
