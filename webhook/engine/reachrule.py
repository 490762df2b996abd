"""NP018 reach-delta: the violations (kubectl warnings, denies) of one connectivity delta.

Lines are written for the person running ``kubectl apply``, most important first: new exposure
to every namespace or to outside the cluster, then what the change newly allows (largest
first), then what it removes. Each line fits the warning length the project keeps to
(``WARNING_MAX_CHARS``); past ``MAX_LINES`` one more line counts the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from webhook.admission.decision import WARNING_MAX_CHARS, Action, Violation
from webhook.engine.conns import ConnSet
from webhook.engine.reachdelta import ReachDelta
from webhook.policy.model import RuleConfig

RULE_ID = "NP018"
RULE_NAME = "reach-delta"
# Lines of one delta sent as warnings; the rest is one count (the API server keeps 4 KiB).
MAX_LINES = 8
_PREFIX = f"{RULE_ID} {RULE_NAME}: "


@dataclass(frozen=True, slots=True)
class _Group:
    """Pairs that share the changed workload (``anchor``), a direction and connections."""

    added: bool
    anchor: str
    anchor_is_destination: bool
    conns: ConnSet
    others: tuple[str, ...]


def _short(node: str) -> str:
    """``frontend/web`` for ``frontend/web[Deployment]``; external ranges as they are."""
    if node.endswith("[External]"):
        return node[: -len("[External]")]
    return node.rsplit("[", 1)[0]


def _groups(delta: ReachDelta, added: bool) -> list[_Group]:
    grouped: dict[tuple[str, bool, ConnSet], list[str]] = {}
    for change in delta.changes:
        conns = (change.after - change.before) if added else (change.before - change.after)
        if not conns:
            continue
        dst_anchor = change.dst in delta.affected
        anchor, other = (change.dst, change.src) if dst_anchor else (change.src, change.dst)
        grouped.setdefault((anchor, dst_anchor, conns), []).append(other)
    groups = [_Group(added, anchor, dst_anchor, conns, tuple(sorted(others)))
              for (anchor, dst_anchor, conns), others in grouped.items()]
    groups.sort(key=lambda g: (-len(g.others), g.anchor, g.conns.text()))
    return groups


def _counted(others: Sequence[str]) -> str:
    workloads = [o for o in others if not o.endswith("[External]")]
    externals = len(others) - len(workloads)
    parts = []
    if workloads:
        namespaces = len({w.split("/", 1)[0] for w in workloads})
        parts.append(f"{len(workloads)} workload{'s' if len(workloads) != 1 else ''} in "
                     f"{namespaces} namespace{'s' if namespaces != 1 else ''}")
    if externals:
        parts.append(f"{externals} external range{'s' if externals != 1 else ''}")
    return " and ".join(parts)


def _sentence(group: _Group) -> str:
    verb = "newly allows" if group.added else "no longer allows"
    if group.anchor_is_destination:
        return f"this change {verb} {_counted(group.others)} to reach {group.anchor} on " \
               f"{group.conns.text()}"
    return f"this change {verb} {group.anchor} to reach {_counted(group.others)} on " \
           f"{group.conns.text()}"


def _names_fitting(names: Sequence[str], room: int) -> str | None:
    """``a, b (+n more)`` in at most ``room`` characters; None when not even one name fits."""
    for shown in range(len(names), 0, -1):
        rest = len(names) - shown
        text = ", ".join(names[:shown]) + (f" (+{rest} more)" if rest else "")
        if len(text) <= room:
            return text
    return None


def _short_line(group: _Group, names: Sequence[str]) -> str:
    """The warning form: names first, as many as fit in WARNING_MAX_CHARS with the prefix."""
    conns = group.conns.text()
    if group.anchor_is_destination:
        verb = "newly allows" if group.added else "no longer allows"
        frame = (f"{verb} ", f" to reach {group.anchor} on {conns}")
    else:
        frame = ((f"lets {group.anchor} newly reach ", f" on {conns}") if group.added else
                 (f"no longer lets {group.anchor} reach ", f" on {conns}"))
    room = WARNING_MAX_CHARS - len(_PREFIX) - len(frame[0]) - len(frame[1])
    listed = _names_fitting(names, room)
    if listed is None:
        return _sentence(group)  # too long anyway: Violation.warning() cuts it
    return f"{frame[0]}{listed}{frame[1]}"


def _line(group: _Group) -> tuple[str, str]:
    """(full message, short warning form) of one group."""
    names = [_short(o) for o in group.others]
    return f"{_sentence(group)}: {', '.join(names)}", _short_line(group, names)


def _deny_reasons(delta: ReachDelta, config: RuleConfig) -> list[str]:
    reasons = []
    if config.deny_exposure_to_all_namespaces and delta.exposed_to_all_namespaces:
        reasons.append("it newly exposes " + ", ".join(delta.exposed_to_all_namespaces) +
                       " to every namespace (denyExposureToAllNamespaces of NP018). Name the "
                       "namespaces that need access in a namespaceSelector")
    if config.deny_exposure_to_outside and delta.exposed_to_outside:
        reasons.append("it newly exposes " + ", ".join(delta.exposed_to_outside) +
                       " to addresses outside the cluster (denyExposureToOutside of NP018). "
                       "Narrow or remove the ipBlock, or add a `from` to the rule")
    if config.max_added_pairs is not None and delta.added_pairs > config.max_added_pairs:
        reasons.append(f"it newly allows {delta.added_pairs} workload pairs, more than the "
                       f"{config.max_added_pairs} this cluster accepts in one change "
                       "(maxAddedPairs of NP018). Split the change or narrow its peers")
    return reasons


def reach_violations(delta: ReachDelta, config: RuleConfig, action: Action) -> list[Violation]:
    """The NP018 violations of ``delta`` under the rule's ``config`` and its ``action`` for
    this request (after exemptions). What a change removes is never refused."""
    if action is Action.OFF or not delta.changes:
        return []
    violations = [Violation(RULE_ID, RULE_NAME, "spec", f"{reason}.", Action.DENY)
                  for reason in _deny_reasons(delta, config)]
    groups = [*_groups(delta, added=True), *_groups(delta, added=False)]
    exposed = set(delta.exposed_to_all_namespaces) | set(delta.exposed_to_outside)
    # Exposures first: they are what a reviewer must not miss.
    groups.sort(key=lambda g: not (g.added and g.anchor in exposed))
    for group in groups[:MAX_LINES]:
        full, short = _line(group)
        line_action = action if group.added or action is not Action.DENY else Action.WARN
        violations.append(Violation(RULE_ID, RULE_NAME, "spec", full, line_action, short))
    if len(groups) > MAX_LINES:
        rest = len(groups) - MAX_LINES
        text = (f"... and {rest} more connectivity changes (run `netpol-guard diff` to see "
                "all)")
        violations.append(Violation(RULE_ID, RULE_NAME, "spec", text, Action.WARN, text))
    return violations


def skipped_warning(reason: str) -> str:
    """The one warning of a review answered without NP018."""
    return f"{_PREFIX}not evaluated: {reason}"[:WARNING_MAX_CHARS]
