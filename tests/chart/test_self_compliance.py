"""netpol-guard complies with itself: its namespace has the default-deny the rendered policy asks
for, its own NetworkPolicy passes the least-privilege rules (apart from the documented "any
source may reach 8443"), and the server recognises the ConfigMap the chart renders."""

from __future__ import annotations

import importlib.util

import pytest
import yaml

from tests.chart.rendering import SCENARIOS, render_scenario

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("webhook.engine.networkpolicy") is None
    or importlib.util.find_spec("webhook.engine.defaultdeny") is None,
    reason="the engine (webhook/engine/networkpolicy.py, defaultdeny.py) does not exist yet")

WITH_NAMESPACE_DENY = [s for s in SCENARIOS
                       if s not in ("no-networkpolicy", "external-policy-configmap")]


def rendered_policy(scenario: str):  # -> webhook.policy.model.Policy
    from webhook.policy.loader import load_policy_text

    [configmap] = render_scenario(scenario).of_kind("ConfigMap")
    return load_policy_text(configmap["data"]["policy.yaml"], source=scenario)


@pytest.mark.parametrize("scenario", WITH_NAMESPACE_DENY)
def test_release_namespace_has_the_default_deny_its_policy_requires(scenario: str) -> None:
    from webhook.engine.defaultdeny import missing_directions

    policy = rendered_policy(scenario)
    policies = render_scenario(scenario).of_kind("NetworkPolicy")
    assert missing_directions(policies, policy.default_deny.directions) == ()


def test_egress_scenario_requires_and_gets_an_egress_default_deny() -> None:
    from webhook.engine.defaultdeny import missing_directions

    policy = rendered_policy("egress-default-deny")
    assert "Egress" in policy.default_deny.directions
    webhook_only = [np for np in render_scenario("egress-default-deny").of_kind("NetworkPolicy")
                    if not np["metadata"]["name"].endswith("-default-deny")]
    assert missing_directions(webhook_only, policy.default_deny.directions) == (
        "Ingress", "Egress")


@pytest.mark.parametrize("scenario, expected", [
    # Any source may reach 8443 (the API server is no pod: NP001), and until
    # networkPolicy.apiServer.cidrs names the API server, egress on 443/6443 goes to any address
    # (NP002), the metadata endpoint included (NP007). docs/helm.md says so.
    ("default", {"NP001", "NP002", "NP007"}),
    ("egress-default-deny", {"NP001"}),
    ("hardened", set()),
])
def test_webhook_network_policy_passes_the_least_privilege_rules(
        scenario: str, expected: set[str]) -> None:
    from webhook.admission.request import UserInfo
    from webhook.engine.networkpolicy import check_network_policy

    rendered = render_scenario(scenario)
    own = rendered.one("NetworkPolicy", "netpol-guard")
    violations = check_network_policy(own, rendered_policy(scenario), UserInfo("admin"))
    denied = {v.rule_id for v in violations if v.action.value == "deny"}
    assert denied == expected, [v.message for v in violations]


@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if s != "external-policy-configmap"])
def test_server_recognises_the_rendered_policy_configmap(scenario: str) -> None:
    from webhook.engine.policyconfigmap import is_policy_configmap

    rendered = render_scenario(scenario)
    [configmap] = rendered.of_kind("ConfigMap")
    assert is_policy_configmap(configmap)
    args = rendered.container()["args"]
    name = args[args.index("--policy-configmap") + 1]
    assert is_policy_configmap({"metadata": {"name": name}}, name)
    assert yaml.safe_load(configmap["data"]["policy.yaml"])["kind"] == "Policy"
