"""The incremental delta of NP018 against the full analysis, on the shared connectivity cases.

For each case the pods and namespaces stay; its NetworkPolicies are applied one by one (CREATE),
and each step's delta must equal the difference of the full analysis before and after: that of
the connectivity core (``webhook.connectivity``, an independent implementation) and this
module's own. Then they are deleted one by one, in the same order (DELETE). The full analysis
itself agrees with the fixtures' expected connectivity lists. The NP018 warnings of each step
name exactly the workloads the difference says.
"""

from __future__ import annotations

import pytest

from tests.reach.cases import (
    _pieces,
    case_names,
    case_objects,
    case_view,
    cuts_of,
    expected_connlist,
    parse_conns,
    refine,
)
from webhook.admission.decision import Action
from webhook.connectivity import analyse as core_analyse
from webhook.connectivity.model import InputObject
from webhook.connectivity.ports import conns_text
from webhook.engine.conns import NONE, ConnSet
from webhook.engine.reach import PodInfo
from webhook.engine.reachdelta import ReachDelta, analyse, reach_delta
from webhook.engine.reachrule import reach_violations
from webhook.engine.reachview import StaticReachView
from webhook.policy.model import RuleConfig

CASES = case_names()


@pytest.mark.parametrize("case", CASES)
def test_full_analysis_agrees_with_the_fixture(case: str) -> None:
    got = analyse(case_view(case_objects(case)))
    expected = expected_connlist(case)
    cuts = cuts_of(got) | cuts_of(expected)
    assert refine(got, cuts) == refine(expected, cuts)


def _pods(view: StaticReachView) -> list[PodInfo]:
    return [p for ns in view.namespaces_with_pods() for p in view.pods_in(ns)]


def _difference(before: dict[tuple[str, str], ConnSet],
                after: dict[tuple[str, str], ConnSet]) -> dict[tuple[str, str], tuple[str, str]]:
    cuts = cuts_of(before) | cuts_of(after)
    was, now = refine(before, cuts), refine(after, cuts)
    return {pair: (was.get(pair, NONE).text(), now.get(pair, NONE).text())
            for pair in set(was) | set(now) if was.get(pair, NONE) != now.get(pair, NONE)}


def _delta_pairs(delta: ReachDelta, cuts_from: dict[tuple[str, str], ConnSet]
                 ) -> dict[tuple[str, str], tuple[str, str]]:
    was = {(c.src, c.dst): c.before for c in delta.changes if c.before}
    now = {(c.src, c.dst): c.after for c in delta.changes if c.after}
    cuts = cuts_of(was) | cuts_of(now) | cuts_of(cuts_from)
    was, now = refine(was, cuts), refine(now, cuts)
    return {pair: (was.get(pair, NONE).text(), now.get(pair, NONE).text())
            for pair in set(was) | set(now) if was.get(pair, NONE) != now.get(pair, NONE)}


def _name(policy: dict) -> str:
    return str(policy["metadata"]["name"])


def _namespace(policy: dict) -> str:
    return str(policy["metadata"].get("namespace") or "default")


@pytest.mark.parametrize("case", CASES)
def test_delta_of_each_step_is_the_difference_of_the_full_analyses(case: str) -> None:
    objects = case_objects(case)
    base = case_view(objects)
    namespaces = [o for o in objects if o.get("kind") == "Namespace"]
    pods = _pods(base)
    policies = [o for o in objects if o.get("kind") == "NetworkPolicy"]
    steps = [(p, "CREATE") for p in policies] + [(p, "DELETE") for p in policies]
    applied: list[dict] = []
    for policy, operation in steps:
        before_view = StaticReachView(namespaces, pods, applied)
        if operation == "CREATE":
            after_policies = [*applied, policy]
            old, new = None, policy
        else:
            after_policies = [p for p in applied if p is not policy]
            old, new = policy, None
        after_view = StaticReachView(namespaces, pods, after_policies)
        before, after = analyse(before_view), analyse(after_view)
        expected = _difference(before, after)
        core_before = _core(objects, applied)
        core_after = _core(objects, after_policies)
        cuts_all = cuts_of(before) | cuts_of(after) | cuts_of(core_before) | cuts_of(core_after)
        assert _refined_keys(_difference(core_before, core_after), cuts_all) == \
            _refined_keys(expected, cuts_all), "the core's analysis says otherwise"
        delta = reach_delta(before_view, _namespace(policy), _name(policy), old, new)
        got = _delta_pairs(delta, {**before, **after})
        # The full analyses cut external ranges at every policy's blocks: compare on common cuts.
        cuts = cuts_of(before) | cuts_of(after) | cuts_of(
            {(c.src, c.dst): NONE for c in delta.changes})
        assert _refined_keys(got, cuts) == _refined_keys(expected, cuts), \
            f"{operation} {_namespace(policy)}/{_name(policy)}"
        _check_warnings(delta, expected)
        applied = after_policies


def _core(objects: list[dict], policies: list[dict]) -> dict[tuple[str, str], ConnSet]:
    """The connectivity core's full analysis of the case's pods, namespaces and ``policies``."""
    kept = [InputObject(o) for o in objects if o.get("kind") != "NetworkPolicy"]
    result = core_analyse([*kept, *(InputObject(p) for p in policies)])
    return {(c.src.id, c.dst.id): parse_conns(conns_text(c.conns)) for c in result.connections}


def _check_warnings(delta: ReachDelta, expected: dict[tuple[str, str], tuple[str, str]]) -> None:
    """Every warning line names workloads of pairs the difference has (and each pair's other
    end appears in some line)."""
    violations = reach_violations(delta, RuleConfig("NP018", Action.WARN), Action.WARN)
    text = "\n".join(v.message for v in violations)
    if not expected:
        assert violations == []
        return
    assert violations
    workloads = {end.rsplit("[", 1)[0] for pair in expected for end in pair
                 if not end[0].isdigit()}
    named = {name for v in violations for name in v.message.split(": ", 1)[-1].split(", ")
             if "/" in name}
    assert named <= workloads | {w for c in delta.changes for w in (c.src, c.dst)}, text


def _refined_keys(diff: dict[tuple[str, str], tuple[str, str]],
                  cuts: set[tuple[int, int]]) -> dict[tuple[str, str], tuple[str, str]]:
    return {(s, d): value for (src, dst), value in diff.items()
            for s in _pieces(src, cuts) for d in _pieces(dst, cuts)}
