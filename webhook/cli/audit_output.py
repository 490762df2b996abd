"""The output of ``netpol-guard audit``: text, JSON, and PolicyReport objects
(``wgpolicyk8s.io/v1alpha2``, one per namespace) as multi-document YAML."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Mapping
from typing import Any, TextIO

from webhook.admission.decision import Action, Violation
from webhook.cli import audit_exposure
from webhook.cli.audit_scan import AuditResult

AUDIT_REPORT_VERSION = 1
POLICY_REPORT_API_VERSION = "wgpolicyk8s.io/v1alpha2"
POLICY_REPORT_NAME = "netpol-guard"
SOURCE = "netpol-guard"
PASS_RULE = "least-privilege"

JSONObject = dict[str, Any]


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
    lines.extend(audit_exposure.render_text(result.exposures))
    s = result.summary()
    lines.append(f"{s['namespaces']} namespaces ({s['protected']} protected, "
                 f"{s['nonCompliant']} without their default-deny), "
                 f"{s['networkPolicies']} NetworkPolicies "
                 f"({s['deny']} deny, {s['warn']} warn, {s['audit']} audit findings); "
                 f"{s['exposedFromAllNamespaces']} workloads reachable from every namespace, "
                 f"{s['exposedFromOutside']} from outside the cluster.")
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
    stream.write('\n  ],\n  "exposure": [')
    separator = "\n    "
    for entry in audit_exposure.as_json(result.exposures):
        stream.write(separator + encode(entry))
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
    exposed = audit_exposure.in_namespace(result.exposures)
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
        for finding in exposed.get(ns.name, ()):
            results.append(_report_result(finding.rule, "warn", "medium", finding.message,
                                          "exposure", finding.resource(), result.timestamp))
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
