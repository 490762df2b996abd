"""POST /validate: one request body in, one JSON answer out — and the route that serves it.

``answer_review`` is the whole of /validate: admission.parse_review → review.review_request →
admission.build_response, with the review's metrics and log line. It knows nothing about
Flask. Two doors lead to it:

- ``ValidateRoute``, a WSGI middleware in front of the Flask app, answers the requests the API
  server sends — POST /validate, ``Content-Type: application/json``, a Content-Length within
  the limit — without Flask's per-request dispatch (request and app contexts, URL matching,
  session, response object). That dispatch cost more CPU per review than the 17 rules, the log
  line and the metrics together (the README's performance section).
- the Flask view (``views.validate``) answers every other request to /validate: chunked bodies,
  other content types, bodies over the limit. Other paths and methods go to Flask as before.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import orjson

from webhook.admission.decision import Decision, deny
from webhook.admission.request import AdmissionRequest
from webhook.admission.wire import (
    DEFAULT_VERSION,
    MAX_BODY_BYTES,
    BadReview,
    build_response,
    error_body,
    parse_review,
)
from webhook.engine.defaultdeny import WORKLOAD_KINDS
from webhook.observe import metrics
from webhook.observe.logs import log_review
from webhook.policy.store import PolicyNotReady
from webhook.serving.review import review_request
from webhook.serving.statuslines import STATUS_LINES

if TYPE_CHECKING:
    from webhook.kube.state import ClusterState
    from webhook.policy.store import PolicyStore

log = logging.getLogger("netpol_guard.server")

JSON_TYPE = "application/json"
Answer = tuple[dict[str, Any], int]  # the JSON body and the HTTP status


@dataclass(frozen=True)
class Wiring:
    """What the endpoints need (the policy, the cluster state), set by the app factory."""

    policy_store: PolicyStore
    cluster: ClusterState | None
    policy_configmap: str


def answer_review(body: bytes, content_type: str | None, wiring: Wiring,
                  later: list[Callable[[], None]] | None = None) -> Answer:
    """The answer to one /validate request: an AdmissionReview (HTTP 200), or a JSON Status
    with HTTP 400/413/415 when the body has no usable uid.

    The review's metrics and log line are written before returning, or, given ``later``,
    appended to it for the caller to run once the answer is sent (the API server waits for
    the answer, not for the bookkeeping).

    ``content_type`` is the Content-Type header (None when absent); a media type other than
    application/json is refused, in band when the body has a uid.
    """
    started = time.perf_counter()
    wrong_type = content_type != JSON_TYPE and _media_type(content_type) != JSON_TYPE
    try:
        api_version, admission = parse_review(body)
    except BadReview as bad:
        # The body is still parsed for its uid, so a wrong type is answered in band if it can.
        return bad_request(_unsupported_type(content_type, bad.uid, bad.api_version)
                           if wrong_type else bad)
    if wrong_type:
        return bad_request(_unsupported_type(content_type, admission.uid, api_version))

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
    if later is None:
        _bookkeeping(admission, decision, elapsed)
    else:
        later.append(partial(_bookkeeping, admission, decision, elapsed))
    return build_response(api_version, admission.uid, decision), 200


def _bookkeeping(admission: AdmissionRequest, decision: Decision, elapsed: float) -> None:
    _record(admission.kind, admission.operation, decision, elapsed)
    log_review(admission, decision, elapsed * 1000)


def bad_request(bad: BadReview) -> Answer:
    """The answer to a body that cannot be reviewed: a deny when it has a uid, else a Status."""
    metrics.BAD_REQUESTS.labels(str(bad.status)).inc()
    log.info("bad request", extra={"fields": {"uid": bad.uid, "status": bad.status,
                                              "reason": bad.message[:200]}})
    if bad.uid:
        decision = deny(f"netpol-guard cannot review this request: {bad.message}",
                        code=bad.status, reason="BadRequest")
        return build_response(bad.api_version or DEFAULT_VERSION, bad.uid, decision), 200
    return error_body(bad.status, bad.message), bad.status


def unexpected_error(error: Exception) -> Answer:
    """The last resort for an exception nothing else handled: logged, answered as a JSON 500
    that names only the exception's type."""
    log.exception("unhandled error")
    return error_body(500, f"internal error: {type(error).__name__}"), 500


def _media_type(content_type: str | None) -> str:
    # What werkzeug's ``request.mimetype`` gives: lower case, parameters dropped.
    return (content_type or "").split(";", 1)[0].strip().lower()


def _unsupported_type(content_type: str | None, uid: str | None,
                      api_version: str) -> BadReview:
    return BadReview(415, f"Content-Type {content_type!r} is not supported; send "
                          f"{JSON_TYPE}", uid=uid, api_version=api_version)


# Kinds the webhook is registered for; anything else is counted as "Other" so that a stray
# client cannot grow the metrics without bound.
_METRIC_KINDS = WORKLOAD_KINDS | {"NetworkPolicy", "Namespace", "ConfigMap"}


def _record(kind: str, operation: str, decision: Decision, elapsed: float) -> None:
    metrics.REVIEW_TALLY.add(
        kind if kind in _METRIC_KINDS else "Other", operation, decision.verdict, elapsed,
        [(violation.rule_id, violation.action.value) for violation in decision.violations])


# --- the WSGI route ---------------------------------------------------------------------------

SHORT_BODY = "the client sent less than it announced"
StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]



class ValidateRoute:
    """WSGI middleware: answers the API server's POST /validate itself, passes the rest on.

    Installed as ``app.wsgi_app`` (Flask's way to wrap an app in middleware), so the Flask test
    client and gunicorn both go through it.
    """

    def __init__(self, app: WSGIApp, wiring: Wiring) -> None:
        self.app = app
        self.wiring = wiring

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        length = _plain_review_length(environ)
        if length is None:
            return self.app(environ, start_response)
        try:
            body, reason = environ["wsgi.input"].read(length), SHORT_BODY
        except OSError as error:
            body, reason = b"", f"{type(error).__name__}: {error}"
        status, payload = self.answer(body, length, None, reason)
        start_response(STATUS_LINES[status], [("Content-Type", JSON_TYPE),
                                              ("Content-Length", str(len(payload)))])
        return [payload]

    def answer(self, body: bytes, length: int, later: list[Callable[[], None]] | None = None,
               reason: str = SHORT_BODY) -> tuple[int, bytes]:
        """The HTTP status and JSON payload for a plain review whose body was announced as
        ``length`` bytes (``reason``: why fewer came, if they did; ``later``: as for
        answer_review). Never raises: this is also the worker's door
        (webhook.serving.plainhttp)."""
        try:
            if len(body) < length:  # as werkzeug's ClientDisconnected, answered in JSON
                answer, status = bad_request(BadReview(
                    400, f"body ended after {len(body)} of {length} bytes ({reason})"))
            else:
                answer, status = answer_review(body, JSON_TYPE, self.wiring, later)
        except Exception as error:  # what Flask's last-resort handler does on the other door
            answer, status = unexpected_error(error)
        return status, orjson.dumps(answer)


def _plain_review_length(environ: dict[str, Any]) -> int | None:
    """The body length of a request shaped as the API server sends it, else None (Flask's).

    POST to /validate, Content-Type exactly application/json, a Content-Length within the
    limit and no Transfer-Encoding.
    """
    if (environ.get("PATH_INFO") != "/validate" or environ.get("REQUEST_METHOD") != "POST"
            or environ.get("CONTENT_TYPE") != JSON_TYPE or environ.get("SCRIPT_NAME")
            or "HTTP_TRANSFER_ENCODING" in environ):
        return None
    text = environ.get("CONTENT_LENGTH")
    if not text or not (text.isascii() and text.isdigit()):
        return None
    length = int(text)
    return length if length <= MAX_BODY_BYTES else None
