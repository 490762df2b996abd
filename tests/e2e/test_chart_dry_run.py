"""Every object the chart renders is accepted by the real API server.

For each CI scenario (``charts/netpol-guard/ci/*-values.yaml``), the objects ``helm template``
renders (Helm's engine through helm-python-sdk, Kubernetes 1.36) go through
``kubectl apply --dry-run=server`` with kubectl's default strict field validation: the API
server decodes, defaults, validates and admits each one, with netpol-guard's webhooks
registered (the release namespace is excluded from them, as in a real install). Kinds whose
CRD is not installed here are left out and listed in CRD_KINDS.
"""

from __future__ import annotations

import json

import pytest

from tests.chart.rendering import SCENARIOS, render_scenario
from tests.e2e.conftest import Guard
from tests.e2e.webhook import Kubectl

# cert-manager's kinds: their CRDs are not installed in the test cluster.
CRD_KINDS = {("cert-manager.io/v1", "Certificate"), ("cert-manager.io/v1", "Issuer")}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_rendered_object_is_accepted(guard: Guard, kubectl: Kubectl,
                                           scenario: str) -> None:
    rendered = render_scenario(scenario)
    objects = [obj for obj in rendered.objects
               if (obj["apiVersion"], obj["kind"]) not in CRD_KINDS]
    assert objects
    listing = {"apiVersion": "v1", "kind": "List", "items": objects}
    result = kubectl("apply", "--dry-run=server", "-f", "-", stdin=json.dumps(listing))
    assert result.returncode == 0, str(result)
    assert result.stderr == "", str(result)  # no warning either (unknown fields, deprecations)
    lines = result.stdout.splitlines()
    assert len(lines) == len(objects), str(result)
    assert all(line.endswith(" (server dry run)") for line in lines), str(result)
