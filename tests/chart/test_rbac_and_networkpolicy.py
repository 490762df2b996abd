"""What netpol-guard itself may do: read-only RBAC, and NetworkPolicies that keep its own namespace
behind a default-deny."""

from __future__ import annotations

import helm_python as helm
import pytest

from tests.chart.rendering import SCENARIOS, Rendered, render_chart, render_scenario


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_cluster_role_only_reads_namespaces_pods_and_networkpolicies(scenario: str) -> None:
    [role] = render_scenario(scenario).of_kind("ClusterRole")
    granted = {(group, resource): set(rule["verbs"])
               for rule in role["rules"]
               for group in rule["apiGroups"] for resource in rule["resources"]}
    assert granted == {("", "namespaces"): {"get", "list", "watch"},
                       ("", "pods"): {"list", "watch"},
                       ("networking.k8s.io", "networkpolicies"): {"get", "list", "watch"}}
    assert all("resourceNames" not in rule and "nonResourceURLs" not in rule
               for rule in role["rules"])
    assert render_scenario(scenario).of_kind("Role") == []


def test_binding_gives_the_role_to_the_pods_service_account(default_render: Rendered) -> None:
    binding = default_render.one("ClusterRoleBinding")
    role = default_render.one("ClusterRole")
    account = default_render.one("ServiceAccount")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io",
                                  "kind": "ClusterRole", "name": role["metadata"]["name"]}
    assert binding["subjects"] == [{"kind": "ServiceAccount",
                                    "name": account["metadata"]["name"],
                                    "namespace": account["metadata"]["namespace"]}]
    pod = default_render.one("Deployment")["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == account["metadata"]["name"]


def test_existing_service_account_must_be_named() -> None:
    with pytest.raises(helm.HelmError, match="serviceAccount.name is required"):
        render_chart({"serviceAccount": {"create": False}})
    rendered = render_chart({"serviceAccount": {"create": False, "name": "platform-sa"}})
    assert rendered.of_kind("ServiceAccount") == []
    assert rendered.one("ClusterRoleBinding")["subjects"][0]["name"] == "platform-sa"


def webhook_policy(rendered: Rendered) -> dict:
    return rendered.one("NetworkPolicy", "netpol-guard")["spec"]


def test_webhook_pods_accept_only_the_https_port(default_render: Rendered) -> None:
    spec = webhook_policy(default_render)
    selector = default_render.one("Deployment")["spec"]["selector"]["matchLabels"]
    assert spec["podSelector"] == {"matchLabels": selector}
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    [ingress] = spec["ingress"]
    assert ingress["ports"] == [{"port": 8443, "protocol": "TCP"}]
    assert "from" not in ingress  # the API server is not a pod: any source, this one port


def test_webhook_pods_reach_only_the_api_server_and_dns(default_render: Rendered) -> None:
    api, dns = webhook_policy(default_render)["egress"]
    assert api["ports"] == [{"port": 443, "protocol": "TCP"}, {"port": 6443, "protocol": "TCP"}]
    assert "to" not in api
    assert dns["ports"] == [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]
    [peer] = dns["to"]
    assert peer == {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name":
                                                          "kube-system"}},
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}


def test_api_server_cidrs_and_ingress_sources_narrow_the_policy() -> None:
    spec = webhook_policy(render_scenario("hardened"))
    assert spec["ingress"][0]["from"] == [{"ipBlock": {"cidr": "10.0.0.0/16"}}]
    assert spec["egress"][0]["to"] == [{"ipBlock": {"cidr": cidr}} for cidr in
                                       ("10.0.0.10/32", "10.0.0.11/32", "10.0.0.12/32")]


def test_release_namespace_gets_its_own_default_deny(default_render: Rendered) -> None:
    spec = default_render.one("NetworkPolicy", "netpol-guard-default-deny")["spec"]
    assert spec == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_no_networkpolicy_scenario_renders_none() -> None:
    assert render_scenario("no-networkpolicy").of_kind("NetworkPolicy") == []


@pytest.mark.parametrize("namespace", ["kube-system", "default"])
def test_namespace_default_deny_refuses_shared_system_namespaces(namespace: str) -> None:
    with pytest.raises(helm.HelmError, match="install netpol-guard in its own namespace"):
        render_chart({}, namespace=namespace)
    values = {"networkPolicy": {"namespaceDefaultDeny": {"enabled": False}}}
    assert render_chart(values, namespace=namespace).of_kind("Deployment")
