"""The API-server model beyond the corpus: ratcheting, decoding, Namespaces, warnings.

Messages are the API server's (k8s.io/apimachinery field errors); cases are named by behaviour.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from webhook.kube.apiserver import admit_namespace, admit_network_policy


def policy(spec: dict[str, Any] | None = None, **metadata: Any) -> dict[str, Any]:
    manifest: dict[str, Any] = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                                "metadata": {"name": "p", **metadata}}
    if spec is not None:
        manifest["spec"] = spec
    return manifest


def ingress_from(*peers: dict[str, Any], ports: list[Any] | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {"from": list(peers)}
    if ports is not None:
        rule["ports"] = ports
    return {"podSelector": {"matchLabels": {"app": "api"}}, "ingress": [rule]}


def ip_block(cidr: str, *excepts: str) -> dict[str, Any]:
    block: dict[str, Any] = {"cidr": cidr}
    if excepts:
        block["except"] = list(excepts)
    return {"ipBlock": block}


ODD = ingress_from(ip_block("0.0.0.0/00"), ip_block("10.1.2.3/8", "10.1.2.3/16"),
                   ports=[{"port": 443}])


@pytest.mark.parametrize(("spec", "expected"), [
    pytest.param(ingress_from(ip_block("10.1.2.3/8")),
                 'spec.ingress[0].from[0].ipBlock.cidr: Invalid value: "10.1.2.3/8": '
                 "must not have bits set beyond the prefix length", id="cidr-host-bits"),
    pytest.param(ingress_from(ip_block("::ffff:0.0.0.0/96")),
                 'spec.ingress[0].from[0].ipBlock.cidr: Invalid value: "::ffff:0.0.0.0/96": '
                 "must not have an IPv4-mapped IPv6 address", id="cidr-v4-mapped-world"),
    pytest.param(ingress_from(ip_block("10.0.0.0/33")),
                 'spec.ingress[0].from[0].ipBlock.cidr: Invalid value: "10.0.0.0/33": must be a '
                 "valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)", id="prefix-too-long"),
    pytest.param(ingress_from(ip_block("fe80::1%eth0/64")),
                 'spec.ingress[0].from[0].ipBlock.cidr: Invalid value: "fe80::1%eth0/64": must '
                 "be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)", id="cidr-zone"),
    pytest.param(ingress_from(ip_block("10.0.0.0/8", "10.0.0.0/8")),
                 'spec.ingress[0].from[0].ipBlock.except[0]: Invalid value: "10.0.0.0/8": must '
                 "be a strict subset of `cidr`", id="except-equal-to-cidr"),
    pytest.param(ingress_from({"podSelector": {}}, ports=[{"endPort": 90}]),
                 "spec.ingress[0].ports[0].endPort: Invalid value: 90: may not be specified "
                 "when `port` is not specified", id="endport-without-port"),
    pytest.param(ingress_from({"podSelector": {}}, ports=[{"port": "-http"}]),
                 'spec.ingress[0].ports[0].port: Invalid value: "-http": must not begin or end '
                 "with a hyphen", id="port-name-leading-hyphen"),
    pytest.param({"policyTypes": ["Ingres"]},
                 'spec.policyTypes[0]: Unsupported value: "Ingres": supported values: '
                 '"Ingress", "Egress"', id="policy-type-typo"),
    pytest.param({"podSelector": {"matchLabels": {"app": "a b"}}},
                 'spec.podSelector.matchLabels: Invalid value: "a b": a valid label must be an '
                 "empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
                 "start and end with an alphanumeric character (e.g. 'MyValue',  or "
                 "'my_value',  or '12345', regex used for validation is "
                 "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')", id="label-value-space"),
])
def test_invalid_specs_are_rejected_with_the_api_servers_words(spec: dict[str, Any],
                                                               expected: str) -> None:
    result = admit_network_policy(policy(spec), "team-a")
    assert not result.accepted
    assert result.errors == [expected]
    assert result.message == f'The NetworkPolicy "p" is invalid: {expected}'
    assert result.defaulted is None


def test_stored_odd_cidrs_are_ratcheted_on_update() -> None:
    result = admit_network_policy(policy(ODD), "team-a", old=policy(copy.deepcopy(ODD)))
    assert result.accepted, result.message
    assert result.warnings == [
        'spec.ingress[0].from[0].ipBlock.cidr: non-standard CIDR value "0.0.0.0/00" will be '
        'considered invalid in a future Kubernetes release: use "0.0.0.0/0"',
        'spec.ingress[0].from[1].ipBlock.cidr: CIDR value "10.1.2.3/8" is ambiguous in this '
        'context (should be "10.0.0.0/8" or "10.1.2.3/32"?)',
        'spec.ingress[0].from[1].ipBlock.except[0]: CIDR value "10.1.2.3/16" is ambiguous in '
        'this context (should be "10.1.0.0/16" or "10.1.2.3/32"?)',
    ]


def test_a_new_odd_cidr_is_rejected_even_on_update() -> None:
    changed = copy.deepcopy(ODD)
    changed["ingress"][0]["from"].append(ip_block("172.16.1.1/12"))
    result = admit_network_policy(policy(changed), "team-a", old=policy(ODD))
    assert result.error_paths == ["spec.ingress[0].from[2].ipBlock.cidr"]


def test_odd_cidrs_are_rejected_on_create() -> None:
    result = admit_network_policy(policy(ODD), "team-a")
    assert result.error_paths == ["spec.ingress[0].from[0].ipBlock.cidr",
                                  "spec.ingress[0].from[1].ipBlock.cidr",
                                  "spec.ingress[0].from[1].ipBlock.except[0]"]


@pytest.mark.parametrize(("spec", "message"), [
    pytest.param({"podSelector": "all"},
                 "json: cannot unmarshal string into Go struct field NetworkPolicySpec."
                 "spec.podSelector of type v1.LabelSelector", id="selector-is-a-string"),
    pytest.param(ingress_from({"podSelector": {}}, ports=[{"port": 8.5}]),
                 "json: cannot unmarshal number 8.5 into Go struct field NetworkPolicyPort."
                 "spec.ingress.ports.port of type int32", id="port-is-a-float"),
    pytest.param({"podSelector": {"matchLabels": {"tier": 1}}},
                 "json: cannot unmarshal number into Go struct field LabelSelector."
                 "spec.podSelector.matchLabels of type string", id="label-value-is-a-number"),
    pytest.param({"ingress": {"from": []}},
                 "json: cannot unmarshal object into Go struct field NetworkPolicySpec."
                 "spec.ingress of type []v1.NetworkPolicyIngressRule", id="rules-not-a-list"),
])
def test_wrong_types_fail_decoding(spec: dict[str, Any], message: str) -> None:
    result = admit_network_policy(policy(spec), "team-a")
    assert not result.accepted
    assert result.message == ('NetworkPolicy in version "v1" cannot be handled as a '
                              f"NetworkPolicy: {message}")


def test_nulls_and_empty_lists_vanish_as_in_the_stored_object() -> None:
    spec = {"podSelector": None, "ingress": [{"from": None, "ports": [{"port": 80}]}],
            "egress": [], "policyTypes": None}
    result = admit_network_policy(policy(spec), "team-a")
    assert result.accepted, result.message
    assert result.defaulted is not None
    assert result.defaulted["spec"] == {
        "podSelector": {}, "ingress": [{"ports": [{"port": 80, "protocol": "TCP"}]}],
        "policyTypes": ["Ingress"]}


def test_unknown_fields_follow_field_validation() -> None:
    manifest = policy({"podSelector": {}, "ingres": [{}]})
    strict = admit_network_policy(manifest, "team-a", field_validation="Strict")
    warn = admit_network_policy(manifest, "team-a", field_validation="Warn")
    ignore = admit_network_policy(manifest, "team-a", field_validation="Ignore")
    assert not strict.accepted and strict.error_paths == ["spec.ingres"]
    assert warn.accepted and warn.warnings == ['unknown field "spec.ingres"']
    assert ignore.accepted and ignore.warnings == []


def test_namespace_mismatch_is_refused_like_kubectl() -> None:
    result = admit_network_policy(policy({}, namespace="team-b"), "team-a")
    assert not result.accepted
    assert "does not match the namespace" in result.message


def test_name_is_required() -> None:
    manifest = policy({})
    del manifest["metadata"]["name"]
    result = admit_network_policy(manifest, "team-a")
    assert result.errors == ["metadata.name: Required value: name or generateName is required"]


@pytest.mark.parametrize(("name", "accepted"), [
    ("team-a", True),
    ("team.a", False),
    ("Team-A", False),
    ("t" * 63, True),
    ("t" * 64, False),
])
def test_namespace_names_are_dns_labels(name: str, accepted: bool) -> None:
    result = admit_namespace({"apiVersion": "v1", "kind": "Namespace",
                              "metadata": {"name": name}})
    assert result.accepted is accepted, result.message
    if accepted:
        assert result.defaulted is not None
        assert result.defaulted["metadata"]["labels"] == {"kubernetes.io/metadata.name": name}
    else:
        assert result.message.startswith(f'The Namespace "{name}" is invalid: ')
        assert result.error_paths[0] == "metadata.name"
        assert f'metadata.name: Invalid value: "{name}": ' in result.message


def test_namespace_label_syntax_is_checked() -> None:
    result = admit_namespace({"apiVersion": "v1", "kind": "Namespace",
                              "metadata": {"name": "team-a", "labels": {"team/": "x"}}})
    assert result.errors == [
        'metadata.labels: Invalid value: "team/": name part must be non-empty',
        'metadata.labels: Invalid value: "team/": name part must consist of alphanumeric '
        "characters, '-', '_' or '.', and must start and end with an alphanumeric character "
        "(e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
        "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"]


def test_empty_label_values_are_kept() -> None:
    result = admit_network_policy(policy({"podSelector": {"matchLabels": {"canary": ""}}}),
                                  "team-a")
    assert result.accepted, result.message
    assert result.defaulted is not None
    assert result.defaulted["spec"]["podSelector"] == {"matchLabels": {"canary": ""}}
