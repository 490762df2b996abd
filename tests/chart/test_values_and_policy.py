"""values.yaml, values.schema.json and the policy ConfigMap: described, strict, and in step with
the package (webhook/policy/default-policy.yaml and schema.json)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helm_python as helm
import jsonschema
import pytest
import yaml

from tests.chart.rendering import (
    CHART_DIR,
    NAMESPACE,
    REPO_ROOT,
    SCENARIOS,
    render_chart,
    render_scenario,
    scenario_values,
)

POLICY_DIR = REPO_ROOT / "webhook" / "policy"
POLICY_SCHEMA = POLICY_DIR / "schema.json"
DEFAULT_POLICY = POLICY_DIR / "default-policy.yaml"
VALUES_SCHEMA = CHART_DIR / "values.schema.json"
SYNC_SCRIPT = CHART_DIR / "scripts" / "sync-policy-schema.py"
# Kubernetes types the schema passes through as free-form objects (they have their own schemas
# and kubernetes-validate checks the rendered result).
PASS_THROUGH = {
    "global", "server.extraEnv[].valueFrom", "affinity.nodeAffinity", "affinity.podAffinity",
    "affinity.podAntiAffinity", "topologySpreadConstraints[].labelSelector",
    "networkPolicy.ingressFrom[].podSelector", "networkPolicy.ingressFrom[].namespaceSelector",
    "networkPolicy.extraEgress[].to[].podSelector",
    "networkPolicy.extraEgress[].to[].namespaceSelector",
}

needs_policy_schema = pytest.mark.skipif(
    not POLICY_SCHEMA.exists(), reason="webhook/policy/schema.json does not exist yet")


def values_schema() -> dict[str, Any]:
    return json.loads(VALUES_SCHEMA.read_text(encoding="utf-8"))


def walk(node: dict[str, Any], path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every subschema of the chart's own part (not the embedded policy schema) with its path."""
    yield path, node
    for key, child in node.get("properties", {}).items():
        if path == "" and key == "policy":
            continue
        yield from walk(child, f"{path}.{key}" if path else key)
    if isinstance(node.get("items"), dict):
        yield from walk(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from walk(node["additionalProperties"], f"{path}{{}}")


def rendered_policy_text(scenario: str) -> str:
    [configmap] = render_scenario(scenario).of_kind("ConfigMap")
    return configmap["data"]["policy.yaml"]


def test_every_chart_value_is_described_and_unknown_keys_are_refused() -> None:
    for path, node in walk(values_schema(), ""):
        if path.endswith("{}"):
            continue  # the value type of a map (label values, quantities)
        assert node.get("description"), f"{path or '<root>'} has no description"
        if node.get("type") == "object" or "properties" in node:
            if path in PASS_THROUGH:
                assert node.get("additionalProperties") is True, path
            elif "properties" in node:
                assert node.get("additionalProperties") is False, f"{path} allows unknown keys"
            else:
                assert isinstance(node.get("additionalProperties"), dict), (
                    f"{path}: a map must type its values")


def test_every_default_value_is_in_the_schema() -> None:
    """Each key of values.yaml (outside `policy`) has a schema entry, and they validate."""
    values = yaml.safe_load((CHART_DIR / "values.yaml").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(values_schema()).validate(values)
    assert set(values) | {"global"} == set(values_schema()["properties"])


@pytest.mark.parametrize("values", [
    {"replica": 3},
    {"webhooks": {"timeoutSecond": 5}},
    {"networkPolicy": {"apiserver": {"cidrs": []}}},
    {"policy": {"rules": {"NP006": {"action": "deny", "minPrefixV5": 16}}}},
    {"webhooks": {"networkPolicies": {"failurePolicy": "fail"}}},
    {"policy": {"defaultDeny": {"directions": ["Sideways"]}}},
], ids=["top-level", "nested", "deep", "policy-rule-parameter", "enum", "policy-enum"])
def test_a_misspelt_or_invalid_value_fails_the_render(values: dict[str, Any]) -> None:
    with pytest.raises(helm.HelmValuesError):
        render_chart(values)


def test_lint_reports_a_misspelt_value() -> None:
    report = helm.lint(CHART_DIR, {"replica": 3}, strict=True)
    assert any("replica" in message["error"] for message in report["messages"]), report


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_ci_scenarios_pass_the_values_schema(chart: helm.Chart, scenario: str) -> None:
    chart.validate_schema(scenario_values(scenario))


def test_values_policy_is_the_packaged_default_policy() -> None:
    values = yaml.safe_load((CHART_DIR / "values.yaml").read_text(encoding="utf-8"))
    packaged = yaml.safe_load(DEFAULT_POLICY.read_text(encoding="utf-8"))
    assert values["policy"] == packaged, (
        "values.yaml `policy` differs from webhook/policy/default-policy.yaml: copy it over")


@needs_policy_schema
def test_values_schema_embeds_the_current_policy_schema() -> None:
    result = subprocess.run([sys.executable, str(SYNC_SCRIPT), "--check"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr + result.stdout


@needs_policy_schema
def test_sync_check_fails_when_the_embedded_schema_is_stale(tmp_path: Path) -> None:
    """The check above can fail: a values schema missing a policy key is reported."""
    spec = importlib.util.spec_from_file_location("sync_policy_schema", SYNC_SCRIPT)
    assert spec and spec.loader
    sync = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sync)
    policy_schema = json.loads(POLICY_SCHEMA.read_text(encoding="utf-8"))
    current = values_schema()
    assert sync.embedded(current, policy_schema) == current
    stale = json.loads(json.dumps(current))
    del stale["properties"]["policy"]["properties"]["clusterUnavailable"]
    assert sync.embedded(stale, policy_schema) != stale


@needs_policy_schema
@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if s != "external-policy-configmap"])
def test_rendered_policy_passes_the_package_json_schema(scenario: str) -> None:
    document = yaml.safe_load(rendered_policy_text(scenario))
    schema = json.loads(POLICY_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(document)


@pytest.mark.skipif(importlib.util.find_spec("webhook.policy.loader") is None,
                    reason="webhook/policy/loader.py does not exist yet")
@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if s != "external-policy-configmap"])
def test_rendered_policy_loads_with_the_server_loader(scenario: str) -> None:
    """The exact ConfigMap text goes through the server's strict loader (YAML 1.1 surprises,
    duplicate keys, schema, semantic checks) without a problem."""
    from webhook.policy.loader import validate_policy_text

    assert validate_policy_text(rendered_policy_text(scenario)) == []


def test_rendered_policy_keeps_values_and_exempts_the_release_namespace() -> None:
    values = yaml.safe_load((CHART_DIR / "values.yaml").read_text(encoding="utf-8"))["policy"]
    for namespace in (NAMESPACE, "security-tools"):
        [configmap] = render_chart({}, namespace=namespace).of_kind("ConfigMap")
        document = yaml.safe_load(configmap["data"]["policy.yaml"])
        exempt = document["defaultDeny"]["exemptions"]["namespaces"]
        assert namespace in exempt and exempt.count(namespace) == 1
        expected = json.loads(json.dumps(values))
        if namespace not in expected["defaultDeny"]["exemptions"]["namespaces"]:
            expected["defaultDeny"]["exemptions"]["namespaces"].append(namespace)
        assert document == expected


def test_release_namespace_exemption_can_be_turned_off() -> None:
    [configmap] = render_chart({"policyConfigMap": {"exemptReleaseNamespace": False}},
                               namespace="security-tools").of_kind("ConfigMap")
    document = yaml.safe_load(configmap["data"]["policy.yaml"])
    assert "security-tools" not in document["defaultDeny"]["exemptions"]["namespaces"]


def test_values_override_the_policy_key_by_key() -> None:
    document = yaml.safe_load(rendered_policy_text("custom-policy"))
    assert document["rules"]["NP006"] == {"action": "deny", "minPrefixV4": 24, "minPrefixV6": 64}
    assert document["rules"]["NP001"] == {"action": "deny"}  # kept from the default
    assert document["defaultDeny"]["directions"] == ["Ingress"]


def test_policy_configmap_carries_the_label_the_server_recognises() -> None:
    [configmap] = render_scenario("default").of_kind("ConfigMap")
    assert configmap["metadata"]["name"] == "netpol-guard-policy"
    assert configmap["metadata"]["labels"]["netpol-guard.io/policy"] == "true"
    assert list(configmap["data"]) == ["policy.yaml"]
