"""``netpol-guard check --cluster``: what the cluster already has counts, read from the API.

Uses the Kubernetes API test double (tests/kubeapi_double.py) through a kubeconfig.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.kubeapi_double import KubeAPIDouble, namespace, network_policy
from webhook.cli.main import main

REPO = Path(__file__).resolve().parent.parent.parent


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict[str, str]]]:
    code = main(["check", "--output", "json", *args])
    return code, json.loads(capsys.readouterr().out)["findings"]


def test_default_deny_stored_in_the_cluster_counts(double: KubeAPIDouble, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    kubeconfig = double.write_kubeconfig(tmp_path / "kubeconfig")
    manifests = str(REPO / "examples" / "no-default-deny")
    code, findings = check(capsys, "-f", manifests, "--cluster", "--kubeconfig", str(kubeconfig))
    assert code == 1 and {f["rule"] for f in findings} == {"DD001"}
    double.create(namespace("team-no-default-deny"))
    double.create(network_policy("team-no-default-deny", "default-deny",
                                 {"podSelector": {}, "policyTypes": ["Ingress"]}))
    code, findings = check(capsys, "-f", manifests, "--cluster", "--kubeconfig", str(kubeconfig))
    assert (code, findings) == (0, [])


def test_replacing_the_stored_default_deny_is_refused(
        double: KubeAPIDouble, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The manifest updates the stored default-deny into an allow policy: DD002, as the
    webhook would answer that UPDATE, and the namespace is left without it (DD001)."""
    double.create(namespace("team-a"))
    double.create(network_policy("team-a", "default-deny",
                                 {"podSelector": {}, "policyTypes": ["Ingress"]}))
    manifest = tmp_path / "np.yaml"
    manifest.write_text(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n"
        "  name: default-deny\n  namespace: team-a\nspec:\n  podSelector:\n"
        "    matchLabels: {app: api}\n  ingress:\n  - from:\n    - podSelector:\n"
        "        matchLabels: {app: web}\n    ports:\n    - port: 80\n")
    kubeconfig = double.write_kubeconfig(tmp_path / "kubeconfig")
    code, findings = check(capsys, "-f", str(manifest), "--cluster",
                           "--kubeconfig", str(kubeconfig))
    assert code == 1
    assert {(f["kind"], f["rule"], f["action"]) for f in findings} == {
        ("NetworkPolicy", "DD002", "deny"), ("Namespace", "DD001", "warn")}


def test_kubeconfig_without_cluster_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "-f", str(REPO / "examples"), "--kubeconfig", "x"]) == 2
    assert ("--kubeconfig needs --cluster: add --cluster to read the live cluster"
            in capsys.readouterr().err)
