"""The worker's own door for the API server's reviews (``webhook.serving.plainhttp``).

Requests of the one plain shape are read and answered by the worker; anything else is handed,
with the bytes already read, to gunicorn. These tests pin the shape, and check over real TLS
against the real server that both doors answer byte for byte alike, that pipelined requests
and a hand-over in the middle of a connection lose nothing, and that the door keeps the
request deadline and ``Connection: close``.
"""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.conftest import REPO, ServedWebhook, load_review, start_with_inventory
from webhook.admission.wire import MAX_BODY_BYTES
from webhook.serving.plainhttp import MAX_HEAD_BYTES, PlainRequest, head_limits, parse_plain_head

pytestmark = pytest.mark.integration

REVIEW = json.dumps(load_review("networkpolicy-create-allow-all-ingress")).encode()
PLAIN_HEAD = (b"POST /validate?timeout=3s HTTP/1.1\r\nHost: 127.0.0.1:8443\r\n"
              b"User-Agent: kube-apiserver-admission\r\nContent-Length: 120\r\n"
              b"Accept: application/json, */*\r\nContent-Type: application/json\r\n"
              b"Accept-Encoding: gzip")


def test_the_api_servers_request_head_is_plain() -> None:
    assert parse_plain_head(PLAIN_HEAD) == PlainRequest(length=120, close=False)
    assert parse_plain_head(PLAIN_HEAD + b"\r\nConnection: close") == PlainRequest(120, True)
    assert parse_plain_head(PLAIN_HEAD.replace(b"?timeout=3s", b"")) == PlainRequest(120, False)


@pytest.mark.parametrize("change", [
    (b"POST /validate", b"PUT /validate"),
    (b"/validate?", b"/validatex?"),
    (b"/validate?", b"/other?"),
    (b"HTTP/1.1", b"HTTP/1.0"),
    (b"Content-Type: application/json", b"Content-Type: application/json; charset=utf-8"),
    (b"Content-Type: application/json", b"Content-Type: text/plain"),
    (b"Content-Type: application/json", b"X-Other: 1"),
    (b"Content-Length: 120", b"Transfer-Encoding: chunked"),
    (b"Content-Length: 120", b"Content-Length: 120\r\nContent-Length: 120"),
    (b"Content-Length: 120", b"Content-Length: -1"),
    (b"Content-Length: 120", f"Content-Length: {MAX_BODY_BYTES + 1}".encode()),
    (b"Accept-Encoding: gzip", b"Expect: 100-continue"),
    (b"Accept-Encoding: gzip", b"Connection: Upgrade\r\nUpgrade: h2c"),
    (b"Accept-Encoding: gzip", b"X_Underscore: 1"),  # gunicorn has rules for these
    (b"Accept-Encoding: gzip", b"Bad Name: 1"),
    (b"Accept-Encoding: gzip", b"X-Folded: a\r\n b"),  # obsolete line folding
    (b"Accept-Encoding: gzip", b"X-Binary: \x01"),
], ids=lambda change: change[1].decode(errors="replace")[:40])
def test_any_other_head_is_left_to_gunicorn(change: tuple[bytes, bytes]) -> None:
    old, new = change
    assert old in PLAIN_HEAD
    assert parse_plain_head(PLAIN_HEAD.replace(old, new)) is None


def test_header_values_are_read_as_gunicorn_reads_them() -> None:
    # A tab inside a value is legal HTTP (gunicorn takes it); spaces and tabs around the
    # values the door reads are not part of them.
    assert parse_plain_head(PLAIN_HEAD + b"\r\nX-Tab: a\tb") is not None
    spaced = PLAIN_HEAD.replace(b"Content-Length: 120", b"Content-Length:\t 120 \t")
    assert parse_plain_head(spaced) == PlainRequest(120, False)


def test_a_long_value_that_ends_badly_is_left_to_gunicorn() -> None:
    # The shape a backtracking header pattern chokes on: many spaces, then a control byte.
    head = PLAIN_HEAD + b"\r\nX-Long: a" + b" " * 8000 + b"\x7f"
    assert parse_plain_head(head) is None
    assert parse_plain_head(head[:-1] + b"a") is not None


def test_the_worker_class_loads_without_the_apps_metrics() -> None:
    # gunicorn's master imports the worker class before it forks; a metric created there
    # gets a file for the master's pid, and netpol_guard_policy_valid (the minimum over every
    # file) read 0 for good.
    code = ("import sys, webhook.serving.worker; "
            "print(sorted(m for m in sys.modules if m.startswith(('prometheus_client', "
            "'webhook.observe', 'webhook.engine', 'flask'))))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=REPO)
    assert result.stdout.strip() == "[]"


def test_more_fields_than_gunicorn_allows_is_left_to_it() -> None:
    head = PLAIN_HEAD + b"".join(b"\r\nX-Field-%d: 1" % index for index in range(100))
    assert parse_plain_head(head) is None
    assert parse_plain_head(head, max_fields=200) is not None


def test_a_request_line_longer_than_gunicorn_allows_is_left_to_it() -> None:
    head = PLAIN_HEAD.replace(b"?timeout=3s", b"?timeout=3s&x=" + b"a" * 8200)
    assert parse_plain_head(head) is None
    assert parse_plain_head(head, max_line=9000) is not None


def test_a_header_field_longer_than_gunicorn_allows_is_left_to_it() -> None:
    # gunicorn counts the field with its CRLF: 8,190 bytes in all pass, 8,191 do not.
    name = b"X-Long: "
    fits = PLAIN_HEAD + b"\r\n" + name + b"a" * (8188 - len(name))
    assert parse_plain_head(fits) is not None
    assert parse_plain_head(fits + b"a") is None
    assert parse_plain_head(fits + b"a", max_field_size=9000) is not None


@pytest.mark.parametrize(("settings", "limits"), [
    ((100, 8190, 8190), (100, 8190, 8190)),  # netpol-guard's gunicorn configuration
    ((0, 0, 0), (32768, MAX_HEAD_BYTES, 8190)),  # gunicorn: maximum, no limit, default
    ((-1, -1, -1), (32768, 8190, 8190)),
    ((40000, 9000, 9000), (32768, 8190, 9000)),  # fields and line capped, field size not
    ((10, 100, 200), (10, 100, 200)),
])
def test_the_door_takes_gunicorns_limits_as_gunicorn_applies_them(
        settings: tuple[int, int, int], limits: tuple[int, int, int]) -> None:
    fields, line, field_size = settings
    cfg = SimpleNamespace(limit_request_fields=fields, limit_request_line=line,
                          limit_request_field_size=field_size)
    assert head_limits(cfg) == limits


def test_a_header_field_over_the_limit_gets_gunicorns_json_error(
        served_webhook: ServedWebhook) -> None:
    with _connect(served_webhook) as sock:
        sock.sendall(_post(extra=b"X-Long: " + b"a" * 9000 + b"\r\n"))
        (response,), closed = _read_responses(sock, 1)
    assert response[0] == b"HTTP/1.1 431 Request Header Fields Too Large"
    assert json.loads(response[2])["kind"] == "Status"
    assert closed


def test_a_request_line_over_the_limit_gets_gunicorns_json_error(
        served_webhook: ServedWebhook) -> None:
    with _connect(served_webhook) as sock:
        sock.sendall(_post().replace(b"?timeout=3s", b"?x=" + b"a" * 8200))
        (response,), closed = _read_responses(sock, 1)
    assert response[0] == b"HTTP/1.1 414 URI Too Long"
    assert json.loads(response[2])["kind"] == "Status"
    assert closed


# --- over TLS, against the real server ---------------------------------------------------------

Response = tuple[bytes, list[tuple[bytes, bytes]], bytes]  # status line, headers, body


def _connect(served: ServedWebhook) -> ssl.SSLSocket:
    context = ssl.create_default_context(cafile=served.ca_file)
    raw = socket.create_connection(("127.0.0.1", served.port), timeout=10)
    return context.wrap_socket(raw, server_hostname="localhost")


def _post(body: bytes = REVIEW, content_type: bytes = b"application/json",
          extra: bytes = b"") -> bytes:
    return (b"POST /validate?timeout=3s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\n%s"
            b"Content-Length: %d\r\n\r\n" % (content_type, extra, len(body)) + body)


def _read_responses(sock: ssl.SSLSocket, count: int,
                    check_closed: bool = True) -> tuple[list[Response], bool]:
    """``count`` responses, and whether the server then closed the connection (False without
    waiting when not ``check_closed``)."""
    data, responses = b"", []
    while len(responses) < count:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, f"connection closed after {len(responses)} responses"
            data += chunk
        head, _, data = data.partition(b"\r\n\r\n")
        status, *lines = head.split(b"\r\n")
        headers = [(name, value.strip()) for name, _, value in
                   (line.partition(b":") for line in lines)]
        length = int(dict(headers)[b"Content-Length"])
        while len(data) < length:
            data += sock.recv(65536)
        responses.append((status, headers, data[:length]))
        data = data[length:]
    if not check_closed:
        return responses, False
    sock.settimeout(0.5)
    try:
        closed = sock.recv(1) == b""
    except TimeoutError:
        closed = False
    return responses, closed


def _without_date(response: Response) -> Response:
    status, headers, body = response
    return status, [(name, value) for name, value in headers if name != b"Date"], body


# Every captured review, and bodies that cannot be reviewed (with a uid: a deny in band;
# without: a JSON 400).
DOOR_BODIES = [
    *(path.read_bytes() for path in sorted((REPO / "tests/fixtures/admission").glob("*.json"))),
    b"{not json",
    b'{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}',
    b'{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": '
    b'{"uid": "u-1", "kind": {"kind": "Pod"}, "operation": "PATCH"}}',
]


def test_both_doors_send_the_same_bytes(served_webhook: ServedWebhook) -> None:
    # The plain door answers on a fresh connection; after a GET the connection is gunicorn's,
    # whose WSGI route answers the same request.
    statuses = set()
    for body in DOOR_BODIES:
        with _connect(served_webhook) as sock:
            sock.sendall(_post(body))
            (plain,), _ = _read_responses(sock, 1, check_closed=False)
        with _connect(served_webhook) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" + _post(body))
            (_, wsgi), _ = _read_responses(sock, 2, check_closed=False)
        assert _without_date(plain) == _without_date(wsgi), body[:200]
        statuses.add(plain[0])
    assert statuses == {b"HTTP/1.1 200 OK", b"HTTP/1.1 400 Bad Request"}
    with _connect(served_webhook) as sock:
        sock.sendall(_post())
        ((status, headers, body),), _ = _read_responses(sock, 1)
    assert status == b"HTTP/1.1 200 OK"
    assert [name for name, _ in headers] == [b"Server", b"Date", b"Connection", b"Content-Type",
                                             b"Content-Length"]
    assert json.loads(body)["response"]["allowed"] is False  # allow-all ingress: NP001


def test_pipelined_requests_and_a_hand_over_lose_nothing(served_webhook: ServedWebhook) -> None:
    bad = b'{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{}}'
    with _connect(served_webhook) as sock:
        sock.sendall(_post() + _post(bad) + b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n"
                     + _post())
        responses, closed = _read_responses(sock, 4)
    statuses = [status for status, _, _ in responses]
    assert statuses == [b"HTTP/1.1 200 OK", b"HTTP/1.1 400 Bad Request", b"HTTP/1.1 200 OK",
                        b"HTTP/1.1 200 OK"]
    assert json.loads(responses[1][2])["message"] == "AdmissionReview has no request.uid"
    assert json.loads(responses[2][2])["status"] == "ready"
    assert responses[0][2] == responses[3][2]
    assert not closed


def test_connection_close_is_honoured(served_webhook: ServedWebhook) -> None:
    with _connect(served_webhook) as sock:
        sock.sendall(_post(extra=b"Connection: close\r\n") + _post())
        (response,), closed = _read_responses(sock, 1)
    assert (b"Connection", b"close") in response[1]
    assert closed


@pytest.fixture(scope="module")
def debug_server(tmp_path_factory: pytest.TempPathFactory,
                 dev_certs: Any) -> Any:
    served = start_with_inventory(tmp_path_factory.mktemp("plain-debug"), dev_certs,
                                  "--log-level", "debug", "--request-timeout", "1",
                                  "--workers", "1")
    yield served
    served.stop()


def _wait_for_log(served: ServedWebhook, text: str, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while text not in (log := served.log_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return log


HANDED_OVER = "is not a plain review; gunicorn serves the rest of the connection"


def test_the_door_is_taken_and_hands_over_once(debug_server: ServedWebhook) -> None:
    before = debug_server.log_text().count(HANDED_OVER)
    with _connect(debug_server) as sock:
        sock.sendall(_post() + _post(content_type=b"text/plain") + _post())
        responses, _ = _read_responses(sock, 3)
    assert [status for status, _, _ in responses] == [b"HTTP/1.1 200 OK"] * 3
    assert json.loads(responses[1][2])["response"]["status"]["code"] == 415
    log = _wait_for_log(debug_server, HANDED_OVER)
    assert log.count(HANDED_OVER) == before + 1


def test_a_trickled_body_meets_the_request_deadline(debug_server: ServedWebhook) -> None:
    request = _post()
    with _connect(debug_server) as sock:
        sock.sendall(request[:-50])
        started = time.monotonic()
        sock.settimeout(5)
        assert sock.recv(1) == b""  # closed by the server, nothing answered
        waited = time.monotonic() - started
    assert 0.8 <= waited < 4
    assert "exceeded 1.0s; closing the connection" in _wait_for_log(debug_server, "exceeded 1.0s")


def test_with_an_access_log_every_request_goes_through_gunicorn(tmp_path: Path,
                                                                dev_certs: Any) -> None:
    served = start_with_inventory(tmp_path, dev_certs, "--access-log", "--log-level", "debug",
                                  "--workers", "1")
    try:
        with _connect(served) as sock:
            sock.sendall(_post() + b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            _read_responses(sock, 2)
        log = _wait_for_log(served, '"GET /healthz HTTP/1.1" 200')
    finally:
        served.stop()
    assert '"POST /validate?timeout=3s HTTP/1.1" 200' in log
    assert HANDED_OVER not in log
