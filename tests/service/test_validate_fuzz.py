"""Hypothesis over /validate bodies: never a non-JSON reply, never a 5xx, the uid echoed."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import admission_fixture_names, load_review

REVIEWS = [load_review(name) for name in admission_fixture_names()]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)

FIELDS = ["kind", "operation", "object", "oldObject", "namespace", "name", "userInfo",
          "dryRun", "resource", "subResource", "options"]


@st.composite
def mutated_reviews(draw: st.DrawFn) -> dict[str, Any]:
    """A real review with some request fields replaced by arbitrary JSON, or deleted."""
    review = json.loads(json.dumps(draw(st.sampled_from(REVIEWS))))
    for field in draw(st.lists(st.sampled_from(FIELDS), max_size=4, unique=True)):
        if draw(st.booleans()):
            review["request"][field] = draw(json_values)
        else:
            review["request"].pop(field, None)
    if draw(st.integers(0, 9)) == 0:
        review["apiVersion"] = draw(st.sampled_from(
            ["admission.k8s.io/v1", "admission.k8s.io/v1beta1", "v1", ""]))
    obj = review["request"].get("object")
    if isinstance(obj, dict) and isinstance(obj.get("spec"), dict) and draw(st.booleans()):
        obj["spec"][draw(st.sampled_from(["podSelector", "ingress", "egress",
                                          "policyTypes"]))] = draw(json_values)
    return review


def _check_answer(answer: Any, uid: Any) -> None:
    assert answer.status_code < 500
    assert answer.mimetype == "application/json"
    document = json.loads(answer.data)
    if answer.status_code == 200:
        assert document["kind"] == "AdmissionReview"
        assert document["response"]["uid"] == uid
        assert isinstance(document["response"]["allowed"], bool)
    else:
        assert answer.status_code in (400, 413, 415)
        assert document["kind"] == "Status"


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(review=mutated_reviews())
def test_mutated_reviews_get_json_with_their_uid(app: Flask, review: dict[str, Any]) -> None:
    answer = app.test_client().post("/validate", data=json.dumps(review),
                                    content_type="application/json")
    uid = review["request"]["uid"]
    _check_answer(answer, uid)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()))
def test_random_bodies_never_get_html_or_5xx(app: Flask, body: bytes) -> None:
    answer = app.test_client().post("/validate", data=body, content_type="application/json")

    assert answer.status_code < 500
    assert answer.mimetype == "application/json"
    json.loads(answer.data)
