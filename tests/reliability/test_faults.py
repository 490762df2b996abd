"""Faults injected into a real server while a background load counts every reply.

- a worker killed with SIGKILL: only the requests on that worker's connections may fail;
- a graceful restart (SIGHUP to the master): no request fails;
- the serving certificate and key replaced on disk: no request fails, new connections get the
  new certificate;
- the policy file replaced by invalid documents: every answer still follows the last good
  policy, and /metrics says the document on disk is not valid.
"""

from __future__ import annotations

import os
import signal
import ssl
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from tests.conftest import ServedWebhook
from tests.reliability import figures
from tests.reliability.conftest import ServerFactory
from tests.reliability.loadgen import HOST, LoadGenerator, baseline, client_context
from tests.reliability.serving import (
    client_ports_of,
    metric,
    metrics,
    readyz,
    wait_for,
    worker_pids,
)
from webhook.cli.certs import write_dev_certificates

pytestmark = [pytest.mark.integration, pytest.mark.faults]

LOAD_THREADS = 6
RELOADS = 15


def start_load(served: ServedWebhook, **kwargs: Any) -> LoadGenerator:
    load = LoadGenerator(served.port, served.ca_file, baseline(served.port, served.ca_file),
                         threads=kwargs.pop("threads", LOAD_THREADS), **kwargs)
    load.start()
    load.wait_for_answers(100)
    return load


# --- gunicorn workers --------------------------------------------------------------------------

def test_a_killed_worker_fails_only_the_requests_on_its_own_connections(
        serve: ServerFactory) -> None:
    served = serve()
    master = served.process.pid
    load = start_load(served, max_seconds=30)
    try:
        time.sleep(0.3)
        workers = worker_pids(master)
        assert len(workers) == 2
        ours = set(load.local_ports().values())
        held = {pid: client_ports_of(pid, served.port) & ours for pid in workers}
        victim = max(held, key=lambda pid: len(held[pid]))
        victim_ports = held[victim]
        killed_at = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: len(worker_pids(master)) == 2 and victim not in worker_pids(master),
                 10, "gunicorn to replace the killed worker")
        load.wait_for_answers(300)
    finally:
        tally = load.stop()

    figures.record_fault("worker SIGKILL", tally)
    print(f"    victim held {len(victim_ports)} of the load's {len(ours)} connections; "
          f"connections per worker: {[len(ports) for ports in held.values()]}")
    per_connection = Counter(failure.local_port for failure in tally.failures)
    assert all(failure.at >= killed_at for failure in tally.failures)
    assert all(failure.cause in ("in-flight", "timeout") for failure in tally.failures), \
        tally.failures
    assert set(per_connection) <= victim_ports, "a connection of the surviving worker failed"
    assert all(count == 1 for count in per_connection.values())
    assert len(tally.failures) <= len(victim_ports)
    assert tally.answered_after(killed_at) >= 300
    assert tally.admitted_but_denied == 0


def test_a_graceful_restart_loses_no_request(serve: ServerFactory) -> None:
    # The loss is a race (a connection accepted in the last ms before an old worker closes
    # its listener): reload up to RELOADS times, a new connection for every request, and
    # stop at the first lost request.
    served = serve()
    master = served.process.pid
    # Every request on a new connection: new connections all through the reloads.
    load = start_load(served, max_seconds=90, reconnect_every=1, threads=12, pause=0.0)
    try:
        reloads = 0
        while reloads < RELOADS and not load.tally.failures:
            reloads += 1
            before = worker_pids(master)
            hup_at = time.monotonic()
            os.kill(master, signal.SIGHUP)
            wait_for(lambda before=before: len(worker_pids(master)) == 2
                     and not worker_pids(master) & before,
                     15, "every worker to be replaced after SIGHUP")
            load.wait_for_answers(50)
    finally:
        tally = load.stop()

    figures.FAULTS_INJECTED["graceful restart (SIGHUP)"] += reloads - 1  # record_fault() adds one
    print(f"    {reloads} reloads")
    figures.record_fault("graceful restart (SIGHUP)", tally)
    assert tally.answered_after(hup_at) >= 50
    assert tally.admitted_but_denied == 0
    assert tally.failures == []


# --- certificate rotation ----------------------------------------------------------------------

def serial_of(path: Path) -> str:
    """The serial as ssl's getpeercert() writes it: upper-case hex of whole bytes."""
    text = f"{x509.load_pem_x509_certificate(path.read_bytes()).serial_number:X}"
    return text.zfill(len(text) + len(text) % 2)


def peer_serial(served: ServedWebhook) -> str:
    """The serial of the certificate a fresh connection is served (verified against the CA)."""
    import socket

    context = client_context(served.ca_file)
    with socket.create_connection((HOST, served.port), timeout=5) as raw, \
            context.wrap_socket(raw, server_hostname=HOST) as sock:
        return str((sock.getpeercert() or {}).get("serialNumber", ""))


def test_a_replaced_certificate_is_served_to_new_connections_without_failures(
        serve: ServerFactory, tmp_path: Path) -> None:
    certs = write_dev_certificates(tmp_path / "certs")
    old_serial = serial_of(certs.cert)
    served = serve(certs=certs)
    # Each load thread dials again every 10 requests: handshakes all through the rotation.
    load = start_load(served, max_seconds=30, reconnect_every=10)
    try:
        assert peer_serial(served) == old_serial
        ca = (certs.ca_cert.read_bytes(), certs.ca_key.read_bytes())
        rotated = write_dev_certificates(tmp_path / "certs", ca=ca)
        new_serial = serial_of(rotated.cert)
        assert new_serial != old_serial
        wait_for(lambda: peer_serial(served) == new_serial, 10, "the new certificate")
        time.sleep(1.5)  # every worker checks its files at most once a second
        fresh = [peer_serial(served) for _ in range(12)]
        load.wait_for_answers(300)
    finally:
        tally = load.stop()

    figures.record_fault("certificate and key replaced", tally)
    print(f"    serials seen by the load's {tally.dials} dials: {dict(tally.serials)}")
    assert fresh == [new_serial] * 12
    assert tally.failures == []
    assert tally.serials[old_serial] and tally.serials[new_serial]


def test_a_certificate_written_before_its_key_never_breaks_new_connections(
        serve: ServerFactory, tmp_path: Path) -> None:
    certs = write_dev_certificates(tmp_path / "certs")
    old_serial = serial_of(certs.cert)
    served = serve(certs=certs)
    staged = write_dev_certificates(
        tmp_path / "staged", ca=(certs.ca_cert.read_bytes(), certs.ca_key.read_bytes()))

    os.replace(staged.cert, certs.cert)  # the certificate first, the key 2.5 s later
    handshakes: list[str] = []
    deadline = time.monotonic() + 2.5
    while time.monotonic() < deadline:
        try:
            handshakes.append(peer_serial(served))
        except (ssl.SSLError, OSError) as error:
            handshakes.append(f"failed: {error}")
        time.sleep(0.1)
    os.replace(staged.key, certs.key)
    figures.FAULTS_INJECTED["certificate written before its key"] += 1
    figures.REQUESTS_UNDER_FAULTS["certificate written before its key"] += len(handshakes)
    failed = [h for h in handshakes if h.startswith("failed")]
    figures.FAILED_BY_CAUSE["certificate written before its key: handshake"] += len(failed)
    print(f"\ncertificate written before its key: {len(failed)} of {len(handshakes)} "
          f"handshakes failed{': ' + failed[0] if failed else ''}")

    assert failed == [], f"{len(failed)} of {len(handshakes)} new connections failed"
    assert set(handshakes) <= {old_serial, serial_of(certs.cert)}
    wait_for(lambda: peer_serial(served) == serial_of(certs.cert), 10, "the new certificate")


# --- the policy file ---------------------------------------------------------------------------

DEFAULT_POLICY_TEXT = (Path(__file__).resolve().parents[2] / "webhook" / "policy"
                       / "default-policy.yaml").read_text()
# The last good policy differs from the default (NP011 denies instead of warning), so an answer
# under the default policy would be told apart from one under the last good policy.
GOOD_POLICY = DEFAULT_POLICY_TEXT.replace("NP011: {action: warn}", "NP011: {action: deny}")
INVALID_POLICIES = [
    ("billion laughs", GOOD_POLICY + "a: &a [x, x, x]\nb: [*a, *a, *a]\n"),
    ("duplicate key", GOOD_POLICY + "clusterUnavailable: allow\n"),
    ("schema violation", GOOD_POLICY.replace("NP008: {action: deny}", "NP008: {action: nope}")),
    ("truncated", GOOD_POLICY[: GOOD_POLICY.index("NP011") + 12]),  # inside a flow mapping
    ("empty", ""),
    ("not YAML", "\t{{{ not yaml"),
]


def test_an_invalid_policy_file_keeps_the_last_good_policy_in_force(
        serve: ServerFactory, tmp_path: Path) -> None:
    assert GOOD_POLICY != DEFAULT_POLICY_TEXT
    policy = tmp_path / "policy.yaml"
    policy.write_text(GOOD_POLICY)
    served = serve("--policy", str(policy))
    # Ready means one worker answered /readyz; the other may still be loading. A worker that
    # first reads an invalid file has no last good policy (not ready, rightly), so wait for both.
    wait_for(lambda: served.log_text().count('"msg": "policy loaded: generation 1"') == 2, 10,
             "both workers to load the good policy")
    load = start_load(served, max_seconds=40)
    named_port = next(item for item in load.reviews
                      if item.name == "networkpolicy-create-named-port")
    assert named_port.expected.allowed is False  # NP011 denies under the good policy
    refused_before = metric(metrics(served.port, served.ca_file),
                            "netpol_guard_policy_reload_errors_total")
    try:
        for _, text in INVALID_POLICIES:
            staged = tmp_path / "policy.yaml.new"
            staged.write_text(text)
            os.replace(staged, policy)  # as kubelet swaps a ConfigMap volume
            wait_for(lambda: metric(metrics(served.port, served.ca_file),
                                    "netpol_guard_policy_valid") == 0, 5,
                     "policy_valid to drop to 0")
            time.sleep(1.2)  # both workers poll once a second
        policy.unlink()  # and then no file at all
        time.sleep(1.5)
        samples = metrics(served.port, served.ca_file)
        readiness = [readyz(served.port, served.ca_file) for _ in range(4)]  # both workers
        load.wait_for_answers(200)
    finally:
        tally = load.stop()

    refused = metric(samples, "netpol_guard_policy_reload_errors_total") - refused_before
    figures.POLICY_DOCUMENTS_REFUSED["invalid policy files on disk (refusals counted by the "
                                     "2 workers)"] += int(refused)
    figures.record_fault("policy file replaced by invalid documents", tally)
    print(f"    policy documents refused by the workers: {refused:.0f}; /readyz "
          f"{[status for status, _ in readiness]}")
    assert tally.failures == []  # every answer: the verdict under the last good policy
    assert tally.admitted_but_denied == 0
    assert metric(samples, "netpol_guard_policy_valid") == 0
    assert refused >= 2 * len(INVALID_POLICIES)  # each document, in each of the 2 workers
    # Still ready: the last good policy is in force (valid: false says the file is not).
    assert all(status == 200 and ready["policy"]["valid"] is False
               for status, ready in readiness), (readiness, [
        line for line in served.log_text().splitlines() if "netpol_guard.policy" in line][:6])

    policy.write_text(GOOD_POLICY.replace("NP012: {action: warn}", "NP012: {action: audit}"))
    wait_for(lambda: metric(metrics(served.port, served.ca_file),
                            "netpol_guard_policy_valid") == 1, 5, "policy_valid back to 1")
