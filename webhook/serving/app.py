"""The Flask application factory: wires the policy store and cluster state into the views."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Flask

from webhook.admission.wire import MAX_BODY_BYTES
from webhook.engine.policyconfigmap import POLICY_CONFIGMAP_NAME

if TYPE_CHECKING:
    from webhook.kube.state import ClusterState
    from webhook.policy.store import PolicyStore


def create_app(policy_store: PolicyStore, cluster: ClusterState | None = None,
               config: dict[str, Any] | None = None) -> Flask:
    """Build the webhook app.

    ``policy_store`` supplies the policy in force (hot-reloaded); ``cluster`` the namespaces and
    NetworkPolicies for default-deny checks (None: no cluster state, those checks follow the
    policy's ``clusterUnavailable``).
    """
    from webhook.serving import views
    from webhook.serving.validate import ValidateRoute, Wiring

    app = Flask("netpol_guard")
    # Werkzeug refuses larger bodies while reading; views turn that into a JSON 413.
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.config.update(config or {})
    wiring = Wiring(policy_store=policy_store, cluster=cluster,
                    policy_configmap=app.config.get("POLICY_CONFIGMAP", POLICY_CONFIGMAP_NAME))
    app.extensions["netpol_guard"] = wiring
    app.register_blueprint(views.blueprint)
    views.register_error_handlers(app)
    # The API server's reviews are answered before Flask's per-request dispatch; everything
    # else (and /validate requests of another shape) goes through Flask.
    app.wsgi_app = ValidateRoute(app.wsgi_app, wiring)  # type: ignore[method-assign]
    return app
