"""The ValidatingWebhookConfiguration: what the API server sends, where, and what it skips."""

from __future__ import annotations

from typing import Any

import pytest

from tests.chart.rendering import (
    KUBE_VERSIONS,
    NAMESPACE,
    SCENARIOS,
    Rendered,
    render_chart,
    render_scenario,
)

WEBHOOK_NAMES = {
    "networkpolicies.netpol-guard.io",
    "namespaces.netpol-guard.io",
    "workloads.netpol-guard.io",
    "policy-configmap.netpol-guard.io",
}
# (apiGroup, resource) -> operations, for each webhook: exactly these, nothing else.
EXPECTED_RULES: dict[str, dict[tuple[str, str], set[str]]] = {
    "networkpolicies.netpol-guard.io": {
        ("networking.k8s.io", "networkpolicies"): {"CREATE", "UPDATE", "DELETE"},
    },
    # Namespace DELETE is always allowed (DESIGN §3, §5): not intercepted at all.
    "namespaces.netpol-guard.io": {("", "namespaces"): {"CREATE", "UPDATE"}},
    "workloads.netpol-guard.io": {
        ("", "pods"): {"CREATE"},
        ("", "replicationcontrollers"): {"CREATE"},
        ("apps", "deployments"): {"CREATE"},
        ("apps", "statefulsets"): {"CREATE"},
        ("apps", "daemonsets"): {"CREATE"},
        ("apps", "replicasets"): {"CREATE"},
        ("batch", "jobs"): {"CREATE"},
        ("batch", "cronjobs"): {"CREATE"},
    },
    "policy-configmap.netpol-guard.io": {("", "configmaps"): {"CREATE", "UPDATE"}},
}
ALWAYS_EXCLUDED = {"kube-system", "kube-node-lease"}


def rule_coverage(hook: dict[str, Any]) -> dict[tuple[str, str], set[str]]:
    covered: dict[tuple[str, str], set[str]] = {}
    for rule in hook["rules"]:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                covered.setdefault((group, resource), set()).update(rule["operations"])
    return covered


def name_selector(hook: dict[str, Any], operator: str) -> set[str]:
    expressions = hook["namespaceSelector"]["matchExpressions"]
    by_name = [e for e in expressions
               if e["key"] == "kubernetes.io/metadata.name" and e["operator"] == operator]
    assert len(by_name) == 1, f"{hook['name']}: one {operator} expression on the name expected"
    return set(by_name[0]["values"])


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_webhooks_are_the_four_the_server_dispatches(scenario: str) -> None:
    assert set(render_scenario(scenario).webhooks()) == WEBHOOK_NAMES


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_rules_cover_exactly_the_intended_resources_and_no_subresource(scenario: str) -> None:
    for name, hook in render_scenario(scenario).webhooks().items():
        assert rule_coverage(hook) == EXPECTED_RULES[name], name
        for rule in hook["rules"]:
            assert rule["apiVersions"] == ["v1"], name
            assert "*" not in rule["apiGroups"] and "*" not in rule["operations"], name
            for resource in rule["resources"]:
                assert "/" not in resource and "*" not in resource, f"{name}: {resource}"
        assert hook["matchPolicy"] == "Equivalent"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_webhook_calls_the_server_at_validate_on_the_service(scenario: str) -> None:
    rendered = render_scenario(scenario)
    service = rendered.one("Service")
    port = service["spec"]["ports"][0]
    assert port["targetPort"] == "https"
    container_port = {p["name"]: p["containerPort"] for p in rendered.container()["ports"]}
    assert container_port["https"] == 8443
    for hook in rendered.webhooks().values():
        assert hook["clientConfig"]["service"] == {
            "name": service["metadata"]["name"],
            "namespace": NAMESPACE,
            "path": "/validate",
            "port": port["port"],
        }
        assert "url" not in hook["clientConfig"]


def test_service_forwards_443_to_the_server_port(default_render: Rendered) -> None:
    [port] = default_render.one("Service")["spec"]["ports"]
    assert (port["port"], port["targetPort"], port["protocol"]) == (443, "https", "TCP")


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_common_settings(scenario: str) -> None:
    values_timeout = {"hardened": 5}.get(scenario, 3)
    for hook in render_scenario(scenario).webhooks().values():
        assert hook["sideEffects"] == "None"
        assert hook["admissionReviewVersions"] == ["v1"]
        assert hook["timeoutSeconds"] == values_timeout


def test_failure_policies_default_to_fail_except_the_configmap(default_render: Rendered) -> None:
    policies = {name: hook["failurePolicy"] for name, hook in default_render.webhooks().items()}
    assert policies == {
        "networkpolicies.netpol-guard.io": "Fail",
        "namespaces.netpol-guard.io": "Fail",
        "workloads.netpol-guard.io": "Fail",
        "policy-configmap.netpol-guard.io": "Ignore",
    }


def test_failure_policy_comes_from_values() -> None:
    hooks = render_chart({"webhooks": {"workloads": {"failurePolicy": "Ignore"}}}).webhooks()
    assert hooks["workloads.netpol-guard.io"]["failurePolicy"] == "Ignore"
    assert hooks["networkpolicies.netpol-guard.io"]["failurePolicy"] == "Fail"


@pytest.mark.parametrize("namespace", [NAMESPACE, "security-tools"])
def test_system_and_release_namespaces_are_excluded(namespace: str) -> None:
    hooks = render_chart({}, namespace=namespace).webhooks()
    for name in ("networkpolicies.netpol-guard.io", "namespaces.netpol-guard.io",
                 "workloads.netpol-guard.io"):
        excluded = name_selector(hooks[name], "NotIn")
        assert ALWAYS_EXCLUDED | {namespace, "kube-public"} == excluded, name


def test_always_excluded_namespaces_survive_an_empty_exclusion_list() -> None:
    hooks = render_chart({"webhooks": {"excludedNamespaces": []}}).webhooks()
    for name in ("networkpolicies.netpol-guard.io", "namespaces.netpol-guard.io",
                 "workloads.netpol-guard.io"):
        assert name_selector(hooks[name], "NotIn") == ALWAYS_EXCLUDED | {NAMESPACE}


def test_extra_excluded_namespaces_are_added() -> None:
    hooks = render_scenario("custom-policy").webhooks()
    assert "monitoring" in name_selector(hooks["workloads.netpol-guard.io"], "NotIn")
    assert "monitoring" in name_selector(hooks["namespaces.netpol-guard.io"], "NotIn")


def test_label_based_exclusions_never_reach_the_namespaces_webhook() -> None:
    """A Namespace request is matched against the Namespace's own (new) labels: a label-based
    exclusion there would let whoever can label a namespace skip its checks."""
    hooks = render_scenario("hardened").webhooks()
    extra = {"key": "netpol-guard.io/skip", "operator": "DoesNotExist"}
    assert extra in hooks["workloads.netpol-guard.io"]["namespaceSelector"]["matchExpressions"]
    assert extra in hooks["networkpolicies.netpol-guard.io"]["namespaceSelector"][
        "matchExpressions"]
    namespaces_hook = hooks["namespaces.netpol-guard.io"]
    assert [e["key"] for e in namespaces_hook["namespaceSelector"]["matchExpressions"]] == [
        "kubernetes.io/metadata.name"]
    assert "objectSelector" not in namespaces_hook


@pytest.mark.parametrize("kube_version", [KUBE_VERSIONS[0], KUBE_VERSIONS[-1]])
def test_policy_configmap_webhook_watches_only_the_release_namespace(kube_version: str) -> None:
    hook = render_chart({}, kube_version=kube_version).webhooks()[
        "policy-configmap.netpol-guard.io"]
    assert name_selector(hook, "In") == {NAMESPACE}


def test_match_conditions_only_from_kubernetes_1_30() -> None:
    for version in KUBE_VERSIONS:
        hooks = render_scenario("custom-policy", version).webhooks()
        supported = tuple(int(part) for part in version.split(".")) >= (1, 30)
        configmap = hooks["policy-configmap.netpol-guard.io"]
        workloads = hooks["workloads.netpol-guard.io"]
        if supported:
            assert "objectSelector" not in configmap, version
            [condition] = configmap["matchConditions"]
            assert "object.metadata.name == 'netpol-guard-policy'" in condition["expression"]
            assert "'netpol-guard.io/policy'" in condition["expression"]
            assert workloads["matchConditions"] == [
                {"name": "skip-owned-pods", "expression": "!has(object.metadata.ownerReferences)"}]
        else:
            assert all("matchConditions" not in hook for hook in hooks.values()), version
            assert configmap["objectSelector"] == {
                "matchLabels": {"netpol-guard.io/policy": "true"}}, version


def test_configmap_webhook_matches_the_external_configmap_by_name() -> None:
    hooks = render_scenario("external-policy-configmap").webhooks()
    [condition] = hooks["policy-configmap.netpol-guard.io"]["matchConditions"]
    assert "object.metadata.name == 'platform-netpol-guard-policy'" in condition["expression"]


def test_disabled_webhooks_are_not_registered() -> None:
    values = {"webhooks": {"workloads": {"enabled": False}, "namespaces": {"enabled": False}}}
    assert set(render_chart(values).webhooks()) == {
        "networkpolicies.netpol-guard.io", "policy-configmap.netpol-guard.io"}


def test_webhook_configuration_is_a_plain_release_object(default_render: Rendered) -> None:
    """`helm uninstall` removes it like any other object: no hook annotations, no keep policy."""
    config = default_render.one("ValidatingWebhookConfiguration")
    annotations = config["metadata"].get("annotations") or {}
    assert not any(key.startswith("helm.sh/") for key in annotations)
