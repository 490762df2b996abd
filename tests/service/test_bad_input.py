"""Bad input to /validate gets a JSON answer: an AdmissionReview deny when the uid is known,
otherwise a JSON 400/413/415 Status. Never HTML, never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import load_review
from tests.service.conftest import post_review
from webhook.admission.wire import MAX_BODY_BYTES, MAX_JSON_DEPTH


def _review(**changes: Any) -> dict[str, Any]:
    review = load_review("pod-create-kubectl-run")
    review["request"].update(changes)
    return review


def _without(key: str) -> dict[str, Any]:
    review = load_review("pod-create-kubectl-run")
    del review["request"][key]
    return review


UID = load_review("pod-create-kubectl-run")["request"]["uid"]

# (id, body bytes, content type, expected HTTP status, uid expected in an AdmissionReview deny)
CASES_WITHOUT_UID = [
    ("empty body", b"", "application/json", 400),
    ("not json", b"{this is not json", "application/json", 400),
    ("json array", b"[1, 2]", "application/json", 400),
    ("json string", b'"AdmissionReview"', "application/json", 400),
    ("request missing", json.dumps({"apiVersion": "admission.k8s.io/v1",
                                    "kind": "AdmissionReview"}).encode(),
     "application/json", 400),
    ("uid missing", json.dumps(_without("uid")).encode(), "application/json", 400),
    ("uid empty", json.dumps(_review(uid="")).encode(), "application/json", 400),
    ("nested too deep", b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1),
     "application/json", 400),
    ("nested 100000 deep", b"{\"a\":" * 100_000 + b"1" + b"}" * 100_000,
     "application/json", 400),
    ("body over 7 MiB", b" " * (MAX_BODY_BYTES + 1), "application/json", 413),
    ("text/plain without uid", b"hello", "text/plain", 415),
    ("invalid utf-8", b"\xff\xfe{\"a\": 1}", "application/json", 400),
]


@pytest.mark.parametrize(("body", "content_type", "status"),
                         [pytest.param(b, c, s, id=i) for i, b, c, s in CASES_WITHOUT_UID])
def test_request_without_usable_uid_gets_a_json_status(
        client: FlaskClient, body: bytes, content_type: str, status: int) -> None:
    answer = post_review(client, None, raw=body, content_type=content_type)

    assert answer.status_code == status
    assert answer.mimetype == "application/json"
    document = answer.get_json()
    assert document["kind"] == "Status"
    assert document["code"] == status
    assert document["message"]


CASES_WITH_UID = [
    ("unknown review apiVersion", _review() | {"apiVersion": "admission.k8s.io/v2"},
     "application/json", 400, "apiVersion"),
    ("kind is not AdmissionReview", _review() | {"kind": "TokenReview"},
     "application/json", 400, "kind"),
    ("request.kind missing", _without("kind"), "application/json", 400, "request.kind"),
    ("operation unknown", _review(operation="PATCH"), "application/json", 400, "operation"),
    ("object null on CREATE", _review(object=None), "application/json", 400, "null"),
    ("object is a list", _review(object=[1]), "application/json", 400, "object"),
    ("wrong content type with a uid", _review(), "text/plain", 415, "Content-Type"),
]


@pytest.mark.parametrize(("review", "content_type", "code", "words"),
                         [pytest.param(r, c, s, w, id=i) for i, r, c, s, w in CASES_WITH_UID])
def test_request_with_uid_gets_an_admission_review_deny(
        client: FlaskClient, review: dict[str, Any], content_type: str, code: int,
        words: str) -> None:
    answer = post_review(client, review, content_type=content_type)

    assert answer.status_code == 200
    assert answer.mimetype == "application/json"
    response = answer.get_json()["response"]
    assert response["uid"] == UID
    assert response["allowed"] is False
    assert response["status"]["code"] == code
    assert words in response["status"]["message"]


@pytest.mark.parametrize(("method", "path", "status"), [
    pytest.param("get", "/validate", 405, id="GET on /validate"),
    pytest.param("post", "/nope", 404, id="unknown path"),
])
def test_http_errors_are_json_too(client: FlaskClient, method: str, path: str,
                                  status: int) -> None:
    answer = getattr(client, method)(path)

    assert answer.status_code == status
    assert answer.mimetype == "application/json"
    assert answer.get_json()["code"] == status


def test_engine_exception_fails_closed_with_code_500(client: FlaskClient,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    from webhook.serving import validate

    def explode(*_: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(validate, "review_request", explode)
    review = load_review("networkpolicy-create-default-deny-all")

    answer = post_review(client, review)

    assert answer.status_code == 200
    response = answer.get_json()["response"]
    assert response["allowed"] is False
    assert response["status"]["code"] == 500
    assert review["request"]["uid"] in response["status"]["message"]
    assert any(getattr(r, "fields", {}).get("uid") == review["request"]["uid"]
               for r in caplog.records)


def test_without_a_valid_policy_reviews_are_refused_and_not_ready(tmp_path: Any) -> None:
    from webhook.kube.cluster import make_cluster
    from webhook.policy.store import PolicyStore
    from webhook.serving.app import create_app

    broken = tmp_path / "policy.yaml"
    broken.write_text("apiVersion: netpol-guard.io/v1\nkind: Policy\nrules: {NP001: 3}\n")
    client = create_app(PolicyStore(str(broken)), make_cluster("inventory")).test_client()
    review = load_review("networkpolicy-create-default-deny-all")

    answer = post_review(client, review)
    ready = client.get("/readyz")

    response = answer.get_json()["response"]
    assert response["allowed"] is False
    assert response["status"]["code"] == 503
    assert "no valid policy" in response["status"]["message"]
    assert ready.status_code == 503
    assert ready.get_json()["policy"]["valid"] is False


def test_options_is_refused_with_json(client: FlaskClient) -> None:
    answer = client.options("/validate")

    assert answer.status_code == 405
    assert answer.mimetype == "application/json"


def test_brackets_inside_strings_are_not_nesting(client: FlaskClient) -> None:
    review = load_review("networkpolicy-create-default-deny-all")
    review["request"]["object"]["metadata"]["annotations"] = {
        "note": "[" * (MAX_JSON_DEPTH * 3) + '\\"{' * 50}

    response = post_review(client, review).get_json()["response"]

    assert response["uid"] == review["request"]["uid"]
    assert response["allowed"] is True


# orjson reads reviews; what it refuses goes to the standard library, so these are accepted
# exactly as json.loads accepts them (an API server sends none of them, a hand-made client may).
@pytest.mark.parametrize(("encode", "annotation"), [
    pytest.param(lambda review: json.dumps(review).encode("utf-16"), "plain",
                 id="UTF-16 body with a BOM"),
    pytest.param(lambda review: json.dumps(review).encode(), "\ud800",
                 id="lone surrogate escape"),
])
def test_json_that_orjson_refuses_is_still_reviewed(client: FlaskClient, encode: Any,
                                                   annotation: str) -> None:
    review = load_review("networkpolicy-create-default-deny-all")
    review["request"]["object"]["metadata"]["annotations"] = {"note": annotation}

    answer = post_review(client, None, raw=encode(review))

    assert answer.status_code == 200
    response = answer.get_json()["response"]
    assert response["uid"] == review["request"]["uid"]
    assert response["allowed"] is True


def test_invalid_json_keeps_the_standard_library_message(client: FlaskClient) -> None:
    body = b'{"apiVersion": "admission.k8s.io/v1", "kind": }'
    try:
        json.loads(body)
    except ValueError as error:
        expected = str(error)

    document = post_review(client, None, raw=body).get_json()

    assert document["message"] == f"body is not valid JSON: {expected}"


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8",
                                          "Application/JSON", "application/json;charset=UTF-8"])
def test_json_content_type_with_parameters_or_other_case_is_accepted(
        client: FlaskClient, content_type: str) -> None:
    answer = post_review(client, load_review("pod-create-kubectl-run"),
                         content_type=content_type)

    response = answer.get_json()["response"]
    assert response["uid"] == UID
    assert response.get("status", {}).get("code") != 415
