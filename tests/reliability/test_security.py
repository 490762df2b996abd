"""Security of the served webhook: client certificates, and no object content in any log.

TLS below 1.2 is refused: tests/service/test_served.py. The container's security context
(non-root numeric UID, read-only root filesystem, no privilege escalation, all capabilities
dropped) and the webhook's own NetworkPolicy are checked on the rendered chart by
tests/chart/test_deployment.py and tests/chart/test_rbac_and_networkpolicy.py.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import REPO, ServedWebhook, free_port, load_review
from tests.reliability import figures
from tests.reliability.conftest import BASE_ARGS
from tests.reliability.loadgen import CANARY, HOST, client_context, post_review, with_canary
from webhook.cli.certs import write_dev_certificates

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def client_ca_server(tmp_path_factory: pytest.TempPathFactory,
                     reliability_certs: Any) -> Iterator[tuple[ServedWebhook, Any, Any]]:
    """A server with --client-ca; yields (server, a client cert of that CA, one of another)."""
    workdir = tmp_path_factory.mktemp("client-ca")
    trusted = write_dev_certificates(workdir / "trusted-clients")
    stranger = write_dev_certificates(workdir / "other-ca")
    port = free_port()
    log_path = workdir / f"serve-{port}.log"
    environment = {key: value for key, value in os.environ.items()
                   if key != "PROMETHEUS_MULTIPROC_DIR"}
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "webhook.cli.main", "serve", "--bind", f"{HOST}:{port}",
             "--cert", str(reliability_certs.cert), "--key", str(reliability_certs.key),
             "--client-ca", str(trusted.ca_cert), *BASE_ARGS],
            stdout=log_file, stderr=subprocess.STDOUT, env=environment, cwd=REPO)
    served = ServedWebhook(process, port, str(reliability_certs.ca_cert), log_path, workdir)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if _get(served, (str(trusted.cert), str(trusted.key))) == 200:
                    break
            except (OSError, http.client.HTTPException):
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server with --client-ca did not start:\n"
                                   f"{served.log_text()}")
            time.sleep(0.2)
        yield served, trusted, stranger
    finally:
        served.stop()


def _get(served: ServedWebhook, client_cert: tuple[str, str] | None) -> int:
    connection = http.client.HTTPSConnection(
        HOST, served.port, timeout=5, context=client_context(served.ca_file, client_cert))
    try:
        connection.request("GET", "/readyz")
        return connection.getresponse().status
    finally:
        connection.close()


@pytest.mark.parametrize("who", ["no certificate", "a certificate from another CA"])
def test_clients_without_a_certificate_from_the_client_ca_are_refused(
        client_ca_server: tuple[ServedWebhook, Any, Any], who: str) -> None:
    served, _, stranger = client_ca_server
    client_cert = None if who == "no certificate" else (str(stranger.cert), str(stranger.key))
    review = with_canary(load_review("networkpolicy-create-allow-all-ingress"))
    connection = http.client.HTTPSConnection(
        HOST, served.port, timeout=5, context=client_context(served.ca_file, client_cert))

    # With TLS 1.3 the server's refusal may only surface on the first read.
    with pytest.raises((ssl.SSLError, ConnectionError, http.client.HTTPException)) as refused:
        try:
            post_review(connection, review)
        finally:
            connection.close()

    figures.INPUTS_FUZZED["security: refused client certificates"] += 1
    print(f"\n{who}: refused with {type(refused.value).__name__}: {refused.value}")


def test_a_client_with_a_certificate_from_the_client_ca_is_served(
        client_ca_server: tuple[ServedWebhook, Any, Any]) -> None:
    served, trusted, _ = client_ca_server
    review = with_canary(load_review("networkpolicy-create-allow-all-ingress"))
    connection = http.client.HTTPSConnection(
        HOST, served.port, timeout=5,
        context=client_context(served.ca_file, (str(trusted.cert), str(trusted.key))))
    try:
        status, document, _ = post_review(connection, review)
    finally:
        connection.close()

    assert status == 200 and document is not None
    assert document["response"]["uid"] == review["request"]["uid"]
    assert document["response"]["allowed"] is False


def test_a_tls_handshake_that_is_never_finished_does_not_block_a_client_ca_server(
        client_ca_server: tuple[ServedWebhook, Any, Any]) -> None:
    served, trusted, _ = client_ca_server
    with socket.create_connection((HOST, served.port), timeout=5):
        assert _get(served, (str(trusted.cert), str(trusted.key))) == 200


# --- the logs of the whole session -------------------------------------------------------------

# Object content sent in this session that must never reach a log: the canary annotation the
# reliability load puts on every object, and distinctive fields of the fixtures' objects.
PAYLOAD_MARKERS = [
    CANARY,
    "nginx:1.27",  # a container image
    "busybox:1.36",
    "kube-api-access",  # a projected volume name
    "echo migrate",  # a Job's command
    "NP010: {action: deny, maxRange: 100}",  # the policy.yaml of a ConfigMap review
]


@pytest.mark.session_logs
def test_no_server_log_of_the_session_holds_object_content(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    logs = sorted(tmp_path_factory.getbasetemp().rglob("serve-*.log"))
    reviews = 0
    leaks = []
    for path in logs:
        text = path.read_text(encoding="utf-8", errors="replace")
        reviews += sum(1 for line in text.splitlines()
                       if line.startswith("{") and json.loads(line).get("msg") == "review")
        leaks += [f"{path.name}: {marker!r}" for marker in PAYLOAD_MARKERS if marker in text]

    print(f"\nscanned {len(logs)} server logs of this session ({reviews} review lines) for "
          f"{len(PAYLOAD_MARKERS)} markers of object content: {len(leaks)} found")
    assert logs and reviews, "no served logs to check: run with the rest of the suite"
    assert leaks == []
