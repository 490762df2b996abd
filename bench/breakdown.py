"""Where a review's CPU goes, in-process: netpol-guard's app against the reference app.

Both apps are called as WSGI applications (no network, no gunicorn), over the same review mix
as the load benchmark, and timed in CPU time (``time.process_time``), so other processes on
the machine do not inflate the figures. Then the stages of
``webhook.serving.validate.answer_review`` are timed one by one. The difference between the two
apps is what netpol-guard adds to a review; under gunicorn over TLS the HTTP stack (parsing,
TLS, gevent) adds the same to both.
"""

from __future__ import annotations

import io
import logging
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.workload import FIXTURES, MIX, write_inventory


def _cpu_us_per_call(function: Callable[[int], Any], count: int) -> float:
    for index in range(min(count, 200)):  # warm
        function(index)
    started = time.process_time()
    for index in range(count):
        function(index)
    return (time.process_time() - started) / count * 1e6


def _environ(body: bytes) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "POST", "PATH_INFO": "/validate", "QUERY_STRING": "timeout=10s",
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8443", "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)),
        "HTTP_HOST": "127.0.0.1:8443", "HTTP_USER_AGENT": "kube-apiserver-admission",
        "wsgi.version": (1, 0), "wsgi.url_scheme": "https", "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(), "wsgi.multithread": True, "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def _call(app: Any, body: bytes) -> bytes:
    status: list[str] = []

    def start_response(code: str, headers: Any, exc_info: Any = None) -> None:
        status.append(code)

    chunks = app(_environ(body), start_response)
    data = b"".join(chunks)
    if hasattr(chunks, "close"):
        chunks.close()
    return data


def build_netpol_guard_app(workdir: Path) -> Any:
    """netpol-guard's Flask app as a worker builds it (default policy, the load benchmark's
    inventory), its review log going to a file in ``workdir``, as a container's stderr goes
    to the runtime's pipe. PROMETHEUS_MULTIPROC_DIR must be set before the call."""
    from webhook.cli.serve import build_wsgi_app
    from webhook.serving.gunicorn_conf import ServeSettings

    inventory = workdir / "breakdown-inventory"
    write_inventory(inventory)
    app = build_wsgi_app(ServeSettings(inventory=str(inventory), log_level="info"))
    for handler in logging.getLogger("netpol_guard").handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(workdir / "breakdown-review.log", "w",  # noqa: SIM115
                                   encoding="utf-8"))
    return app


def run_breakdown(workdir: Path, count: int = 3000) -> dict[str, Any]:
    """CPU µs per review: whole apps, then answer_review()'s stages (the caller's process)."""
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(dir=workdir))
    import json

    from bench.reference_app import create_reference_app
    from webhook.admission.wire import build_response, parse_review
    from webhook.observe.logs import log_review
    from webhook.serving import validate
    from webhook.serving.review import review_request

    app = build_netpol_guard_app(workdir)
    root = logging.getLogger("netpol_guard")
    reference = create_reference_app()
    bodies = [(FIXTURES / f"{name}.json").read_bytes()
              for name, weight in MIX.items() for _ in range(weight)]
    n = len(bodies)

    results: dict[str, Any] = {"reviews": count}
    results["reference_app_us"] = _cpu_us_per_call(lambda i: _call(reference, bodies[i % n]),
                                                    count)
    results["netpol_guard_app_us"] = _cpu_us_per_call(lambda i: _call(app, bodies[i % n]),
                                                      count)
    root.setLevel(logging.WARNING)
    results["netpol_guard_app_no_review_log_us"] = _cpu_us_per_call(
        lambda i: _call(app, bodies[i % n]), count)
    root.setLevel(logging.INFO)

    wiring = app.extensions["netpol_guard"]
    parsed = [parse_review(body) for body in bodies]
    policy = wiring.policy_store.current()
    decisions = [review_request(request, policy, wiring.cluster) for _, request in parsed]
    stages: dict[str, float] = {
        "json.loads (the reference's whole parse)": _cpu_us_per_call(
            lambda i: json.loads(bodies[i % n]), count),
        "admission.parse_review": _cpu_us_per_call(lambda i: parse_review(bodies[i % n]),
                                                   count),
        "review.review_request (engine + cluster state)": _cpu_us_per_call(
            lambda i: review_request(parsed[i % n][1], wiring.policy_store.current(),
                                     wiring.cluster), count),
        "admission.build_response + json.dumps": _cpu_us_per_call(
            lambda i: json.dumps(build_response(parsed[i % n][0], parsed[i % n][1].uid,
                                                decisions[i % n]), separators=(",", ":")),
            count),
        "validate._record (metrics tallied in memory)": _cpu_us_per_call(
            lambda i: validate._record(parsed[i % n][1].kind, parsed[i % n][1].operation,
                                    decisions[i % n], 0.001), count),
        "logs.log_review (JSON line to a file)": _cpu_us_per_call(
            lambda i: log_review(parsed[i % n][1], decisions[i % n], 1.0), count),
    }
    results["stages_us"] = stages
    results["extra_us"] = results["netpol_guard_app_us"] - results["reference_app_us"]
    return results
