"""The real ``netpol-guard serve`` (gunicorn, gevent workers) over real TLS.

Everything here goes through one kept-alive HTTPS connection, as the API server's client
does, and checks status codes, Content-Type and bodies.
"""

from __future__ import annotations

import http.client
import json
import ssl
import time
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import ServedWebhook, admission_fixture_names, load_review
from webhook.admission.wire import MAX_BODY_BYTES

pytestmark = pytest.mark.integration


class KeptAliveClient:
    """One HTTPS connection reused for every request; fails if the server closes it."""

    def __init__(self, served: ServedWebhook) -> None:
        context = ssl.create_default_context(cafile=served.ca_file)
        self.connection = http.client.HTTPSConnection("127.0.0.1", served.port,
                                                      context=context, timeout=10)
        self.connection.connect()
        self.socket = self.connection.sock

    def post(self, body: bytes, content_type: str = "application/json",
             path: str = "/validate?timeout=10s") -> tuple[int, str, Any]:
        self.connection.request("POST", path, body=body, headers={
            "Content-Type": content_type, "User-Agent": "kube-apiserver-admission",
            "Accept": "application/json"})
        return self._read()

    def get(self, path: str) -> tuple[int, str, bytes]:
        self.connection.request("GET", path)
        answer = self.connection.getresponse()
        return answer.status, answer.getheader("Content-Type", ""), answer.read()

    def _read(self) -> tuple[int, str, Any]:
        answer = self.connection.getresponse()
        raw = answer.read()
        assert self.connection.sock is self.socket, "server closed the kept-alive connection"
        return answer.status, answer.getheader("Content-Type", ""), json.loads(raw)


@pytest.fixture(scope="module")
def kept_alive(served_webhook: ServedWebhook) -> Iterator[KeptAliveClient]:
    client = KeptAliveClient(served_webhook)
    yield client
    client.connection.close()


def test_every_fixture_over_one_kept_alive_connection(kept_alive: KeptAliveClient) -> None:
    for name in admission_fixture_names():
        review = load_review(name)
        status, content_type, body = kept_alive.post(json.dumps(review).encode())

        assert status == 200, name
        assert content_type == "application/json", name
        assert body["apiVersion"] == review["apiVersion"], name
        assert body["response"]["uid"] == review["request"]["uid"], name


def test_both_doors_to_validate_answer_alike_when_served(kept_alive: KeptAliveClient) -> None:
    # application/json is answered by validate.ValidateRoute before Flask; the same media type
    # with a charset parameter takes the Flask view (tests/service/test_validate_route.py).
    for name in admission_fixture_names():
        body = json.dumps(load_review(name)).encode()

        route = kept_alive.post(body, "application/json")
        flask = kept_alive.post(body, "application/json; charset=utf-8")

        assert route == flask, name


def test_denied_network_policy_message_reaches_the_client(kept_alive: KeptAliveClient) -> None:
    review = load_review("networkpolicy-create-allow-all-ingress")

    _, _, body = kept_alive.post(json.dumps(review).encode())

    status = body["response"]["status"]
    assert body["response"]["allowed"] is False
    assert status["code"] == 403 and status["reason"] == "Forbidden"
    assert status["message"].splitlines()[0] == (
        "NetworkPolicy team-a/allow-all-ingress violates 2 rules:")


BAD_BODIES = [
    pytest.param(b"", "application/json", 400, id="empty body"),
    pytest.param(b"{not json", "application/json", 400, id="not json"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, "application/json", 400, id="nested 1e5 deep"),
    pytest.param(b'{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}',
                 "application/json", 400, id="request missing"),
    pytest.param(b"x", "text/plain", 415, id="wrong content type"),
]


@pytest.mark.parametrize(("body", "content_type", "status"), BAD_BODIES)
def test_bad_bodies_get_json_errors_and_keep_the_connection(
        kept_alive: KeptAliveClient, body: bytes, content_type: str, status: int) -> None:
    got_status, got_type, document = kept_alive.post(body, content_type)

    assert got_status == status
    assert got_type == "application/json"
    assert document["code"] == status


def test_body_over_7_mib_is_refused_with_json_413(served_webhook: ServedWebhook) -> None:
    client = KeptAliveClient(served_webhook)
    body = b" " * (MAX_BODY_BYTES + 1)

    client.connection.request("POST", "/validate", body=body,
                              headers={"Content-Type": "application/json"})
    answer = client.connection.getresponse()

    assert answer.status == 413
    assert answer.getheader("Content-Type") == "application/json"
    assert json.loads(answer.read())["code"] == 413
    client.connection.close()


def test_review_with_uid_but_no_object_is_denied_in_band(kept_alive: KeptAliveClient) -> None:
    review = load_review("pod-create-kubectl-run")
    review["request"]["object"] = None

    status, _, body = kept_alive.post(json.dumps(review).encode())

    assert status == 200
    assert body["response"]["uid"] == review["request"]["uid"]
    assert body["response"]["allowed"] is False
    assert body["response"]["status"]["code"] == 400


def test_health_readiness_and_metrics(kept_alive: KeptAliveClient) -> None:
    kept_alive.post(json.dumps(load_review("networkpolicy-create-allow-all-ingress")).encode())

    assert kept_alive.get("/healthz")[0] == 200
    status, content_type, body = kept_alive.get("/readyz")
    assert status == 200 and json.loads(body)["status"] == "ready"
    status, content_type, body = kept_alive.get("/metrics")
    text = body.decode()
    assert status == 200 and content_type.startswith("text/plain")
    assert 'netpol_guard_reviews_total{kind="NetworkPolicy",operation="CREATE",' \
           'verdict="denied"}' in text
    assert 'netpol_guard_rule_violations_total{action="deny",rule="NP001"}' in text
    assert "netpol_guard_review_duration_seconds_bucket" in text


def test_tls_below_1_2_is_refused(served_webhook: ServedWebhook) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():  # the client side must be allowed to offer TLS 1.1
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = ssl.TLSVersion.TLSv1_1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    connection = http.client.HTTPSConnection("127.0.0.1", served_webhook.port,
                                             context=context, timeout=10)

    with pytest.raises(ssl.SSLError) as refused:
        connection.connect()
    connection.close()

    # The server's alert, not a client-side "no protocols available".
    assert "PROTOCOL_VERSION" in str(refused.value).upper() or \
           "UNSUPPORTED_PROTOCOL" in str(refused.value).upper()


def test_tls_1_2_and_1_3_are_served_without_h2(served_webhook: ServedWebhook) -> None:
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        context = ssl.create_default_context(cafile=served_webhook.ca_file)
        context.minimum_version = context.maximum_version = version
        context.set_alpn_protocols(["h2", "http/1.1"])
        connection = http.client.HTTPSConnection("127.0.0.1", served_webhook.port,
                                                 context=context, timeout=10)
        connection.connect()
        assert connection.sock.selected_alpn_protocol() in (None, "http/1.1")
        connection.request("GET", "/healthz")
        assert connection.getresponse().status == 200
        connection.close()


def test_logs_carry_review_lines_but_never_the_object(served_webhook: ServedWebhook,
                                                      kept_alive: KeptAliveClient) -> None:
    review = load_review("pod-create-kubectl-run")
    kept_alive.post(json.dumps(review).encode())

    def mine() -> list[dict[str, Any]]:
        lines = [json.loads(line) for line in served_webhook.log_text().splitlines()
                 if line.startswith("{")]
        return [line for line in lines
                if line.get("msg") == "review" and line["uid"] == review["request"]["uid"]]

    # The review's line is written just after its answer is sent (validate.answer_review).
    deadline = time.monotonic() + 10
    while not mine() and time.monotonic() < deadline:
        time.sleep(0.05)
    lines = mine()
    assert lines and {"kind", "namespace", "name", "operation", "dryRun", "verdict",
                      "rules", "durationMs"} <= set(lines[0])
    text = served_webhook.log_text()
    assert "nginx:1.27" not in text  # the pod's image: object content never logged
    assert "kube-api-access" not in text
