"""docs/rules.md tells the truth: every example fails or passes its rule, defaults match."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
import yaml

from tests.engine.npcases import USER
from webhook.admission.decision import Action, Violation
from webhook.engine.networkpolicy import check_network_policy
from webhook.engine.reachdelta import reach_delta
from webhook.engine.reachrule import reach_violations
from webhook.engine.reachview import StaticReachView, pod_info
from webhook.policy.model import RULES, CrossNamespaceAllowance, Policy, default_rules

REPO = Path(__file__).resolve().parent.parent.parent
DOC = (REPO / "docs" / "rules.md").read_text(encoding="utf-8")
DEFAULT_DOCUMENT = yaml.safe_load(
    (REPO / "webhook" / "policy" / "default-policy.yaml").read_text(encoding="utf-8"))

_BLOCK = re.compile(r"^```yaml\n(.*?)^```", re.MULTILINE | re.DOTALL)
_EXAMPLE = re.compile(r"# (fails|passes): (NP\d{3})(?: with (\{.*\}))?")
_DEFAULTS = "# policy document (default)"
_HEADING = re.compile(r"^## (NP\d{3}) (\S+)$", re.MULTILINE)

# Policy document keys of rule parameters -> RuleConfig fields.
_PARAMETERS = {"allowDNS": "allow_dns", "allowedKeys": "allowed_keys",
               "minPrefixV4": "min_prefix_v4", "minPrefixV6": "min_prefix_v6",
               "endpoints": "endpoints", "maxRange": "max_range", "podCIDRs": "pod_cidrs",
               "serviceCIDRs": "service_cidrs", "allowedProtocols": "allowed_protocols",
               "allow": "allow",
               "denyExposureToAllNamespaces": "deny_exposure_to_all_namespaces",
               "denyExposureToOutside": "deny_exposure_to_outside",
               "maxAddedPairs": "max_added_pairs", "timeBudgetMs": "time_budget_ms"}
# NP018 judges a change against a cluster: its examples are applied to this block.
_CLUSTER = "# cluster for NP018"


@dataclasses.dataclass(frozen=True)
class Example:
    outcome: str  # fails | passes
    rule_id: str
    parameters: dict[str, Any]
    manifest: dict[str, Any]

    @property
    def name(self) -> str:
        with_parameters = f" with {self.parameters}" if self.parameters else ""
        return f"{self.rule_id} {self.outcome}{with_parameters}"


def _blocks() -> list[tuple[str, str]]:
    """(first line, body) of every yaml block of the page."""
    return [(body.split("\n", 1)[0], body) for body in _BLOCK.findall(DOC)]


def _examples() -> list[Example]:
    examples = []
    for first, body in _blocks():
        match = _EXAMPLE.fullmatch(first)
        if match:
            outcome, rule_id, parameters = match.groups()
            examples.append(Example(outcome, rule_id, yaml.safe_load(parameters or "{}"),
                                    yaml.safe_load(body)))
    return examples


EXAMPLES = _examples()


def _parameter(key: str, value: Any) -> Any:
    if key == "allow":
        return tuple(CrossNamespaceAllowance(tuple(a["namespaces"]), tuple(a["peers"]))
                     for a in value)
    return tuple(value) if isinstance(value, list) else value


def _policy_for(example: Example) -> Policy:
    """The default policy, the example's rule on (deny if off by default), its parameters."""
    rules = dict(default_rules())
    config = rules[example.rule_id]
    changes = {_PARAMETERS[key]: _parameter(key, value)
               for key, value in example.parameters.items()}
    if config.action is Action.OFF:
        changes["action"] = Action.DENY
    rules[example.rule_id] = dataclasses.replace(config, **changes)
    return Policy(rules=MappingProxyType(rules))


def _violations(example: Example) -> list[Violation]:
    """The example's violations: the object's rules, and NP018 against the documented cluster."""
    policy = _policy_for(example)
    violations = check_network_policy(example.manifest, policy, USER)
    if example.rule_id != "NP018":
        return violations
    [cluster] = [yaml.safe_load_all(body) for first, body in _blocks() if first == _CLUSTER]
    objects = [o for o in cluster if o]
    pods = [p for p in (pod_info(o) for o in objects if o["kind"] == "Pod") if p is not None]
    view = StaticReachView([o for o in objects if o["kind"] == "Namespace"], pods,
                           [o for o in objects if o["kind"] == "NetworkPolicy"])
    metadata = example.manifest["metadata"]
    delta = reach_delta(view, metadata["namespace"], metadata["name"], None, example.manifest)
    assert delta.changes, "an NP018 example that changes nothing shows nothing"
    config = policy.rule("NP018")
    return [*violations, *(v for v in reach_violations(delta, config, config.action)
                           if v.action is Action.DENY)]


@pytest.mark.parametrize("example", [e for e in EXAMPLES if e.outcome == "fails"],
                         ids=lambda e: e.name)
def test_failing_example_fails_its_rule(example: Example) -> None:
    violations = _violations(example)
    assert example.rule_id in {v.rule_id for v in violations}


@pytest.mark.parametrize("example", [e for e in EXAMPLES if e.outcome == "passes"],
                         ids=lambda e: e.name)
def test_passing_example_passes_its_rule_and_every_other(example: Example) -> None:
    violations = _violations(example)
    assert [v.render() for v in violations] == []


def test_every_rule_has_a_section_a_failing_and_a_passing_example() -> None:
    headings = dict(_HEADING.findall(DOC))
    assert headings == {rule_id: name for rule_id, (name, _) in RULES.items()}
    for rule_id in RULES:
        outcomes = sorted(e.outcome for e in EXAMPLES if e.rule_id == rule_id)
        assert outcomes == ["fails", "passes"], rule_id


def test_examples_sit_under_their_rule_heading() -> None:
    for section in re.split(r"^## ", DOC, flags=re.MULTILINE)[1:]:
        heading = section.split(" ", 1)[0]
        for match in _EXAMPLE.finditer(section):
            assert match.group(2) == heading


def test_documented_defaults_are_the_shipped_default_policy() -> None:
    documented: dict[str, Any] = {}
    for first, body in _blocks():
        if first == _DEFAULTS:
            documented.update(yaml.safe_load(body)["rules"])
    assert documented == DEFAULT_DOCUMENT["rules"]
    assert set(documented) == set(RULES)


def test_documented_parameters_are_the_policy_document_keys() -> None:
    # Parameters used in examples must be keys the document really has for that rule.
    for example in EXAMPLES:
        assert set(example.parameters) <= set(DEFAULT_DOCUMENT["rules"][example.rule_id]), \
            example.name
