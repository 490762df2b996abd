"""The JSON Schema is well formed, fully documented, strict, and agrees with the typed model."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from webhook.policy.build import build_policy
from webhook.policy.loader import SCHEMA, validate_policy_text
from webhook.policy.model import RULES, Policy, default_rules

from .conftest import VALID


def resolve(node: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = node.get("$ref")
    if ref is None:
        return node
    return {**SCHEMA["$defs"][ref.rsplit("/", 1)[-1]], **node}


def properties(node: Mapping[str, Any], path: str = "") -> Iterator[tuple[str, Mapping[str, Any],
                                                                          bool]]:
    """Every property in the schema: (path, schema, required by its parent)."""
    node = resolve(node)
    required = set(node.get("required", ()))
    for name, child in node.get("properties", {}).items():
        child_path = f"{path}.{name}" if path else name
        yield child_path, resolve(child), name in required
        yield from properties(child, child_path)
    items = node.get("items")
    if isinstance(items, Mapping):
        yield from properties(items, f"{path}[]")


def objects(node: Mapping[str, Any], path: str = "") -> Iterator[tuple[str, Mapping[str, Any]]]:
    node = resolve(node)
    if node.get("type") == "object":
        yield path, node
    for name, child in node.get("properties", {}).items():
        yield from objects(child, f"{path}.{name}" if path else name)
    if isinstance(node.get("items"), Mapping):
        yield from objects(node["items"], f"{path}[]")


ALL_PROPERTIES = list(properties(SCHEMA))


def test_schema_is_valid_draft_2020_12() -> None:
    Draft202012Validator.check_schema(dict(SCHEMA))
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize(("path", "node", "required"), ALL_PROPERTIES,
                         ids=[p for p, _, _ in ALL_PROPERTIES])
def test_every_property_is_described_and_optional_ones_have_a_default(
        path: str, node: Mapping[str, Any], required: bool) -> None:
    assert node.get("description", "").strip(), f"{path} has no description"
    if not required:
        assert "default" in node, f"{path} has no default"


@pytest.mark.parametrize(("path", "node"), list(objects(SCHEMA)))
def test_every_object_refuses_unknown_keys(path: str, node: Mapping[str, Any]) -> None:
    assert node.get("additionalProperties") is False, path


@pytest.mark.parametrize(("path", "node"), [(p, n) for p, n in objects(SCHEMA)
                                            if "default" in n and "properties" in n])
def test_object_defaults_are_the_defaults_of_their_keys(path: str,
                                                        node: Mapping[str, Any]) -> None:
    expected = {name: resolve(child)["default"] for name, child in node["properties"].items()}
    assert node["default"] == expected


def test_rule_ids_and_default_actions_match_the_model() -> None:
    rules = SCHEMA["properties"]["rules"]["properties"]
    assert list(rules) == list(RULES)
    for rule_id, (name, action) in RULES.items():
        assert rules[rule_id]["title"] == name
        assert rules[rule_id]["properties"]["action"]["default"] == action.value


def test_schema_defaults_build_the_dataclass_defaults() -> None:
    """A document spelled out from the schema's defaults means the same as one that omits all."""
    document = {name: node["default"] for name, node in SCHEMA["properties"].items()}
    from_defaults = build_policy(document)
    omitted = build_policy({"apiVersion": "netpol-guard.io/v1", "kind": "Policy"})
    assert validate_policy_text(_yaml(document)) == []

    def meaning(policy: Policy) -> dict[str, Any]:
        fields = dataclasses.asdict(dataclasses.replace(policy, raw={}, rules={}))  # type: ignore[arg-type]
        return {**fields, "rules": dict(policy.rules)}

    assert meaning(from_defaults) == meaning(omitted)
    assert dict(omitted.rules) == dict(default_rules())


def _yaml(document: Any) -> str:
    import json

    return json.dumps(document)  # JSON is YAML


RULE_PARAMETERS = {
    "NP002": {"allowDNS": False},
    "NP004": {"allowedKeys": ["team"]},
    "NP006": {"minPrefixV4": 24, "minPrefixV6": 64},
    "NP007": {"endpoints": ["169.254.169.254"]},
    "NP010": {"maxRange": 10},
    "NP014": {"podCIDRs": ["10.244.0.0/16"], "serviceCIDRs": ["10.96.0.0/12"]},
    "NP015": {"allowedProtocols": ["TCP"]},
    "NP017": {"allow": [{"namespaces": ["team-*"], "peers": ["shared"]}]},
    "NP018": {"denyExposureToAllNamespaces": True, "denyExposureToOutside": True,
              "maxAddedPairs": 10, "timeBudgetMs": 20},
}
PARAMETER_CASES = [(rule_id, owner, key, value)
                   for rule_id in RULES
                   for owner, params in RULE_PARAMETERS.items()
                   for key, value in params.items()]


@pytest.mark.parametrize(("rule_id", "owner", "key", "value"), PARAMETER_CASES,
                         ids=[f"{r}-{k}" for r, _, k, _ in PARAMETER_CASES])
def test_a_rule_takes_only_its_own_parameters(rule_id: str, owner: str, key: str,
                                              value: Any) -> None:
    document = {"apiVersion": "netpol-guard.io/v1", "kind": "Policy",
                "rules": {rule_id: {"action": "warn", key: value}}}
    problems = validate_policy_text(_yaml(document))
    if rule_id == owner:
        assert problems == []
    else:
        assert [p.path for p in problems] == [f"rules.{rule_id}.{key}"]
        assert "unknown key" in problems[0].message


@pytest.mark.parametrize(("glob", "valid"), [
    ("team-a", True),
    ("team-*", True),
    ("team-?", True),
    ("*", True),
    ("team-.*", False),       # a regex, not a glob
    ("^team-a$", False),
    ("team-[ab]", False),
    ("Team-A", False),        # namespace names are lowercase: this could never match
    ("", False),
])
def test_namespace_entries_are_globs_never_regexes(glob: str, valid: bool) -> None:
    document = f'{VALID}exemptions:\n  namespaces: ["{glob}"]\n'
    assert (validate_policy_text(document) == []) is valid


@pytest.mark.parametrize(("account", "valid"), [
    ("argocd/argocd-application-controller", True),
    ("argocd/*", True),
    ("*/deployer", True),
    ("argocd", False),
    ("system:serviceaccount:argocd:x", False),
    ("a/b/c", False),
])
def test_service_accounts_are_namespace_slash_name(account: str, valid: bool) -> None:
    document = f'{VALID}exemptions:\n  principals:\n    serviceAccounts: ["{account}"]\n'
    assert (validate_policy_text(document) == []) is valid


@pytest.mark.parametrize(("snippet", "valid"), [
    ("rules: {NP006: {minPrefixV4: 0, minPrefixV6: 128}}", True),
    ("rules: {NP006: {minPrefixV4: 33}}", False),
    ("rules: {NP006: {minPrefixV6: 129}}", False),
    ("rules: {NP006: {minPrefixV4: -1}}", False),
    ("rules: {NP006: {minPrefixV4: 16.5}}", False),
    ("rules: {NP006: {minPrefixV4: true}}", False),
    ("rules: {NP010: {maxRange: 1}}", True),
    ("rules: {NP010: {maxRange: 65536}}", True),
    ("rules: {NP010: {maxRange: 0}}", False),
    ("rules: {NP010: {maxRange: 65537}}", False),
    ("rules: {NP015: {allowedProtocols: [TCP, ICMP]}}", False),
    ("rules: {NP015: {allowedProtocols: [tcp]}}", False),
    ("rules: {NP017: {allow: [{namespaces: [a]}]}}", False),
    ("rules: {NP017: {allow: [{namespaces: [], peers: [b]}]}}", False),
    ("defaultDeny: {directions: [Ingress, Egress]}", True),
    ("defaultDeny: {directions: []}", False),
    ("defaultDeny: {directions: [ingress]}", False),
    ("defaultDeny: {onCreate: audit}", False),
    ("defaultDeny: {workloads: audit, namespaceUpdates: warn, lastDeny: \"off\"}", True),
    ("defaultDeny: {exemptions: {principals: {}}}", False),
    ("clusterUnavailable: allow", True),
    ("clusterUnavailable: ignore", False),
    ("rules: {np001: {action: deny}}", False),
    ("rules: {NP000: {}}", False),
    ("rules: {NP019: {}}", False),
    ("rules: {NP018: {maxAddedPairs: null, timeBudgetMs: 1}}", True),
    ("rules: {NP018: {maxAddedPairs: -1}}", False),
    ("rules: {NP018: {timeBudgetMs: 0}}", False),
])
def test_value_ranges_and_enums(snippet: str, valid: bool) -> None:
    assert (validate_policy_text(VALID + snippet + "\n") == []) is valid
