"""The AdmissionReview contract over every request a real API server sent (tests/fixtures)."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.conftest import admission_fixture_names, load_review
from tests.service.conftest import post_review

REVIEW_FIXTURES = [name for name in admission_fixture_names()]


@pytest.mark.parametrize("name", REVIEW_FIXTURES)
def test_every_captured_review_gets_a_well_formed_answer(client: FlaskClient, name: str) -> None:
    review = load_review(name)
    answer = post_review(client, review)

    assert answer.status_code == 200
    assert answer.mimetype == "application/json"
    body = answer.get_json()
    assert body["apiVersion"] == review["apiVersion"]
    assert body["kind"] == "AdmissionReview"
    response = body["response"]
    assert response["uid"] == review["request"]["uid"]
    assert isinstance(response["allowed"], bool)
    if not response["allowed"]:
        assert response["status"]["code"] == 403
        assert response["status"]["reason"] == "Forbidden"
        assert response["status"]["message"]
    for warning in response.get("warnings", []):
        assert isinstance(warning, str) and warning


def test_v1beta1_review_is_answered_in_v1beta1(client: FlaskClient) -> None:
    review = load_review("namespace-create-v1beta1")
    assert review["apiVersion"] == "admission.k8s.io/v1beta1"

    body = post_review(client, review).get_json()

    assert body["apiVersion"] == "admission.k8s.io/v1beta1"
    assert body["response"]["uid"] == review["request"]["uid"]


def test_dry_run_gets_the_same_verdict_as_a_real_request(client: FlaskClient) -> None:
    real = load_review("networkpolicy-create-allow-all-ingress")
    dry = load_review("networkpolicy-create-allow-all-ingress")
    dry["request"]["dryRun"] = True
    dry["request"]["uid"] = "dry-" + dry["request"]["uid"]

    real_response = post_review(client, real).get_json()["response"]
    dry_response = post_review(client, dry).get_json()["response"]

    assert dry_response["allowed"] == real_response["allowed"]
    assert dry_response.get("status") == real_response.get("status")
    assert dry_response.get("warnings") == real_response.get("warnings")


def test_allow_all_ingress_is_denied_with_the_message_a_user_reads(client: FlaskClient) -> None:
    review = load_review("networkpolicy-create-allow-all-ingress")

    response = post_review(client, review).get_json()["response"]

    assert response["allowed"] is False
    message = response["status"]["message"]
    assert message.startswith("NetworkPolicy team-a/allow-all-ingress violates")
    assert ('- NP001 allow-all-sources: spec.ingress[0] has no "from", so it admits traffic '
            "from every pod and every address. List the peers that need access.") in message
    assert ('- NP008 all-ports: spec.ingress[0] has no "ports", so every port is open. '
            "List the ports.") in message
