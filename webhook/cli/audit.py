"""``netpol-guard audit``: what in a live cluster (or an inventory) breaks the policy today.

Reports every protected namespace that lacks its default-deny (DD001) and every NetworkPolicy
that breaks a least-privilege rule, with the webhook's own engine. Output: text, JSON, or
PolicyReport objects (``wgpolicyk8s.io/v1alpha2``, one per namespace) as multi-document YAML
for Policy Reporter and similar UIs.

Built for large clusters: namespaces and NetworkPolicies are listed once, policies are grouped
by namespace in one pass, and every namespace and policy is looked at once (linear work).
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

from webhook.admission.decision import Action, Violation
from webhook.policy.model import Policy

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
CLUSTER_SYNC_TIMEOUT = 120.0
AUDIT_REPORT_VERSION = 1

POLICY_REPORT_API_VERSION = "wgpolicyk8s.io/v1alpha2"
POLICY_REPORT_NAME = "netpol-guard"
SOURCE = "netpol-guard"
PASS_RULE = "least-privilege"

JSONObject = dict[str, Any]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``netpol-guard audit``."""
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--inventory", metavar="DIR",
                        help="audit Namespace and NetworkPolicy manifests in a directory "
                             "instead of a cluster")
    source.add_argument("--in-cluster", action="store_true",
                        help="use the pod's service account (in-cluster config)")
    parser.add_argument("--kubeconfig", metavar="PATH",
                        help="kubeconfig (default: $KUBECONFIG or ~/.kube/config)")
    parser.add_argument("--context", metavar="NAME", help="kubeconfig context")
    parser.add_argument("--policy", metavar="FILE",
                        help="netpol-guard policy document (default: the packaged policy)")
    parser.add_argument("-o", "--output", choices=("text", "json", "policyreport"),
                        default="text", help="output format (default: %(default)s)")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress bar (it is shown only when stderr is a terminal)")


def run(args: argparse.Namespace) -> int:
    """Run the audit; 0 when nothing deny-level was found, 1 otherwise, 2 on errors."""
    from webhook.cli.flags import audit_problem
    from webhook.kube.state import ClusterUnavailable
    from webhook.policy.loader import PolicyError, default_policy, load_policy_file

    problem = audit_problem(args)
    if problem:
        print(f"netpol-guard audit: {problem}", file=sys.stderr)
        return EXIT_USAGE
    try:
        policy = load_policy_file(args.policy) if args.policy else default_policy()
    except (PolicyError, OSError) as err:
        print(f"netpol-guard audit: {err}", file=sys.stderr)
        return EXIT_USAGE
    progress = Progress(sys.stderr, enabled=not args.no_progress and sys.stderr.isatty())
    # Hundreds of thousands of long-lived, acyclic objects: the cyclic GC would rescan them
    # over and over (it tripled the run time on 100,000 NetworkPolicies). Paused while the
    # state is read, audited and written, restored afterwards (tests call run() in-process).
    gc.disable()
    try:
        try:
            cluster = _open_cluster(args)
            try:
                progress.note("listing namespaces and NetworkPolicies")
                namespaces = cluster.list_namespaces()
                policies = cluster.list_all_network_policies()
            finally:
                cluster.stop()
        except ClusterUnavailable as err:
            progress.done()
            print(f"netpol-guard audit: cluster state unavailable: {err}", file=sys.stderr)
            return EXIT_USAGE
        result = audit(namespaces, policies, policy, progress=progress)
        progress.done()
        _write_output(result, args.output)
    finally:
        gc.enable()
    return EXIT_FINDINGS if result.has_deny() else EXIT_OK


def _write_output(result: AuditResult, output: str) -> None:
    try:
        if output == "json":
            write_json(result, sys.stdout)
        elif output == "policyreport":
            write_policy_reports(result, sys.stdout)
        else:
            sys.stdout.write(render_text(result))
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader (`| head`) went away: not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _open_cluster(args: argparse.Namespace) -> Any:
    from webhook.kube.cluster import make_cluster, open_synced_cluster

    if args.inventory:
        return make_cluster("inventory", inventory=args.inventory)
    return open_synced_cluster(args.kubeconfig, args.context, timeout=CLUSTER_SYNC_TIMEOUT)


# --- progress ---


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


# --- the audit ---


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
        protected = not globally_exempt and dd.needs_compliance_check(target, policy, user)
        entry = NamespaceAudit(name=name, uid=_text(_metadata(obj or {}).get("uid")),
                               protected=protected)
        if protected:
            violations = dd.workload_violations("Pod", name, policies, policy)
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


# --- output ---


def render_text(result: AuditResult) -> str:
    """Non-compliant namespaces, then NetworkPolicies that break rules, then a summary."""
    lines: list[str] = []
    bad = result.non_compliant()
    if bad:
        lines.append(f"Protected namespaces without their default-deny ({len(bad)}):")
        for ns in bad:
            lines.append(f"  {ns.name}: missing {' and '.join(ns.missing)}")
        lines.append("")
    findings = result.policy_findings()
    if findings:
        lines.append(f"NetworkPolicies that break rules ({len(findings)} findings):")
        current = None
        for finding in findings:
            subject = f"{finding.namespace}/{finding.name}"
            if subject != current:
                lines.append(f"  NetworkPolicy {subject}")
                current = subject
            v = finding.violation
            lines.append(f"    {str(v.action):<5} {v.rule_id} {v.rule_name}: {v.message}")
        lines.append("")
    s = result.summary()
    lines.append(f"{s['namespaces']} namespaces ({s['protected']} protected, "
                 f"{s['nonCompliant']} without their default-deny), "
                 f"{s['networkPolicies']} NetworkPolicies "
                 f"({s['deny']} deny, {s['warn']} warn, {s['audit']} audit findings).")
    return "\n".join(lines) + "\n"


def _violation_json(v: Violation) -> JSONObject:
    return {"rule": v.rule_id, "ruleName": v.rule_name, "action": str(v.action),
            "path": v.path, "message": v.message}


def write_json(result: AuditResult, stream: TextIO) -> None:
    """A stable JSON document (version 1), one namespace or finding per line.

    Written piece by piece with the C encoder (``indent`` would force the pure-Python one): a
    large cluster's report is tens of megabytes.
    """
    encode = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode
    stream.write(f'{{\n  "version": {AUDIT_REPORT_VERSION},\n  "namespaces": [')
    separator = "\n    "
    for ns in result.non_compliant():
        if ns.violation is None:
            continue
        stream.write(separator + encode({"name": ns.name, "missing": list(ns.missing),
                                         **_violation_json(ns.violation)}))
        separator = ",\n    "
    stream.write('\n  ],\n  "findings": [')
    separator = "\n    "
    for f in result.policy_findings():
        stream.write(separator + encode({"namespace": f.namespace, "kind": "NetworkPolicy",
                                         "name": f.name, **_violation_json(f.violation)}))
        separator = ",\n    "
    stream.write(f'\n  ],\n  "summary": {encode(result.summary())}\n}}\n')


def render_json(result: AuditResult) -> str:
    """The JSON document as a string."""
    buffer = io.StringIO()
    write_json(result, buffer)
    return buffer.getvalue()


_RESULT = {Action.DENY: "fail", Action.WARN: "warn", Action.AUDIT: "warn"}
_SEVERITY = {Action.DENY: "high", Action.WARN: "medium", Action.AUDIT: "info"}


def _resource(api_version: str, kind: str, name: str, namespace: str,
              uid: str) -> JSONObject:
    ref: JSONObject = {"apiVersion": api_version, "kind": kind, "name": name}
    if namespace:
        ref["namespace"] = namespace
    if uid:
        ref["uid"] = uid
    return ref


def _report_result(rule: str, result: str, severity: str, message: str, category: str,
                   resource: JSONObject, timestamp: int,
                   properties: Mapping[str, str] | None = None) -> JSONObject:
    entry: JSONObject = {
        "policy": SOURCE, "rule": rule, "category": category, "result": result,
        "severity": severity, "scored": True, "message": message, "resources": [dict(resource)],
        "source": SOURCE, "timestamp": {"seconds": timestamp, "nanos": 0},
    }
    if properties:
        entry["properties"] = dict(properties)
    return entry


def policy_reports(result: AuditResult) -> list[JSONObject]:
    """One PolicyReport per namespace: its default-deny and each of its NetworkPolicies."""
    return list(iter_policy_reports(result))


def iter_policy_reports(result: AuditResult) -> Iterator[JSONObject]:
    """The PolicyReports one at a time (a large cluster's do not need to be held at once)."""
    for ns in result.namespaces:
        results = []
        ns_ref = _resource("v1", "Namespace", ns.name, "", ns.uid)
        dd_rule = "DD001 missing-default-deny"
        if not ns.protected:
            results.append(_report_result(dd_rule, "skip", "info",
                                          f"namespace {ns.name} is exempt from the default-deny "
                                          "requirement (or terminating)", "default-deny", ns_ref,
                                          result.timestamp))
        elif ns.violation is not None:
            v = ns.violation
            results.append(_report_result(dd_rule, _RESULT.get(v.action, "warn"),
                                          _SEVERITY.get(v.action, "info"), v.message,
                                          "default-deny", ns_ref, result.timestamp))
        else:
            results.append(_report_result(dd_rule, "pass", "info",
                                          f"namespace {ns.name} has its default-deny",
                                          "default-deny", ns_ref, result.timestamp))
        for name, uid, violations in ns.policies:
            ref = _resource("networking.k8s.io/v1", "NetworkPolicy", name, ns.name, uid)
            if not violations:
                results.append(_report_result(PASS_RULE, "pass", "info",
                                              f"NetworkPolicy {name} breaks no rule",
                                              "least-privilege", ref, result.timestamp))
            for v in violations:
                results.append(_report_result(f"{v.rule_id} {v.rule_name}",
                                              _RESULT.get(v.action, "warn"),
                                              _SEVERITY.get(v.action, "info"), v.message,
                                              "least-privilege", ref, result.timestamp,
                                              {"path": v.path}))
        summary = {key: 0 for key in ("pass", "fail", "warn", "error", "skip")}
        for entry in results:
            summary[entry["result"]] += 1
        yield {
            "apiVersion": POLICY_REPORT_API_VERSION,
            "kind": "PolicyReport",
            "metadata": {"name": POLICY_REPORT_NAME, "namespace": ns.name,
                         "labels": {"app.kubernetes.io/managed-by": "netpol-guard"}},
            "summary": summary,
            "results": results,
        }


def write_policy_reports(result: AuditResult, stream: TextIO) -> None:
    """The PolicyReports as multi-document YAML, one document per namespace.

    The report's frame is block YAML; each result is one line in flow style (a JSON object is
    a valid YAML flow mapping), written by the C JSON encoder: PyYAML's representer takes about
    a minute for 100,000 results.
    """
    encode = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode
    for report in iter_policy_reports(result):
        meta = report["metadata"]
        labels = "".join(f"    {key}: {encode(value)}\n" for key, value in meta["labels"].items())
        summary = "".join(f"  {key}: {count}\n" for key, count in report["summary"].items())
        stream.write(f"---\napiVersion: {report['apiVersion']}\nkind: {report['kind']}\n"
                     f"metadata:\n  name: {encode(meta['name'])}\n"
                     f"  namespace: {encode(meta['namespace'])}\n  labels:\n{labels}"
                     f"summary:\n{summary}")
        if not report["results"]:
            stream.write("results: []\n")
            continue
        stream.write("results:\n")
        stream.writelines(f"- {encode(entry)}\n" for entry in report["results"])
