"""``netpol-guard audit`` against the Kubernetes API test double (and an inventory).

The cluster: team-good is compliant with good policies; team-open has a default-deny that an
allow-all policy cancels; team-bare has no NetworkPolicy; kube-system is exempt by name and
team-exempt by label. PolicyReport output is validated against the wgpolicyk8s.io v1alpha2
schema in tests/schemas/.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from tests.kubeapi_double import KubeAPIDouble, namespace, network_policy
from webhook.cli.audit_scan import Progress, audit
from webhook.cli.main import main
from webhook.policy.loader import default_policy

SCHEMA = json.loads((Path(__file__).resolve().parent.parent / "schemas"
                     / "policyreport-v1alpha2.json").read_text(encoding="utf-8"))

DENY_INGRESS = {"podSelector": {}, "policyTypes": ["Ingress"]}
FRONTEND_TO_API = {
    "podSelector": {"matchLabels": {"app": "api"}}, "policyTypes": ["Ingress"],
    "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "frontend"}}}],
                 "ports": [{"protocol": "TCP", "port": 8080}]}],
}
ALLOW_ALL = {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{}]}


def cluster_objects() -> list[dict[str, Any]]:
    return [
        namespace("team-good", {"kubernetes.io/metadata.name": "team-good"}),
        namespace("team-open", {"kubernetes.io/metadata.name": "team-open"}),
        namespace("team-bare", {"kubernetes.io/metadata.name": "team-bare"}),
        namespace("kube-system", {"kubernetes.io/metadata.name": "kube-system"}),
        namespace("team-exempt", {"kubernetes.io/metadata.name": "team-exempt",
                                  "netpol-guard.io/exempt": "true"}),
        network_policy("team-good", "default-deny-ingress", DENY_INGRESS),
        network_policy("team-good", "allow-frontend-to-api", FRONTEND_TO_API),
        network_policy("team-open", "default-deny-ingress", DENY_INGRESS),
        network_policy("team-open", "allow-all", ALLOW_ALL),
    ]


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Iterator[Path]:
    double = KubeAPIDouble().start()
    for obj in cluster_objects():
        double.create(obj)
    try:
        yield double.write_kubeconfig(tmp_path / "kubeconfig")
    finally:
        double.stop()


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    directory = tmp_path / "inventory"
    directory.mkdir()
    (directory / "cluster.yaml").write_text(yaml.safe_dump_all(cluster_objects()))
    return directory


def run_audit(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["audit", "--no-progress", *args])
    return code, capsys.readouterr().out


def test_json_names_non_compliant_namespaces_and_bad_policies(
        kubeconfig: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_audit(capsys, "--kubeconfig", str(kubeconfig), "--output", "json")
    document = json.loads(out)
    assert code == 1
    assert [(ns["name"], ns["rule"], ns["missing"]) for ns in document["namespaces"]] == [
        ("team-bare", "DD001", ["Ingress"]), ("team-open", "DD001", ["Ingress"])]
    broken = {(f["namespace"], f["name"], f["rule"], f["action"]) for f in document["findings"]}
    assert ("team-open", "allow-all", "NP001", "deny") in broken
    assert ("team-open", "allow-all", "NP008", "deny") in broken
    assert not [f for f in document["findings"] if f["namespace"] == "team-good"]
    assert document["summary"]["namespaces"] == 5
    assert document["summary"]["protected"] == 3
    assert document["summary"]["networkPolicies"] == 4


def test_policy_reports_follow_the_v1alpha2_schema(
        kubeconfig: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_audit(capsys, "--kubeconfig", str(kubeconfig), "--output", "policyreport")
    reports = list(yaml.safe_load_all(out))
    validator = Draft202012Validator(SCHEMA)
    for report in reports:
        errors = sorted(validator.iter_errors(report), key=str)
        assert not errors, [e.message for e in errors]
    by_namespace = {r["metadata"]["namespace"]: r for r in reports}
    assert sorted(by_namespace) == ["kube-system", "team-bare", "team-exempt", "team-good",
                                    "team-open"]
    for report in reports:
        outcomes = [result["result"] for result in report["results"]]
        assert report["summary"] == {k: outcomes.count(k)
                                     for k in ("pass", "fail", "warn", "error", "skip")}
    open_results = {(r["rule"], r["result"], r["resources"][0]["name"])
                    for r in by_namespace["team-open"]["results"]}
    assert ("DD001 missing-default-deny", "fail", "team-open") in open_results
    assert ("NP001 allow-all-sources", "fail", "allow-all") in open_results
    assert ("least-privilege", "pass", "default-deny-ingress") in open_results
    assert [r["result"] for r in by_namespace["kube-system"]["results"]] == ["skip"]
    assert [r["result"] for r in by_namespace["team-exempt"]["results"]] == ["skip"]
    assert by_namespace["team-good"]["summary"]["fail"] == 0
    assert code == 1


def test_schema_rejects_a_malformed_report() -> None:
    """The schema is not vacuous: a wrong result value and a string timestamp fail it."""
    report = {"apiVersion": "wgpolicyk8s.io/v1alpha2", "kind": "PolicyReport",
              "metadata": {"name": "x", "namespace": "y"},
              "results": [{"policy": "p", "result": "failed", "timestamp": "2026-01-01T00:00Z"}]}
    messages = [e.message for e in Draft202012Validator(SCHEMA).iter_errors(report)]
    assert len(messages) == 2


def test_inventory_gives_the_same_verdicts_as_the_api(
        kubeconfig: Path, inventory: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, from_api = run_audit(capsys, "--kubeconfig", str(kubeconfig), "--output", "json")
    _, from_inventory = run_audit(capsys, "--inventory", str(inventory), "--output", "json")
    assert json.loads(from_api) == json.loads(from_inventory)


def test_text_output(inventory: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_audit(capsys, "--inventory", str(inventory))
    assert code == 1
    assert "Protected namespaces without their default-deny (2):" in out
    assert "  team-bare: missing Ingress" in out
    assert "  NetworkPolicy team-open/allow-all" in out
    assert "NP001 allow-all-sources" in out


def test_clean_cluster_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = tmp_path / "clean"
    directory.mkdir()
    (directory / "ns.yaml").write_text(yaml.safe_dump_all([
        namespace("team-good"), network_policy("team-good", "default-deny", DENY_INGRESS)]))
    code, out = run_audit(capsys, "--inventory", str(directory))
    assert code == 0, out


def test_policy_flag_is_used_and_its_errors_read_as_checks(
        inventory: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``audit --policy`` loads the file (team-* exempted: no DD001 left) and refuses a missing
    or invalid one with exit 2 and the words ``check --policy`` uses."""
    exempting = tmp_path / "exempt.yaml"
    exempting.write_text("apiVersion: netpol-guard.io/v1\nkind: Policy\n"
                         "defaultDeny: {exemptions: {namespaces: [kube-system, 'team-*']}}\n")
    code, out = run_audit(capsys, "--inventory", str(inventory), "--output", "json",
                          "--policy", str(exempting))
    assert json.loads(out)["namespaces"] == []
    assert code == 1  # team-open's allow-all still breaks NP001
    invalid = tmp_path / "invalid.yaml"
    invalid.write_text("apiVersion: netpol-guard.io/v1\nkind: Policy\n"
                       "rules: {NP006: {minPrefixV4: 33}}\n")
    for policy, words in ((tmp_path / "missing.yaml", "No such file or directory"),
                          (invalid, "rules.NP006.minPrefixV4: 33 is greater than the maximum")):
        code = main(["audit", "--no-progress", "--inventory", str(inventory),
                     "--policy", str(policy)])
        out, err = capsys.readouterr()
        assert (code, out) == (2, "") and words in err
        check_code = main(["check", "-f", str(inventory), "--policy", str(policy)])
        check_err = capsys.readouterr().err
        assert check_code == 2
        assert err.replace("netpol-guard audit: ", "netpol-guard check: ", 1) == check_err

def test_unreachable_cluster_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    double = KubeAPIDouble().start()
    kubeconfig = double.write_kubeconfig(tmp_path / "kubeconfig")
    double.fail_status = 403
    try:
        import webhook.cli.audit as cli_audit

        original = cli_audit.CLUSTER_SYNC_TIMEOUT
        cli_audit.CLUSTER_SYNC_TIMEOUT = 1.0
        try:
            code = main(["audit", "--no-progress", "--kubeconfig", str(kubeconfig)])
        finally:
            cli_audit.CLUSTER_SYNC_TIMEOUT = original
    finally:
        double.stop()
    assert code == 2
    assert "cluster state unavailable" in capsys.readouterr().err


def test_namespaces_known_only_from_policies_are_judged_by_name() -> None:
    result = audit([], [network_policy("team-orphan", "allow-all", ALLOW_ALL)],
                   default_policy(), now=0)
    [entry] = result.namespaces
    assert (entry.name, entry.protected, entry.missing) == ("team-orphan", True, ("Ingress",))


def test_progress_bar_only_on_a_terminal() -> None:
    shown, hidden = io.StringIO(), io.StringIO()
    objects = cluster_objects()
    namespaces = [o for o in objects if o["kind"] == "Namespace"]
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    audit(namespaces, policies, default_policy(), progress=Progress(shown, enabled=True))
    audit(namespaces, policies, default_policy(), progress=Progress(hidden, enabled=False))
    assert "4/4 NetworkPolicies audited" in shown.getvalue()
    assert hidden.getvalue() == ""
