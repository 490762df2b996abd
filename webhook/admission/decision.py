"""Value types the engine returns: violations of rules, and the decision built from them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum

# kubectl prints each warning on its own line; the API server truncates long ones and drops
# them past 4 KiB in total, so keep each short and cap how many we send.
WARNING_MAX_CHARS = 120
WARNINGS_MAX_COUNT = 20


class Action(StrEnum):
    """What happens when a rule fires."""

    DENY = "deny"
    WARN = "warn"
    AUDIT = "audit"
    OFF = "off"


@dataclass(frozen=True, slots=True)
class Violation:
    """One rule that fired on one field.

    ``message`` is the full sentence for the person at the terminal: it starts with the JSON
    path, says what the field means in plain words and ends with the fix. ``short`` is an
    optional one-line form (≤ 120 characters) used for kubectl warnings.
    """

    rule_id: str
    rule_name: str
    path: str
    message: str
    action: Action = Action.DENY
    short: str = ""

    def render(self) -> str:
        """``NP001 allow-all-sources: spec.ingress[0] has no "from", ...``."""
        return f"{self.rule_id} {self.rule_name}: {self.message}"

    def warning(self) -> str:
        """The kubectl warning line for this violation, at most WARNING_MAX_CHARS long."""
        text = f"{self.rule_id} {self.rule_name}: {self.short or self.message}"
        if len(text) > WARNING_MAX_CHARS:
            text = text[: WARNING_MAX_CHARS - 1] + "…"
        return text


@dataclass(frozen=True, slots=True)
class Decision:
    """The verdict for one admission request, before it is written as an AdmissionReview."""

    allowed: bool
    message: str = ""
    code: int = 200
    reason: str = ""
    warnings: tuple[str, ...] = ()
    violations: tuple[Violation, ...] = field(default=())

    @property
    def rule_ids(self) -> tuple[str, ...]:
        """Ids of every rule that fired (deny, warn and audit), in order, without repeats."""
        if not self.violations:
            return ()
        return tuple(dict.fromkeys(v.rule_id for v in self.violations))

    @property
    def verdict(self) -> str:
        """``allowed``, ``warned`` or ``denied``, for logs and metrics."""
        if not self.allowed:
            return "denied"
        return "warned" if self.warnings else "allowed"


def allow(*warnings: str) -> Decision:
    """An allow, optionally with warnings."""
    return Decision(allowed=True, warnings=_cap_warnings(warnings))


def with_warning(decision: Decision, warning: str) -> Decision:
    """``decision`` with ``warning`` first among its warnings (capped as always)."""
    return replace(decision, warnings=_cap_warnings((warning, *decision.warnings)))


def deny(message: str, *, code: int = 403, reason: str = "Forbidden",
         warnings: Iterable[str] = ()) -> Decision:
    """A deny that is not tied to rule violations (bad request, internal error, ...)."""
    return Decision(allowed=False, message=message, code=code, reason=reason,
                    warnings=_cap_warnings(tuple(warnings)))


def decide(subject: str, violations: Iterable[Violation],
           extra_warnings: Iterable[str] = ()) -> Decision:
    """Turn the violations of one object into a decision.

    ``subject`` names the object, e.g. ``NetworkPolicy team-a/allow-all``. Deny violations
    become one message listing all of them; warn violations become kubectl warnings; audit
    violations are only carried along (for logs and metrics); ``off`` ones are dropped.
    """
    kept = tuple(v for v in violations if v.action is not Action.OFF)
    denied = [v for v in kept if v.action is Action.DENY]
    warnings = [*extra_warnings, *(v.warning() for v in kept if v.action is Action.WARN)]
    if not denied:
        return Decision(allowed=True, warnings=_cap_warnings(tuple(warnings)), violations=kept)
    noun = "rule" if len(denied) == 1 else "rules"
    lines = [f"{subject} violates {len(denied)} {noun}:"]
    lines.extend(f"- {v.render()}" for v in denied)
    return Decision(allowed=False, message="\n".join(lines), code=403, reason="Forbidden",
                    warnings=_cap_warnings(tuple(warnings)), violations=kept)


def _cap_warnings(warnings: tuple[str, ...]) -> tuple[str, ...]:
    unique = tuple(dict.fromkeys(warnings))
    if len(unique) <= WARNINGS_MAX_COUNT:
        return unique
    hidden = len(unique) - (WARNINGS_MAX_COUNT - 1)
    return (*unique[: WARNINGS_MAX_COUNT - 1],
            f"... and {hidden} more warnings (run `netpol-guard check` to see all)")
