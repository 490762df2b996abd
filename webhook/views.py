"""HTTP endpoints: POST /validate, GET /healthz, /readyz, /metrics.

The view only moves bytes: admission.parse_review → review.review_request → admission.
build_response. Every /validate reply is JSON: an AdmissionReview, or a JSON Status for a
request with no usable uid. Errors of any kind (404, 405, 413, an exception) are JSON too.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from flask import Blueprint, Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from webhook import metrics
from webhook.admission import (
    DEFAULT_VERSION,
    MAX_BODY_BYTES,
    BadReview,
    build_response,
    error_body,
    parse_review,
)
from webhook.decision import Decision, deny
from webhook.engine.defaultdeny import WORKLOAD_KINDS
from webhook.logs import log_review
from webhook.policy.store import PolicyNotReady
from webhook.review import review_request

if TYPE_CHECKING:
    from webhook.cluster import ClusterState
    from webhook.policy.store import PolicyStore

blueprint = Blueprint("webhook", __name__)
log = logging.getLogger("netpol_guard.server")


@dataclass(frozen=True)
class Wiring:
    """What the views need, set by the app factory."""

    policy_store: PolicyStore
    cluster: ClusterState | None
    policy_configmap: str


def _wiring() -> Wiring:
    wiring: Wiring = current_app.extensions["netpol_guard"]
    return wiring


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(orjson.dumps(body), status=status, mimetype="application/json")


@blueprint.post("/validate", provide_automatic_options=False)
def validate() -> Response:
    started = time.perf_counter()
    # The request object once, not through the context-local proxy at every attribute.
    req = request._get_current_object()  # type: ignore[attr-defined]
    if req.content_length is not None and req.content_length > MAX_BODY_BYTES:
        return _bad_request(BadReview(413, f"body of {req.content_length} bytes exceeds "
                                           f"the limit of {MAX_BODY_BYTES} bytes"))
    body = req.get_data(cache=False)
    # What the API server sends, compared as a string before werkzeug parses the header.
    wrong_type = (req.environ.get("CONTENT_TYPE") != "application/json"
                  and req.mimetype != "application/json")
    try:
        api_version, admission = parse_review(body)
    except BadReview as bad:
        # The body is still parsed for its uid, so a wrong type is answered in band if it can.
        return _bad_request(_unsupported_type(bad.uid, bad.api_version) if wrong_type else bad)
    if wrong_type:
        return _bad_request(_unsupported_type(admission.uid, api_version))

    wiring = _wiring()
    try:
        decision = review_request(admission, wiring.policy_store.current(), wiring.cluster,
                                  policy_configmap=wiring.policy_configmap)
    except PolicyNotReady as not_ready:
        # Readiness keeps the API server away until a policy loads; answer in band regardless.
        decision = deny(f"netpol-guard has no valid policy loaded yet ({not_ready}); the "
                        "request is refused until one is.", code=503,
                        reason="ServiceUnavailable")
    except Exception:  # fail closed: the API server shows the message, we keep the trace
        log.exception("engine error", extra={"fields": {"uid": admission.uid,
                                                        "kind": admission.kind}})
        metrics.ENGINE_ERRORS.inc()
        decision = deny(f"netpol-guard could not review this request (uid {admission.uid}); "
                        "the error is in the webhook's log. The request is refused until it "
                        "can be reviewed.", code=500, reason="InternalError")

    elapsed = time.perf_counter() - started
    _record(admission.kind, admission.operation, decision, elapsed)
    log_review(admission, decision, elapsed * 1000)
    return _json(build_response(api_version, admission.uid, decision))


def _unsupported_type(uid: str | None, api_version: str) -> BadReview:
    return BadReview(415, f"Content-Type {request.content_type!r} is not supported; send "
                          "application/json", uid=uid, api_version=api_version)


# Kinds the webhook is registered for; anything else is counted as "Other" so that a stray
# client cannot grow the metrics without bound.
_METRIC_KINDS = WORKLOAD_KINDS | {"NetworkPolicy", "Namespace", "ConfigMap"}


def _record(kind: str, operation: str, decision: Decision, elapsed: float) -> None:
    metrics.REVIEW_TALLY.add(
        kind if kind in _METRIC_KINDS else "Other", operation, decision.verdict, elapsed,
        [(violation.rule_id, violation.action.value) for violation in decision.violations])


def _bad_request(bad: BadReview) -> Response:
    metrics.BAD_REQUESTS.labels(str(bad.status)).inc()
    log.info("bad request", extra={"fields": {"uid": bad.uid, "status": bad.status,
                                              "reason": bad.message[:200]}})
    if bad.uid:
        decision = deny(f"netpol-guard cannot review this request: {bad.message}",
                        code=bad.status, reason="BadRequest")
        return _json(build_response(bad.api_version or DEFAULT_VERSION, bad.uid, decision))
    return _json(error_body(bad.status, bad.message), bad.status)


@blueprint.get("/healthz", provide_automatic_options=False)
def healthz() -> Response:
    return _json({"status": "ok"})


@blueprint.get("/readyz", provide_automatic_options=False)
def readyz() -> Response:
    wiring = _wiring()
    policy_ready = wiring.policy_store.is_ready()
    cluster_ready = wiring.cluster is None or wiring.cluster.is_ready()
    body = {"status": "ready" if policy_ready and cluster_ready else "not ready",
            "policy": wiring.policy_store.status(),
            "cluster": _cluster_status(wiring.cluster)}
    return _json(body, 200 if policy_ready and cluster_ready else 503)


def _cluster_status(cluster: ClusterState | None) -> dict[str, Any]:
    if cluster is None:
        return {"ready": True, "source": "none"}
    return {"ready": cluster.is_ready(), **cluster.status()}


@blueprint.get("/metrics", provide_automatic_options=False)
def metrics_view() -> Response:
    text, content_type = metrics.render()
    return Response(text, status=200, content_type=content_type)


def register_error_handlers(app: Flask) -> None:
    """Make every error JSON: Flask's defaults are HTML pages."""

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(_: RequestEntityTooLarge) -> Response:
        return _bad_request(BadReview(413, f"body exceeds the limit of {MAX_BODY_BYTES} bytes"))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        status = error.code or 500
        return _json(error_body(status, error.description or error.name), status)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        # Not reachable from /validate (it catches engine errors itself); kept so that no
        # route can ever answer with an HTML page.
        log.exception("unhandled error")
        return _json(error_body(500, f"internal error: {type(error).__name__}"), 500)
