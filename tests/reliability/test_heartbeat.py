"""The worker heartbeat replaces hung workers, never busy ones.

- a worker stopped with SIGSTOP (hung: it makes no progress at all) is replaced by gunicorn's
  arbiter, and the server answers on the connections the API server dials again;
- saturation (64 and 256 kept-alive TLS connections, 60 s each, from wrk) never trips the
  heartbeat: no ``WORKER TIMEOUT``, no socket error, no timeout, every answer a 200
  AdmissionReview. A test of the fault, not of speed: nothing here is timed against a target;
- a busy worker beats on its progress, not only from its main loop: with a 1 s heartbeat, 15 s
  of saturation trip nothing (with beats from the loop alone, a saturated worker's beats came
  up to 1.9 s apart, and this run logged a WORKER TIMEOUT and lost reviews).
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import ServedWebhook
from tests.reliability import figures
from tests.reliability.conftest import ServerFactory
from tests.reliability.loadgen import (
    HOST,
    LoadGenerator,
    baseline,
    client_context,
)
from tests.reliability.serving import client_ports_of, wait_for, worker_pids
from tests.reliability.wrk import run_wrk
from webhook.serving.gunicorn_conf import ServeSettings

pytestmark = [pytest.mark.integration, pytest.mark.faults]

HEARTBEAT = ServeSettings().timeout
# gunicorn's arbiter checks its workers about once a second: it sends SIGABRT once a worker's
# heartbeat is older than the timeout (a stopped process keeps it pending), SIGKILL at the next
# check, then forks the replacement, which boots in well under a second.
REPLACED_WITHIN = HEARTBEAT + 4.0
SATURATION_SECONDS = 60
WORKER_TIMEOUT = re.compile(r"WORKER TIMEOUT \(pid:(\d+)\)")


def test_a_stopped_worker_is_replaced_and_the_server_answers_again(
        serve: ServerFactory) -> None:
    served = serve()
    master = served.process.pid
    load = LoadGenerator(served.port, served.ca_file, baseline(served.port, served.ca_file),
                         threads=6, max_seconds=60)
    load.start()
    try:
        load.wait_for_answers(100)
        workers = worker_pids(master)
        assert len(workers) == 2
        ours = set(load.local_ports().values())
        held = {pid: client_ports_of(pid, served.port) & ours for pid in workers}
        victim = max(held, key=lambda pid: len(held[pid]))
        stopped_at = time.monotonic()
        os.kill(victim, signal.SIGSTOP)
        try:
            wait_for(lambda: victim not in worker_pids(master)
                     and len(worker_pids(master)) == 2, REPLACED_WITHIN + 5,
                     "gunicorn to replace the stopped worker")
        finally:
            if victim in worker_pids(master):
                os.kill(victim, signal.SIGKILL)
        replaced_after = time.monotonic() - stopped_at
        [replacement] = worker_pids(master) - workers
        # The reviews on the stopped worker's connections timed out (the clients wait as long
        # as the API server, WEBHOOK_TIMEOUT_SECONDS) or broke when it was killed; the clients
        # dialled again.
        load.wait_for_answers(300, timeout=20)
        new_connection_served_by(served, replacement)
    finally:
        tally = load.stop()

    figures.record_fault("worker SIGSTOP (hung)", tally)
    print(f"    stopped worker replaced after {replaced_after:.1f} s (heartbeat {HEARTBEAT} s); "
          f"it held {len(held[victim])} of the load's {len(ours)} connections; {tally.summary()}")
    assert WORKER_TIMEOUT.findall(served.log_text()) == [str(victim)]
    assert replaced_after <= REPLACED_WITHIN
    # Only reviews on the stopped worker's connections were lost, one per connection.
    per_connection = Counter(failure.local_port for failure in tally.failures)
    assert set(per_connection) <= held[victim], tally.failures
    assert all(count == 1 for count in per_connection.values())
    assert all(failure.cause in ("timeout", "in-flight") for failure in tally.failures)
    assert tally.admitted_but_denied == 0


def new_connection_served_by(served: ServedWebhook, pid: int, attempts: int = 20) -> None:
    """Dial until a connection lands on worker ``pid`` and is answered there."""
    for _ in range(attempts):
        connection = http.client.HTTPSConnection(HOST, served.port, timeout=5,
                                                 context=client_context(served.ca_file))
        try:
            connection.request("GET", "/healthz")
            answer = connection.getresponse()
            answer.read()
            assert answer.status == 200
            assert connection.sock is not None
            if connection.sock.getsockname()[1] in client_ports_of(pid, served.port):
                return
        finally:
            connection.close()
        time.sleep(0.1)
    raise AssertionError(f"no new connection was served by the replacement worker {pid}")


@pytest.mark.parametrize(("connections", "seconds", "heartbeat"), [
    pytest.param(64, SATURATION_SECONDS, HEARTBEAT, id="64-connections"),
    pytest.param(256, SATURATION_SECONDS, HEARTBEAT, id="256-connections"),
    pytest.param(64, 15, 1, id="64-connections-1s-heartbeat"),
])
def test_saturation_never_trips_the_heartbeat(serve: ServerFactory, tmp_path: Path,
                                              connections: int, seconds: int,
                                              heartbeat: int) -> None:
    served = serve("--timeout", str(heartbeat))
    master = served.process.pid
    workers = worker_pids(master)
    result = run_wrk(served.port, tmp_path, connections=connections, seconds=seconds,
                     timeout=ServeSettings().request_timeout, max_requests=2_000_000)
    log = served.log_text()
    figures.REQUESTS_UNDER_FAULTS[f"saturation, {connections} connections, heartbeat "
                                  f"{heartbeat} s"] += result.requests
    print(f"    {connections} connections, heartbeat {heartbeat} s: {result.summary()}")
    assert WORKER_TIMEOUT.findall(log) == []
    assert worker_pids(master) == workers, "a worker was replaced under load"
    assert result.requests > 0 and result.reviews == result.requests
    assert (result.socket_errors, result.timeouts, result.non_2xx, result.not_reviews) == (
        0, 0, 0, 0), result.summary()
