"""The offline API-server model agrees with every verdict a real kube-apiserver v1.36 gave.

``tests/fixtures/apiserver-verdicts.jsonl`` records, for edge-case NetworkPolicy manifests, what
``kubectl create --dry-run=server -n verdicts`` answered: accepted (with the defaulted object and
warnings) or rejected (with the error). Each record is one test case, named by its id.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from webhook.kube.apiserver import FieldValidation, admit_network_policy

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "apiserver-verdicts.jsonl"
RECORDS = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()
           if line.strip()]

# A field path at the start of an error cause ("spec.ingress[0].ports[0].port: Invalid ...").
_CAUSE_PATH = re.compile(r"^(?:\* )?([A-Za-z][\w.\[\]]*): ", re.MULTILINE)
_UNKNOWN_FIELD = re.compile(r'unknown field "([^"]+)"')


def field_validation(flags: list[str]) -> FieldValidation:
    """kubectl's --validate flag as the API server's fieldValidation (kubectl default Strict)."""
    for flag in flags:
        if flag == "--validate=warn":
            return "Warn"
        if flag in ("--validate=false", "--validate=ignore"):
            return "Ignore"
    return "Strict"


def namespace_of(flags: list[str]) -> str:
    return flags[flags.index("-n") + 1] if "-n" in flags else "default"


def error_paths(error: str) -> set[str]:
    """The field paths an error names (causes after "is invalid:", or unknown fields)."""
    _, _, causes = error.partition(" is invalid: ")
    return set(_CAUSE_PATH.findall(causes)) | set(_UNKNOWN_FIELD.findall(error))


def test_corpus_is_complete() -> None:
    assert len(RECORDS) == 103
    assert len({r["id"] for r in RECORDS}) == len(RECORDS)


@pytest.mark.parametrize("record", RECORDS, ids=[r["id"] for r in RECORDS])
def test_agrees_with_the_api_server(record: dict[str, Any]) -> None:
    result = admit_network_policy(record["manifest"], namespace_of(record["flags"]),
                                  field_validation=field_validation(record["flags"]))
    assert result.accepted == record["accepted"], result.message
    if record["accepted"]:
        assert result.defaulted is not None
        assert result.defaulted["spec"] == record["defaulted"]["spec"]
        assert result.defaulted["metadata"]["namespace"] == \
            record["defaulted"]["metadata"]["namespace"]
        assert result.warnings == record["warnings"]
        return
    expected_paths = error_paths(record["error"])
    if expected_paths:
        assert error_paths(result.message) == expected_paths, result.message
    elif "cannot be handled as a" in record["error"]:
        # A JSON type mismatch names the Go field without list indexes: the same text.
        assert result.message in record["error"]
    else:
        # No field path (an unknown apiVersion): the same complaint about the kind/version.
        assert "no matches for kind" in record["error"]
        assert 'no matches for kind "NetworkPolicy" in version ' \
            '"networking.k8s.io/v1beta1"' in result.message


@pytest.mark.parametrize("record", [r for r in RECORDS if " is invalid: " in (r["error"] or "")],
                         ids=lambda r: r["id"])
def test_invalid_messages_are_word_for_word(record: dict[str, Any]) -> None:
    """For schema-valid objects that fail validation, kubectl's message is reproduced exactly."""
    result = admit_network_policy(record["manifest"], namespace_of(record["flags"]),
                                  field_validation=field_validation(record["flags"]))
    assert result.message == record["error"]


@pytest.mark.parametrize("record", [r for r in RECORDS if "cannot be handled" in (r["error"] or "")
                                    or "no matches for kind" in (r["error"] or "")],
                         ids=lambda r: r["id"])
def test_decoding_errors_are_the_servers_text(record: dict[str, Any]) -> None:
    """Rejections before validation (strict decoding, unknown apiVersion): kubectl prefixes the
    server's text with its own context ("Error from server (BadRequest): error when creating
    FILE: ..."); the server's part is reproduced exactly."""
    result = admit_network_policy(record["manifest"], namespace_of(record["flags"]),
                                  field_validation=field_validation(record["flags"]))
    assert result.message in record["error"]


NAMESPACE_CORPUS = CORPUS.with_name("apiserver-namespace-verdicts.jsonl")
NAMESPACE_RECORDS = [json.loads(line) for line in
                     NAMESPACE_CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize("record", NAMESPACE_RECORDS, ids=[r["id"] for r in NAMESPACE_RECORDS])
def test_namespace_verdicts_are_word_for_word(record: dict[str, Any]) -> None:
    """Namespaces: the API server validates the kubernetes.io/metadata.name label it adds, so an
    invalid name fails twice (captured with tests/e2e/capture_verdicts.py)."""
    from webhook.kube.apiserver import admit_namespace

    result = admit_namespace(record["manifest"], field_validation="Strict")
    assert result.accepted == record["accepted"]
    assert result.message == record["error"]
