"""The reference server: a minimal Flask app that answers every review ``allowed: true``.

It parses the AdmissionReview (as netpol-guard must) and echoes apiVersion and uid, nothing
else: the cost of the HTTP stack alone. Served two ways, so that netpol-guard can be compared
with each in the same run:

- ``--worker webhook``: exactly netpol-guard's gunicorn configuration
  (``webhook.serving.gunicorn_conf``: WebhookWorker with its handshake/request deadlines and
  connection balance, the cached SSL context of ``webhook.serving.tls``, same timeouts and
  keep-alive);
- ``--worker gevent``: gunicorn's stock gevent worker with gunicorn's default SSL context and no
  balance; only a ``pre_request`` hook that counts requests per worker, so the benchmark can show
  how the load split.

    python -m bench.reference_app --worker webhook --bind 127.0.0.1:9443 \\
        --cert certs/tls.crt --key certs/tls.key
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from flask import Flask, Response, request

from webhook.cli.serve import _application_base
from webhook.serving import balance
from webhook.serving.gunicorn_conf import ServeSettings, gunicorn_options


def create_reference_app() -> Flask:
    app = Flask("reference")

    @app.post("/validate")
    def validate() -> Response:
        review = json.loads(request.get_data(cache=False))
        answer = {"apiVersion": review.get("apiVersion", "admission.k8s.io/v1"),
                  "kind": "AdmissionReview",
                  "response": {"uid": review["request"]["uid"], "allowed": True}}
        return Response(json.dumps(answer, separators=(",", ":")), mimetype="application/json")

    @app.get("/readyz")
    def readyz() -> Response:
        return Response('{"status":"ready"}', mimetype="application/json")

    return app


def reference_options(settings: ServeSettings, worker: str) -> dict[str, Any]:
    """gunicorn options: netpol-guard's own, or the stock gevent worker's."""
    options = gunicorn_options(settings)
    if worker == "gevent":
        options["worker_class"] = "gevent"
        del options["ssl_context"]  # gunicorn's default context
        options.update(balance.hooks(count_requests=True))  # counts only; does not balance
    return options


class ReferenceApplication(_application_base()):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return create_reference_app()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reference_app")
    parser.add_argument("--worker", choices=("webhook", "gevent"), default="webhook")
    parser.add_argument("--bind", default="127.0.0.1:9443")
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    from webhook.serving.worker import HANDSHAKE_TIMEOUT_ENV, REQUEST_TIMEOUT_ENV

    settings = ServeSettings(bind=args.bind, certfile=args.cert, keyfile=args.key,
                             workers=args.workers)
    os.environ[HANDSHAKE_TIMEOUT_ENV] = str(settings.handshake_timeout)
    os.environ[REQUEST_TIMEOUT_ENV] = str(settings.request_timeout)
    ReferenceApplication(reference_options(settings, args.worker)).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
