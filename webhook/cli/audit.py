"""``netpol-guard audit``: what in a live cluster (or an inventory) breaks the policy today.

Reports every protected namespace that lacks its default-deny (DD001), every NetworkPolicy
that breaks a least-privilege rule, with the webhook's own engine, and (when the source has
pods) the workloads reachable from every namespace or from outside the cluster, from the
connectivity analysis (``audit_exposure``). Output: text, JSON, or
PolicyReport objects (``wgpolicyk8s.io/v1alpha2``, one per namespace) as multi-document YAML
for Policy Reporter and similar UIs.

Built for large clusters: namespaces and NetworkPolicies are listed once, policies are grouped
by namespace in one pass, and every namespace and policy is looked at once (linear work).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from typing import Any

from webhook.cli import audit_exposure
from webhook.cli.audit_output import render_text, write_json, write_policy_reports
from webhook.cli.audit_scan import AuditResult, Progress, audit

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
CLUSTER_SYNC_TIMEOUT = 120.0
# Pods only feed the exposure findings: past this, the audit goes on without them.
POD_SYNC_TIMEOUT = 30.0


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
    from webhook.policy.loader import PolicyError, load_policy

    problem = audit_problem(args)
    if problem:
        print(f"netpol-guard audit: {problem}", file=sys.stderr)
        return EXIT_USAGE
    try:
        policy = load_policy(args.policy)
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
                pods = _pods(cluster)
            finally:
                cluster.stop()
        except ClusterUnavailable as err:
            progress.done()
            print(f"netpol-guard audit: cluster state unavailable: {err}", file=sys.stderr)
            return EXIT_USAGE
        result = audit(namespaces, policies, policy, progress=progress)
        if pods:
            progress.note("analysing who reaches whom")
            result.exposures = audit_exposure.exposure_findings(namespaces, policies, pods)
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


def _pods(cluster: Any) -> list[Any]:
    """The source's pods for the exposure findings; none (with a note) when they cannot be
    listed in time: the rest of the audit does not need them."""
    from webhook.kube.state import ClusterUnavailable

    deadline = time.monotonic() + POD_SYNC_TIMEOUT
    while True:
        try:
            return audit_exposure.pods_of(cluster)
        except ClusterUnavailable as err:
            if time.monotonic() > deadline:
                print(f"netpol-guard audit: exposure not analysed: {err}", file=sys.stderr)
                return []
            time.sleep(0.05)


def _open_cluster(args: argparse.Namespace) -> Any:
    from webhook.kube.cluster import make_cluster, open_synced_cluster

    if args.inventory:
        return make_cluster("inventory", inventory=args.inventory)
    return open_synced_cluster(args.kubeconfig, args.context, timeout=CLUSTER_SYNC_TIMEOUT)
