"""Properties of the NetworkPolicy rules over generated objects (hypothesis)."""

from __future__ import annotations

import copy
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.engine.npcases import USER, netpol
from webhook.admission.decision import Action
from webhook.engine.apidefaults import apply_api_defaults
from webhook.engine.networkpolicy import check_network_policy
from webhook.policy.model import RULES, CrossNamespaceAllowance, Policy, default_rules

SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])



def _all_on() -> Policy:
    """Every rule on, with the parameters that make the optional ones do something."""
    rules = dict(default_rules())
    rules["NP014"] = replace(rules["NP014"], pod_cidrs=("10.244.0.0/16",),
                             service_cidrs=("10.96.0.0/12", "fd00:10:96::/112"))
    rules["NP017"] = replace(rules["NP017"], action=Action.DENY, allow=(
        CrossNamespaceAllowance(namespaces=("team-a",), peers=("team-b",)),))
    return Policy(rules=MappingProxyType(rules))


ALL_ON = _all_on()

# ---------------------------------------------------------------------------------------------
# Strategies: NetworkPolicy-shaped objects, optionally with garbage in any position.

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=3),
    max_leaves=8)
LABEL_KEYS = st.sampled_from(["app", "team", "kubernetes.io/metadata.name", "env"])
LABEL_VALUES = st.sampled_from(["a", "b", "team-a", "team-b", "kube-system"])
CIDRS = st.sampled_from([
    "0.0.0.0/0", "::/0", "0.0.0.0/00", "::ffff:0.0.0.0/96", "10.0.0.0/8", "010.0.0.0/8",
    "10.1.2.3/8", "10.244.1.0/24", "169.254.169.254/32", "169.254.0.0/16", "192.168.1.0/24",
    "fd00:ec2::254/128", "2001:db8::/32", "abc", "",
]) | st.builds(lambda a, b, p: f"{a}.{b}.0.0/{p}", st.integers(0, 255), st.integers(0, 255),
               st.integers(0, 32))


def shapes(garbage: bool) -> st.SearchStrategy[dict[str, Any]]:
    """NetworkPolicy objects; with ``garbage``, any field may hold any JSON value instead."""

    def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return strategy | JSON if garbage else strategy

    requirement = st.fixed_dictionaries(
        {"key": maybe(LABEL_KEYS),
         "operator": maybe(st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist"]))},
        optional={"values": maybe(st.lists(LABEL_VALUES, max_size=3))})
    selector = st.fixed_dictionaries({}, optional={
        "matchLabels": maybe(st.dictionaries(LABEL_KEYS, maybe(LABEL_VALUES), max_size=2)),
        "matchExpressions": maybe(st.lists(maybe(requirement), max_size=2))})
    ip_block = st.fixed_dictionaries({"cidr": maybe(CIDRS)},
                                     optional={"except": maybe(st.lists(maybe(CIDRS), max_size=2))})
    peer = (st.fixed_dictionaries({}, optional={"podSelector": maybe(selector),
                                                "namespaceSelector": maybe(selector)})
            | st.fixed_dictionaries({"ipBlock": maybe(ip_block)}))
    port = st.fixed_dictionaries({}, optional={
        "protocol": maybe(st.sampled_from(["TCP", "UDP", "SCTP", "ICMP"])),
        "port": maybe(st.integers(1, 65535) | st.sampled_from(["http", "dns"]) | st.just(53)),
        "endPort": maybe(st.integers(1, 65535))})

    def rule(peers_key: str) -> st.SearchStrategy[Any]:
        return maybe(st.fixed_dictionaries({}, optional={
            peers_key: maybe(st.lists(maybe(peer), max_size=4)),
            "ports": maybe(st.lists(maybe(port), max_size=3))}))

    spec = st.fixed_dictionaries({}, optional={
        "podSelector": maybe(selector),
        "ingress": maybe(st.lists(rule("from"), max_size=3)),
        "egress": maybe(st.lists(rule("to"), max_size=3)),
        "policyTypes": maybe(st.lists(st.sampled_from(["Ingress", "Egress"]), max_size=2))})
    return st.builds(lambda s, ns: netpol(s, namespace=ns), maybe(spec),
                     st.sampled_from(["team-a", "team-b"]))


def assert_well_formed(obj: Any, policy: Policy = ALL_ON) -> None:
    violations = check_network_policy(obj, policy, USER)
    keys = []
    for violation in violations:
        assert violation.rule_id in RULES
        assert violation.rule_name == RULES[violation.rule_id][0]
        assert violation.path.startswith("spec")
        assert violation.message.startswith(violation.path)
        assert len(violation.short) <= 120
        assert violation.action is not Action.OFF
        keys.append(violation.rule_id)
    assert keys == sorted(keys)


@SETTINGS
@given(shapes(garbage=False))
def test_engine_never_raises_on_networkpolicy_shapes(obj: dict[str, Any]) -> None:
    assert_well_formed(obj)


@SETTINGS
@given(shapes(garbage=True))
def test_engine_never_raises_with_garbage_in_any_field(obj: dict[str, Any]) -> None:
    assert_well_formed(obj)


@SETTINGS
@given(JSON)
def test_engine_never_raises_on_arbitrary_json(obj: Any) -> None:
    assert_well_formed(obj)
    assert_well_formed({"spec": obj})


@SETTINGS
@given(shapes(garbage=False))
def test_a_manifest_and_the_object_the_api_server_stores_give_the_same_verdict(
        obj: dict[str, Any]) -> None:
    assert check_network_policy(obj, ALL_ON, USER) == \
        check_network_policy(apply_api_defaults(obj), ALL_ON, USER)


# ---------------------------------------------------------------------------------------------
# Every spelling of "everything" trips NP005.


def _zeros(number: int, pad: int) -> str:
    return "0" * pad + str(number)


@st.composite
def world_cidrs(draw: st.DrawFn) -> str:
    # Older API servers accepted any number of leading zeros: mostly a few, sometimes many.
    prefix_pad = draw(st.integers(0, 2) | st.integers(0, 60))
    kind = draw(st.sampled_from(["v4", "v6", "mapped"]))
    if kind == "v4":
        # Any address with prefix 0 is the world, whatever its host bits and leading zeros.
        octets = [_zeros(draw(st.integers(0, 255)), draw(st.integers(0, 9))) for _ in range(4)]
        return ".".join(octets) + "/" + _zeros(0, prefix_pad)
    if kind == "v6":
        if draw(st.booleans()):
            text = draw(st.sampled_from(["::", "0::0", "0:0:0:0:0:0:0:0", "0000::", "::0.0.0.0"]))
        else:
            # Any address with prefix 0 is the world: random groups, widths and case.
            groups = [draw(st.integers(0, 0xFFFF)) for _ in range(8)]
            text = ":".join(f"{group:0{draw(st.integers(1, 8))}x}" for group in groups)
            text = text.upper() if draw(st.booleans()) else text
        return text + "/" + _zeros(0, prefix_pad)
    # IPv4-mapped: any mapped address with prefix 96 is IPv4 /0.
    octets = [_zeros(draw(st.integers(0, 255)), draw(st.integers(0, 9))) for _ in range(4)]
    head = draw(st.sampled_from(["::ffff:", "::FFFF:", "0:0:0:0:0:ffff:", "0000::ffff:"]))
    if draw(st.booleans()):
        value = draw(st.integers(0, 0xFFFFFFFF))
        tail = f"{value >> 16:x}:{value & 0xFFFF:x}"
    else:
        tail = ".".join(octets)
    return f"{head}{tail}/{_zeros(96, prefix_pad)}"


@SETTINGS
@given(world_cidrs(), st.sampled_from(["ingress", "egress"]))
def test_every_spelling_of_everything_trips_np005(cidr: str, direction: str) -> None:
    key = "from" if direction == "ingress" else "to"
    obj = netpol({"policyTypes": [direction.capitalize()], direction: [
        {key: [{"ipBlock": {"cidr": cidr}}], "ports": [{"port": 443}]}]})
    violations = [v for v in check_network_policy(obj, ALL_ON, USER) if v.rule_id == "NP005"]
    assert [v.path for v in violations] == [f"spec.{direction}[0].{key}[0].ipBlock.cidr"], cidr


# ---------------------------------------------------------------------------------------------
# Adding an allowed peer or rule never removes a violation of another rule.

PINNED_PEERS = st.sampled_from([
    {"podSelector": {"matchLabels": {"app": "frontend"}}},
    {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "team-a"}},
     "podSelector": {"matchLabels": {"app": "frontend"}}},
])
PINNED_PORTS = [{"protocol": "TCP", "port": 8080}]


@SETTINGS
@given(shapes(garbage=False), PINNED_PEERS, st.data())
def test_adding_an_allowed_peer_never_removes_a_violation(
        obj: dict[str, Any], peer: dict[str, Any], data: st.DataObject) -> None:
    before = {(v.rule_id, v.path) for v in check_network_policy(obj, ALL_ON, USER)}
    grown = copy.deepcopy(obj)
    spec = grown["spec"] if isinstance(grown.get("spec"), dict) else grown.setdefault("spec", {})
    lists = [rule[key] for direction, key in (("ingress", "from"), ("egress", "to"))
             for rule in spec.get(direction) or () if rule.get(key)]
    if lists and data.draw(st.booleans()):
        data.draw(st.sampled_from(lists)).append(copy.deepcopy(peer))
    else:
        direction = data.draw(st.sampled_from(["ingress", "egress"]))
        key = "from" if direction == "ingress" else "to"
        rules = spec.get(direction) or []
        rules.append({key: [copy.deepcopy(peer)], "ports": PINNED_PORTS})
        spec[direction] = rules
    after = {(v.rule_id, v.path) for v in check_network_policy(grown, ALL_ON, USER)}
    assert before <= after


# ---------------------------------------------------------------------------------------------
# A policy with no allow rules never trips NP001, NP002 or NP008.

NO_RULES = st.sampled_from([None, []])


@SETTINGS
@given(shapes(garbage=False), NO_RULES, NO_RULES)
def test_a_policy_with_no_allow_rules_never_trips_the_allow_all_rules(
        obj: dict[str, Any], ingress: Any, egress: Any) -> None:
    spec = obj.setdefault("spec", {})
    for key, value in (("ingress", ingress), ("egress", egress)):
        if value is None:
            spec.pop(key, None)
        else:
            spec[key] = value
    fired = {v.rule_id for v in check_network_policy(obj, ALL_ON, USER)}
    assert not fired & {"NP001", "NP002", "NP008"}
