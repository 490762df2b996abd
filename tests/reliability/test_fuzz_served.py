"""Hypothesis against the real server over TLS (tests/service fuzzes the Flask app in-process).

Through gunicorn's HTTP parser, the gevent worker and TLS:
- mutated AdmissionReviews over one kept-alive connection, as the API server sends them:
  always a JSON AdmissionReview with the uid echoed, or a JSON 4xx Status — never a 5xx or HTML;
- arbitrary HTTP requests (methods, paths, headers, bodies): never a 5xx, never HTML.
"""

from __future__ import annotations

import http.client
import json
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ServedWebhook
from tests.reliability import figures
from tests.reliability.loadgen import HOST, client_context
from tests.reliability.serving import raw_exchange
from tests.service.test_validate_fuzz import mutated_reviews

pytestmark = pytest.mark.integration


class Client:
    """A kept-alive HTTPS client that dials again when the server closed the connection."""

    def __init__(self, served: ServedWebhook) -> None:
        self.served = served
        self.connection: http.client.HTTPSConnection | None = None
        self.last_used = 0.0

    def post(self, body: bytes) -> tuple[int, str, bytes]:
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPSConnection(
                    HOST, self.served.port, timeout=10,
                    context=client_context(self.served.ca_file))
            try:
                self.connection.request("POST", "/validate?timeout=10s", body=body,
                                        headers={"Content-Type": "application/json"})
                answer = self.connection.getresponse()
                raw = answer.read()
            except (ConnectionError, http.client.RemoteDisconnected):
                # Only a connection left idle past the server's 2 s keepalive may be closed
                # under us: then dial once more. Any other drop is a failure.
                idle = time.monotonic() - self.last_used
                self.close()
                if attempt == 2 or idle < 1.5:
                    raise
                continue
            self.last_used = time.monotonic()
            if answer.will_close:
                self.close()
            return answer.status, answer.getheader("Content-Type", ""), raw
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


@pytest.fixture(scope="module")
def client(short_timeout_server: ServedWebhook) -> Any:
    client = Client(short_timeout_server)
    yield client
    client.close()


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(review=mutated_reviews())
def test_mutated_reviews_over_tls_get_json_with_their_uid(client: Client,
                                                          review: dict[str, Any]) -> None:
    figures.INPUTS_FUZZED["served /validate reviews over TLS (hypothesis)"] += 1
    status, content_type, raw = client.post(json.dumps(review).encode())

    assert status < 500
    assert content_type == "application/json"
    document = json.loads(raw)
    if status == 200:
        assert document["kind"] == "AdmissionReview"
        assert document["response"]["uid"] == review["request"]["uid"]
        assert isinstance(document["response"]["allowed"], bool)
    else:
        assert status in (400, 413, 415)
        assert document["kind"] == "Status"


token = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126,
                                       exclude_characters=":"), min_size=1, max_size=12)
header_value = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40)
methods = st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]) | token
paths = st.sampled_from(["/validate", "/validate?timeout=10s", "/healthz", "/readyz",
                         "/metrics", "/", "/validate/../metrics", "//validate", "*"]) \
    | token.map(lambda t: "/" + t)
headers = st.lists(st.tuples(st.sampled_from(["Content-Type", "Accept", "Expect", "Host",
                                              "Transfer-Encoding", "X-Junk"]) | token,
                             st.sampled_from(["application/json", "text/html",
                                              "100-continue", "chunked", "identity"])
                             | header_value), max_size=6)


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(method=methods, path=paths, header_list=headers, body=st.binary(max_size=200))
def test_arbitrary_http_requests_never_get_html_or_5xx(short_timeout_server: ServedWebhook,
                                                       method: str, path: str,
                                                       header_list: list[tuple[str, str]],
                                                       body: bytes) -> None:
    figures.INPUTS_FUZZED["served HTTP requests over TLS (hypothesis)"] += 1
    # Every request is complete and asks to close, so the answer ends with the connection.
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in header_list
              if name.lower() not in ("content-length", "connection", "transfer-encoding")]
    lines.append(f"Content-Length: {len(body)}")
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

    answer = raw_exchange(short_timeout_server.port, short_timeout_server.ca_file, request)

    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 "), answer[:200]
    status = int(head.split()[1])
    assert status < 500, answer[:500]
    head_text = head.decode("latin-1").lower()
    if method == "HEAD" or status in (100, 204, 304):
        return
    if not payload:
        # Flask's automatic OPTIONS answer: 200, no body (labelled text/html, but not a page).
        assert method == "OPTIONS", answer[:500]
        return
    if status == 200 and path.split("?")[0] in ("/metrics", "/validate/../metrics"):
        assert "content-type: text/plain" in head_text
        return
    assert "content-type: application/json" in head_text, answer[:500]
    json.loads(payload)
