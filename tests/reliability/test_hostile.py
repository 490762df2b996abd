"""Hostile input against the real server (gunicorn, gevent workers, TLS).

tests/service covers the plain cases (a body 10^5 deep with no usable uid, a 7 MiB + 1 byte
body with a Content-Length). Here: the same attacks hidden inside real reviews and sent in other
framings, slow and idle clients while a normal client is served, a NetworkPolicy with thousands
of peers and ports, YAML bombs in the policy ConfigMap and names built to make a backtracking
glob matcher explode. Every answer must come within the API server's 3 s webhook timeout.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ServedWebhook, load_review
from tests.reliability import figures
from tests.reliability.conftest import ServerFactory
from tests.reliability.loadgen import (
    HOST,
    WEBHOOK_TIMEOUT_SECONDS,
    client_context,
    post_review,
    verdict_of,
    with_canary,
)
from tests.reliability.serving import get, raw_exchange
from webhook.admission.wire import MAX_BODY_BYTES

pytestmark = pytest.mark.integration


def timed_post(served: ServedWebhook, body: bytes, headers: dict[str, str] | None = None,
               *, chunked: bool = False) -> tuple[int, dict[str, Any], float]:
    """POST ``body`` on a fresh connection: (status, JSON answer, seconds)."""
    connection = http.client.HTTPSConnection(HOST, served.port, timeout=15,
                                             context=client_context(served.ca_file))
    started = time.monotonic()
    try:
        if chunked:
            connection.putrequest("POST", "/validate?timeout=3s")
            connection.putheader("Content-Type", "application/json")
            connection.putheader("Transfer-Encoding", "chunked")
            connection.endheaders()
            step = 1024 * 1024
            try:
                for start in range(0, len(body), step):
                    piece = body[start:start + step]
                    connection.send(f"{len(piece):X}\r\n".encode() + piece + b"\r\n")
                connection.send(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server may answer 413 and close before reading everything
        else:
            connection.request("POST", "/validate?timeout=3s", body=body,
                               headers={"Content-Type": "application/json", **(headers or {})})
        answer = connection.getresponse()
        raw = answer.read()
        elapsed = time.monotonic() - started
        assert answer.getheader("Content-Type") == "application/json", raw[:300]
        return answer.status, json.loads(raw), elapsed
    finally:
        connection.close()


def review_with(name: str, **object_changes: Any) -> dict[str, Any]:
    review = with_canary(load_review(name))
    review["request"]["uid"] = f"hostile-{name}-{time.monotonic_ns()}"
    review["request"]["object"].update(object_changes)
    return review


# --- deep, wide and oversized bodies -----------------------------------------------------------

def test_a_review_hiding_json_nested_1e5_deep_is_refused_quickly(
        short_timeout_server: ServedWebhook) -> None:
    review = review_with("networkpolicy-create-default-deny-all", spec="__DEEP__")
    depth = 100_000
    body = json.dumps(review).replace('"__DEEP__"', "[" * depth + "]" * depth).encode()

    status, document, elapsed = timed_post(short_timeout_server, body)

    figures.INPUTS_FUZZED["hostile bodies"] += 1
    assert status == 400 and document["kind"] == "Status"
    assert "nested" in document["message"]
    assert elapsed < WEBHOOK_TIMEOUT_SECONDS


def test_nesting_below_the_limit_is_reviewed_with_its_uid(
        short_timeout_server: ServedWebhook) -> None:
    review = review_with("pod-create-kubectl-run")
    review["request"]["object"]["metadata"]["annotations"]["deep"] = "__DEEP__"
    body = json.dumps(review).replace('"__DEEP__"', "[" * 80 + "]" * 80).encode()

    status, document, _ = timed_post(short_timeout_server, body)

    figures.INPUTS_FUZZED["hostile bodies"] += 1
    assert status == 200
    assert verdict_of(document, review["request"]["uid"]) is not None


def test_a_review_of_exactly_7_mib_is_answered_within_the_webhook_timeout(
        short_timeout_server: ServedWebhook) -> None:
    review = review_with("networkpolicy-create-allow-all-ingress")
    body = json.dumps(review).encode()
    body = body[:-1] + b" " * (MAX_BODY_BYTES - len(body)) + b"}"
    assert len(body) == MAX_BODY_BYTES

    status, document, elapsed = timed_post(short_timeout_server, body)

    figures.INPUTS_FUZZED["hostile bodies"] += 1
    assert status == 200
    assert verdict_of(document, review["request"]["uid"]) is not None
    assert document["response"]["allowed"] is False  # NP001, NP008: the body was read whole
    assert elapsed < WEBHOOK_TIMEOUT_SECONDS


def test_7_mib_plus_1_byte_sent_chunked_without_a_length_is_refused(
        short_timeout_server: ServedWebhook) -> None:
    # The API server always sends a Content-Length; a chunked body over the limit is cut at
    # 7 MiB by Werkzeug (so it is refused as broken JSON, 400, rather than with a 413).
    review = json.dumps(review_with("networkpolicy-create-default-deny-all")).encode()
    body = review[:-1] + b" " * (MAX_BODY_BYTES - len(review) + 1) + b"}"
    assert len(body) == MAX_BODY_BYTES + 1

    status, document, elapsed = timed_post(short_timeout_server, body, chunked=True)

    figures.INPUTS_FUZZED["hostile bodies"] += 1
    assert status in (400, 413) and document["kind"] == "Status"
    assert elapsed < WEBHOOK_TIMEOUT_SECONDS


def test_a_claimed_1_gib_body_is_refused_before_it_is_read(
        short_timeout_server: ServedWebhook) -> None:
    context = client_context(short_timeout_server.ca_file)
    with socket.create_connection((HOST, short_timeout_server.port), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname=HOST) as sock:
        started = time.monotonic()
        sock.sendall(b"POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 1073741824\r\n\r\n{")
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        elapsed = time.monotonic() - started

    figures.INPUTS_FUZZED["hostile bodies"] += 1
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), answer[:300]
    assert json.loads(payload)["code"] == 413
    assert elapsed < WEBHOOK_TIMEOUT_SECONDS


@pytest.mark.parametrize(("request_head", "status"), [
    pytest.param(b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n", 414, id="request line of 9000"),
    pytest.param(b"GET /healthz HTTP/1.1\r\n" + b"".join(
        b"X-H%d: v\r\n" % n for n in range(150)) + b"\r\n", 431, id="150 headers"),
    pytest.param(b"GET /healthz HTTP/1.1\r\nX-Big: " + b"v" * 20000 + b"\r\n\r\n", 431,
                 id="header of 20000"),
])
def test_oversized_request_heads_get_a_json_error(short_timeout_server: ServedWebhook,
                                                  request_head: bytes, status: int) -> None:
    answer = raw_exchange(short_timeout_server.port, short_timeout_server.ca_file,
                          request_head, timeout=10)

    figures.INPUTS_FUZZED["hostile bodies"] += 1
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == str(status).encode(), answer[:300]
    assert b"Content-Type: application/json" in head
    assert json.loads(payload)["code"] == status


# --- slow and idle clients ---------------------------------------------------------------------

@dataclass
class Hostile:
    """One bad client and when the server cut it off (seconds after the start)."""

    kind: str
    sock: socket.socket
    closed_after: float | None = None


def _closed(sock: socket.socket) -> bool:
    """True when the server closed ``sock`` (EOF, reset, or a TLS close)."""
    try:
        sock.settimeout(0.05)
        return sock.recv(1) == b""
    except (TimeoutError, ssl.SSLWantReadError):
        return False
    except OSError:
        return True


def _trickle(client: Hostile, data: bytes, started: float, stop: threading.Event) -> None:
    """Send ``data`` one byte a second until the server hangs up."""
    for byte in data:
        if stop.is_set():
            return
        try:
            client.sock.sendall(bytes([byte]))
        except OSError:
            client.closed_after = time.monotonic() - started
            return
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            if _closed(client.sock):
                client.closed_after = time.monotonic() - started
                return
            time.sleep(0.05)


def test_slow_and_idle_clients_do_not_delay_others_and_are_cut_off(
        serve: ServerFactory) -> None:
    handshake, keepalive, request = 3, 3, 4
    served = serve("--handshake-timeout", str(handshake), "--keepalive", str(keepalive),
                   "--request-timeout", str(request))
    context = client_context(served.ca_file)
    review = json.dumps(with_canary(load_review("networkpolicy-create-default-deny-all")))
    clients: list[Hostile] = []
    stop = threading.Event()
    trickles: list[threading.Thread] = []
    started = time.monotonic()
    try:
        for _ in range(12):  # connect and send nothing: not even a TLS ClientHello
            clients.append(Hostile("idle before TLS", socket.create_connection(
                (HOST, served.port), timeout=5)))
        for _ in range(12):  # finish the TLS handshake, then send nothing
            raw = socket.create_connection((HOST, served.port), timeout=5)
            clients.append(Hostile("idle after TLS", context.wrap_socket(
                raw, server_hostname=HOST)))
        slow_head = b"POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        slow_body = (b"POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                     b"application/json\r\nContent-Length: %d\r\n\r\n" % len(review))
        for index in range(12):  # one byte a second: request head, or body after the head
            raw = socket.create_connection((HOST, served.port), timeout=5)
            sock = context.wrap_socket(raw, server_hostname=HOST)
            if index % 2:
                sock.sendall(slow_body)
                client = Hostile("slow body", sock)
                data = review.encode()
            else:
                client = Hostile("slow request head", sock)
                data = slow_head * 10
            clients.append(client)
            thread = threading.Thread(target=_trickle, args=(client, data, started, stop),
                                      daemon=True)
            trickles.append(thread)
            thread.start()
        opened = time.monotonic() - started

        # A normal client, on new connections and on a kept-alive one, while all 36 are open.
        latencies = []
        for _ in range(10):
            connection = http.client.HTTPSConnection(HOST, served.port, timeout=5,
                                                     context=context)
            began = time.monotonic()
            status, document, _ = post_review(connection, json.loads(review))
            latencies.append(time.monotonic() - began)
            connection.close()
            assert status == 200 and document is not None
        kept = http.client.HTTPSConnection(HOST, served.port, timeout=5, context=context)
        for _ in range(10):
            began = time.monotonic()
            status, document, _ = post_review(kept, json.loads(review))
            latencies.append(time.monotonic() - began)
            assert status == 200 and document is not None
        kept.close()
        measured_within = time.monotonic() - started
        still_open = sum(1 for c in clients if c.closed_after is None and not _closed(c.sock))

        # Then every bad client must be cut off by the server's timeouts.
        deadline = time.monotonic() + request + 6
        while time.monotonic() < deadline:
            for client in clients:
                if client.closed_after is None and _closed(client.sock):
                    client.closed_after = time.monotonic() - started
            if all(client.closed_after is not None for client in clients):
                break
            time.sleep(0.1)
    finally:
        stop.set()
        for thread in trickles:
            thread.join(3)
        for client in clients:
            client.sock.close()

    by_kind: dict[str, list[float | None]] = {}
    for client in clients:
        by_kind.setdefault(client.kind, []).append(client.closed_after)
    print(f"\n36 hostile connections opened in {opened:.2f}s; normal client: 20 reviews, "
          f"slowest {max(latencies) * 1000:.0f} ms, done {measured_within:.1f}s after start "
          f"with {still_open} of 36 still open; cut off after (s): "
          + "; ".join(f"{kind}: max {max(t or 99 for t in times):.1f}"
                      for kind, times in by_kind.items()))
    figures.FAULTS_INJECTED["slow/idle clients (36 connections)"] += 1
    figures.REQUESTS_UNDER_FAULTS["slow/idle clients (36 connections)"] += len(latencies)
    assert still_open == 36, "the measurement must run while every hostile client is open"
    assert max(latencies) < 1.0
    limits = {"idle before TLS": handshake, "idle after TLS": keepalive,
              "slow request head": max(keepalive, request), "slow body": request}
    for kind, times in by_kind.items():
        assert all(t is not None for t in times), f"{kind}: not cut off: {times}"
        assert max(t for t in times if t is not None) < limits[kind] + 3, (kind, times)


# --- thousands of peers and ports --------------------------------------------------------------

def test_thousands_of_peers_and_ports_are_answered_within_the_webhook_timeout(
        short_timeout_server: ServedWebhook) -> None:
    count = 3000
    peers: list[dict[str, Any]] = []
    for index in range(count):
        if index % 3 == 0:
            peers.append({"ipBlock": {"cidr": f"10.{index // 256 % 256}.{index % 256}.0/24",
                                      "except": [f"10.{index // 256 % 256}.{index % 256}.0/28"]}})
        elif index % 3 == 1:
            peers.append({"podSelector": {"matchLabels": {"app": f"app-{index}"}}})
        else:
            peers.append({"namespaceSelector": {"matchLabels": {
                "kubernetes.io/metadata.name": f"ns-{index}"}},
                "podSelector": {"matchExpressions": [
                    {"key": "tier", "operator": "In", "values": [f"t{index}", "web"]}]}})
    peers.append({"ipBlock": {"cidr": "0.0.0.0/0"}})  # the one violation, at the very end
    ports = [{"protocol": "TCP", "port": 1 + index} for index in range(count)]
    spec = {"podSelector": {"matchLabels": {"app": "api"}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": peers, "ports": ports}],
            "egress": [{"to": peers, "ports": ports}]}
    review = review_with("networkpolicy-create-allow-all-ingress", spec=spec)
    body = json.dumps(review).encode()

    status, document, elapsed = timed_post(short_timeout_server, body)

    figures.INPUTS_FUZZED["hostile bodies"] += 1
    print(f"\n{2 * (count + 1)} peers and {2 * count} ports ({len(body) // 1024} KiB) answered "
          f"in {elapsed * 1000:.0f} ms; answer {len(json.dumps(document))} bytes")
    assert status == 200
    assert verdict_of(document, review["request"]["uid"]) is not None
    response = document["response"]
    assert response["allowed"] is False
    assert f"spec.ingress[0].from[{count}]" in response["status"]["message"]
    assert "NP005" in response["status"]["message"]
    assert elapsed < WEBHOOK_TIMEOUT_SECONDS


# --- the policy ConfigMap ----------------------------------------------------------------------

VALID_POLICY = "apiVersion: netpol-guard.io/v1\nkind: Policy\n"
BOMB = VALID_POLICY + "".join(
    f"{name}: &{name} [{', '.join(['*' + prev] * 9 if prev else ['lol'] * 9)}]\n"
    for prev, name in zip([""] + list("abcdefgh"), "abcdefghi", strict=True))

CONFIGMAP_ATTACKS = [
    ("billion laughs", BOMB, "anchors and aliases are not allowed"),
    ("duplicate keys", VALID_POLICY + "clusterUnavailable: deny\nclusterUnavailable: allow\n",
     "duplicate key 'clusterUnavailable'"),
    ("duplicate rule ids", VALID_POLICY + "rules:\n  NP001: {action: deny}\n"
                                          "  NP001: {action: 'off'}\n", "duplicate key 'NP001'"),
    ("over 1 MiB", VALID_POLICY + "#" * (1024 * 1024) + "\n", "limit"),
    ("python tag", VALID_POLICY + "rules: !!python/object/apply:os.system ['true']\n",
     "tag"),
    ("merge key", VALID_POLICY + "rules:\n  NP001:\n    <<: {action: warn}\n", "merge keys"),
]


@pytest.mark.parametrize(("document", "words"),
                         [pytest.param(d, w, id=i) for i, d, w in CONFIGMAP_ATTACKS])
def test_hostile_policy_configmap_is_denied_quickly(short_timeout_server: ServedWebhook,
                                                    document: str, words: str) -> None:
    review = review_with("configmap-create-netpol-guard-policy",
                         data={"policy.yaml": document})

    status, answer, elapsed = timed_post(short_timeout_server, json.dumps(review).encode())

    figures.POLICY_DOCUMENTS_REFUSED["hostile policy ConfigMap reviews (served)"] += 1
    assert status == 200
    assert verdict_of(answer, review["request"]["uid"]) is not None
    response = answer["response"]
    assert response["allowed"] is False
    assert response["status"]["code"] == 403
    assert "CM001" in response["status"]["message"]
    assert words in response["status"]["message"]
    assert elapsed < WEBHOOK_TIMEOUT_SECONDS


def test_the_loader_refuses_yaml_nested_10_4_deep_quickly() -> None:
    from webhook.policy.loader import PolicyError, load_policy_text

    started = time.monotonic()
    with pytest.raises(PolicyError, match="nesting depth"):
        load_policy_text(VALID_POLICY + "rules: " + "[" * 10_000 + "]" * 10_000 + "\n")
    figures.POLICY_DOCUMENTS_REFUSED["policy YAML nested 10^4 deep (loader)"] += 1
    assert time.monotonic() - started < 1.0


def test_brackets_inside_strings_do_not_stop_a_policy_configmap_review(
        short_timeout_server: ServedWebhook) -> None:
    nested = "[" * 101 + "]" * 101
    document = (VALID_POLICY + "clusterUnavailable: deny\nclusterUnavailable: allow\n"
                f"# {nested}\n")
    review = review_with("configmap-create-netpol-guard-policy",
                         data={"policy.yaml": document})

    status, answer, _ = timed_post(short_timeout_server, json.dumps(review).encode())

    assert status == 200, answer  # an in-band verdict, not a failed webhook call
    assert answer["response"]["allowed"] is False
    assert "CM001" in answer["response"]["status"]["message"]


# --- names built to make a backtracking matcher explode ----------------------------------------

EVIL = "*a*a*a*a*a*a*a*a*a*a*a*a*b"
GLOB_POLICY = f"""\
apiVersion: netpol-guard.io/v1
kind: Policy
rules:
  NP004: {{action: deny, allowedKeys: ["{EVIL}"]}}
  NP017:
    action: deny
    allow:
      - namespaces: ["{EVIL}", "*-*-*-*-*-*-*-*-*-*-*-*-z"]
        peers: ["{EVIL}", "*-*-*-*-*-*-*-*-*-*-*-*-z", "?a?a?a?a?a?a?a?a*b"]
exemptions:
  namespaces: ["{EVIL}"]
  principals:
    users: ["{EVIL}"]
    groups: ["{EVIL}"]
"""


@pytest.fixture(scope="module")
def glob_server(tmp_path_factory: pytest.TempPathFactory,
                reliability_certs: Any) -> Any:
    from tests.conftest import start_webhook
    from tests.reliability.conftest import BASE_ARGS

    workdir: Path = tmp_path_factory.mktemp("globs")
    policy = workdir / "policy.yaml"
    policy.write_text(GLOB_POLICY)
    served = start_webhook(workdir, reliability_certs, *BASE_ARGS, "--policy", str(policy))
    yield served
    served.stop()


def test_label_values_and_names_built_to_explode_a_backtracking_matcher(
        glob_server: ServedWebhook) -> None:
    evil_text = "a" * 2000 + "!"  # almost matches EVIL, at every starting point
    names = [f"{'a-' * 500}{n}!" for n in range(100)] + [evil_text] * 100
    review = review_with("networkpolicy-create-namespace-and-pod-selector")
    request = review["request"]
    request["namespace"] = evil_text
    request["userInfo"] = {"username": evil_text, "groups": [evil_text] * 50}
    request["object"]["metadata"]["namespace"] = evil_text
    request["object"]["spec"] = {
        "podSelector": {"matchLabels": {"app": "api"}},
        "policyTypes": ["Ingress"],
        "ingress": [{"from": [
            {"namespaceSelector": {"matchLabels": {evil_text: evil_text}}},
            {"namespaceSelector": {"matchExpressions": [
                {"key": "kubernetes.io/metadata.name", "operator": "In", "values": names}]}}],
            "ports": [{"protocol": "TCP", "port": 8080}]}]}

    status, document, elapsed = timed_post(glob_server, json.dumps(review).encode())

    figures.INPUTS_FUZZED["hostile bodies"] += 1
    print(f"\nglob matching of {len(names) + 52} names of up to {len(evil_text)} characters "
          f"against {EVIL!r}: answered in {elapsed * 1000:.0f} ms")
    assert status == 200
    response = document["response"]
    assert response["uid"] == request["uid"]
    assert response["allowed"] is False
    assert "NP004" in response["status"]["message"]  # the evil label key is not allowed
    assert "NP017" in response["status"]["message"]  # the evil names are not allowed peers
    assert elapsed < WEBHOOK_TIMEOUT_SECONDS
    assert get(glob_server.port, glob_server.ca_file, "/healthz")[0] == 200
