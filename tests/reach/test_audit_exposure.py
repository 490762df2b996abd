"""``netpol-guard audit`` reports exposure: workloads reachable from every namespace or from
outside the cluster, in text, JSON and PolicyReport output, from an inventory and from the API.

team-open's allow-all lets everything in (every namespace and the outside); team-shared's api
admits every namespace's pods on 8080 (namespaceSelector {}), not the outside; team-good keeps
its default-deny; team-web admits only the outside (an ipBlock).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from tests.kubeapi_double import KubeAPIDouble, namespace, network_policy
from webhook.cli.main import main

SCHEMA = json.loads((Path(__file__).resolve().parent.parent / "schemas"
                     / "policyreport-v1alpha2.json").read_text(encoding="utf-8"))
DENY = {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
EGRESS_ALL = {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{}]}


def pod(ns: str, name: str, app: str, owner: tuple[str, str] | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": ns, "labels": {"app": app}}
    if owner:
        metadata["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": owner[0],
                                        "name": owner[1], "controller": True, "uid": "u"}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata,
            "spec": {"containers": [{"name": "c", "image": "i"}]},
            "status": {"phase": "Running"}}


def objects() -> list[dict[str, Any]]:
    names = ("team-open", "team-shared", "team-good", "team-web")
    result: list[dict[str, Any]] = [
        namespace(n, {"kubernetes.io/metadata.name": n}) for n in names]
    for n in names:
        result.append(network_policy(n, "default-deny", DENY))
        result.append(network_policy(n, "egress-all", EGRESS_ALL))
    result += [
        network_policy("team-open", "allow-all", {"podSelector": {}, "policyTypes": ["Ingress"],
                                                  "ingress": [{}]}),
        network_policy("team-shared", "api-from-all", {
            "podSelector": {"matchLabels": {"app": "api"}}, "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"namespaceSelector": {}}],
                         "ports": [{"protocol": "TCP", "port": 8080}]}]}),
        network_policy("team-web", "web-from-outside", {
            "podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"ipBlock": {"cidr": "203.0.113.0/24"}}]}]}),
        pod("team-open", "open-7d9f8b6c5-a", "open", ("ReplicaSet", "open-7d9f8b6c5")),
        pod("team-shared", "api", "api"),
        pod("team-good", "db-0", "db", ("StatefulSet", "db")),
        pod("team-web", "web-1", "web", ("DaemonSet", "web")),
    ]
    return result


EXPECTED = [
    {"namespace": "team-open", "kind": "ReplicaSet", "name": "open-7d9f8b6c5",
     "exposure": "fromAllNamespaces"},
    {"namespace": "team-open", "kind": "ReplicaSet", "name": "open-7d9f8b6c5",
     "exposure": "fromOutside"},
    {"namespace": "team-shared", "kind": "Pod", "name": "api", "exposure": "fromAllNamespaces"},
    {"namespace": "team-web", "kind": "DaemonSet", "name": "web", "exposure": "fromOutside"},
]


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    directory = tmp_path / "inventory"
    directory.mkdir()
    (directory / "cluster.yaml").write_text(yaml.safe_dump_all(objects()))
    return directory


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Iterator[Path]:
    double = KubeAPIDouble().start()
    for obj in objects():
        double.create(obj)
    try:
        yield double.write_kubeconfig(tmp_path / "kubeconfig")
    finally:
        double.stop()


def run_audit(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    main(["audit", "--no-progress", *args])
    return capsys.readouterr().out


def _exposure(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [{k: e[k] for k in ("namespace", "kind", "name", "exposure")}
            for e in document["exposure"]]


def test_json_lists_exposed_workloads(inventory: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    document = json.loads(run_audit(capsys, "--inventory", str(inventory), "-o", "json"))
    assert _exposure(document) == EXPECTED
    assert document["summary"]["exposedFromAllNamespaces"] == 2
    assert document["summary"]["exposedFromOutside"] == 2


def test_live_cluster_gives_the_same_exposure(kubeconfig: Path, inventory: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    live = json.loads(run_audit(capsys, "--kubeconfig", str(kubeconfig), "-o", "json"))
    assert _exposure(live) == EXPECTED


def test_text_names_each_exposure(inventory: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = run_audit(capsys, "--inventory", str(inventory))
    assert "Exposed workloads (4 findings):" in out
    assert ("  warn  team-web/web[DaemonSet]: is reachable from addresses outside the cluster"
            in out)
    assert "2 workloads reachable from every namespace, 2 from outside the cluster." in out


def test_policy_reports_carry_exposure_results(inventory: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    reports = list(yaml.safe_load_all(run_audit(capsys, "--inventory", str(inventory),
                                                "-o", "policyreport")))
    validator = Draft202012Validator(SCHEMA)
    for report in reports:
        assert not list(validator.iter_errors(report))
    found = sorted((r["metadata"]["namespace"], result["rule"], result["result"],
                    result["resources"][0]["kind"], result["resources"][0]["name"])
                   for r in reports for result in r["results"] if result["category"] == "exposure")
    assert found == [
        ("team-open", "exposure-all-namespaces", "warn", "ReplicaSet", "open-7d9f8b6c5"),
        ("team-open", "exposure-outside", "warn", "ReplicaSet", "open-7d9f8b6c5"),
        ("team-shared", "exposure-all-namespaces", "warn", "Pod", "api"),
        ("team-web", "exposure-outside", "warn", "DaemonSet", "web")]


def test_no_pods_no_exposure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = tmp_path / "bare"
    directory.mkdir()
    (directory / "cluster.yaml").write_text(yaml.safe_dump_all(
        [o for o in objects() if o["kind"] != "Pod"]))
    document = json.loads(run_audit(capsys, "--inventory", str(directory), "-o", "json"))
    assert document["exposure"] == []
