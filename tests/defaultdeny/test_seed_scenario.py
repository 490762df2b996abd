"""The seed scenario, end to end through the Flask app with an on-disk inventory.

kubectl's view of it: create namespace ``no-ingress-allowed`` (allowed, with the warning and the
fix), run a pod in it (denied), apply ``deny-all-ingress`` (allowed), run the pod again
(allowed), delete the deny (denied), label the namespace (allowed). Each admitted object is
written to the inventory directory, as the API server would persist it; the webhook sees it
through the inventory's live rescan (its "live confirm"). The served (gunicorn over TLS)
variant lives with the service tests.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask.testing import FlaskClient

from tests.conftest import load_review
from webhook.kube.inventory import InventoryCluster
from webhook.policy.store import PolicyStore
from webhook.serving.app import create_app

NAMESPACE = "no-ingress-allowed"


def review_of(fixture: str, *, name: str | None = None) -> dict[str, Any]:
    """A captured review moved into NAMESPACE (and renamed to ``name``)."""
    review = load_review(fixture)
    request = review["request"]
    if request["kind"]["kind"] == "Namespace":
        request["name"] = NAMESPACE
        for key in ("object", "oldObject"):
            if request.get(key):
                request[key]["metadata"]["name"] = NAMESPACE
                request[key]["metadata"]["labels"]["kubernetes.io/metadata.name"] = NAMESPACE
    elif name is not None:
        request["name"] = name
    request["namespace"] = NAMESPACE
    for key in ("object", "oldObject"):
        obj = request.get(key)
        if obj and request["kind"]["kind"] != "Namespace":
            obj["metadata"]["namespace"] = NAMESPACE
            if name is not None:
                obj["metadata"]["name"] = name
    return review


def send(client: FlaskClient, review: dict[str, Any]) -> dict[str, Any]:
    answer = client.post("/validate", data=json.dumps(review),
                         content_type="application/json")
    assert answer.status_code == 200
    body: dict[str, Any] = answer.get_json()
    assert body["response"]["uid"] == review["request"]["uid"]
    return body["response"]


def persist(inventory: Path, obj: dict[str, Any]) -> None:
    """What the API server does with an admitted object: store it."""
    name = f"{obj['kind'].lower()}-{obj['metadata']['name']}.yaml"
    (inventory / name).write_text(yaml.safe_dump(obj), encoding="utf-8")


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    directory = tmp_path / "inventory"
    directory.mkdir()
    return directory


@pytest.fixture
def client(inventory: Path) -> FlaskClient:
    app = create_app(PolicyStore(None), InventoryCluster(inventory), {"TESTING": True})
    return app.test_client()


def test_seed_scenario(client: FlaskClient, inventory: Path) -> None:
    # kubectl create namespace no-ingress-allowed
    create = review_of("namespace-create")
    answer = send(client, create)
    assert answer["allowed"] is True
    summary, fix = answer["warnings"]
    assert summary.startswith("DD001 missing-default-deny: namespace no-ingress-allowed")
    assert fix.endswith(f"| kubectl apply -n {NAMESPACE} -f -")
    persist(inventory, create["request"]["object"])

    # kubectl run web -n no-ingress-allowed ...
    answer = send(client, review_of("pod-create-kubectl-run"))
    assert answer["allowed"] is False
    assert answer["status"]["code"] == 403
    assert "DD001 missing-default-deny" in answer["status"]["message"]
    assert f"kubectl apply -n {NAMESPACE} -f -" in answer["status"]["message"]

    # kubectl apply -f deny-all-ingress.yaml
    apply = review_of("networkpolicy-create-default-deny-ingress-apply", name="deny-all-ingress")
    answer = send(client, apply)
    assert answer["allowed"] is True and "warnings" not in answer
    persist(inventory, apply["request"]["object"])

    # the pod again: the cache has not seen the policy, the live rescan has
    answer = send(client, review_of("pod-create-kubectl-run"))
    assert answer["allowed"] is True and "warnings" not in answer

    # kubectl delete networkpolicy deny-all-ingress -n no-ingress-allowed
    answer = send(client, review_of("networkpolicy-delete-default-deny-ingress",
                                    name="deny-all-ingress"))
    assert answer["allowed"] is False
    assert answer["status"]["code"] == 403
    assert "DD002 last-default-deny" in answer["status"]["message"]

    # kubectl label namespace no-ingress-allowed env=prod
    answer = send(client, review_of("namespace-update-label"))
    assert answer["allowed"] is True and "warnings" not in answer


def test_label_before_the_default_deny_is_refused(client: FlaskClient,
                                                  inventory: Path) -> None:
    create = review_of("namespace-create")
    send(client, create)
    persist(inventory, create["request"]["object"])
    answer = send(client, review_of("namespace-update-label"))
    assert answer["allowed"] is False
    assert "DD001 missing-default-deny" in answer["status"]["message"]
