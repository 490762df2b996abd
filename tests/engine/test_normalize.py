"""Normalisation: the API server's defaults, policyTypes, selectors and CIDR spellings."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from tests.engine.npcases import ACCEPTED, netpol, review_object
from webhook.engine.apidefaults import apply_api_defaults, effective_policy_types, selects_all
from webhook.engine.cidr import parse_cidr, parse_networks
from webhook.engine.normalize import normalise_network_policy


@pytest.mark.parametrize("record", list(ACCEPTED.values()), ids=list(ACCEPTED))
def test_defaults_reproduce_what_the_api_server_stored(record: dict[str, Any]) -> None:
    assert apply_api_defaults(record["manifest"])["spec"] == record["defaulted"]["spec"]


@pytest.mark.parametrize("record", list(ACCEPTED.values()), ids=list(ACCEPTED))
def test_defaults_are_idempotent_on_stored_objects(record: dict[str, Any]) -> None:
    assert apply_api_defaults(record["defaulted"]) == record["defaulted"]


NETPOL_REVIEWS = ["networkpolicy-create-allow-all-ingress", "networkpolicy-create-dns-egress",
                  "networkpolicy-create-ipblock-except", "networkpolicy-create-named-port",
                  "networkpolicy-update-ratcheted-noncanonical-cidrs",
                  "networkpolicy-create-egress-policytypes-omitted"]


@pytest.mark.parametrize("name", NETPOL_REVIEWS)
def test_defaults_leave_webhook_objects_unchanged(name: str) -> None:
    obj = review_object(name)
    assert apply_api_defaults(obj) == obj


def test_defaults_do_not_modify_their_input() -> None:
    manifest = netpol({"ingress": [{"from": [], "ports": [{"port": 80}]}]})
    before = repr(manifest)
    defaulted = apply_api_defaults(manifest)
    assert repr(manifest) == before
    defaulted["metadata"]["name"] = "changed"
    assert manifest["metadata"]["name"] == "np"


@pytest.mark.parametrize(("spec", "expected"), [
    pytest.param({"egress": [{"to": [], "ports": []}]},
                 {"podSelector": {}, "egress": [{}], "policyTypes": ["Ingress", "Egress"]},
                 id="egress with empty to and ports arrives as allow-all egress"),
    pytest.param({"podSelector": {"matchLabels": {}, "matchExpressions": []}, "egress": []},
                 {"podSelector": {}, "policyTypes": ["Ingress"]},
                 id="empty selector maps and an empty egress list vanish"),
    pytest.param({"podSelector": None, "ingress": None, "policyTypes": None},
                 {"podSelector": {}, "policyTypes": ["Ingress"]},
                 id="nulls are absent"),
    pytest.param({"ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": []}}],
                               "ports": [{"port": 80, "endPort": None, "protocol": None}]}]},
                 {"podSelector": {}, "policyTypes": ["Ingress"],
                  "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}],
                               "ports": [{"port": 80, "protocol": "TCP"}]}]},
                 id="empty except and null port fields vanish, protocol defaults to TCP"),
    pytest.param({"ingress": [{"from": [{"namespaceSelector": {
        "matchExpressions": [{"key": "a", "operator": "Exists", "values": []}]}}]}]},
                 {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [
                     {"namespaceSelector": {"matchExpressions": [{"key": "a",
                                                                  "operator": "Exists"}]}}]}]},
                 id="empty requirement values vanish"),
    pytest.param({"ingress": "not a list", "policyTypes": "Ingress"},
                 {"podSelector": {}, "ingress": "not a list", "policyTypes": "Ingress"},
                 id="wrong types are kept for validation to report"),
])
def test_defaults_for_edge_shapes(spec: dict[str, Any], expected: dict[str, Any]) -> None:
    assert apply_api_defaults(netpol(spec))["spec"] == expected


@pytest.mark.parametrize("obj", [None, [], "x", 3])
def test_defaults_read_a_non_object_as_empty(obj: object) -> None:
    assert apply_api_defaults(obj) == {"spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}


@pytest.mark.parametrize(("spec", "expected"), [
    pytest.param({}, ("Ingress",), id="omitted means Ingress"),
    pytest.param({"egress": [{}]}, ("Ingress", "Egress"), id="omitted with egress adds Egress"),
    pytest.param({"egress": []}, ("Ingress",), id="an empty egress list adds nothing"),
    pytest.param({"policyTypes": [], "egress": [{}]}, ("Ingress", "Egress"),
                 id="an empty list is defaulted like an omitted one"),
    pytest.param({"policyTypes": ["Egress"], "ingress": [{}]}, ("Egress",),
                 id="an explicit list is taken as written"),
    pytest.param({"policyTypes": ["Ingress", "Ingress"]}, ("Ingress",),
                 id="duplicates count once"),
    pytest.param({"policyTypes": ["Ingress", "bogus"]}, ("Ingress",),
                 id="unknown values are ignored"),
    pytest.param("garbage", ("Ingress",), id="a spec that is not a mapping defaults to Ingress"),
])
def test_effective_policy_types(spec: Any, expected: tuple[str, ...]) -> None:
    assert effective_policy_types(spec) == expected


@pytest.mark.parametrize(("selector", "expected"), [
    pytest.param({}, True, id="empty selector"),
    pytest.param(None, True, id="absent selector (defaulted to {})"),
    pytest.param({"matchLabels": {}}, True, id="empty matchLabels"),
    pytest.param({"matchExpressions": []}, True, id="empty matchExpressions"),
    pytest.param({"matchLabels": {}, "matchExpressions": []}, True, id="both empty"),
    pytest.param({"matchLabels": {"app": "web"}}, False, id="a label"),
    pytest.param({"matchExpressions": [{"key": "app", "operator": "Exists"}]}, False,
                 id="an expression"),
])
def test_selects_all(selector: Any, expected: bool) -> None:
    assert selects_all(selector) is expected


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("0.0.0.0/0", "0.0.0.0/0", id="IPv4 world"),
    pytest.param("0.0.0.0/00", "0.0.0.0/0", id="two-digit prefix"),
    pytest.param("::/00", "::/0", id="IPv6 two-digit prefix"),
    pytest.param("0:0:0:0:0:0:0:0/0", "::/0", id="uncompressed IPv6"),
    pytest.param("10.1.2.3/8", "10.0.0.0/8", id="host bits"),
    pytest.param("010.0.0.0/8", "10.0.0.0/8", id="leading zero octet is decimal"),
    pytest.param("10.0.0.0/008", "10.0.0.0/8", id="leading zeros in the prefix"),
    pytest.param("::ffff:0.0.0.0/96", "0.0.0.0/0", id="IPv4-mapped world is IPv4 /0"),
    pytest.param("::ffff:0:0/96", "0.0.0.0/0", id="IPv4-mapped world in hex"),
    pytest.param("::ffff:10.0.0.0/104", "10.0.0.0/8", id="IPv4-mapped 10/8"),
    pytest.param("::ffff:010.000.0.0/104", "10.0.0.0/8", id="IPv4-mapped with leading zeros"),
    pytest.param("::FFFF:A9FE:A9FE/128", "169.254.169.254/32", id="IPv4-mapped in upper hex"),
    pytest.param("fd00:ec2::254/128", "fd00:ec2::254/128", id="plain IPv6 host"),
    pytest.param("0.0.0.0/" + "0" * 40, "0.0.0.0/0", id="any number of zeros in the prefix"),
    pytest.param("0000000010.0.0.0/0008", "10.0.0.0/8", id="any number of zeros in an octet"),
    pytest.param("00000::/0", "::/0", id="more than four digits in an IPv6 group"),
    pytest.param("0:0:0:0:0:00000ffff:0.0.0.0/096", "0.0.0.0/0",
                 id="IPv4-mapped with long groups and a padded prefix"),
    pytest.param("::ffff:0:0/95", "::fffe:0:0/95",
                 id="a prefix shorter than the mapped range stays IPv6"),
])
def test_parse_cidr_sees_through_spellings(text: str, expected: str) -> None:
    assert parse_cidr(text) == ipaddress.ip_network(expected)


@pytest.mark.parametrize("text", [
    "abc", "10.0.0.1", "10.0.0.0/8 ", " 10.0.0.0/8", "10.0.0.0/33", "::/129", "10.0.0/8",
    "10.0.0.256/32", "10.0.0.0/+8", "10.0.0.0/-1", "10.0.0.0/²", "fe80::1%eth0/64",
    "0x0a.0.0.0/8", "1.2.3.4/8/8", "", "/", "::ffff:1.2.3/120", "1" * 1000 + "/8", None, 8,
    "10000::/16", "10.0.0.0/0032" + "0", "0.0.0.0/" + "9" * 5000, "1:2:3:4:5:6:7:8:9/64",
    ["10.0.0.0/8"], {"cidr": "10.0.0.0/8"},
])
def test_parse_cidr_returns_none_for_what_is_not_a_cidr(text: Any) -> None:
    assert parse_cidr(text) is None


def test_parse_networks_accepts_plain_addresses_and_drops_garbage() -> None:
    assert parse_networks(("169.254.169.254", "fd00:ec2::254", "10.0.0.0/8", "nope")) == (
        ipaddress.ip_network("169.254.169.254/32"), ipaddress.ip_network("fd00:ec2::254/128"),
        ipaddress.ip_network("10.0.0.0/8"))


def test_normalised_view_keeps_paths_as_written() -> None:
    view = normalise_network_policy(review_object("networkpolicy-create-ipblock-except"))
    (rule,) = view.egress
    assert rule.path == "spec.egress[0]"
    assert rule.peers is not None and rule.ports is not None
    (peer,) = rule.peers
    assert peer.ip_block is not None
    assert peer.ip_block.path == "spec.egress[0].to[0].ipBlock"
    assert peer.ip_block.network == ipaddress.ip_network("10.0.0.0/8")
    assert [str(n) for n in peer.ip_block.excepts] == ["10.96.0.0/12", "10.244.0.0/16"]
    assert [p.path for p in rule.ports] == ["spec.egress[0].ports[0]"]
    assert view.namespace == "team-a"
    assert view.policy_types == ("Egress",)


@pytest.mark.parametrize("record", list(ACCEPTED.values()), ids=list(ACCEPTED))
def test_normalised_view_is_the_same_for_manifest_and_stored_object(
        record: dict[str, Any]) -> None:
    raw = normalise_network_policy(record["manifest"], "verdicts")
    stored = normalise_network_policy(record["defaulted"], "verdicts")
    assert raw == stored


def test_empty_lists_read_as_absent() -> None:
    view = normalise_network_policy(netpol({"ingress": [{"from": [], "ports": []}]}))
    (rule,) = view.ingress
    assert rule.peers is None and rule.ports is None
