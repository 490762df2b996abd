"""NP018's warning lines: most important first, each within the warning length, a count of the
rest past MAX_LINES; denies from the parameters; removals never refused."""

from __future__ import annotations

from webhook.admission.decision import WARNING_MAX_CHARS, Action, decide
from webhook.engine.conns import NONE, port_range_conns
from webhook.engine.reachdelta import PairChange, ReachDelta
from webhook.engine.reachrule import MAX_LINES, reach_violations
from webhook.policy.model import RuleConfig

TCP = port_range_conns("TCP", 5432, 5432)
CONFIG = RuleConfig("NP018", Action.WARN)


def delta(destinations: int, sources: int, *, exposed: tuple[str, ...] = (),
          removed: int = 0) -> ReachDelta:
    changes = [PairChange(f"src-{s:02d}/client-with-a-long-name-{s:02d}[Deployment]",
                          f"team/db-{d:02d}[StatefulSet]", NONE, TCP)
               for d in range(destinations) for s in range(sources + d)]
    changes += [PairChange(f"old/client-{r}[Deployment]", "team/db-00[StatefulSet]", TCP, NONE)
                for r in range(removed)]
    affected = frozenset(f"team/db-{d:02d}[StatefulSet]" for d in range(destinations))
    return ReachDelta(tuple(changes), affected, exposed, ())


def test_many_changes_give_max_lines_and_a_count_of_the_rest() -> None:
    violations = reach_violations(delta(12, 3), CONFIG, Action.WARN)
    assert len(violations) == MAX_LINES + 1
    assert violations[-1].message == ("... and 4 more connectivity changes (run `netpol-guard "
                                      "diff` to see all)")
    warnings = decide("NetworkPolicy team/x", violations).warnings
    assert all(len(w) <= WARNING_MAX_CHARS for w in warnings)
    # Largest first: db-11 gains 14 sources, db-10 13, ...
    assert "14 workloads in 14 namespaces" in violations[0].message
    assert "team/db-11[StatefulSet]" in violations[0].message


def test_a_long_list_is_cut_with_a_count() -> None:
    [line] = [v.warning() for v in reach_violations(delta(1, 9), CONFIG, Action.WARN)]
    assert line.startswith("NP018 reach-delta: newly allows src-00/client-with-a-long-name-00")
    assert line.endswith("more) to reach team/db-00[StatefulSet] on TCP 5432")
    assert len(line) <= WARNING_MAX_CHARS


def test_exposure_comes_first() -> None:
    violations = reach_violations(delta(3, 1, exposed=("team/db-00[StatefulSet]",)),
                                  CONFIG, Action.WARN)
    assert "team/db-00[StatefulSet]" in violations[0].message


def test_removals_are_warned_even_when_the_rule_denies() -> None:
    violations = reach_violations(delta(1, 1, removed=2), CONFIG, Action.DENY)
    actions = {("newly" in v.message): v.action for v in violations}
    assert actions == {True: Action.DENY, False: Action.WARN}


def test_no_change_no_line() -> None:
    assert reach_violations(ReachDelta(), CONFIG, Action.WARN) == []
