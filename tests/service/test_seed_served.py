"""The seed scenario through the real served endpoint (gunicorn, gevent workers, TLS) with an
on-disk inventory as cluster state: what a user of `netpol-guard serve` sees, step by step."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import ServedWebhook, start_with_inventory
from tests.defaultdeny.test_seed_scenario import NAMESPACE, persist, review_of

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def seed_server(tmp_path_factory: pytest.TempPathFactory,
                dev_certs: Any) -> Iterator[ServedWebhook]:
    served = start_with_inventory(tmp_path_factory.mktemp("seed"), dev_certs)
    yield served
    served.stop()


def test_seed_scenario_over_https(seed_server: ServedWebhook) -> None:
    inventory: Path = seed_server.extra["inventory"]
    session = requests.Session()  # one kept-alive connection, as the API server keeps

    def send(review: dict[str, Any]) -> dict[str, Any]:
        answer = session.post(f"{seed_server.base_url}/validate?timeout=10s",
                              data=json.dumps(review), verify=seed_server.ca_file,
                              headers={"Content-Type": "application/json"}, timeout=10)
        assert answer.status_code == 200
        assert answer.headers["Content-Type"] == "application/json"
        response: dict[str, Any] = answer.json()["response"]
        assert response["uid"] == review["request"]["uid"]
        return response

    create = review_of("namespace-create")
    answer = send(create)
    assert answer["allowed"] is True
    assert answer["warnings"][0].startswith(
        f"DD001 missing-default-deny: namespace {NAMESPACE} has no default-deny (Ingress)")
    assert answer["warnings"][1].endswith(f"| kubectl apply -n {NAMESPACE} -f -")
    persist(inventory, create["request"]["object"])

    answer = send(review_of("pod-create-kubectl-run"))
    assert answer["allowed"] is False
    assert answer["status"]["code"] == 403
    assert answer["status"]["message"].startswith(f"Pod {NAMESPACE}/web violates 1 rule:")

    apply = review_of("networkpolicy-create-default-deny-ingress-apply", name="deny-all-ingress")
    assert send(apply)["allowed"] is True
    persist(inventory, apply["request"]["object"])

    answer = send(review_of("pod-create-kubectl-run"))
    assert answer["allowed"] is True

    answer = send(review_of("networkpolicy-delete-default-deny-ingress", name="deny-all-ingress"))
    assert answer["allowed"] is False
    assert "DD002 last-default-deny" in answer["status"]["message"]

    assert send(review_of("namespace-update-label"))["allowed"] is True
    session.close()
