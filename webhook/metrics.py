"""Prometheus metrics, declared in one place.

Under gunicorn every worker is its own process, so the server runs prometheus-client in
multiprocess mode: ``netpol-guard serve`` points PROMETHEUS_MULTIPROC_DIR at a fresh directory
before any worker imports this module, and ``/metrics`` aggregates the workers' files.
Gauges say how they combine across workers (``multiprocess_mode``).
"""

from __future__ import annotations

import os
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
    buckets=(0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.5, 1.0, 2.5),
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
API_ERRORS = Counter(
    "netpol_guard_cluster_api_errors_total",
    "Errors talking to the Kubernetes API, by operation (list, watch, get).",
    ["operation"],
)


_children: dict[tuple[Any, ...], Any] = {}


def child(metric: Any, *labels: str) -> Any:
    """``metric.labels(*labels)``, remembered: ``labels()`` costs more than the increment."""
    key = (id(metric), *labels)
    found = _children.get(key)
    if found is None:
        found = _children[key] = metric.labels(*labels)
    return found


def render() -> tuple[bytes, str]:
    """The exposition text for /metrics: every worker's values when in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
