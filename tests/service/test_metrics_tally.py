"""Per-review metrics are tallied in memory and written in batches (``metrics.ReviewTally``).

What a scrape shows after a flush must be exactly what one increment/observation per review
would have shown; the flush runs on its own within ``flush_seconds``. (Flush before /metrics
and at worker exit: tests/service/test_served.py and tests/reliability/test_metrics_served.py.)
"""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from webhook.observe.metrics import LATENCY_BUCKETS, ReviewTally


def fresh_metrics() -> tuple[CollectorRegistry, Counter, Histogram, Counter]:
    registry = CollectorRegistry()
    reviews = Counter("reviews", "r", ["kind", "operation", "verdict"], registry=registry)
    latency = Histogram("latency", "l", ["kind"], buckets=LATENCY_BUCKETS, registry=registry)
    hits = Counter("hits", "h", ["rule", "action"], registry=registry)
    return registry, reviews, latency, hits


def exposition(registry: CollectorRegistry) -> list[str]:
    # _created holds the creation time of each series: different between two registries.
    return sorted(line for line in generate_latest(registry).decode().splitlines()
                  if "_created" not in line)


reviews_strategy = st.lists(st.tuples(
    st.sampled_from(["Pod", "NetworkPolicy", "Namespace"]),
    st.sampled_from(["CREATE", "UPDATE"]),
    st.sampled_from(["allowed", "warned", "denied"]),
    # bucket bounds themselves included: observe() counts a value equal to a bound in it
    st.sampled_from(LATENCY_BUCKETS) | st.floats(0, 5, allow_nan=False),
    st.lists(st.tuples(st.sampled_from(["NP001", "NP008", "DD001"]),
                       st.sampled_from(["deny", "warn"])), max_size=3),
), max_size=30)


@settings(max_examples=60, deadline=None)
@given(reviews=reviews_strategy)
def test_a_flushed_tally_shows_what_one_write_per_review_shows(reviews: list) -> None:
    batched_registry, *batched = fresh_metrics()
    direct_registry, reviews_metric, latency_metric, hits_metric = fresh_metrics()
    tally = ReviewTally(*batched, flush_seconds=3600)
    for kind, operation, verdict, seconds, hits in reviews:
        tally.add(kind, operation, verdict, seconds, hits)
        reviews_metric.labels(kind, operation, verdict).inc()
        latency_metric.labels(kind).observe(seconds)
        for rule, action in hits:
            hits_metric.labels(rule, action).inc()
    tally.flush()
    assert exposition(batched_registry) == exposition(direct_registry)


def test_counts_wait_for_a_flush_and_are_written_once() -> None:
    registry, *metrics = fresh_metrics()
    tally = ReviewTally(*metrics, flush_seconds=3600)
    tally.add("Pod", "CREATE", "denied", 0.001, [("DD001", "deny")])
    labels = {"kind": "Pod", "operation": "CREATE", "verdict": "denied"}
    assert registry.get_sample_value("reviews_total", labels) is None

    tally.flush()
    tally.flush()  # nothing pending: writes nothing more

    assert registry.get_sample_value("reviews_total", labels) == 1
    assert registry.get_sample_value("hits_total", {"rule": "DD001", "action": "deny"}) == 1
    assert registry.get_sample_value("latency_count", {"kind": "Pod"}) == 1


def test_the_tally_is_written_within_its_flush_interval_without_being_asked() -> None:
    registry, *metrics = fresh_metrics()
    tally = ReviewTally(*metrics, flush_seconds=0.05)
    labels = {"kind": "Namespace", "operation": "UPDATE", "verdict": "allowed"}
    for _ in range(3):
        tally.add("Namespace", "UPDATE", "allowed", 0.002)

    deadline = time.monotonic() + 5
    while registry.get_sample_value("reviews_total", labels) != 3:
        assert time.monotonic() < deadline, "the tally was not flushed in 5 s"
        time.sleep(0.01)
    tally.add("Namespace", "UPDATE", "allowed", 0.002)
    while registry.get_sample_value("reviews_total", labels) != 4:
        assert time.monotonic() < deadline, "the second review was not flushed"
        time.sleep(0.01)
