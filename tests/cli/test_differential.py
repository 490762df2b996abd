"""The CLI and the served webhook agree on every captured NetworkPolicy review.

For each ``tests/fixtures/admission/networkpolicy-*.json`` that carries an object (CREATE and
UPDATE), the review is POSTed to a real ``netpol-guard serve`` (the ``served_webhook`` fixture:
gunicorn over TLS, default policy, empty inventory), and the same object, written as YAML, is
run through ``netpol-guard check``. For an UPDATE the stored object (``oldObject``) is put in the
CLI's ``--inventory``, so the CLI also sees an update (with the API server's ratcheting). The
verdicts must be equal: denied or not, and the ids of the rules that fired (deny and warn; audit
findings never reach kubectl) on the NetworkPolicy itself. The CLI's findings on the namespace
(DD001: the one-object manifest set leaves it without a default-deny) are not part of the
webhook's answer to this review and are left out. DELETE reviews carry no object: a manifest is
never a deletion.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from tests.conftest import ADMISSION_FIXTURES, ServedWebhook, load_review
from webhook.cli.main import main

RULE_ID = re.compile(r"\b((?:NP|DD|CM)\d{3}) [a-z-]+:")

NETWORK_POLICY_FIXTURES = sorted(p.stem for p in ADMISSION_FIXTURES.glob("networkpolicy-*.json"))
WITH_OBJECT = [name for name in NETWORK_POLICY_FIXTURES
               if load_review(name)["request"]["object"] is not None]


def test_every_fixture_but_deletes_is_compared() -> None:
    skipped = set(NETWORK_POLICY_FIXTURES) - set(WITH_OBJECT)
    assert all(load_review(name)["request"]["operation"] == "DELETE" for name in skipped)
    assert len(WITH_OBJECT) >= 15


def webhook_verdict(served: ServedWebhook, review: dict[str, Any]) -> tuple[bool, list[str]]:
    answer = requests.post(f"{served.base_url}/validate?timeout=10s", json=review,
                           verify=served.ca_file, timeout=10)
    answer.raise_for_status()
    response = answer.json()["response"]
    texts = [response.get("status", {}).get("message", ""), *response.get("warnings", [])]
    rules = {rule for text in texts for rule in RULE_ID.findall(text)}
    return not response["allowed"], sorted(rules)


def cli_verdict(tmp_path: Path, request: dict[str, Any],
                capsys: pytest.CaptureFixture[str]) -> tuple[bool, list[str], list[str]]:
    manifest = tmp_path / "object.yaml"
    manifest.write_text(yaml.safe_dump(request["object"], sort_keys=False), encoding="utf-8")
    args = ["check", "-f", str(manifest), "--output", "json", "--no-color"]
    if request["operation"] == "UPDATE":
        inventory = tmp_path / "inventory"
        inventory.mkdir()
        (inventory / "stored.yaml").write_text(yaml.safe_dump(request["oldObject"]))
        args += ["--inventory", str(inventory)]
    main(args)
    findings = [f for f in json.loads(capsys.readouterr().out)["findings"]
                if f["kind"] == "NetworkPolicy" and f["action"] in ("deny", "warn")]
    denied = any(f["action"] == "deny" for f in findings)
    rules = sorted({f["rule"] for f in findings if not f["rule"].startswith("K8S")})
    apiserver = sorted({f["rule"] for f in findings if f["rule"].startswith("K8S")})
    return denied, rules, apiserver


@pytest.mark.parametrize("name", WITH_OBJECT)
def test_cli_verdict_equals_webhook_verdict(name: str, served_webhook: ServedWebhook,
                                            tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    review = load_review(name)
    webhook_denied, webhook_rules = webhook_verdict(served_webhook, review)
    cli_denied, cli_rules, apiserver_rules = cli_verdict(tmp_path, review["request"], capsys)
    # The real API server admitted every captured object, so the CLI's model must too.
    assert "K8S001" not in apiserver_rules
    assert (cli_denied, cli_rules) == (webhook_denied, webhook_rules)
