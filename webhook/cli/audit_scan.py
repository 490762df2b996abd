"""The audit itself: every namespace and NetworkPolicy looked at once with the webhook's engine
(linear work, for clusters of 10,000 namespaces), into one ``AuditResult``."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

from webhook.admission.decision import Action, Violation
from webhook.cli.audit_exposure import FROM_ALL_NAMESPACES, FROM_OUTSIDE, ExposureFinding
from webhook.policy.model import Policy

JSONObject = dict[str, Any]


class Progress:
    """A one-line progress bar on a terminal (nothing otherwise); redrawn at most 10×/s."""

    WIDTH = 30

    def __init__(self, stream: TextIO, *, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled
        self._last = 0.0
        self._drawn = False

    def note(self, text: str) -> None:
        if self.enabled:
            self.stream.write(f"\r\x1b[K{text}…")
            self.stream.flush()
            self._drawn = True

    def update(self, done: int, total: int, what: str) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if done < total and now - self._last < 0.1:
            return
        self._last = now
        filled = self.WIDTH * done // total if total else self.WIDTH
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        self.stream.write(f"\r\x1b[K[{bar}] {done:,}/{total:,} {what}")
        self.stream.flush()
        self._drawn = True

    def done(self) -> None:
        if self.enabled and self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._drawn = False


@dataclass(frozen=True, slots=True)
class PolicyFinding:
    """One rule broken by one NetworkPolicy."""

    namespace: str
    name: str
    uid: str
    violation: Violation


@dataclass(slots=True)
class NamespaceAudit:
    """One namespace: whether it must have a default-deny, whether it has, and its policies."""

    name: str
    uid: str
    protected: bool
    missing: tuple[str, ...] = ()
    violation: Violation | None = None
    policies: list[tuple[str, str, list[Violation]]] = field(default_factory=list)

    @property
    def compliant(self) -> bool:
        return not self.missing


@dataclass(slots=True)
class AuditResult:
    """Everything the audit found, namespace by namespace (sorted by name)."""

    namespaces: list[NamespaceAudit]
    timestamp: int
    exposures: list[ExposureFinding] = field(default_factory=list)

    def non_compliant(self) -> list[NamespaceAudit]:
        return [ns for ns in self.namespaces if ns.protected and ns.missing]

    def policy_findings(self) -> list[PolicyFinding]:
        return [PolicyFinding(ns.name, name, uid, v)
                for ns in self.namespaces for name, uid, violations in ns.policies
                for v in violations]

    def has_deny(self) -> bool:
        if any(ns.violation is not None and ns.violation.action is Action.DENY
               for ns in self.namespaces):
            return True
        return any(f.violation.action is Action.DENY for f in self.policy_findings())

    def summary(self) -> dict[str, int]:
        findings = self.policy_findings()
        return {
            "namespaces": len(self.namespaces),
            "protected": sum(1 for ns in self.namespaces if ns.protected),
            "nonCompliant": len(self.non_compliant()),
            "networkPolicies": sum(len(ns.policies) for ns in self.namespaces),
            "deny": sum(1 for f in findings if f.violation.action is Action.DENY),
            "warn": sum(1 for f in findings if f.violation.action is Action.WARN),
            "audit": sum(1 for f in findings if f.violation.action is Action.AUDIT),
            "exposedFromAllNamespaces": sum(1 for e in self.exposures
                                            if e.exposure == FROM_ALL_NAMESPACES),
            "exposedFromOutside": sum(1 for e in self.exposures if e.exposure == FROM_OUTSIDE),
        }


def _metadata(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    metadata = obj.get("metadata")
    return metadata if isinstance(metadata, Mapping) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def audit(namespaces: Iterable[JSONObject], network_policies: Iterable[JSONObject],
          policy: Policy, *, progress: Progress | None = None,
          now: float | None = None) -> AuditResult:
    """Judge every namespace and NetworkPolicy with the webhook's engine (linear work).

    Namespaces that only appear as the namespace of a NetworkPolicy are judged by name.
    """
    from webhook.admission.request import UserInfo
    from webhook.engine import defaultdeny as dd
    from webhook.engine import defaultdeny_verdicts as ddv
    from webhook.engine.networkpolicy import check_network_policy

    user = UserInfo()
    by_namespace: dict[str, list[JSONObject]] = {}
    for np in network_policies:
        by_namespace.setdefault(_text(_metadata(np).get("namespace")), []).append(np)
    namespace_objects: dict[str, JSONObject | None] = {}
    for ns in namespaces:
        name = _text(_metadata(ns).get("name"))
        if name:
            namespace_objects[name] = ns
    for name in by_namespace:
        namespace_objects.setdefault(name, None)

    names = sorted(namespace_objects)
    total_policies = sum(len(v) for v in by_namespace.values())
    checked = 0
    results: list[NamespaceAudit] = []
    # Clusters hold many copies of the same policy (one template, many namespaces): judge each
    # distinct spec once. The verdict depends on the namespace only through namespace
    # exemptions and NP017, so the namespace is part of the key only when those are in play.
    per_namespace = _namespace_dependent(policy)
    verdicts: dict[tuple[str, str], list[Violation]] = {}
    for name in names:
        obj = namespace_objects[name]
        policies = by_namespace.get(name, [])
        target: JSONObject | str = obj if obj is not None else name
        globally_exempt = policy.exemptions.covers(name, user)
        protected = not globally_exempt and ddv.needs_compliance_check(target, policy, user)
        entry = NamespaceAudit(name=name, uid=_text(_metadata(obj or {}).get("uid")),
                               protected=protected)
        if protected:
            violations = ddv.workload_violations("Pod", name, policies, policy)
            entry.missing = dd.missing_directions(policies, policy.default_deny.directions)
            if violations:
                entry.violation = violations[0]
        for np in policies:
            meta = _metadata(np)
            key = (_spec_key(np), name if per_namespace else "")
            verdict = verdicts.get(key)
            if verdict is None:
                verdict = [v for v in check_network_policy(np, policy, user, name)
                           if v.action is not Action.OFF]
                verdicts[key] = verdict
            entry.policies.append((_text(meta.get("name")), _text(meta.get("uid")), verdict))
        results.append(entry)
        checked += len(policies)
        if progress is not None:
            progress.update(checked, total_policies, "NetworkPolicies audited")
    return AuditResult(namespaces=results,
                       timestamp=int(time.time() if now is None else now))


def _namespace_dependent(policy: Policy) -> bool:
    """True when a NetworkPolicy's verdict may differ between namespaces under ``policy``."""
    if policy.exemptions.namespaces:
        return True
    return any(config.exemptions.namespaces or (rule_id == "NP017" and
                                                 config.action is not Action.OFF)
               for rule_id, config in policy.rules.items())


def _spec_key(np: Mapping[str, Any]) -> str:
    """The spec as canonical JSON (what the least-privilege rules read besides the namespace)."""
    try:
        return json.dumps(np.get("spec"), sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        return repr(np.get("spec"))
