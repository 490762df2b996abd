"""`netpol-guard policy validate` and `netpol-guard policy schema`, as a user runs them."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from webhook.cli.main import main
from webhook.policy import docgen
from webhook.policy.loader import SCHEMA

from .conftest import CONFIGMAP_FIXTURES, VALID, fixture_configmap

REPO = Path(__file__).resolve().parents[2]
BAD = VALID + "rules:\n  NP001: {action: no}\n  NP006: {minPrefixIPv4: 8}\n"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["policy", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def sha(data: str | bytes) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def test_a_valid_file_prints_valid_and_its_hash(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(VALID)
    assert run(capsys, "validate", str(path)) == (0, f"{path}: valid (sha256 {sha(VALID)})\n", "")


def test_an_invalid_file_prints_each_problem_with_line_and_path(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(BAD)
    code, out, err = run(capsys, "validate", str(path))
    assert code == 1
    assert out.splitlines() == [
        f"{path}:4: rules.NP001.action: False is not one of ['deny', 'warn', 'audit', 'off'] "
        '(YAML 1.1 reads unquoted no as false: write "no" in quotes if you meant the word)',
        f"{path}:5: rules.NP006.minPrefixIPv4: unknown key 'minPrefixIPv4' (NP006 takes: action, "
        "exemptions, minPrefixV4, minPrefixV6); did you mean 'minPrefixV4'?",
    ]
    assert err == ""


def test_a_problem_of_the_whole_document_has_no_path(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("")
    assert run(capsys, "validate", str(path)) == (1, f"{path}:1: the document is empty\n", "")


def test_an_unreadable_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "validate", str(tmp_path / "missing.yaml"))
    assert (code, out) == (2, "")
    assert err == f"{tmp_path / 'missing.yaml'}: cannot read: No such file or directory\n"


def test_several_files_exit_with_the_worst_status(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(VALID)
    bad.write_text(BAD)
    code, out, _ = run(capsys, "validate", str(good), str(bad))
    assert code == 1
    assert out.startswith(f"{good}: valid")
    assert f"{bad}:4: rules.NP001.action" in out
    assert run(capsys, "validate", str(good), str(bad), str(tmp_path / "nope"))[0] == 2


def test_stdin_is_read_for_dash(monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(BAD.encode())))
    code, out, _ = run(capsys, "validate", "-")
    assert code == 1
    assert out.startswith("<stdin>:4: rules.NP001.action:")


CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: netpol-guard-policy
  namespace: netpol-guard
data:
  policy.yaml: |
    apiVersion: netpol-guard.io/v1
    kind: Policy
    rules:
      NP010: {maxRange: 0}
"""


def test_a_configmap_manifest_is_checked_through_its_policy_with_file_lines(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "configmap.yaml"
    path.write_text(CONFIGMAP)
    assert run(capsys, "validate", str(path)) == (
        1, f"{path}:11: rules.NP010.maxRange: 0 is less than the minimum of 1\n", "")
    path.write_text(CONFIGMAP.replace("maxRange: 0", "maxRange: 10"))
    code, out, _ = run(capsys, "validate", str(path))
    embedded = VALID + "rules:\n  NP010: {maxRange: 10}\n"
    assert (code, out) == (0, f"{path}: valid (sha256 {sha(embedded)})\n")


@pytest.mark.parametrize("fixture", CONFIGMAP_FIXTURES)
def test_the_configmaps_users_wrote_are_valid(fixture: str, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    configmap = fixture_configmap(fixture)
    path = tmp_path / "configmap.json"
    path.write_text(json.dumps(configmap, indent=2))
    data = configmap["data"]
    assert isinstance(data, dict)
    code, out, _ = run(capsys, "validate", str(path))
    assert (code, out) == (0, f"{path}#policy.yaml: valid (sha256 {sha(data['policy.yaml'])})\n")


def test_a_json_configmap_reports_lines_of_the_embedded_document(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "configmap.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                                "data": {"policy.yaml": BAD}}))
    code, out, _ = run(capsys, "validate", str(path))
    assert code == 1
    assert out.startswith(f"{path}#policy.yaml:4: rules.NP001.action:")


def test_a_configmap_without_a_policy_is_invalid(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "configmap.yaml"
    path.write_text("apiVersion: v1\nkind: ConfigMap\ndata:\n  other.yaml: x\n")
    assert run(capsys, "validate", str(path)) == (
        1, f'{path}:1: data.policy.yaml: the ConfigMap has no data["policy.yaml"] holding a '
           "policy\n", "")


def test_schema_prints_the_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "schema")
    assert code == 0
    assert json.loads(out) == dict(SCHEMA)


@pytest.mark.parametrize(("content", "code", "output"), [
    (VALID, 0, "valid (sha256"),
    (BAD, 1, ":4: rules.NP001.action: False is not one of"),
    (None, 2, "cannot read"),
])
def test_the_installed_command(tmp_path: Path, content: str | None, code: int,
                               output: str) -> None:
    path = tmp_path / "policy.yaml"
    if content is not None:
        path.write_text(content)
    result = subprocess.run([str(REPO / ".venv" / "bin" / "netpol-guard"), "policy", "validate",
                             str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == code
    assert output in result.stdout + result.stderr


def test_docs_policy_md_is_up_to_date() -> None:
    """Regenerate with: python -m webhook.policy.docgen > docs/policy.md"""
    assert (REPO / "docs" / "policy.md").read_text() == docgen.render()


def test_docs_list_every_key_of_the_schema() -> None:
    text = docgen.render()
    for key in ("defaultDeny.labelPrincipals.serviceAccounts", "rules.NP006.minPrefixV4",
                "rules.NP017.allow[].peers", "rules.<id>.exemptions.principals.groups",
                "clusterUnavailable"):
        assert f"| `{key}` |" in text
