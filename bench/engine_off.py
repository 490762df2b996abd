"""netpol-guard serve with its rules switched off: a diagnostic server for the load benchmark.

``review_request`` (the engine, the cluster snapshot, the live confirmation) answers a fixed
allow; everything else is netpol-guard's own: the worker, TLS, the view, ``parse_review``, the
review log line, the metrics and ``build_response``. Run beside netpol-guard and the reference
in the same rounds, it shows how much of the gap to the reference is the rules and how much is
the rest of the request. Not a product mode: it exists only here, in the benchmark.

    python -m bench.engine_off --bind 127.0.0.1:9444 --cert certs/tls.crt --key certs/tls.key
"""

from __future__ import annotations

import sys
from typing import Any

from webhook.admission.decision import Decision, allow
from webhook.cli import serve
from webhook.cli.main import main as cli_main
from webhook.serving.gunicorn_conf import ServeSettings

_build_wsgi_app = serve.build_wsgi_app


def _fixed_allow(*_args: object, **_kwargs: object) -> Decision:
    return allow()


def _build_without_rules(settings: ServeSettings) -> Any:
    # Runs in each worker, as the app is built there: webhook.serving.validate is imported after
    # gevent's monkey-patching, exactly as in netpol-guard serve.
    app = _build_wsgi_app(settings)
    from webhook.serving import validate

    validate.review_request = _fixed_allow
    return app


def main(argv: list[str]) -> int:
    serve.build_wsgi_app = _build_without_rules
    return cli_main(["serve", *argv])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
