"""``netpol-guard serve``: the admission webhook under gunicorn (gevent workers) over TLS."""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
from typing import Any

from webhook.serving.gunicorn_conf import ServeSettings

DEFAULTS = ServeSettings()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bind", default=DEFAULTS.bind,
                        help="address:port to listen on (default %(default)s)")
    parser.add_argument("--cert", dest="certfile", default=DEFAULTS.certfile,
                        help="serving certificate (PEM; reloaded when it changes)")
    parser.add_argument("--key", dest="keyfile", default=DEFAULTS.keyfile,
                        help="serving key (PEM)")
    parser.add_argument("--client-ca", default=None,
                        help="require client certificates signed by this CA (PEM)")
    parser.add_argument("--policy", default=None,
                        help="policy document (YAML); default: the packaged default policy. "
                             "Reloaded when it changes.")
    parser.add_argument("--policy-configmap", default=DEFAULTS.policy_configmap,
                        help="name of the ConfigMap that holds the policy (its updates are "
                             "validated); default %(default)s")
    parser.add_argument("--cluster-source", choices=("inventory", "kubernetes"), default=None,
                        help="where namespaces and NetworkPolicies come from (default: "
                             "kubernetes when --kubeconfig or --context is given, else "
                             "inventory)")
    parser.add_argument("--inventory", default=None,
                        help="directory of Namespace/NetworkPolicy manifests "
                             "(--cluster-source inventory); default: empty")
    parser.add_argument("--kubeconfig", default=None,
                        help="kubeconfig of the live cluster (implies --cluster-source "
                             "kubernetes; default there: in-cluster, then $KUBECONFIG)")
    parser.add_argument("--context", default=None,
                        help="kubeconfig context (implies --cluster-source kubernetes)")
    parser.add_argument("--workers", type=int, default=DEFAULTS.workers,
                        help="worker processes (default %(default)s)")
    parser.add_argument("--worker-connections", type=int,
                        default=DEFAULTS.worker_connections,
                        help="concurrent connections per worker (default %(default)s)")
    parser.add_argument("--timeout", type=int, default=DEFAULTS.timeout,
                        help="seconds a worker may answer nothing before it is replaced "
                             "(its heartbeat); keep it below the webhook's timeoutSeconds "
                             "(default %(default)s)")
    parser.add_argument("--graceful-timeout", type=int, default=DEFAULTS.graceful_timeout,
                        help="seconds to finish in-flight reviews on shutdown")
    parser.add_argument("--keepalive", type=int, default=DEFAULTS.keepalive,
                        help="seconds an idle kept-alive connection is held (default "
                             "%(default)s)")
    parser.add_argument("--handshake-timeout", type=float,
                        default=DEFAULTS.handshake_timeout,
                        help="seconds a client has to finish the TLS handshake")
    parser.add_argument("--request-timeout", type=float, default=DEFAULTS.request_timeout,
                        help="seconds a request (body included) may take")
    parser.add_argument("--log-level", default=DEFAULTS.log_level,
                        choices=("debug", "info", "warning", "error"))
    parser.add_argument("--access-log", action="store_true", help="log every HTTP request")


def run(args: argparse.Namespace) -> int:
    from webhook.cli.flags import UsageError, serve_cluster_source

    try:
        source = serve_cluster_source(args, default=DEFAULTS.cluster_source)
    except UsageError as error:
        print(f"netpol-guard serve: {error}", file=sys.stderr)
        return 2
    for path in (args.certfile, args.keyfile):
        if not os.path.isfile(path):
            print(f"netpol-guard serve: {path} not found (make dev certificates with "
                  "`netpol-guard certs --out certs`)", file=sys.stderr)
            return 2
    # prometheus-client picks its storage when first imported: the directory must be set
    # before the workers are forked and import webhook.observe.metrics.
    given_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    metrics_dir = given_dir or tempfile.mkdtemp(prefix="netpol-guard-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    settings = ServeSettings(
        bind=args.bind, certfile=args.certfile, keyfile=args.keyfile,
        client_ca=args.client_ca, policy=args.policy,
        policy_configmap=args.policy_configmap, cluster_source=source,
        inventory=args.inventory, kubeconfig=args.kubeconfig, context=args.context,
        workers=args.workers, worker_connections=args.worker_connections,
        timeout=args.timeout, graceful_timeout=args.graceful_timeout,
        keepalive=args.keepalive, handshake_timeout=args.handshake_timeout,
        request_timeout=args.request_timeout, log_level=args.log_level,
        access_log=args.access_log,
        # Removed on exit only when serve made it; an operator's directory is theirs.
        metrics_dir="" if given_dir else metrics_dir,
    )
    from webhook.serving.worker import HANDSHAKE_TIMEOUT_ENV, REQUEST_TIMEOUT_ENV

    os.environ[HANDSHAKE_TIMEOUT_ENV] = str(settings.handshake_timeout)
    os.environ[REQUEST_TIMEOUT_ENV] = str(settings.request_timeout)
    WebhookApplication(settings).run()
    return 0


def build_wsgi_app(settings: ServeSettings) -> Any:
    """The Flask app for one worker: its own policy store and cluster cache."""
    from webhook.kube.cluster import make_cluster
    from webhook.observe import logs
    from webhook.policy.store import PolicyStore
    from webhook.serving.app import create_app

    logs.configure(settings.log_level)
    store = PolicyStore(settings.policy)
    store.start()
    cluster = make_cluster(settings.cluster_source, inventory=settings.inventory,
                           kubeconfig=settings.kubeconfig, context=settings.context,
                           policy=store.current)
    cluster.start()
    app = create_app(store, cluster, {"POLICY_CONFIGMAP": settings.policy_configmap})
    # Everything made so far lives as long as the worker: keep it out of every GC pass, which
    # otherwise walks these tens of thousands of objects again and again under load.
    gc.freeze()
    return app


def _application_base() -> Any:
    from gunicorn.app.base import BaseApplication

    return BaseApplication


class WebhookApplication(_application_base()):  # type: ignore[misc]
    """gunicorn in-process: configured from ServeSettings, app built in each worker."""

    def __init__(self, settings: ServeSettings) -> None:
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        from webhook.serving.gunicorn_conf import gunicorn_options

        for key, value in gunicorn_options(self.settings).items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return build_wsgi_app(self.settings)
