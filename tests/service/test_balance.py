"""Kept-alive connections are spread evenly over the workers (webhook.serving.balance, DESIGN §6).

Left alone, gunicorn often puts every connection of a burst on one of two workers. These tests
open kept-alive TLS connections against the real server and read each worker's open-connection
count from the shared table (NETPOL_GUARD_WORKER_STATS).
"""

from __future__ import annotations

import gc
import os
import signal
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ADMISSION_FIXTURES, ServedWebhook, start_webhook
from webhook.serving.balance import STATS_FILE_ENV, WorkerStats, read_stats

pytestmark = pytest.mark.integration

REVIEW = (ADMISSION_FIXTURES / "pod-create-kubectl-run.json").read_bytes()


@pytest.fixture(scope="module")
def balanced_webhook(tmp_path_factory: pytest.TempPathFactory,
                     dev_certs: Any) -> Iterator[ServedWebhook]:
    workdir = tmp_path_factory.mktemp("balance")
    stats = workdir / "workers.stats"
    served = start_webhook(workdir, dev_certs, "--workers", "2",
                           env={STATS_FILE_ENV: str(stats)})
    served.extra["stats"] = stats
    # The readiness probe's kept-alive connection closes when its socket is collected.
    gc.collect()
    yield served
    served.stop()


def _context(served: ServedWebhook) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=served.ca_file)
    context.check_hostname = False
    return context


def _review(connection: ssl.SSLSocket) -> bytes:
    """One POST /validate on a kept-alive connection; the raw response."""
    head = (f"POST /validate?timeout=10s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(REVIEW)}\r\n\r\n")
    connection.sendall(head.encode() + REVIEW)
    response = b""
    while b"\r\n\r\n" not in response:
        response += connection.recv(65536)
    header, _, body = response.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in header.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        body += connection.recv(65536)
    assert header.startswith(b"HTTP/1.1 200"), header
    return body


def _open_burst(served: ServedWebhook, count: int) -> list[ssl.SSLSocket]:
    """``count`` connections dialled at once (as a client's pool does), then TLS, one review."""
    raw = [socket.create_connection(("127.0.0.1", served.port), timeout=10)
           for _ in range(count)]
    context = _context(served)
    connections = [context.wrap_socket(sock) for sock in raw]
    for connection in connections:
        assert b'"uid"' in _review(connection)
    return connections


def _wait_for(stats_path: Path, done: Callable[[list[WorkerStats]], bool],
              timeout: float = 10.0) -> list[WorkerStats]:
    deadline = time.monotonic() + timeout
    while True:
        workers = read_stats(str(stats_path))
        if done(workers) or time.monotonic() > deadline:
            return workers
        time.sleep(0.05)


def _open_counts(workers: list[WorkerStats]) -> list[int]:
    return sorted(worker.open for worker in workers)


def _idle(workers: list[WorkerStats]) -> bool:
    """Both workers serving (a booting worker is left out of the balance) and no connection."""
    return (len(workers) == 2 and _open_counts(workers) == [0, 0]
            and all(worker.heartbeat_age < 0.5 for worker in workers))


def _close(connections: list[ssl.SSLSocket]) -> None:
    for connection in connections:
        connection.close()


@pytest.mark.parametrize("attempt", range(5))
def test_eight_kept_alive_connections_split_four_and_four(balanced_webhook: ServedWebhook,
                                                          attempt: int) -> None:
    stats = balanced_webhook.extra["stats"]
    idle = _wait_for(stats, _idle)
    assert _idle(idle), idle
    connections = _open_burst(balanced_webhook, 8)
    try:
        workers = _wait_for(stats, lambda w: _open_counts(w) == [4, 4], timeout=2)
        assert _open_counts(workers) == [4, 4], workers
        # Each connection keeps its worker: more reviews on them do not move the split.
        for connection in connections:
            _review(connection)
        assert _open_counts(read_stats(str(stats))) == [4, 4]
    finally:
        _close(connections)


def test_reviews_follow_the_connections(balanced_webhook: ServedWebhook) -> None:
    stats = balanced_webhook.extra["stats"]
    assert _idle(_wait_for(stats, _idle))
    before = {w.pid: w.requests for w in read_stats(str(stats))}
    connections = _open_burst(balanced_webhook, 8)
    try:
        for _ in range(9):
            for connection in connections:
                _review(connection)
        after = {w.pid: w.requests for w in read_stats(str(stats))}
        assert sorted(after[pid] - before.get(pid, 0) for pid in after) == [40, 40]
    finally:
        _close(connections)


def test_a_stuck_worker_does_not_stop_the_other_from_accepting(
        balanced_webhook: ServedWebhook) -> None:
    stats = balanced_webhook.extra["stats"]
    assert _idle(_wait_for(stats, _idle))
    first = _open_burst(balanced_webhook, 2)  # one on each worker
    workers = _wait_for(stats, lambda w: _open_counts(w) == [1, 1])
    stuck = workers[0].pid
    os.kill(stuck, signal.SIGSTOP)
    try:
        # The other worker now holds as many connections as the stuck one; once the stuck
        # worker's heartbeat is stale it takes every new connection.
        more = _open_burst(balanced_webhook, 4)
        counts = {w.pid: w.open for w in read_stats(str(stats))}
        assert counts[stuck] == 1
        assert sum(counts.values()) == 6
        _close(more)
    finally:
        os.kill(stuck, signal.SIGCONT)
        _close(first)
