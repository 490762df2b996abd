"""Review metrics of a real server survive the worker that counted them.

Workers tally review metrics in memory and write them in batches (``metrics.ReviewTally``):
at least every ``NETPOL_GUARD_METRICS_FLUSH_SECONDS``, before the worker answers /metrics, and
when it exits. Here the interval is an hour, so only the write at exit can bring the reviews
counted by the old workers of a graceful restart (SIGHUP) into the new workers' /metrics.
"""

from __future__ import annotations

import http.client
import os
import signal

import pytest

from tests.conftest import load_review
from tests.reliability.conftest import ServerFactory
from tests.reliability.loadgen import HOST, client_context, post_review
from tests.reliability.serving import metric, metrics, wait_for, worker_pids

pytestmark = pytest.mark.integration

REVIEWS = 7


def test_reviews_counted_by_a_retiring_worker_reach_metrics(serve: ServerFactory) -> None:
    served = serve(env={"NETPOL_GUARD_METRICS_FLUSH_SECONDS": "3600"})
    connection = http.client.HTTPSConnection(HOST, served.port, timeout=5,
                                             context=client_context(served.ca_file))
    review = load_review("networkpolicy-create-allow-all-ingress")
    for _ in range(REVIEWS):
        status, answer, _ = post_review(connection, review)
        assert status == 200 and answer is not None
        assert answer["response"]["allowed"] is False
    connection.close()  # an open kept-alive connection would hold its worker while it drains

    master = served.process.pid
    old_workers = worker_pids(master)
    os.kill(master, signal.SIGHUP)
    wait_for(lambda: len(worker_pids(master)) == 2 and not worker_pids(master) & old_workers,
             15, "every worker to be replaced after SIGHUP")

    samples = metrics(served.port, served.ca_file)
    assert metric(samples, "netpol_guard_reviews_total", kind="NetworkPolicy",
                  operation="CREATE", verdict="denied") == REVIEWS
    assert metric(samples, "netpol_guard_rule_violations_total", rule="NP001",
                  action="deny") == REVIEWS
    assert metric(samples, "netpol_guard_review_duration_seconds_count",
                  kind="NetworkPolicy") == REVIEWS
