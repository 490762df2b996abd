"""Hypothesis over the parts that read untrusted input, beyond the per-module tests:

- the policy loader, fed policy-shaped documents (valid ones, and ones mutated in their
  structure and in their text: anchors, aliases, tags, duplicate keys, deep nesting, flipped
  bytes): a ``Policy`` or a ``PolicyError``, never another exception;
- the normalisation (``parse_cidr``, ``selects_all``, ``apply_api_defaults``,
  ``normalise_network_policy``) and the rules over it: never raise on any JSON;
- ``parse_cidr`` agrees with ``ipaddress`` on canonical CIDRs and sees through spellings;
- ``glob_match`` agrees with a reference matcher and stays fast on inputs built to make a
  backtracking matcher explode.

Each test counts its inputs into the suite's figures.
"""

from __future__ import annotations

import copy
import ipaddress
import time
from importlib import resources
from typing import Any

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.reliability import figures
from webhook.admission.request import UserInfo
from webhook.engine.apidefaults import apply_api_defaults, selects_all
from webhook.engine.cidr import parse_cidr
from webhook.engine.networkpolicy import check_network_policy
from webhook.engine.normalize import normalise_network_policy
from webhook.policy.globmatch import GlobSet, glob_match
from webhook.policy.loader import PolicyError, default_policy, load_policy_text
from webhook.policy.model import Policy

DEFAULT_DOCUMENT: dict[str, Any] = yaml.safe_load(
    resources.files("webhook.policy").joinpath("default-policy.yaml").read_text("utf-8"))
_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

json_scalars = (st.none() | st.booleans() | st.integers(-2**40, 2**40)
                | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12))
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=16,
)

# --- the policy loader -------------------------------------------------------------------------

POLICY_KEYS = ["apiVersion", "kind", "defaultDeny", "rules", "exemptions", "clusterUnavailable"]
RULE_IDS = [f"NP0{n:02d}" for n in range(1, 18)]
ACTIONS = ["deny", "warn", "audit", "off", "Deny", True, None, 1]


@st.composite
def policy_documents(draw: st.DrawFn) -> dict[str, Any]:
    """The default document with some keys replaced, deleted or added."""
    document: dict[str, Any] = copy.deepcopy(DEFAULT_DOCUMENT)
    for _ in range(draw(st.integers(0, 4))):
        choice = draw(st.integers(0, 4))
        if choice == 0:
            document.pop(draw(st.sampled_from(POLICY_KEYS)), None)
        elif choice == 1:
            document[draw(st.sampled_from(POLICY_KEYS))] = draw(json_values)
        elif choice == 2:
            rule = document.setdefault("rules", {})
            if isinstance(rule, dict):
                rule[draw(st.sampled_from(RULE_IDS))] = {"action": draw(st.sampled_from(ACTIONS))}
        elif choice == 3:
            rule = document.get("rules")
            if isinstance(rule, dict) and rule:
                config = rule[draw(st.sampled_from(sorted(rule)))]
                if isinstance(config, dict):
                    config[draw(st.sampled_from(["minPrefixV4", "maxRange", "allowDNS",
                                                 "endpoints", "podCIDRs", "allow",
                                                 "allowedKeys", "exemptions"]))] = \
                        draw(json_values)
        else:
            document[draw(st.text(max_size=8))] = draw(json_values)
    return document


TEXT_MUTATIONS = [
    lambda text: "x: &a [1]\ny: *a\n" + text,                    # alias
    lambda text: text + "kind: Policy\n",                         # duplicate key
    lambda text: text + "rules: !!python/object:os.system {}\n",  # custom tag
    lambda text: text + "---\napiVersion: netpol-guard.io/v1\n",  # second document
    lambda text: text + "deep: " + "[" * 2000 + "]" * 2000 + "\n",  # deep nesting
    lambda text: text + "big: '" + "x" * (1024 * 1024) + "'\n",  # over the size cap
    lambda text: text + "<<: {kind: Policy}\n",                   # merge key
    lambda text: text.replace("deny", "no", 1),                   # YAML 1.1 boolean
    lambda text: text + "\t- tab\n",                              # not YAML
]


@st.composite
def policy_texts(draw: st.DrawFn) -> str | bytes:
    text = yaml.dump(draw(policy_documents()), Dumper=_DUMPER, sort_keys=False)
    how = draw(st.integers(0, 3))
    if how == 1:
        text = draw(st.sampled_from(TEXT_MUTATIONS))(text)
    elif how == 2 and text:
        # Flip a few bytes anywhere (may leave invalid UTF-8).
        data = bytearray(text.encode())
        for _ in range(draw(st.integers(1, 4))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        return bytes(data)
    return text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=policy_texts())
def test_loader_gives_a_policy_or_a_policy_error_and_nothing_else(text: str | bytes) -> None:
    figures.INPUTS_FUZZED["policy loader (hypothesis, policy-shaped documents)"] += 1
    try:
        policy = load_policy_text(text)
    except PolicyError as error:
        assert error.problems
        figures.POLICY_DOCUMENTS_REFUSED["loader fuzz (hypothesis)"] += 1
        return
    assert isinstance(policy, Policy)
    # A policy that loaded is usable: every rule has an action.
    assert all(policy.rule(rule_id).action for rule_id in RULE_IDS)


# --- normalisation and rules -------------------------------------------------------------------

@st.composite
def cidr_spellings(draw: st.DrawFn) -> str:
    """CIDR-like text: canonical, with leading zeros, host bits, mapped IPv6, or junk."""
    if draw(st.booleans()):
        address = str(draw(st.ip_addresses(v=4)))
        octets = address.split(".")
        if draw(st.booleans()):
            octets = [f"{'0' * draw(st.integers(0, 2))}{octet}" for octet in octets]
        prefix = draw(st.integers(0, 40))
        return ".".join(octets) + "/" + "0" * draw(st.integers(0, 2)) + str(prefix)
    address = draw(st.ip_addresses(v=6)).exploded if draw(st.booleans()) \
        else str(draw(st.ip_addresses(v=6)))
    return f"{address}/{draw(st.integers(0, 140))}"


@settings(max_examples=600, deadline=None)
@given(text=cidr_spellings() | st.text(max_size=60) | json_values)
@example(text="::")  # found by hypothesis: bare addresses are no CIDRs
@example(text="10.0.0.1")
def test_parse_cidr_never_raises_and_agrees_with_ipaddress(text: Any) -> None:
    figures.INPUTS_FUZZED["parse_cidr (hypothesis)"] += 1
    network = parse_cidr(text)
    assert network is None or isinstance(network, ipaddress.IPv4Network | ipaddress.IPv6Network)
    if not isinstance(text, str):
        assert network is None
        return
    if "/" not in text:
        # A bare address ("::", "10.0.0.1") is no CIDR: the API server refuses it in
        # ipBlock.cidr, although ipaddress reads it as a single-address network.
        assert network is None, text
        return
    try:
        canonical = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return
    mapped = canonical.version == 6 and canonical.prefixlen >= 96 and \
        canonical.subnet_of(ipaddress.IPv6Network("::ffff:0:0/96"))
    if not mapped:
        assert network == canonical, text


@st.composite
def network_policy_objects(draw: st.DrawFn) -> dict[str, Any]:
    """NetworkPolicy-shaped JSON: the right keys with arbitrary (often wrong) values."""
    peer = st.fixed_dictionaries({}, optional={
        "podSelector": json_values, "namespaceSelector": json_values,
        "ipBlock": st.fixed_dictionaries({}, optional={
            "cidr": cidr_spellings() | json_values,
            "except": st.lists(cidr_spellings() | json_values, max_size=3)})})
    port = st.fixed_dictionaries({}, optional={
        "port": st.integers(-5, 70000) | st.text(max_size=6) | json_values,
        "endPort": st.integers(-5, 70000) | json_values,
        "protocol": st.sampled_from(["TCP", "UDP", "SCTP", "ICMP", ""]) | json_values})
    rule = lambda peers_key: st.fixed_dictionaries({}, optional={  # noqa: E731
        peers_key: st.lists(peer, max_size=3) | json_values,
        "ports": st.lists(port, max_size=3) | json_values})
    spec = st.fixed_dictionaries({}, optional={
        "podSelector": json_values,
        "policyTypes": st.lists(st.sampled_from(["Ingress", "Egress", "Both"]), max_size=3)
        | json_values,
        "ingress": st.lists(rule("from"), max_size=3) | json_values,
        "egress": st.lists(rule("to"), max_size=3) | json_values})
    obj = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
           "metadata": draw(st.fixed_dictionaries({}, optional={
               "name": st.text(max_size=10), "namespace": st.text(max_size=10) | json_values}))}
    if draw(st.integers(0, 9)):
        obj["spec"] = draw(spec | json_values)
    return obj


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(obj=network_policy_objects() | json_values)
def test_normalisation_and_rules_never_raise(obj: Any) -> None:
    figures.INPUTS_FUZZED["normalize + rules (hypothesis, NetworkPolicy-shaped JSON)"] += 1
    defaulted = apply_api_defaults(obj)
    assert apply_api_defaults(defaulted) == defaulted  # idempotent
    spec = defaulted["spec"]
    if isinstance(spec, dict):
        selects_all(spec.get("podSelector"))
    normalise_network_policy(obj)
    if isinstance(obj, dict):
        check_network_policy(obj, default_policy(), UserInfo())
        check_network_policy(defaulted, default_policy(), UserInfo())


@settings(max_examples=300, deadline=None)
@given(selector=json_values)
def test_selects_all_never_raises(selector: Any) -> None:
    figures.INPUTS_FUZZED["selects_all (hypothesis)"] += 1
    assert isinstance(selects_all(selector), bool)


# --- globs -------------------------------------------------------------------------------------

def reference_glob(pattern: str, text: str) -> bool:
    """Dynamic programming over (pattern, text): obviously right, O(len(p) * len(t))."""
    previous = [True] + [False] * len(text)
    for char in pattern:
        current = [previous[0] and char == "*"] + [False] * len(text)
        for j, tchar in enumerate(text, 1):
            if char == "*":
                current[j] = previous[j] or current[j - 1]
            else:
                current[j] = previous[j - 1] and (char == "?" or char == tchar)
        previous = current
    return previous[-1]


@settings(max_examples=800, deadline=None)
@given(pattern=st.text(alphabet="ab*?", max_size=10), text=st.text(alphabet="abc", max_size=14))
def test_glob_match_agrees_with_the_reference(pattern: str, text: str) -> None:
    figures.INPUTS_FUZZED["glob_match vs reference (hypothesis)"] += 1
    assert glob_match(pattern, text) == reference_glob(pattern, text)


@settings(max_examples=400, deadline=None)
@given(patterns=st.lists(st.text(alphabet="ab*?", max_size=6), max_size=5),
       text=st.text(alphabet="abc", max_size=8))
def test_a_glob_set_matches_what_any_of_its_patterns_matches(patterns: list[str],
                                                            text: str) -> None:
    figures.INPUTS_FUZZED["GlobSet vs reference (hypothesis)"] += 1
    globs = GlobSet(patterns)
    assert globs.matches(text) == any(reference_glob(p, text) for p in patterns)
    assert bool(globs) == bool(patterns)


def test_glob_match_stays_fast_on_inputs_that_make_backtracking_explode() -> None:
    # A backtracking matcher takes O(n^k) on k stars: 'a'*50+'!' against '*a*a*a*a*a*b' is
    # already billions of steps for a naive recursive one. Ours is O(len(p) * len(t)).
    cases = [("*a*a*a*a*a*b", "a" * 50 + "!"), ("*a" * 20 + "*b", "a" * 2000 + "!"),
             ("?*" * 30 + "b", "a" * 5000), ("*" * 100 + "b", "a" * 20_000)]
    started = time.perf_counter()
    for pattern, text in cases:
        assert glob_match(pattern, text) is False
        assert glob_match(pattern, text[:-1] + "b") is True
    assert time.perf_counter() - started < 1.0
    figures.INPUTS_FUZZED["glob_match pathological cases"] += len(cases)
