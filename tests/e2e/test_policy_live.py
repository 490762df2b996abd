"""Policy as code, live: ``kubectl apply`` of the policy ConfigMap changes the verdicts.

The webhook reads the chart's policy ConfigMap as a projected file (``tests/e2e/kubelet.py``
stands in for kubelet). A changed document is in force in every worker within the documented
time (docs/policy.md: the file is polled about once a second; a bound of 3 s from the file swap
leaves room for a loaded machine). A broken document is refused at ``kubectl apply`` by the
webhook itself (CM001); and should one reach the file anyway (it got in while the webhook was
unreachable: the policy webhook's failurePolicy is Ignore), the last good policy stays in force.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator

import pytest
import requests
import yaml

from tests.e2e.conftest import Guard, apply_policy, policy_configmap_with
from tests.e2e.webhook import Kubectl

NS = "policy-live"
IN_FORCE_WITHIN = 3.0  # seconds from the file swap (docs/policy.md: polled about once a second)
NAMED_PORT = json.dumps({
    "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
    "metadata": {"name": "named", "namespace": NS},
    "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{
        "from": [{"podSelector": {"matchLabels": {"app": "api"}}}],
        "ports": [{"port": "http"}]}]}})
BROKEN = "apiVersion: netpol-guard.io/v1\nkind: Policy\nrules:\n  NP011: {action: sometimes}\n"


@pytest.fixture
def live(guard: Guard, kubectl: Kubectl) -> Iterator[Guard]:
    if kubectl("get", "namespace", NS).returncode != 0:
        kubectl.ok("create", "namespace", NS)
        kubectl.ok("apply", "-n", NS, "-f", "-", stdin=json.dumps({
            "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "default-deny"},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}))
    base = guard.policy_configmap["data"]["policy.yaml"]
    try:
        yield guard
    finally:
        apply_policy(guard, kubectl, base)


def with_named_ports_denied(base: str) -> str:
    doc = yaml.safe_load(base)
    doc["rules"]["NP011"] = {"action": "deny"}
    return yaml.safe_dump(doc, sort_keys=False)


def named_port_verdict(kubectl: Kubectl) -> str:
    result = kubectl("create", "--dry-run=server", "-f", "-", stdin=NAMED_PORT)
    if result.returncode == 0:
        assert "Warning: NP011 named-port: " in result.stderr, str(result)
        return "warn"
    assert "- NP011 named-port: spec.ingress[0].ports[0].port" in result.stderr, str(result)
    return "deny"


def test_an_applied_policy_takes_effect(live: Guard, kubectl: Kubectl) -> None:
    assert named_port_verdict(kubectl) == "warn"
    base = live.policy_configmap["data"]["policy.yaml"]
    seconds = apply_policy(live, kubectl, with_named_ports_denied(base))
    assert seconds <= IN_FORCE_WITHIN, f"in force {seconds:.2f} s after the file swap"
    assert named_port_verdict(kubectl) == "deny"
    seconds = apply_policy(live, kubectl, base)
    assert seconds <= IN_FORCE_WITHIN
    assert named_port_verdict(kubectl) == "warn"


def test_a_broken_policy_is_refused_and_the_last_good_one_stays(live: Guard,
                                                                kubectl: Kubectl) -> None:
    base = live.policy_configmap["data"]["policy.yaml"]
    good = with_named_ports_denied(base)
    apply_policy(live, kubectl, good)
    in_force = hashlib.sha256(good.encode()).hexdigest()

    refused = kubectl("apply", "-f", "-", stdin=json.dumps(policy_configmap_with(live, BROKEN)))
    assert refused.returncode == 1, str(refused)
    assert ("- CM001 invalid-policy: data.policy.yaml is not a valid netpol-guard policy "
            "(1 problem)") in refused.stderr
    stored = json.loads(kubectl.ok("get", "configmap", "netpol-guard-policy", "-n",
                                   "netpol-guard", "-o", "json").stdout)
    assert stored["data"]["policy.yaml"] == good

    # The broken document reaches the file anyway (as if applied while the webhook was down):
    live.policy_volume.project({"policy.yaml": BROKEN})
    time.sleep(IN_FORCE_WITHIN)
    assert live.policy_digests() == {in_force}
    ready = requests.get(live.served.base_url + "/readyz", verify=live.served.ca_file,
                         timeout=5, headers={"Connection": "close"}).json()
    assert ready["status"] == "ready"
    assert ready["policy"]["valid"] is False
    assert "rules.NP011.action" in ready["policy"]["last_error"]
    assert named_port_verdict(kubectl) == "deny"  # the last good policy decides
    live.policy_volume.resource_version = None  # project the ConfigMap again on the next poll
