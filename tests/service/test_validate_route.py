"""The two doors to /validate give the same answers.

``validate.ValidateRoute`` answers requests shaped as the API server sends them before Flask's
dispatch; the Flask view answers the rest. Each request here is sent both ways — with
``Content-Type: application/json`` (the route) and ``application/json; charset=utf-8`` (the
same media type, but Flask's door) — and a ``before_request`` hook tells which door it took.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import admission_fixture_names, load_review
from webhook.admission.wire import MAX_BODY_BYTES
from webhook.serving.validate import _plain_review_length

ROUTE_TYPE = "application/json"
FLASK_TYPE = "application/json; charset=utf-8"

BAD_BODIES = {
    "empty": b"",
    "not JSON": b"{not json",
    "a JSON array": b"[]",
    "no uid": b'{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{}}',
    "unknown apiVersion, with uid": json.dumps({
        "apiVersion": "admission.k8s.io/v2", "kind": "AdmissionReview",
        "request": {"uid": "u-1"}}).encode(),
    "no object on CREATE": json.dumps({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": "u-2", "kind": {"kind": "Pod"}, "operation": "CREATE"}}).encode(),
}


@pytest.fixture
def flask_dispatches(app: Flask) -> list[str]:
    """The paths of the requests that went through Flask's dispatch."""
    seen: list[str] = []

    @app.before_request
    def count() -> None:
        from flask import request

        seen.append(request.path)

    return seen


def _post(client: FlaskClient, body: bytes, content_type: str) -> Any:
    return client.post("/validate?timeout=10s", data=body, content_type=content_type)


def _same_answer(route: Any, flask: Any) -> None:
    assert route.status_code == flask.status_code
    assert route.mimetype == flask.mimetype == "application/json"
    assert route.get_json() == flask.get_json()


@pytest.mark.parametrize("name", admission_fixture_names())
def test_every_captured_review_gets_the_same_answer_through_both_doors(
        name: str, client: FlaskClient, flask_dispatches: list[str]) -> None:
    body = json.dumps(load_review(name)).encode()

    route = _post(client, body, ROUTE_TYPE)
    assert flask_dispatches == []
    flask = _post(client, body, FLASK_TYPE)
    assert flask_dispatches == ["/validate"]

    _same_answer(route, flask)
    assert route.get_json()["kind"] == "AdmissionReview"


@pytest.mark.parametrize("name", BAD_BODIES)
def test_a_bad_body_gets_the_same_json_answer_through_both_doors(
        name: str, client: FlaskClient, flask_dispatches: list[str]) -> None:
    body = BAD_BODIES[name]
    route = _post(client, body, ROUTE_TYPE)
    flask = _post(client, body, FLASK_TYPE)

    # The test client sends an empty body without Content-Length: Flask's door, both times.
    assert flask_dispatches == ["/validate"] * (1 if body else 2)
    _same_answer(route, flask)
    assert route.status_code in (200, 400)


def test_an_unexpected_error_is_a_json_500_through_both_doors(
        client: FlaskClient, flask_dispatches: list[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from webhook.serving import validate

    def explode(*_: Any) -> None:
        raise RuntimeError("boom")

    # build_response runs after the engine's own fail-closed handler: only the last-resort
    # handlers (the route's, Flask's) can catch this.
    monkeypatch.setattr(validate, "build_response", explode)
    body = json.dumps(load_review("pod-create-kubectl-run")).encode()

    route = _post(client, body, ROUTE_TYPE)
    flask = _post(client, body, FLASK_TYPE)

    assert flask_dispatches == ["/validate"]
    _same_answer(route, flask)
    assert route.status_code == 500
    assert route.get_json() == {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                "code": 500, "reason": "BadRequest",
                                "message": "internal error: RuntimeError"}


def test_other_requests_are_left_to_flask(client: FlaskClient,
                                          flask_dispatches: list[str]) -> None:
    body = json.dumps(load_review("pod-create-kubectl-run")).encode()

    assert client.get("/validate").status_code == 405
    assert client.post("/validate", data=body, content_type="text/plain").status_code == 200
    assert client.get("/healthz").status_code == 200

    assert flask_dispatches == ["/validate", "/validate", "/healthz"]


def _environ(**overrides: Any) -> dict[str, Any]:
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/validate", "SCRIPT_NAME": "",
               "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": "1234"}
    environ.update(overrides)
    return {key: value for key, value in environ.items() if value is not None}


@pytest.mark.parametrize(("case", "environ", "length"), [
    ("the API server's request", _environ(), 1234),
    ("empty body, still the route's (answered 400)", _environ(CONTENT_LENGTH="0"), 0),
    ("at the size limit", _environ(CONTENT_LENGTH=str(MAX_BODY_BYTES)), MAX_BODY_BYTES),
    ("over the size limit: Flask answers 413", _environ(CONTENT_LENGTH=str(MAX_BODY_BYTES + 1)),
     None),
    ("no Content-Length", _environ(CONTENT_LENGTH=None), None),
    ("a Content-Length that is not a number", _environ(CONTENT_LENGTH="12a"), None),
    ("a Content-Length in non-ASCII digits", _environ(CONTENT_LENGTH="١٢"), None),
    ("chunked", _environ(CONTENT_LENGTH=None, HTTP_TRANSFER_ENCODING="chunked"), None),
    ("Transfer-Encoding beside a length", _environ(HTTP_TRANSFER_ENCODING="chunked"), None),
    ("a parameter on the media type", _environ(CONTENT_TYPE=FLASK_TYPE), None),
    ("another media type", _environ(CONTENT_TYPE="text/plain"), None),
    ("no Content-Type", _environ(CONTENT_TYPE=None), None),
    ("GET", _environ(REQUEST_METHOD="GET"), None),
    ("another path", _environ(PATH_INFO="/validate/"), None),
    ("mounted under a prefix", _environ(SCRIPT_NAME="/webhook"), None),
])
def test_which_requests_the_route_answers(case: str, environ: dict[str, Any],
                                          length: int | None) -> None:
    assert _plain_review_length(environ) == length, case


class _BrokenStream:
    def read(self, _size: int) -> bytes:
        raise ConnectionResetError("connection reset by peer")


@pytest.mark.parametrize(("case", "stream", "reason"), [
    ("the client sends less than it announced", io.BytesIO(b'{"apiVersion": "adm'),
     "body ended after 19 of 1234 bytes (the client sent less than it announced)"),
    ("the connection breaks while reading", _BrokenStream(),
     "body ended after 0 of 1234 bytes (ConnectionResetError: connection reset by peer)"),
])
def test_a_body_cut_short_is_a_json_400(case: str, stream: Any, reason: str, app: Flask,
                                        flask_dispatches: list[str]) -> None:
    answered: list[tuple[str, list[tuple[str, str]]]] = []
    environ = {**_environ(), "wsgi.input": stream}

    chunks = app.wsgi_app(environ, lambda status, headers: answered.append((status, headers)))

    assert flask_dispatches == [], case
    assert answered[0][0] == "400 Bad Request"
    assert ("Content-Type", "application/json") in answered[0][1]
    body = json.loads(b"".join(chunks))
    assert body["code"] == 400 and body["kind"] == "Status"
    assert body["message"] == reason
