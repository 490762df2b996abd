"""``netpol-guard check`` end to end: golden outputs on examples/, exit codes, input forms.

The golden files in tests/golden/ are the exact text (no colour), JSON and SARIF output of
``netpol-guard check -f examples`` run from the repository root. After an intended change of
output, regenerate them with::

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/cli/test_check_golden.py

and review the diff.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from webhook.cli.main import main

REPO = Path(__file__).resolve().parent.parent.parent
GOLDEN = REPO / "tests" / "golden"

DEFAULT_DENY = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny-ingress
  namespace: team-x
spec:
  podSelector: {}
  policyTypes: [Ingress]
"""

NAMED_PORT = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: named-port
  namespace: team-x
spec:
  podSelector:
    matchLabels: {app: api}
  ingress:
    - from:
        - podSelector:
            matchLabels: {app: web}
      ports:
        - port: http
"""


def run_check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["check", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(autouse=True)
def _from_repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("NO_COLOR", raising=False)


@pytest.mark.parametrize(("output", "golden"), [
    ("text", "check-examples.txt"),
    ("json", "check-examples.json"),
    ("sarif", "check-examples.sarif"),
])
def test_examples_match_golden_output(capsys: pytest.CaptureFixture[str], output: str,
                                      golden: str) -> None:
    code, out, err = run_check(capsys, "-f", "examples", "--output", output, "--no-color")
    assert code == 1, err
    path = GOLDEN / golden
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(out, encoding="utf-8")
    assert out == path.read_text(encoding="utf-8")


def test_findings_point_at_the_offending_lines(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run_check(capsys, "-f", "examples", "--output", "json")
    findings = {(f["file"], f["rule"], f["name"]): f for f in json.loads(out)["findings"]}
    allow_all = findings[("examples/allow-all/networkpolicies.yaml", "NP001",
                          "allow-all-ingress")]
    lines = Path(allow_all["file"]).read_text().splitlines()
    assert allow_all["path"] == "spec.ingress[0]"
    assert lines[allow_all["line"] - 1].strip() == "- {}"
    workload = findings[("examples/no-default-deny/deployment.yaml", "DD001", "web")]
    assert workload["kind"] == "Deployment"
    assert workload["action"] == "deny"


def test_json_schema_is_stable(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run_check(capsys, "-f", "examples", "--output", "json")
    document = json.loads(out)
    assert document["version"] == 1
    assert set(document["findings"][0]) == {"file", "line", "kind", "namespace", "name", "rule",
                                            "ruleName", "action", "path", "message"}
    assert document["summary"]["deny"] == sum(1 for f in document["findings"]
                                              if f["action"] == "deny")


def test_sarif_rules_and_results(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run_check(capsys, "-f", "examples", "--output", "sarif")
    log = json.loads(out)
    assert log["version"] == "2.1.0"
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    ids = [rule["id"] for rule in rules]
    assert {"NP001", "NP017", "DD001", "K8S001"} <= set(ids)
    assert all(rule["help"]["text"] for rule in rules)
    for result in run["results"]:
        assert ids[result["ruleIndex"]] == result["ruleId"]
        assert result["level"] in ("error", "warning", "note")
        assert result["locations"][0]["physicalLocation"]["region"]["startLine"] >= 1


def test_clean_repository_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_check(capsys, "-f", "examples/good")
    assert code == 0
    assert out.startswith("No findings: 5 objects in 4 files checked.")


def test_warnings_fail_only_with_strict(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    manifest = tmp_path / "np.yaml"
    manifest.write_text(DEFAULT_DENY + "---\n" + NAMED_PORT)
    code, out, _ = run_check(capsys, "-f", str(manifest))
    assert code == 0
    assert "NP011 named-port" in out
    code, _, _ = run_check(capsys, "-f", str(manifest), "--strict")
    assert code == 1


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_check(capsys, "-f", "does/not/exist.yaml")
    assert code == 2
    assert "does/not/exist.yaml: no such file or directory" in err
    code, _, err = run_check(capsys, "-f", "examples", "--policy", "does/not/exist.yaml")
    assert code == 2


def test_parse_error_names_file_and_line(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(DEFAULT_DENY + "---\napiVersion: v1\nkind: Namespace\nmetadata:\n"
                      "  name: [unclosed\n")
    code, out, err = run_check(capsys, "-f", str(broken))
    assert code == 2
    assert out == ""
    assert f"{broken}:14: invalid YAML" in err


def test_aliases_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    aliased = tmp_path / "aliased.yaml"
    aliased.write_text(DEFAULT_DENY.replace("podSelector: {}", "podSelector: &all {}")
                       + "  extra: *all\n")
    code, _, err = run_check(capsys, "-f", str(aliased))
    assert code == 2
    assert f"{aliased}:7: YAML anchors are not allowed" in err


def test_stdin_input(monkeypatch: pytest.MonkeyPatch,
                     capsys: pytest.CaptureFixture[str]) -> None:
    allow_all = DEFAULT_DENY.replace("default-deny-ingress", "allow-all") + "  ingress:\n  - {}\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(allow_all))
    code, out, _ = run_check(capsys, "-f", "-", "--output", "json")
    assert code == 1
    findings = json.loads(out)["findings"]
    np001 = [f for f in findings if f["rule"] == "NP001"]
    assert np001 == [{"file": "<stdin>", "line": 10, "kind": "NetworkPolicy",
                      "namespace": "team-x", "name": "allow-all", "rule": "NP001",
                      "ruleName": "allow-all-sources", "action": "deny",
                      "path": "spec.ingress[0]", "message": np001[0]["message"]}]


def test_list_kinds_are_expanded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    listing = {
        "apiVersion": "v1", "kind": "List",
        "items": [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-x"}},
            {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
             "metadata": {"name": "default-deny", "namespace": "team-x"},
             "spec": {"podSelector": {}}},
            {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
             "metadata": {"name": "world", "namespace": "team-x"},
             "spec": {"podSelector": {"matchLabels": {"app": "api"}},
                      "ingress": [{"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}],
                                   "ports": [{"port": 443}]}]}},
        ],
    }
    path = tmp_path / "list.json"
    path.write_text(json.dumps(listing, indent=2))
    code, out, _ = run_check(capsys, "-f", str(path), "--output", "json")
    document = json.loads(out)
    assert document["summary"]["objects"] == 3
    world = [f for f in document["findings"] if f["rule"] == "NP005"]
    assert len(world) == 1 and code == 1
    text = path.read_text().splitlines()
    assert '"cidr": "0.0.0.0/0"' in text[world[0]["line"] - 1]


def test_apiserver_rejection_is_a_deny_finding_at_its_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = tmp_path / "odd.yaml"
    manifest.write_text(DEFAULT_DENY + "---\n" + NAMED_PORT.replace("port: http",
                                                                    "port: 70000"))
    code, out, _ = run_check(capsys, "-f", str(manifest), "--output", "json")
    assert code == 1
    [finding] = json.loads(out)["findings"]
    assert finding["rule"] == "K8S001"
    assert finding["path"] == "spec.ingress[0].ports[0].port"
    assert finding["line"] == 23
    assert "must be between 1 and 65535, inclusive" in finding["message"]


@pytest.mark.parametrize("flag", ["--validate=warn", "--validate=ignore", "--validate=false"])
def test_unknown_fields_follow_validate_like_kubectl(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str) -> None:
    manifest = tmp_path / "typo.yaml"
    manifest.write_text(DEFAULT_DENY + "  ingres:\n  - {}\n")
    code, out, _ = run_check(capsys, "-f", str(manifest), "--output", "json", flag)
    findings = json.loads(out)["findings"]
    if flag == "--validate=warn":
        assert [(f["rule"], f["action"], f["line"]) for f in findings] == \
            [("K8S002", "warn", 9)]
        assert findings[0]["message"] == 'the API server would warn: unknown field "spec.ingres"'
    else:
        assert findings == []
    assert code == 0


@pytest.mark.parametrize("flag", [None, "--validate=strict", "--validate=true"])
def test_unknown_fields_are_rejected_by_default_as_kubectl_does(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str | None) -> None:
    manifest = tmp_path / "typo.yaml"
    manifest.write_text(DEFAULT_DENY + "  ingres:\n  - {}\n")
    code, out, _ = run_check(capsys, "-f", str(manifest), "--output", "json",
                             *([flag] if flag else []))
    rejected = [f for f in json.loads(out)["findings"] if f["kind"] == "NetworkPolicy"]
    assert [(f["rule"], f["action"], f["line"]) for f in rejected] == [("K8S001", "deny", 9)]
    assert code == 1
    assert 'unknown field \\"spec.ingres\\"' in out
    # Rejected, it cannot be the namespace's default-deny either.
    assert [f["rule"] for f in json.loads(out)["findings"] if f["kind"] == "Namespace"] == \
        ["DD001"]


def test_inventory_supplies_the_default_deny(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    inventory = tmp_path / "inventory"
    inventory.mkdir()
    (inventory / "team-no-default-deny.yaml").write_text(
        DEFAULT_DENY.replace("team-x", "team-no-default-deny"))
    code, out, _ = run_check(capsys, "-f", "examples/no-default-deny")
    assert code == 1 and "DD001" in out
    code, out, _ = run_check(capsys, "-f", "examples/no-default-deny",
                             "--inventory", str(inventory))
    assert code == 0, out


def test_colour_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    from webhook.cli.report import use_colour

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert use_colour(Terminal()) is True
    assert use_colour(io.StringIO()) is False
    assert use_colour(Terminal(), no_color=True) is False
    monkeypatch.setenv("NO_COLOR", "1")
    assert use_colour(Terminal()) is False


def test_cluster_scoped_objects_bring_no_namespace(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    manifest = tmp_path / "rbac.yaml"
    manifest.write_text("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
                        "metadata:\n  name: reader\nrules: []\n---\n"
                        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n")
    code, out, _ = run_check(capsys, "-f", str(manifest), "--output", "json")
    findings = json.loads(out)["findings"]
    # Only the ConfigMap puts "default" (the --namespace default) in the check: a warning.
    assert code == 0
    assert [(f["kind"], f["name"], f["rule"], f["action"], f["line"]) for f in findings] == [
        ("Namespace", "default", "DD001", "warn", 7)]
