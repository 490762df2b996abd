"""``netpol-guard check``: the webhook's verdicts on manifests, offline (CI, pre-commit).

For every object in the input, in the webhook's order of events:

1. NetworkPolicies and Namespaces go through the API server's own decoding, defaulting and
   validation (``webhook.kube.apiserver``): what the API server would reject is a K8S001 finding,
   what it would warn about a K8S002 one;
2. each NetworkPolicy the API server would accept is judged by the webhook's engine
   (``dispatch.evaluate``: the least-privilege rules, and DD002 when it replaces a stored
   default-deny);
3. default-deny over the manifest set: every namespace declared in the input or holding one
   of its objects is checked with the NetworkPolicies in the input plus those already in the
   cluster (``--inventory`` or ``--cluster``); a protected namespace without its default-deny
   is a DD001 finding, and so is each workload in it (the webhook refuses them).

Exit codes: 0 clean, 1 deny-level findings (or warn-level ones with ``--strict``), 2 usage or
parse errors.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from webhook.admission.decision import Action
from webhook.cli.report import CheckReport, Finding
from webhook.kube.apiserver import ApiServerResult, FieldValidation
from webhook.kube.manifests import SourceObject
from webhook.policy.model import Policy

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2

CLUSTER_SYNC_TIMEOUT = 60.0

# kubectl's --validate values and the fieldValidation each one sends to the API server.
VALIDATE_MODES: dict[str, FieldValidation] = {
    "strict": "Strict", "warn": "Warn", "ignore": "Ignore", "true": "Strict", "false": "Ignore",
}

JSONObject = dict[str, Any]

# Kinds that live in no namespace (common built-ins and add-ons): they do not make a namespace
# part of the check. Any other kind without metadata.namespace is in --namespace.
CLUSTER_SCOPED_KINDS = frozenset({
    "Namespace", "Node", "PersistentVolume", "StorageClass", "CSIDriver", "CSINode",
    "VolumeAttachment", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
    "APIService", "PriorityClass", "RuntimeClass", "IngressClass", "PodSecurityPolicy",
    "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
    "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding", "CertificateSigningRequest",
    "FlowSchema", "PriorityLevelConfiguration", "ClusterIssuer", "ClusterPolicy",
    "GatewayClass",
})


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``netpol-guard check``."""
    parser.add_argument("-f", "--filename", dest="files", action="append", required=True,
                        metavar="PATH",
                        help="manifest file or directory (recursive: *.yaml, *.yml, *.json), "
                             "or - for stdin; repeatable")
    parser.add_argument("--policy", metavar="FILE",
                        help="netpol-guard policy document (default: the packaged policy)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--inventory", metavar="DIR",
                        help="what the cluster already has: Namespace and NetworkPolicy "
                             "manifests in a directory")
    source.add_argument("--cluster", action="store_true",
                        help="read what the cluster already has from the Kubernetes API")
    parser.add_argument("--kubeconfig", metavar="PATH", help="kubeconfig for --cluster")
    parser.add_argument("--context", metavar="NAME", help="kubeconfig context for --cluster")
    parser.add_argument("-n", "--namespace", default="default",
                        help="namespace of objects without metadata.namespace "
                             "(default: %(default)s)")
    parser.add_argument("-o", "--output", choices=("text", "json", "sarif"), default="text",
                        help="output format (default: %(default)s)")
    parser.add_argument("--strict", action="store_true",
                        help="warn-level findings fail the check too (exit 1)")
    parser.add_argument("--validate", choices=tuple(VALIDATE_MODES), default="strict",
                        help="unknown or duplicate fields, as kubectl's --validate: strict "
                             "rejects the object (kubectl's default, so ours), warn reports "
                             "them as warnings, ignore drops them silently (true = strict, "
                             "false = ignore)")
    parser.add_argument("--no-color", action="store_true", help="never colour the text output")


def run(args: argparse.Namespace) -> int:
    """Run the check; returns the exit code."""
    from webhook.cli.flags import check_problem
    from webhook.cli.report import render, use_colour
    from webhook.kube.manifests import ManifestError, load_paths
    from webhook.kube.state import ClusterUnavailable
    from webhook.policy.loader import PolicyError, load_policy

    problem = check_problem(args)
    if problem:
        print(f"netpol-guard check: {problem}", file=sys.stderr)
        return EXIT_USAGE
    try:
        policy = load_policy(args.policy)
    except (PolicyError, OSError) as err:
        print(f"netpol-guard check: {err}", file=sys.stderr)
        return EXIT_USAGE
    try:
        objects = load_paths(args.files)
    except ManifestError as err:
        print(f"netpol-guard check: {err}", file=sys.stderr)
        return EXIT_USAGE
    try:
        cluster = _open_cluster(args)
        try:
            report = check_objects(
                objects, policy, cluster, default_namespace=args.namespace,
                field_validation=VALIDATE_MODES[args.validate])
        finally:
            if cluster is not None:
                cluster.stop()
    except ClusterUnavailable as err:
        print(f"netpol-guard check: cluster state unavailable: {err}", file=sys.stderr)
        return EXIT_USAGE
    sys.stdout.write(render(report, args.output,
                            colour=use_colour(sys.stdout, args.no_color)))
    return report.exit_code(strict=args.strict)


def _open_cluster(args: argparse.Namespace) -> Any:
    """The cluster state to check against, or None (the input alone)."""
    from webhook.kube.cluster import make_cluster, open_synced_cluster

    if args.inventory:
        return make_cluster("inventory", inventory=args.inventory)
    if not args.cluster:
        return None
    return open_synced_cluster(args.kubeconfig, args.context, timeout=CLUSTER_SYNC_TIMEOUT)


# --- the check itself (no I/O besides the cluster reads) ---


@dataclass
class _NamespaceState:
    """What the manifest set and the cluster say about one namespace."""

    name: str
    declared: SourceObject | None = None
    declared_obj: JSONObject | None = None
    first_reference: SourceObject | None = None
    # NetworkPolicies of the input the API server would accept, by name (defaulted).
    input_policies: dict[str, JSONObject] = field(default_factory=dict)
    workloads: list[SourceObject] = field(default_factory=list)


def check_objects(objects: Iterable[SourceObject], policy: Policy, cluster: Any = None, *,
                  default_namespace: str = "default",
                  field_validation: FieldValidation = "Warn") -> CheckReport:
    """Every finding on ``objects``, as a :class:`webhook.cli.report.CheckReport`.

    ``cluster`` (a ``ClusterState`` or None) supplies what is already stored: namespaces and
    their NetworkPolicies, counted with the input's for default-deny, and stored versions of
    the input's NetworkPolicies (their update is judged as an UPDATE, with the API server's
    validation ratcheting).
    """
    from webhook.cli.report import sort_findings
    from webhook.engine.defaultdeny import WORKLOAD_KINDS
    from webhook.kube.apiserver import admit_namespace, admit_network_policy

    objects = list(objects)
    findings: list[Finding] = []
    namespaces: dict[str, _NamespaceState] = {}

    def state(name: str) -> _NamespaceState:
        if name not in namespaces:
            namespaces[name] = _NamespaceState(name)
        return namespaces[name]

    for source in objects:
        kind = source.kind
        if kind == "Namespace":
            result = admit_namespace(source.obj, field_validation=field_validation)
            findings.extend(_apiserver_findings(source, result, ""))
            if result.accepted and result.defaulted is not None and source.name:
                ns = state(source.name)
                ns.declared, ns.declared_obj = source, result.defaulted
                ns.first_reference = ns.first_reference or source
            continue
        if kind in CLUSTER_SCOPED_KINDS:
            continue
        namespace = source.namespace or default_namespace
        ns = state(namespace)
        ns.first_reference = ns.first_reference or source
        if kind == "NetworkPolicy":
            stored = _stored_policy(cluster, namespace, source.name)
            result = admit_network_policy(source.obj, namespace,
                                          field_validation=field_validation, old=stored)
            findings.extend(_apiserver_findings(source, result, namespace))
            if result.accepted and result.defaulted is not None:
                findings.extend(_network_policy_findings(source, result.defaulted, stored,
                                                         namespace, policy, cluster))
                ns.input_policies[source.name] = result.defaulted
        elif kind in WORKLOAD_KINDS:
            ns.workloads.append(source)

    for ns in namespaces.values():
        findings.extend(_default_deny_findings(ns, policy, cluster))

    files = len({source.source for source in objects})
    return CheckReport(findings=sort_findings(findings), objects=len(objects), files=files)


def _stored_policy(cluster: Any, namespace: str, name: str) -> JSONObject | None:
    if cluster is None or not name:
        return None
    for stored in cluster.list_network_policies(namespace):
        if (stored.get("metadata") or {}).get("name") == name:
            return dict(stored)
    return None


def _finding(source: SourceObject, namespace: str, rule: str, rule_name: str, action: Action,
             path: str, message: str, *, kind: str | None = None,
             name: str | None = None) -> Finding:
    return Finding(file=source.source, line=source.line_of(path) if path else source.line,
                   kind=kind or source.kind, namespace=namespace,
                   name=source.name if name is None else name, rule=rule, rule_name=rule_name,
                   action=action, path=path, message=message)


def _apiserver_findings(source: SourceObject, result: ApiServerResult,
                        namespace: str) -> list[Finding]:
    """K8S001 for each error the API server would return, K8S002 for each warning."""
    from webhook.cli.report import APISERVER_INVALID, APISERVER_WARNING

    findings = []
    if not result.accepted:
        rule, rule_name = APISERVER_INVALID
        paths = result.error_paths or [""]
        for index, error in enumerate(result.errors):
            path = paths[index] if index < len(paths) else paths[-1]
            findings.append(_finding(
                source, namespace, rule, rule_name, Action.DENY, path,
                f"the API server would reject this object: {error}"))
    rule, rule_name = APISERVER_WARNING
    for warning in result.warnings:
        path = _warning_path(warning)
        findings.append(_finding(source, namespace, rule, rule_name, Action.WARN, path,
                                 f"the API server would warn: {warning}"))
    return findings


def _warning_path(warning: str) -> str:
    """``spec.x: text`` → ``spec.x``; ``unknown field "spec.x"`` → ``spec.x``."""
    if warning.startswith('unknown field "'):
        return warning[len('unknown field "'):].rstrip('"')
    head, sep, _ = warning.partition(": ")
    return head if sep and " " not in head else ""


def _request(kind: str, operation: str, namespace: str, name: str, obj: JSONObject | None,
             old: JSONObject | None = None) -> Any:
    from webhook.admission.request import AdmissionRequest, UserInfo

    return AdmissionRequest(uid="netpol-guard-check", kind=kind, operation=operation,
                            namespace=namespace, name=name, user=UserInfo(), obj=obj,
                            old_obj=old)


def _violation_findings(source: SourceObject, namespace: str, violations: Iterable[Any], *,
                        kind: str | None = None, name: str | None = None) -> list[Finding]:
    return [_finding(source, namespace, v.rule_id, v.rule_name, v.action, v.path, v.message,
                     kind=kind, name=name)
            for v in violations if v.action is not Action.OFF]


def _network_policy_findings(source: SourceObject, defaulted: JSONObject,
                             stored: JSONObject | None, namespace: str, policy: Policy,
                             cluster: Any) -> list[Finding]:
    """The webhook's verdict on creating (or, when stored, updating) the NetworkPolicy."""
    from webhook.engine.dispatch import ClusterSnapshot, evaluate

    if stored is None:
        request = _request("NetworkPolicy", "CREATE", namespace, source.name, defaulted)
        snapshot = ClusterSnapshot()
    else:
        request = _request("NetworkPolicy", "UPDATE", namespace, source.name, defaulted, stored)
        snapshot = ClusterSnapshot(namespace=cluster.get_namespace(namespace),
                                   network_policies=tuple(
                                       cluster.list_network_policies(namespace)))
    evaluation = evaluate(request, policy, snapshot)
    return _violation_findings(source, namespace, evaluation.decision.violations)


def _default_deny_findings(ns: _NamespaceState, policy: Policy, cluster: Any) -> list[Finding]:
    """DD001 for a protected namespace left without its default-deny, and for its workloads."""
    from webhook.engine.dispatch import ClusterSnapshot, evaluate

    stored_namespace = cluster.get_namespace(ns.name) if cluster is not None else None
    namespace_obj = ns.declared_obj or stored_namespace or _implied_namespace(ns.name)
    policies = dict(ns.input_policies)
    if cluster is not None:
        for stored in cluster.list_network_policies(ns.name):
            name = (stored.get("metadata") or {}).get("name") or ""
            policies.setdefault(name, stored)
    snapshot = ClusterSnapshot(namespace=namespace_obj,
                               network_policies=tuple(policies.values()))
    findings: list[Finding] = []
    # The namespace itself: the webhook refuses its updates while it lacks the default-deny.
    request = _request("Namespace", "UPDATE", ns.name, ns.name, namespace_obj, namespace_obj)
    evaluation = evaluate(request, policy, snapshot)
    where = ns.declared or ns.first_reference
    if where is not None:
        path = "metadata.name" if ns.declared is not None else ""
        for v in evaluation.decision.violations:
            action = v.action
            if ns.declared is None and action is Action.DENY:
                # Only referred to: the webhook refuses the namespace's workloads (reported
                # on each) but there is no Namespace update here to refuse.
                action = Action.WARN
            if action is not Action.OFF:
                findings.append(_finding(where, ns.name, v.rule_id, v.rule_name, action, path,
                                         v.message, kind="Namespace", name=ns.name))
    for workload in ns.workloads:
        request = _request(workload.kind, "CREATE", ns.name, workload.name, workload.obj)
        evaluation = evaluate(request, policy, snapshot)
        findings.extend(_violation_findings(workload, ns.name, evaluation.decision.violations))
    return findings


def _implied_namespace(name: str) -> JSONObject:
    """A namespace the input only refers to, as the API server would create it."""
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}}}
