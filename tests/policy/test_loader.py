"""Strict loading: valid documents become the expected Policy; bad ones are refused clearly."""

from __future__ import annotations

import hashlib
from pathlib import Path
from types import MappingProxyType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from webhook import yamlio
from webhook.admission.decision import Action
from webhook.policy import loader
from webhook.policy.loader import (
    PolicyError,
    default_policy,
    load_policy,
    load_policy_file,
    load_policy_text,
    validate_policy_text,
)
from webhook.policy.model import DEFAULT_EXEMPT_NAMESPACES, RULES, CrossNamespaceAllowance
from webhook.policy.yamldoc import MAX_DOCUMENT_BYTES, PolicyProblem

from .conftest import CONFIGMAP_FIXTURES, VALID, fixture_policy_text

DEFAULT_FILE = Path(loader.__file__).with_name("default-policy.yaml")


# --- valid documents -----------------------------------------------------------------------------

def test_default_policy_is_the_shipped_document() -> None:
    policy = default_policy()
    assert policy is default_policy()  # loaded once
    assert policy.source == "<default>"
    assert policy.digest == hashlib.sha256(DEFAULT_FILE.read_bytes()).hexdigest()
    assert {rule_id: config.action for rule_id, config in policy.rules.items()} == \
        {rule_id: action for rule_id, (_, action) in RULES.items()}
    assert policy.rule("NP017").action is Action.OFF
    assert policy.default_deny.label_principals.groups == ("system:masters",)
    assert policy.default_deny.exemptions.namespaces == DEFAULT_EXEMPT_NAMESPACES
    assert policy.cluster_unavailable == "deny"


@pytest.mark.parametrize(("fixture", "np006_action"), [
    ("configmap-create-netpol-guard-policy.json", Action.WARN),
    ("configmap-update-replace-netpol-guard-policy.json", Action.DENY),
])
def test_fixture_documents_users_wrote_are_valid(fixture: str, np006_action: Action) -> None:
    text = fixture_policy_text(fixture)
    assert validate_policy_text(text) == []
    policy = load_policy_text(text, source=fixture)
    assert policy.rule("NP006").action is np006_action
    assert policy.rule("NP006").min_prefix_v4 == 16
    assert policy.rule("NP006").min_prefix_v6 == 48
    assert policy.rule("NP010").action is Action.DENY
    assert policy.rule("NP010").max_range == 100
    assert policy.exemptions.principals.groups == ("system:masters",)
    assert policy.exemptions.namespaces == ()
    # Rules the document leaves out keep their defaults.
    assert policy.rule("NP003").action is Action.DENY
    assert policy.rule("NP017").action is Action.OFF
    assert policy.default_deny.directions == ("Ingress",)
    assert policy.source == fixture
    assert policy.digest == hashlib.sha256(text.encode()).hexdigest()


def test_every_parameter_maps_to_its_field() -> None:
    policy = load_policy_text(VALID + """\
defaultDeny:
  directions: [Ingress, Egress]
  onCreate: deny
  creators: {serviceAccounts: [platform/namespace-maker]}
  workloads: warn
  namespaceUpdates: audit
  lastDeny: "off"
  exemptions: {namespaces: [kube-*]}
  labelPrincipals: {users: [alice]}
rules:
  NP001: {action: warn, exemptions: {namespaces: [legacy-*], principals: {groups: [ops]}}}
  NP002: {allowDNS: false}
  NP004: {allowedKeys: [team]}
  NP006: {minPrefixV4: 24, minPrefixV6: 64}
  NP007: {endpoints: ["169.254.169.254"]}
  NP010: {maxRange: 10}
  NP014: {podCIDRs: [10.244.0.0/16], serviceCIDRs: ["fd00:10:96::/112"]}
  NP015: {allowedProtocols: [TCP]}
  NP017: {action: deny, allow: [{namespaces: [team-*], peers: [shared, monitoring]}]}
exemptions:
  namespaces: [break-glass]
  principals: {users: [admin@example.com]}
clusterUnavailable: allow
""")
    deny = policy.default_deny
    assert deny.directions == ("Ingress", "Egress")
    assert deny.on_create == "deny"
    assert deny.creators.service_accounts == ("platform/namespace-maker",)
    assert (deny.workloads, deny.namespace_updates, deny.last_deny) == \
        (Action.WARN, Action.AUDIT, Action.OFF)
    assert deny.exemptions.namespaces == ("kube-*",)
    assert deny.label_principals.users == ("alice",)
    np001 = policy.rule("NP001")
    assert np001.action is Action.WARN
    assert np001.exemptions.namespaces == ("legacy-*",)
    assert np001.exemptions.principals.groups == ("ops",)
    assert policy.rule("NP002").allow_dns is False
    assert policy.rule("NP002").action is Action.DENY  # listed without action: default kept
    assert policy.rule("NP004").allowed_keys == ("team",)
    assert (policy.rule("NP006").min_prefix_v4, policy.rule("NP006").min_prefix_v6) == (24, 64)
    assert policy.rule("NP007").endpoints == ("169.254.169.254",)
    assert policy.rule("NP010").max_range == 10
    assert policy.rule("NP014").pod_cidrs == ("10.244.0.0/16",)
    assert policy.rule("NP014").service_cidrs == ("fd00:10:96::/112",)
    assert policy.rule("NP015").allowed_protocols == ("TCP",)
    assert policy.rule("NP017").allow == (
        CrossNamespaceAllowance(namespaces=("team-*",), peers=("shared", "monitoring")),)
    assert policy.exemptions.namespaces == ("break-glass",)
    assert policy.exemptions.principals.users == ("admin@example.com",)
    assert policy.cluster_unavailable == "allow"


def test_omitted_keys_take_the_dataclass_defaults() -> None:
    policy = load_policy_text(VALID + "defaultDeny: {exemptions: {}}\n")
    assert policy.default_deny.exemptions.namespaces == DEFAULT_EXEMPT_NAMESPACES
    assert policy.default_deny.label_principals.groups == ()
    assert policy.rule("NP006").min_prefix_v4 == 16


def test_raw_document_is_read_only() -> None:
    policy = load_policy_text(VALID + "rules: {NP006: {minPrefixV4: 20}}\n")
    assert isinstance(policy.raw, MappingProxyType)
    assert policy.raw["rules"]["NP006"]["minPrefixV4"] == 20
    with pytest.raises(TypeError):
        policy.raw["rules"]["NP006"]["minPrefixV4"] = 8  # type: ignore[index]


@pytest.mark.parametrize("text", [
    "\ufeff" + VALID,                                   # byte order mark
    VALID + "# comment\n",
    VALID.replace("\n", "\r\n"),
    '{"apiVersion": "netpol-guard.io/v1", "kind": "Policy"}',  # JSON is YAML
    VALID + "rules:\n  NP017: {action: 'off'}\n",
    VALID + "rules:\n  NP002: {allowDNS: yes}\n",        # a YAML 1.1 boolean where one belongs
])
def test_accepted_spellings(text: str) -> None:
    assert validate_policy_text(text) == []
    assert validate_policy_text(text.encode()) == []


def test_a_document_of_exactly_the_size_limit_is_accepted() -> None:
    padding = MAX_DOCUMENT_BYTES - len(VALID) - 2
    text = VALID + "#" + "x" * padding + "\n"
    assert len(text.encode()) == MAX_DOCUMENT_BYTES
    assert validate_policy_text(text) == []


# --- refused documents ---------------------------------------------------------------------------

BOMB = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""

# (case, document, expected path, expected line, text the message must contain)
REFUSALS: list[tuple[str, str | bytes, str, int | None, str]] = [
    ("billion laughs", BOMB, "", 1, "anchors and aliases are not allowed (found anchor &a)"),
    ("alias without anchor", VALID + "rules: *x\n", "", 3, "found alias *x"),
    ("recursive alias", "a: &a [*a]\n", "", 1, "anchors and aliases are not allowed"),
    ("anchor on a policy value", VALID + "clusterUnavailable: &c deny\n", "", 3, "anchor &c"),
    ("merge key", VALID + "rules:\n  NP001:\n    <<: {action: warn}\n", "rules.NP001", 5,
     "merge keys (<<) are not allowed"),
    ("duplicate top-level key", VALID + "kind: Policy\n", "kind", 3,
     "duplicate key 'kind' (first at line 2)"),
    ("duplicate rule", VALID + "rules:\n  NP001: {action: deny}\n  NP001: {action: warn}\n",
     "rules.NP001", 5, "duplicate key 'NP001' (first at line 4)"),
    ("duplicate key in flow mapping", VALID + "rules: {NP006: {minPrefixV4: 8, minPrefixV4: 24}}\n",
     "rules.NP006.minPrefixV4", 3, "duplicate key"),
    ("boolean key", VALID + "yes: 1\n", "", 3, "key 'yes' is read as a boolean"),
    ("number key", VALID + "rules: {1: {}}\n", "rules", 3, "key '1' is read as a number"),
    ("oversize text", VALID + "#" + "x" * MAX_DOCUMENT_BYTES + "\n", "", None,
     f"more than the limit of {MAX_DOCUMENT_BYTES} bytes"),
    ("oversize by one byte", "#" * (MAX_DOCUMENT_BYTES + 1), "", None, "1048577 bytes"),
    ("action no (YAML 1.1 boolean)", VALID + "rules:\n  NP001: {action: no}\n",
     "rules.NP001.action", 4,
     "False is not one of ['deny', 'warn', 'audit', 'off'] (YAML 1.1 reads unquoted no as "
     "false"),
    ("action off unquoted", VALID + "rules:\n  NP017:\n    action: off\n",
     "rules.NP017.action", 5, 'write "off" in quotes'),
    ("octal in a string list", VALID + "exemptions:\n  namespaces: [017]\n",
     "exemptions.namespaces[0]", 4,
     "15 is not of type 'string' (YAML 1.1 reads 017 as the octal number 15"),
    ("octal where a number belongs", VALID + "rules:\n  NP006: {minPrefixV4: 017}\n",
     "rules.NP006.minPrefixV4", 4, "YAML 1.1 reads 017 as the octal number 15"),
    ("sexagesimal", VALID + "exemptions:\n  principals: {users: [22:22]}\n",
     "exemptions.principals.users[0]", 4,
     "1342 is not of type 'string' (YAML 1.1 reads 22:22 as the base-60 number 1342"),
    ("date", VALID + "exemptions:\n  namespaces: [2026-11-26]\n", "exemptions.namespaces[0]", 4,
     "as a date"),
    ("null action", VALID + "rules:\n  NP001: {action: }\n", "rules.NP001.action", 4,
     "None is not one of"),
    ("unknown top-level key", VALID + "rule:\n  NP001: {action: deny}\n", "rule", 3,
     "unknown key 'rule' (allowed here: apiVersion, kind, defaultDeny, rules, exemptions, "
     "clusterUnavailable); did you mean 'rules'?"),
    ("parameter of another rule", VALID + "rules:\n  NP001: {minPrefixV4: 8}\n",
     "rules.NP001.minPrefixV4", 4, "unknown key 'minPrefixV4' (NP001 takes: action, exemptions)"),
    ("misspelt parameter", VALID + "rules:\n  NP014:\n    podCidrs: []\n",
     "rules.NP014.podCidrs", 5, "did you mean 'podCIDRs'?"),
    ("unknown principal kind", VALID + "exemptions:\n  principals:\n    user: [alice]\n",
     "exemptions.principals.user", 5, "did you mean 'users'?"),
    ("unknown key in defaultDeny.exemptions", VALID + "defaultDeny:\n  exemptions:\n"
     "    principals: {}\n", "defaultDeny.exemptions.principals", 5, "unknown key"),
    ("unknown rule id", VALID + "rules:\n  NP019: {action: deny}\n", "rules.NP019", 4,
     "'NP019' is not a rule id (NP001 to NP018)"),
    ("regex instead of glob", VALID + "exemptions:\n  namespaces: ['team-.*']\n",
     "exemptions.namespaces[0]", 4, "globs, never regular expressions"),
    ("bad pod CIDR", VALID + "rules:\n  NP014:\n    podCIDRs: [10.244.0.0/16, 10.0.0.0/33]\n",
     "rules.NP014.podCIDRs[1]", 5, "'10.0.0.0/33' is not a CIDR"),
    ("bad service CIDR", VALID + "rules:\n  NP014:\n    serviceCIDRs:\n      - 10.96.0.0/12\n"
     "      - not-a-cidr\n", "rules.NP014.serviceCIDRs[1]", 7, "'not-a-cidr' is not a CIDR"),
    ("bad endpoint", VALID + "rules:\n  NP007: {endpoints: [169.254.169.254/32]}\n",
     "rules.NP007.endpoints[0]", 4, "is not an IPv4 or IPv6 address"),
    ("duplicate directions", VALID + "defaultDeny:\n  directions: [Ingress, Egress, Ingress]\n",
     "defaultDeny.directions", 4, "lists 'Ingress' more than once"),
    ("wrong apiVersion", "apiVersion: netpol-guard.io/v2\nkind: Policy\n", "apiVersion", 1,
     "must be 'netpol-guard.io/v1', not 'netpol-guard.io/v2'"),
    ("missing kind", "apiVersion: netpol-guard.io/v1\n", "kind", 1, "is required"),
    ("list at top level", "- apiVersion: netpol-guard.io/v1\n", "", 1,
     "must be a mapping (apiVersion: netpol-guard.io/v1, kind: Policy, ...), not a list"),
    ("string at top level", "policy\n", "", 1, "must be a mapping"),
    ("empty document", "", "", 1, "the document is empty"),
    ("only comments", "# nothing\n", "", 1, "the document is empty"),
    ("null document", "---\n~\n", "", 1, "the document is empty"),
    ("two documents", VALID + "---\n" + VALID, "", 3, "more than one document"),
    ("invalid UTF-8", VALID.encode() + b"clusterUnavailable: d\xffny\n", "", 3, "not valid UTF-8"),
    ("lone surrogate", VALID + "clusterUnavailable: \ud800\n", "", 3, "not valid Unicode"),
    ("control character", VALID + "clusterUnavailable: d\x07ny\n", "", 3,
     "unacceptable character #x0007"),
    ("syntax error", VALID + "rules: {NP001: [\n", "", 4, "not valid YAML"),
    ("python tag", VALID + "rules: !!python/object:os.system {}\n", "rules", 3,
     "tag tag:yaml.org,2002:python/object:os.system is not allowed"),
    ("too deeply nested", VALID + "rules: " + "[" * 40 + "]" * 40 + "\n", "", 3,
     "nested deeper than"),
]


@pytest.mark.parametrize(("document", "path", "line", "message"),
                         [case[1:] for case in REFUSALS], ids=[case[0] for case in REFUSALS])
def test_refused_documents_say_where_and_why(document: str | bytes, path: str,
                                             line: int | None, message: str) -> None:
    problems = validate_policy_text(document)
    assert problems, "the document was accepted"
    assert any(p.path == path and p.line == line and message in p.message for p in problems), \
        [str(p) for p in problems]
    with pytest.raises(PolicyError) as raised:
        load_policy_text(document, source="test.yaml")
    assert raised.value.problems == tuple(problems)


def test_the_bomb_is_refused_at_its_first_anchor_before_any_alias_is_followed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the first line's events are composed: nothing after the first anchor is read."""
    composed: list[object] = []
    original = yamlio.StrictComposer._compose

    def counting(self: yamlio.StrictComposer, depth: int) -> object:
        composed.append(self.peek_event())
        return original(self, depth)

    monkeypatch.setattr(yamlio.StrictComposer, "_compose", counting)
    problems = validate_policy_text(BOMB * 100)
    assert [p.message for p in problems] == [
        "YAML anchors and aliases are not allowed (found anchor &a); write the value out"]
    assert len(composed) <= 3  # the root mapping, the key "a", the anchored list


def test_problems_are_sorted_by_line_and_all_reported() -> None:
    problems = validate_policy_text(VALID + """\
rules:
  NP006: {minPrefixV4: 99}
  NP010: {maxRange: 0}
clusterUnavailable: maybe
""")
    assert [(p.line, p.path) for p in problems] == [
        (4, "rules.NP006.minPrefixV4"), (5, "rules.NP010.maxRange"), (6, "clusterUnavailable")]


def test_each_missing_key_is_reported_once() -> None:
    assert [str(p) for p in validate_policy_text("clusterUnavailable: deny\n")] == [
        "line 1: apiVersion: is required", "line 1: kind: is required"]


def test_the_number_of_problems_is_capped() -> None:
    lines = "".join(f"  u{i}: 1\n" for i in range(200))
    problems = validate_policy_text(VALID + "exemptions:\n" + lines)
    assert len(problems) == loader.MAX_PROBLEMS
    assert problems[-1].message == f"... and {200 - loader.MAX_PROBLEMS + 1} more problems"


def test_policy_error_lists_every_problem_on_its_own_line() -> None:
    with pytest.raises(PolicyError) as raised:
        load_policy_text(VALID + "rules:\n  NP001: {action: no}\nfoo: 1\n", source="cm.yaml")
    text = str(raised.value)
    assert text.splitlines()[0] == "policy cm.yaml is invalid (2 problems):"
    assert text.splitlines()[1].startswith("  line 4: rules.NP001.action: False is not one of")
    assert text.splitlines()[2].startswith("  line 5: foo: unknown key 'foo'")


def test_problem_renders_line_path_and_message() -> None:
    assert str(PolicyProblem("rules.NP006.minPrefixV4", "33 is greater than the maximum of 32",
                             12)) == "line 12: rules.NP006.minPrefixV4: 33 is greater than the " \
                                     "maximum of 32"
    assert str(PolicyProblem("", "the document is empty")) == "the document is empty"


def test_load_policy_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(VALID + "rules: {NP011: {action: deny}}\n")
    policy = load_policy_file(path)
    assert policy.rule("NP011").action is Action.DENY
    assert policy.source == str(path)
    with pytest.raises(FileNotFoundError):
        load_policy_file(tmp_path / "missing.yaml")
    (tmp_path / "big.yaml").write_text(VALID + "#" * (2 * MAX_DOCUMENT_BYTES))
    with pytest.raises(PolicyError, match="more than the limit"):
        load_policy_file(tmp_path / "big.yaml")



def test_load_policy_is_the_named_file_or_the_packaged_default(tmp_path: Path) -> None:
    """What the CLI's ``--policy`` loads: the file when one is named, else the default."""
    assert load_policy(None) is default_policy()
    assert load_policy("") is default_policy()
    path = tmp_path / "policy.yaml"
    path.write_text(VALID + "rules: {NP011: {action: deny}}\n")
    assert load_policy(str(path)).rule("NP011").action is Action.DENY
    assert default_policy().rule("NP011").action is Action.WARN
    with pytest.raises(FileNotFoundError):
        load_policy(str(tmp_path / "missing.yaml"))

@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_validation_never_raises_on_any_text(text: str) -> None:
    problems = validate_policy_text(text)
    assert all(isinstance(p, PolicyProblem) for p in problems)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_validation_never_raises_on_any_bytes(data: bytes) -> None:
    problems = validate_policy_text(data)
    assert all(isinstance(p, PolicyProblem) for p in problems)


@pytest.mark.parametrize("fixture", CONFIGMAP_FIXTURES)
def test_reloading_the_same_text_gives_an_equal_policy(fixture: str) -> None:
    text = fixture_policy_text(fixture)
    assert load_policy_text(text) == load_policy_text(text.encode())


@pytest.mark.parametrize(("document", "path", "line", "message"),
                         [case[1:] for case in REFUSALS], ids=[case[0] for case in REFUSALS])
def test_the_pure_python_parser_refuses_the_same_way(
        monkeypatch: pytest.MonkeyPatch, document: str | bytes, path: str, line: int | None,
        message: str) -> None:
    """Where PyYAML is built without libyaml the same documents fail with the same problems."""
    expected = validate_policy_text(document)
    monkeypatch.setattr(yamlio, "StrictLoader", yamlio.PyStrictLoader)
    problems = validate_policy_text(document)
    if expected[0].message.startswith("not valid YAML"):  # the two parsers word these apart
        assert [(p.path, p.line) for p in problems] == [(p.path, p.line) for p in expected]
    else:
        assert problems == expected


@pytest.mark.parametrize("fixture", CONFIGMAP_FIXTURES)
def test_the_pure_python_parser_accepts_the_fixtures(monkeypatch: pytest.MonkeyPatch,
                                                     fixture: str) -> None:
    text = fixture_policy_text(fixture)
    expected = load_policy_text(text)
    monkeypatch.setattr(yamlio, "StrictLoader", yamlio.PyStrictLoader)
    assert load_policy_text(text) == expected
