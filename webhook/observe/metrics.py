"""Prometheus metrics, declared in one place.

Under gunicorn every worker is its own process, so the server runs prometheus-client in
multiprocess mode: ``netpol-guard serve`` points PROMETHEUS_MULTIPROC_DIR at a fresh directory
before any worker imports this module, and ``/metrics`` aggregates the workers' files.
Gauges say how they combine across workers (``multiprocess_mode``).

The per-review metrics (reviews, rule hits, latency) are tallied in memory and written in
batches (``ReviewTally``): in multiprocess mode every increment is a locked write to a file.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from bisect import bisect_left
from collections.abc import Iterable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

log = logging.getLogger("netpol_guard.metrics")

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.5, 1.0,
                   2.5)

REVIEWS = Counter(
    "netpol_guard_reviews_total",
    "Admission reviews answered, by kind, operation and verdict (allowed, warned, denied).",
    ["kind", "operation", "verdict"],
)
RULE_HITS = Counter(
    "netpol_guard_rule_violations_total",
    "Rule violations found in reviews, by rule id and action (deny, warn, audit).",
    ["rule", "action"],
)
BAD_REQUESTS = Counter(
    "netpol_guard_bad_requests_total",
    "Requests to /validate refused before review, by HTTP status.",
    ["status"],
)
ENGINE_ERRORS = Counter(
    "netpol_guard_engine_errors_total",
    "Exceptions inside the engine (each answered with allowed: false, code 500).",
)
LATENCY = Histogram(
    "netpol_guard_review_duration_seconds",
    "Time from request body read to response built, per review.",
    ["kind"],
    buckets=LATENCY_BUCKETS,
)

POLICY_VALID = Gauge(
    "netpol_guard_policy_valid",
    "1 when the last policy document read was valid, 0 when it was refused "
    "(the last good policy stays in force).",
    multiprocess_mode="min",
)
POLICY_GENERATION = Gauge(
    "netpol_guard_policy_generation",
    "How many valid policy documents this worker has loaded.",
    multiprocess_mode="max",
)
POLICY_INFO = Gauge(
    "netpol_guard_policy_info",
    "The policy in force: its source and the sha256 of its text (value always 1).",
    ["source", "sha256"],
    multiprocess_mode="max",
)
POLICY_RELOAD_ERRORS = Counter(
    "netpol_guard_policy_reload_errors_total",
    "Policy documents refused on reload.",
)

NAMESPACES = Gauge(
    "netpol_guard_namespaces",
    "Namespaces in the cluster cache by state (protected, compliant, not_compliant, exempt).",
    ["state"],
    multiprocess_mode="max",
)
CACHE_AGE = Gauge(
    "netpol_guard_cluster_cache_age_seconds",
    "Seconds since the cluster cache last heard from the API server (list or watch event).",
    multiprocess_mode="max",
)
CACHE_SYNCED = Gauge(
    "netpol_guard_cluster_cache_synced",
    "1 when the cluster cache has finished its first list, else 0.",
    multiprocess_mode="min",
)
LIVE_CONFIRMS = Counter(
    "netpol_guard_live_confirms_total",
    "Denies that depended on cluster state and were confirmed with a live read, by outcome "
    "(confirmed, overturned, unavailable).",
    ["outcome"],
)
REACH_DELTAS = Counter(
    "netpol_guard_reach_delta_total",
    "NP018 reach-delta evaluations of NetworkPolicy reviews, by outcome: evaluated, unsynced "
    "(the pod cache is not synced: answered without NP018), budget (over timeBudgetMs: "
    "answered without NP018), error (NP018 failed: answered without it, logged).",
    ["outcome"],
)
API_ERRORS = Counter(
    "netpol_guard_cluster_api_errors_total",
    "Errors talking to the Kubernetes API, by operation (list, watch, get).",
    ["operation"],
)


_children: dict[tuple[Any, ...], Any] = {}


def child(metric: Any, *labels: str) -> Any:
    """``metric.labels(*labels)``, remembered: ``labels()`` costs more than the increment."""
    # The metric itself in the key (not its id): a key keeps its metric alive, so a new metric
    # can never be handed a child of an old one that had the same id.
    key = (metric, *labels)
    found = _children.get(key)
    if found is None:
        found = _children[key] = metric.labels(*labels)
    return found


def render() -> tuple[bytes, str]:
    """The exposition text for /metrics: every worker's values when in multiprocess mode."""
    REVIEW_TALLY.flush()  # this worker's reviews so far; the others' are at most a flush behind
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST


# --- per-review metrics, written in batches -----------------------------------------------------

FLUSH_SECONDS_ENV = "NETPOL_GUARD_METRICS_FLUSH_SECONDS"


class ReviewTally:
    """This process's review counts, latencies, rule hits and other per-review counts
    (``count``), not yet written to the metrics.

    In multiprocess mode a counter increment is a locked write to an mmap'd file (≈ 9,000
    instructions, a histogram observation ≈ 17,000): done per review, that was 6 % of a
    review's whole cost (bench/instructions.py). ``add`` only adds to dicts; ``flush`` writes
    one increment per label set. It runs every ``flush_seconds`` on a background thread (a
    greenlet under gevent), before this process answers /metrics and when a gunicorn worker
    exits. A worker killed with SIGKILL loses at most ``flush_seconds`` of its counts; a
    single-process server that crashes loses everything since its last scrape.
    """

    def __init__(self, reviews: Counter, latency: Histogram, rule_hits: Counter,
                 flush_seconds: float = 1.0) -> None:
        self._metrics = (reviews, latency, rule_hits)
        self._bounds = tuple(latency._upper_bounds)  # the buckets, +Inf included
        self.flush_seconds = flush_seconds
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        # After a fork: the parent's pending counts are the parent's to write, and the
        # flusher thread did not survive the fork.
        self._lock = threading.Lock()
        self._reviews: dict[tuple[str, str, str], int] = {}
        self._rule_hits: dict[tuple[str, str], int] = {}
        self._latency: dict[str, list[float]] = {}  # kind -> [sum, count per bucket ...]
        self._counts: dict[tuple[Any, ...], int] = {}  # (counter, *labels) -> increments
        self._flusher: threading.Thread | None = None

    def add(self, kind: str, operation: str, verdict: str, seconds: float,
            rule_hits: Iterable[tuple[str, str]] = ()) -> None:
        """Count one review: its labels, duration and (rule id, action) of each violation."""
        bucket = bisect_left(self._bounds, seconds) + 1
        with self._lock:
            key = (kind, operation, verdict)
            self._reviews[key] = self._reviews.get(key, 0) + 1
            latency = self._latency.get(kind)
            if latency is None:
                latency = self._latency[kind] = [0.0] * (len(self._bounds) + 1)
            latency[0] += seconds
            latency[bucket] += 1
            for hit in rule_hits:
                self._rule_hits[hit] = self._rule_hits.get(hit, 0) + 1
        if self._flusher is None:
            self._start_flusher()

    def count(self, counter: Counter, *labels: str) -> None:
        """One increment of ``counter``'s child ``labels``, written with the next flush (for
        other counters that move on every review, such as NP018's outcomes)."""
        key = (counter, *labels)
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1
        if self._flusher is None:
            self._start_flusher()

    def flush(self) -> None:
        """Write the pending counts to the metrics (to the shared files in multiprocess mode)."""
        with self._lock:
            reviews, self._reviews = self._reviews, {}
            rule_hits, self._rule_hits = self._rule_hits, {}
            latencies, self._latency = self._latency, {}
            counts, self._counts = self._counts, {}
        for (counter, *labels), count in counts.items():
            child(counter, *labels).inc(count)
        review_metric, latency_metric, rule_metric = self._metrics
        for review_labels, count in reviews.items():
            child(review_metric, *review_labels).inc(count)
        for hit_labels, count in rule_hits.items():
            child(rule_metric, *hit_labels).inc(count)
        for kind, latency in latencies.items():
            _observe_many(child(latency_metric, kind), latency[0], latency[1:])

    def _start_flusher(self) -> None:
        with self._lock:
            if self._flusher is not None:
                return
            self._flusher = threading.Thread(target=self._flush_every, daemon=True,
                                             name="netpol-guard-metrics")
        self._flusher.start()

    def _flush_every(self) -> None:
        while True:
            time.sleep(self.flush_seconds)
            try:
                self.flush()
            except Exception:  # e.g. the metrics directory is full: keep the flusher alive
                log.exception("writing review metrics failed")


def _observe_many(histogram: Any, total: float, bucket_counts: list[float]) -> None:
    """What ``observe`` would leave after observations summing to ``total``, ``bucket_counts[i]``
    of them in bucket i, in one write per bucket. prometheus-client has no public call for it:
    this writes the child's ``_sum`` and (non-cumulative) ``_buckets`` values as ``observe``
    does, and ``ReviewTally`` reads the parent's ``_upper_bounds``; a test compares the
    exposition with ``observe``'s, so a change in prometheus-client shows."""
    histogram._sum.inc(total)
    for value, count in zip(histogram._buckets, bucket_counts, strict=True):
        if count:
            value.inc(count)


REVIEW_TALLY = ReviewTally(REVIEWS, LATENCY, RULE_HITS,
                           float(os.environ.get(FLUSH_SECONDS_ENV, "1")))
