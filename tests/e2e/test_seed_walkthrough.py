"""The seed walkthrough with the real kubectl, through the real API server, word for word.

Create namespace ``no-ingress-allowed`` (allowed, with the warning and its fix); a pod in it is
refused until ``deny-all-ingress.yaml`` is applied; then both test pods are admitted; the last
default-deny cannot be deleted; deleting the namespace still works.
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.e2e.conftest import Guard
from tests.e2e.webhook import Kubectl

SEED = Path(__file__).parent / "seed"
NAMESPACE = "no-ingress-allowed"
FIX = ("echo '{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: "
       "{name: default-deny-ingress}, spec: {podSelector: {}, policyTypes: [Ingress]}}' "
       f"| kubectl apply -n {NAMESPACE} -f -")
DENIED_POD = (
    'Error from server (Forbidden): error when creating "{file}": admission webhook '
    '"workloads.netpol-guard.io" denied the request: Pod no-ingress-allowed/test-pod-1 '
    "violates 1 rule:")
DD001_POD = (
    "- DD001 missing-default-deny: namespace no-ingress-allowed has no default-deny "
    "NetworkPolicy for Ingress (a policy with podSelector {} that lists Ingress in policyTypes "
    "and has no rules), so pods cannot be created in it until it has one. Fix: " + FIX)


def test_seed_walkthrough(guard: Guard, kubectl: Kubectl) -> None:
    pods = str(SEED / "test-pods.yaml")

    created = kubectl("create", "-f", str(SEED / "namespace.yaml"))
    assert created.returncode == 0, created
    assert created.stderr.splitlines() == [
        f"Warning: DD001 missing-default-deny: namespace {NAMESPACE} has no default-deny "
        "(Ingress); its pods are refused until it has one",
        f"Warning: Fix: {FIX}",
    ]
    assert created.stdout == f"namespace/{NAMESPACE} created\n"
    # What the service-account controller (not running here) does in every new namespace;
    # the ServiceAccount admission plugin refuses pods before the webhook without it.
    kubectl.ok("create", "serviceaccount", "default", "-n", NAMESPACE)

    refused = kubectl("create", "-f", pods)
    assert refused.returncode == 1, refused
    assert refused.stdout == ""
    lines = refused.stderr.splitlines()
    assert lines[0] == DENIED_POD.format(file=pods), refused
    assert lines[1] == DD001_POD, refused
    # both pods refused, each with its own error
    assert sum(line.startswith("Error from server (Forbidden)") for line in lines) == 2

    applied = kubectl("apply", "-f", str(SEED / "deny-all-ingress.yaml"))
    assert (applied.returncode, applied.stderr) == (0, ""), applied
    assert applied.stdout == "networkpolicy.networking.k8s.io/deny-all-ingress created\n"

    # Right away: a deny the watch cache suggests is confirmed live first.
    admitted = kubectl("create", "-f", pods)
    assert (admitted.returncode, admitted.stderr) == (0, ""), admitted
    assert admitted.stdout.splitlines() == ["pod/test-pod-1 created", "pod/test-pod-2 created"]

    kept = kubectl("delete", "networkpolicy", "deny-all-ingress", "-n", NAMESPACE)
    assert kept.returncode == 1, kept
    assert kept.stderr.splitlines() == [
        'Error from server (Forbidden): admission webhook "networkpolicies.netpol-guard.io" '
        "denied the request: NetworkPolicy no-ingress-allowed/deny-all-ingress violates 1 rule:",
        "- DD002 last-default-deny: deleting it would leave namespace no-ingress-allowed "
        "without a default-deny for Ingress (it is the last one). Create another default-deny "
        "first: " + FIX,
    ]
    assert kubectl.ok("get", "networkpolicy", "deny-all-ingress", "-n", NAMESPACE,
                      "-o", "name").stdout == "networkpolicy.networking.k8s.io/deny-all-ingress\n"

    deleted = kubectl("delete", "namespace", NAMESPACE, "--wait=false")
    assert (deleted.returncode, deleted.stderr) == (0, ""), deleted
    assert deleted.stdout == f'namespace "{NAMESPACE}" deleted\n'
    # No namespace controller runs here, so the namespace stays Terminating; a terminating
    # namespace lets its last default-deny go (what the controller would do next).
    terminating = kubectl.ok("get", "namespace", NAMESPACE, "-o", "jsonpath={.status.phase}")
    assert terminating.stdout == "Terminating"
    released = kubectl("delete", "networkpolicy", "deny-all-ingress", "-n", NAMESPACE)
    assert (released.returncode, released.stderr) == (0, ""), released
    _finalize(kubectl)


def _finalize(kubectl: Kubectl) -> None:
    """Finish the deletion as the namespace controller would: pods gone, finalizer removed."""
    kubectl.ok("delete", "pods", "--all", "-n", NAMESPACE, "--grace-period=0", "--force")
    kubectl.ok("replace", "--raw", f"/api/v1/namespaces/{NAMESPACE}/finalize", "-f", "-",
               stdin='{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "'
               + NAMESPACE + '"}, "spec": {"finalizers": []}}')
    deadline = time.monotonic() + 10
    while kubectl("get", "namespace", NAMESPACE).returncode == 0:
        assert time.monotonic() < deadline, "namespace still there"
        time.sleep(0.2)
