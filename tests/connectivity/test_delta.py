"""The incremental delta of one policy change equals the difference of two full analyses."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.connectivity.test_fixtures import FIXTURES, _diff_cuts, _diff_meaning
from webhook.cli.connectivity_input import read_objects
from webhook.connectivity import analyse, reach_delta
from webhook.connectivity.diff import diff, diff_line
from webhook.connectivity.model import to_policy

CASES = ["onlineboutique_workloads", "ipblockstest", "test_with_named_ports",
         "semanticDiff-same-topologies-new2", "new_online_boutique"]


def _same(got: list[str], expected: list[str]) -> None:
    cuts = _diff_cuts(got + expected)
    assert _diff_meaning(got, cuts) == _diff_meaning(expected, cuts)


@pytest.mark.parametrize("case", CASES)
def test_adding_each_policy_changes_what_two_full_analyses_say(case: str) -> None:
    objects, _ = read_objects([str(Path(FIXTURES / "cases" / case))])
    policies = [o for o in objects if o.obj.get("kind") == "NetworkPolicy"]
    assert policies
    changes = 0
    for added in policies:
        without = [o for o in objects if o is not added]
        expected = [diff_line(e) for e in diff(analyse(without), analyse(objects)).entries]
        delta = reach_delta(without, None, to_policy(added.obj))
        got = [diff_line(e) for e in diff(delta.before, delta.after).entries]
        _same(got, expected)
        changes += len(expected)
    assert changes, "no policy of the case changes anything: the test would prove nothing"


@pytest.mark.parametrize("case", CASES[:2])
def test_deleting_or_replacing_a_policy(case: str) -> None:
    objects, _ = read_objects([str(Path(FIXTURES / "cases" / case))])
    first = next(o for o in objects if o.obj.get("kind") == "NetworkPolicy")
    without = [o for o in objects if o is not first]
    expected = [diff_line(e) for e in diff(analyse(objects), analyse(without)).entries]
    delta = reach_delta(objects, to_policy(first.obj), None)
    _same([diff_line(e) for e in diff(delta.before, delta.after).entries], expected)
    # Replacing a policy by itself changes nothing.
    same = reach_delta(objects, to_policy(first.obj), to_policy(first.obj))
    assert diff(same.before, same.after).entries == []


def test_a_new_policy_reading_unseen_labels_ports_or_cidrs_is_evaluated_correctly() -> None:
    from tests.connectivity.helpers import namespace, pod, policy
    from webhook.connectivity.analysis import Analysis
    from webhook.connectivity.model import InputObject, build_model

    objects = [InputObject(o) for o in (
        namespace("a"), pod("a", "x", {"app": "x", "tier": "1"}),
        pod("a", "y", {"app": "y", "tier": "2"},
            [{"name": "web", "containerPort": 8080}]),
        policy("a", "base", podSelector={"matchLabels": {"app": "x"}}))]
    analysis = Analysis(build_model(objects))  # built without the new policy's keys and cidrs
    new_obj = policy("a", "new", podSelector={"matchLabels": {"tier": "2"}},
                     ingress=[{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}},
                                        {"podSelector": {"matchLabels": {"tier": "1"}}}],
                               "ports": [{"port": "web"}]}])
    new = to_policy(new_obj)
    assert not analysis.covers(new)
    delta = analysis.reach_delta(None, new)
    expected = [diff_line(e) for e in diff(analyse(objects),
                                           analyse([*objects, InputObject(new_obj)])).entries]
    _same([diff_line(e) for e in diff(delta.before, delta.after).entries], expected)
    assert expected
