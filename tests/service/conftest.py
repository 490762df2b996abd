from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient


@pytest.fixture
def app() -> Flask:
    from webhook.kube.cluster import make_cluster
    from webhook.policy.store import PolicyStore
    from webhook.serving.app import create_app

    store = PolicyStore(None)
    cluster = make_cluster("inventory")
    return create_app(store, cluster, {"TESTING": True})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def post_review(client: FlaskClient, body: Any, *, content_type: str = "application/json",
                raw: bytes | None = None) -> Any:
    import json

    data = raw if raw is not None else json.dumps(body).encode()
    return client.post("/validate?timeout=10s", data=data, content_type=content_type)
