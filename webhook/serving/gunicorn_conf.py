"""gunicorn configuration for ``netpol-guard serve``: bind, TLS, workers, timeouts, hooks.

Choices, measured on a 2-core machine (DESIGN.md §6, bench/):
- gevent workers: keep-alive connections, cheap per-connection greenlets (idle or slow
  clients do not starve others), ≈ 1.4× gthread's throughput; gunicorn's sync worker forces
  ``Connection: close`` and gthread stalls on idle connections.
- ``timeout`` (the worker heartbeat, 2 s) replaces a hung worker, never a busy one: the worker
  also beats on every answered request (webhook.serving.worker), and the timeout stays below the
  webhook's ``timeoutSeconds`` (3 s by default), so a worker that answers nothing is replaced
  within one API server wait (docs/operations.md, "Timeouts and the worker heartbeat").
- kept-alive connections are spread evenly over the workers (webhook.serving.balance): left alone,
  gunicorn often puts all of a client's connections on one worker, which then runs alone
  under its GIL at less than half the throughput.
- no control socket (a read-only root filesystem has nowhere to put it) and the heartbeat
  file on /dev/shm, which is memory-backed even when / is read-only.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from typing import Any

from webhook.serving import balance

WORKER_CLASS = "webhook.serving.worker.WebhookWorker"


@dataclass(frozen=True)
class ServeSettings:
    """Everything ``netpol-guard serve`` was told, for gunicorn and for the app."""

    bind: str = "127.0.0.1:8443"
    certfile: str = "certs/tls.crt"
    keyfile: str = "certs/tls.key"
    client_ca: str | None = None
    policy: str | None = None
    policy_configmap: str = "netpol-guard-policy"
    cluster_source: str = "inventory"
    inventory: str | None = None
    kubeconfig: str | None = None
    context: str | None = None
    workers: int = 2
    worker_connections: int = 1000
    timeout: int = 2
    graceful_timeout: int = 15
    keepalive: int = 30
    handshake_timeout: float = 5.0
    request_timeout: float = 10.0
    log_level: str = "info"
    access_log: bool = False
    # The Prometheus multiprocess directory serve created (and removes on exit), if any.
    metrics_dir: str = ""


def gunicorn_options(settings: ServeSettings) -> dict[str, Any]:
    """The gunicorn settings for ``settings``."""
    options: dict[str, Any] = {
        "bind": [settings.bind],
        "worker_class": WORKER_CLASS,
        "workers": settings.workers,
        "worker_connections": settings.worker_connections,
        "timeout": settings.timeout,
        "graceful_timeout": settings.graceful_timeout,
        "keepalive": settings.keepalive,
        "certfile": settings.certfile,
        "keyfile": settings.keyfile,
        "ssl_context": _ssl_context_hook(settings),
        "control_socket_disable": True,
        "loglevel": settings.log_level,
        "errorlog": "-",
        "accesslog": "-" if settings.access_log else None,
        "proc_name": "netpol-guard",
        # Request line and headers from the API server are small; refuse giant ones early.
        "limit_request_line": 8190,
        "limit_request_fields": 100,
        "child_exit": _child_exit,
        "worker_exit": _worker_exit,
        "on_exit": _on_exit(settings.metrics_dir),
        **balance.hooks(),
    }
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        options["worker_tmp_dir"] = "/dev/shm"
    return options


def _ssl_context_hook(settings: ServeSettings) -> Any:
    def ssl_context(_conf: Any, _default_factory: Any) -> Any:
        from webhook.serving.tls import CertificateFiles, server_context

        return server_context(CertificateFiles(settings.certfile, settings.keyfile,
                                               settings.client_ca))

    return ssl_context


def _child_exit(server: Any, worker: Any) -> None:
    balance.release_worker(server, worker)
    # A dead worker's live gauges must not linger in the multiprocess files.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def _worker_exit(_server: Any, _worker: Any) -> None:
    # In the worker, as it leaves: the review metrics it has not written yet. Looked up, not
    # imported: a worker that never loaded them (the benchmark's reference app shares these
    # options) has nothing to write.
    metrics = sys.modules.get("webhook.observe.metrics")
    if metrics is not None:
        metrics.REVIEW_TALLY.flush()


def _on_exit(metrics_dir: str) -> Any:
    def on_exit(_server: Any) -> None:
        if metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)

    return on_exit
