"""HTTP endpoints: POST /validate, GET /healthz, /readyz, /metrics.

The view only moves bytes: ``validate.answer_review`` does the rest (the API server's own
requests reach it through ``validate.ValidateRoute`` before Flask; this view answers the other
requests to /validate). Every /validate reply is JSON: an AdmissionReview, or a JSON Status for
a request with no usable uid. Errors of any kind (404, 405, 413, an exception) are JSON too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from flask import Blueprint, Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from webhook.admission.wire import MAX_BODY_BYTES, BadReview, error_body
from webhook.observe import metrics
from webhook.serving.validate import (
    Answer,
    Wiring,
    answer_review,
    bad_request,
    unexpected_error,
)

if TYPE_CHECKING:
    from webhook.kube.state import ClusterState

blueprint = Blueprint("webhook", __name__)


def _wiring() -> Wiring:
    wiring: Wiring = current_app.extensions["netpol_guard"]
    return wiring


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(orjson.dumps(body), status=status, mimetype="application/json")


def _answer(answer: Answer) -> Response:
    return _json(*answer)


@blueprint.post("/validate", provide_automatic_options=False)
def validate() -> Response:
    # The request object once, not through the context-local proxy at every attribute.
    req = request._get_current_object()  # type: ignore[attr-defined]
    if req.content_length is not None and req.content_length > MAX_BODY_BYTES:
        return _answer(bad_request(BadReview(413, f"body of {req.content_length} bytes "
                                                  f"exceeds the limit of {MAX_BODY_BYTES} "
                                                  "bytes")))
    body = req.get_data(cache=False)
    return _answer(answer_review(body, req.content_type, _wiring()))


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
        return _answer(bad_request(BadReview(413, f"body exceeds the limit of "
                                                  f"{MAX_BODY_BYTES} bytes")))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        status = error.code or 500
        return _json(error_body(status, error.description or error.name), status)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        # Engine errors are answered in band by answer_review; this catches the rest (a fault
        # outside the engine, on any route), so that no route ever answers with an HTML page.
        return _answer(unexpected_error(error))
