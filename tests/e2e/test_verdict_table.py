"""Every rule through the real kubectl and API server: exit code and the lines kubectl prints.

NP001-NP017, DD001-DD005 and CM001, each through the kubectl command a user would run
(create, apply, server-side apply, --dry-run=server, label, patch, delete). A deny prints
``Error from server (Forbidden): ... admission webhook "HOOK" denied the request: KIND NS/NAME
violates N rule(s):`` and one ``- ID name: PATH ...`` line per rule; a warning prints
``Warning: ID name: ...``. The module puts a policy in force (through the policy ConfigMap,
as a user would) that switches on the rules the default leaves quiet: NP014 with a pod CIDR,
NP015 without SCTP, NP017 with an allowance, ``onCreate: deny`` for DD004. DD003 and DD004 are
done as ``alice`` (impersonated; bound to cluster-admin, not a label principal or a creator).
DD005 comes from a second netpol-guard whose credentials cannot read the cluster.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from tests.conftest import ServedWebhook, start_webhook
from tests.e2e.conftest import Guard, apply_policy
from tests.e2e.controlplane import ControlPlane, clean_environment
from tests.e2e.webhook import Kubectl, webhook_configuration

NS = "verdicts-np"
NP017_NS = "verdicts-np17"  # NP017 applies here only (exempt in NS, so other rows stay alone)
FRESH_NS = "verdicts-fresh"
NP_HOOK = "networkpolicies.netpol-guard.io"
FIX = ("echo '{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: "
       "{name: default-deny-ingress}, spec: {podSelector: {}, policyTypes: [Ingress]}}' "
       "| kubectl apply -n {ns} -f -")


def table_policy(base: str) -> str:
    """The chart's policy with the quiet rules switched on."""
    doc = yaml.safe_load(base)
    rules = doc["rules"]
    rules["NP014"] = {"action": "warn", "podCIDRs": ["10.244.0.0/16"], "serviceCIDRs": []}
    rules["NP015"] = {"action": "deny", "allowedProtocols": ["TCP", "UDP"]}
    rules["NP017"] = {"action": "deny", "exemptions": {"namespaces": [NS]},
                      "allow": [{"namespaces": ["verdicts-*"], "peers": ["verdicts-*"]}]}
    doc["defaultDeny"]["onCreate"] = "deny"
    doc["defaultDeny"]["creators"] = {"groups": ["system:masters"]}
    return yaml.safe_dump(doc, sort_keys=False)


def netpol(name: str, spec: dict[str, Any], namespace: str = NS) -> str:
    return json.dumps({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                       "metadata": {"name": name, "namespace": namespace}, "spec": spec})


WEB = {"matchLabels": {"app": "web"}}
FROM_API = [{"podSelector": {"matchLabels": {"app": "api"}}}]
PORT80 = [{"port": 80, "protocol": "TCP"}]
Rule = tuple[str, str, str]  # (rule id, rule name, JSON path the message starts with)


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]
    manifest: str | None
    denies: tuple[Rule, ...] = ()  # the "- ID name: PATH" lines, in kubectl's order
    warns: tuple[Rule, ...] = ()  # the "Warning: ID name: PATH" lines
    hook: str = NP_HOOK
    subject: str = ""  # "NetworkPolicy verdicts-np/NAME"
    stdout: str = ""
    namespace: str = NS

    @property
    def denied(self) -> bool:
        return bool(self.denies)


def np_case(rule: str, spec: dict[str, Any], *, denies: tuple[Rule, ...] = (),
            warns: tuple[Rule, ...] = (), args: tuple[str, ...] = ("create", "-f", "-"),
            namespace: str = NS) -> Case:
    policy = f"np-{rule.lower()}"
    verb = "serverside-applied" if "--server-side" in args else "created"
    if "--dry-run=server" in args:
        verb += " (server dry run)"
    return Case(rule, args, netpol(policy, spec, namespace), denies, warns,
                subject=f"NetworkPolicy {namespace}/{policy}", namespace=namespace,
                stdout="" if denies else f"networkpolicy.networking.k8s.io/{policy} {verb}\n")


NP_CASES = [
    np_case("NP001", {"podSelector": WEB, "ingress": [{"ports": PORT80}]},
            denies=(("NP001", "allow-all-sources", "spec.ingress[0]"),)),
    np_case("NP002", {"podSelector": WEB, "policyTypes": ["Egress"],
                      "egress": [{"ports": PORT80}]},
            denies=(("NP002", "allow-all-destinations", "spec.egress[0]"),
                    ("NP007", "metadata-endpoint", "spec.egress[0]")),
            args=("apply", "-f", "-")),
    np_case("NP003", {"podSelector": WEB, "ingress": [{"from": [{"namespaceSelector": {}}],
                                                       "ports": PORT80}]},
            denies=(("NP003", "cluster-wide-peer",
                     "spec.ingress[0].from[0].namespaceSelector"),),
            args=("apply", "--server-side", "-f", "-")),
    np_case("NP004", {"podSelector": WEB, "ingress": [{"from": [
                {"namespaceSelector": {"matchLabels": {"team": "a"}}}], "ports": PORT80}]},
            warns=(("NP004", "mutable-namespace-label",
                    "spec.ingress[0].from[0].namespaceSelector.matchLabels.team"),)),
    np_case("NP005", {"podSelector": WEB, "ingress": [{"from": [{"ipBlock": {"cidr": "::/0"}}],
                                                       "ports": PORT80}]},
            denies=(("NP005", "world-cidr", "spec.ingress[0].from[0].ipBlock.cidr"),),
            args=("create", "--dry-run=server", "-f", "-")),
    np_case("NP006", {"podSelector": WEB, "ingress": [{"from": [
                {"ipBlock": {"cidr": "172.16.0.0/12"}}], "ports": PORT80}]},
            warns=(("NP006", "broad-cidr", "spec.ingress[0].from[0].ipBlock.cidr"),),
            args=("create", "--dry-run=server", "-f", "-")),
    np_case("NP007", {"podSelector": WEB, "policyTypes": ["Egress"], "egress": [
                {"to": [{"ipBlock": {"cidr": "169.254.169.0/24"}}], "ports": PORT80}]},
            denies=(("NP007", "metadata-endpoint", "spec.egress[0].to[0].ipBlock.cidr"),)),
    np_case("NP008", {"podSelector": WEB, "ingress": [{"from": FROM_API}]},
            denies=(("NP008", "all-ports", "spec.ingress[0]"),)),
    np_case("NP009", {"podSelector": WEB, "ingress": [{"from": FROM_API,
                                                       "ports": [{"protocol": "UDP"}]}]},
            warns=(("NP009", "all-ports-of-protocol", "spec.ingress[0].ports[0]"),)),
    np_case("NP010", {"podSelector": WEB, "ingress": [{"from": FROM_API, "ports": [
                {"port": 1000, "endPort": 2000}]}]},
            warns=(("NP010", "wide-port-range", "spec.ingress[0].ports[0].endPort"),),
            args=("apply", "--server-side", "-f", "-")),
    np_case("NP011", {"podSelector": WEB, "ingress": [{"from": FROM_API,
                                                       "ports": [{"port": "http"}]}]},
            warns=(("NP011", "named-port", "spec.ingress[0].ports[0].port"),)),
    np_case("NP012", {"podSelector": {}, "ingress": [{"from": FROM_API, "ports": PORT80}]},
            warns=(("NP012", "select-all-allow", "spec.podSelector"),)),
    np_case("NP013", {"podSelector": WEB, "policyTypes": ["Egress"],
                      "ingress": [{"from": FROM_API, "ports": PORT80}]},
            denies=(("NP013", "ignored-rules", "spec.ingress"),)),
    np_case("NP014", {"podSelector": WEB, "ingress": [{"from": [
                {"ipBlock": {"cidr": "10.244.1.0/24"}}], "ports": PORT80}]},
            warns=(("NP014", "cluster-cidr-ipblock", "spec.ingress[0].from[0].ipBlock.cidr"),)),
    np_case("NP015", {"podSelector": WEB, "ingress": [{"from": FROM_API, "ports": [
                {"port": 80, "protocol": "SCTP"}]}]},
            denies=(("NP015", "protocol-not-allowed", "spec.ingress[0].ports[0].protocol"),)),
    np_case("NP016", {"podSelector": WEB, "ingress": [{"from": [
                {"namespaceSelector": {"matchLabels": {
                    "kubernetes.io/metadata.name": "verdicts-x"}}},
                {"podSelector": {"matchLabels": {"app": "api"}}}], "ports": PORT80}]},
            warns=(("NP016", "and-or-confusion", "spec.ingress[0].from"),)),
    np_case("NP017", {"podSelector": WEB, "ingress": [{"from": [
                {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "prod"}},
                 "podSelector": {"matchLabels": {"app": "api"}}}], "ports": PORT80}]},
            denies=(("NP017", "cross-namespace-not-allowed",
                     "spec.ingress[0].from[0].namespaceSelector"),),
            namespace=NP017_NS),
]


def assert_printed(case: Case, result: Any) -> None:
    lines = result.stderr.splitlines()
    assert result.returncode == (1 if case.denied else 0), str(result)
    assert result.stdout == case.stdout, str(result)
    warnings = [line for line in lines if line.startswith("Warning: ")]
    expected = [f"Warning: {rule} {name}: {path}" for rule, name, path in case.warns]
    errors = [line for line in lines if not line.startswith("Warning: ")]
    if case.denied:
        count = len(case.denies)
        head = (f'admission webhook "{case.hook}" denied the request: {case.subject} violates '
                f'{count} rule{"s" if count > 1 else ""}:')
        assert errors[0].startswith("Error from server (Forbidden): "), str(result)
        assert errors[0].endswith(head), str(result)
        errors = errors[1:]
        expected += [f"- {rule} {name}: {path}" for rule, name, path in case.denies]
    else:
        assert errors == [], str(result)
    found = warnings + errors
    assert len(found) == len(expected), str(result)
    for line, prefix in zip(found, expected, strict=True):
        assert line.startswith(prefix + " ") or line.startswith(prefix + ":"), \
            f"{line!r} does not start with {prefix!r}\n{result}"


def default_deny(namespace: str) -> str:
    return json.dumps({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                       "metadata": {"name": "default-deny-ingress", "namespace": namespace},
                       "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}})


@pytest.fixture(scope="module")
def table(guard: Guard, kubectl: Kubectl) -> Iterator[Guard]:
    for namespace in (NS, NP017_NS):
        kubectl.ok("create", "namespace", namespace)
        kubectl.ok("apply", "-f", "-", stdin=default_deny(namespace))
    kubectl.ok("create", "clusterrolebinding", "alice-admin", "--clusterrole=cluster-admin",
               "--user=alice")
    base = guard.policy_configmap["data"]["policy.yaml"]
    apply_policy(guard, kubectl, table_policy(base))
    try:
        yield guard
    finally:
        apply_policy(guard, kubectl, base)
        kubectl("delete", "clusterrolebinding", "alice-admin")


@pytest.mark.parametrize("case", NP_CASES, ids=[case.id for case in NP_CASES])
def test_network_policy_rules(table: Guard, kubectl: Kubectl, case: Case) -> None:
    result = kubectl(*case.args, stdin=case.manifest)
    assert_printed(case, result)
    if not case.denied and "--dry-run=server" not in case.args:
        kubectl.ok("delete", "networkpolicy", f"np-{case.id.lower()}", "-n", case.namespace)


def test_label_of_a_warned_policy_prints_its_warning_again(table: Guard,
                                                          kubectl: Kubectl) -> None:
    """kubectl label is an UPDATE: the rules run on the new object."""
    kubectl.ok("create", "-n", NS, "-f", "-", stdin=netpol("named", {
        "podSelector": WEB, "ingress": [{"from": FROM_API, "ports": [{"port": "http"}]}]}))
    result = kubectl("label", "networkpolicy", "named", "-n", NS, "tier=web")
    case = Case("label", (), None, warns=(("NP011", "named-port",
                                           "spec.ingress[0].ports[0].port"),),
                stdout="networkpolicy.networking.k8s.io/named labeled\n")
    assert_printed(case, result)
    kubectl.ok("delete", "networkpolicy", "named", "-n", NS)


def test_patch_that_opens_a_policy_is_refused(table: Guard, kubectl: Kubectl) -> None:
    kubectl.ok("create", "-n", NS, "-f", "-", stdin=netpol("web", {
        "podSelector": WEB, "ingress": [{"from": FROM_API, "ports": PORT80}]}))
    result = kubectl("patch", "networkpolicy", "web", "-n", NS, "--type=json",
                     "-p", '[{"op": "remove", "path": "/spec/ingress/0/from"}]')
    case = Case("patch", (), None, denies=(("NP001", "allow-all-sources", "spec.ingress[0]"),),
                subject=f"NetworkPolicy {NS}/web")
    assert_printed(case, result)
    stored = json.loads(kubectl.ok("get", "networkpolicy", "web", "-n", NS, "-o",
                                   "json").stdout)
    assert stored["spec"]["ingress"][0]["from"] == FROM_API  # unchanged
    kubectl.ok("delete", "networkpolicy", "web", "-n", NS)


def wait_until(predicate: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.1)


def test_dd001_namespace_create_warns_then_pods_and_updates_are_refused(
        table: Guard, kubectl: Kubectl) -> None:
    created = kubectl("create", "namespace", FRESH_NS)
    assert_printed(Case("DD001-create", (), None, warns=(
        ("DD001", "missing-default-deny", f"namespace {FRESH_NS} has no default-deny"),),
        stdout=f"namespace/{FRESH_NS} created\n"), _without_fix(created))
    assert created.stderr.splitlines()[1] == "Warning: Fix: " + FIX.replace("{ns}", FRESH_NS)
    kubectl.ok("create", "serviceaccount", "default", "-n", FRESH_NS)

    pod = kubectl("run", "web", "-n", FRESH_NS, "--image=nginx:1.27")
    assert_printed(Case("DD001-pod", (), None, hook="workloads.netpol-guard.io",
                        subject=f"Pod {FRESH_NS}/web", denies=(
        ("DD001", "missing-default-deny", f"namespace {FRESH_NS} has no default-deny"),)), pod)

    labelled = kubectl("label", "namespace", FRESH_NS, "team=a")
    assert_printed(Case("DD001-label", (), None, hook="namespaces.netpol-guard.io",
                        subject=f"Namespace {FRESH_NS}", denies=(
        ("DD001", "missing-default-deny", f"namespace {FRESH_NS} has no default-deny"),)),
        labelled)


def _without_fix(result: Any) -> Any:
    """The namespace warning's second line is the fix command (checked on its own)."""
    from tests.e2e.webhook import KubectlResult

    lines = [line for line in result.stderr.splitlines() if not line.startswith("Warning: Fix:")]
    return KubectlResult(result.args, result.returncode, result.stdout,
                         "".join(line + "\n" for line in lines))


@pytest.mark.parametrize("command", [
    ("delete", "networkpolicy", "default-deny-ingress", "-n", NS),
    ("patch", "networkpolicy", "default-deny-ingress", "-n", NS, "--type=merge", "-p",
     '{"spec": {"podSelector": {"matchLabels": {"app": "web"}}}}'),
], ids=["delete", "patch"])
def test_dd002_the_last_default_deny_stays(table: Guard, kubectl: Kubectl,
                                           command: tuple[str, ...]) -> None:
    result = kubectl(*command)
    verb = "deleting" if command[0] == "delete" else "this change"
    assert_printed(Case("DD002", (), None, subject=f"NetworkPolicy {NS}/default-deny-ingress",
                        denies=(("DD002", "last-default-deny", verb),)), result)


def test_dd003_only_label_principals_set_the_exemption_label(table: Guard,
                                                             kubectl: Kubectl) -> None:
    result = kubectl("--as=alice", "label", "namespace", NS, "netpol-guard.io/exempt=true")
    assert_printed(Case("DD003", (), None, hook="namespaces.netpol-guard.io",
                        subject=f"Namespace {NS}", denies=(
        ("DD003", "exempt-label-principal", 'this request sets the label '
         f'netpol-guard.io/exempt="true" on namespace {NS}.'),)), result)
    assert "and user alice is not one of them" in result.stderr
    # system:masters is a label principal in the chart's policy
    kubectl.ok("label", "namespace", NS, "netpol-guard.io/exempt=true")
    kubectl.ok("label", "namespace", NS, "netpol-guard.io/exempt-")


def test_dd004_only_creators_create_namespaces_in_on_create_deny_mode(
        table: Guard, kubectl: Kubectl) -> None:
    result = kubectl("--as=alice", "create", "namespace", "verdicts-alice")
    assert_printed(Case("DD004", (), None, hook="namespaces.netpol-guard.io",
                        subject="Namespace verdicts-alice", denies=(
        ("DD004", "namespace-create-restricted", "namespaces are created only by platform "
         "automation here (defaultDeny.onCreate: deny), and user alice is not one of "
         "defaultDeny.creators."),)), result)


def test_cm001_a_broken_policy_configmap_is_refused(table: Guard, kubectl: Kubectl) -> None:
    from tests.e2e.conftest import policy_configmap_with

    broken = policy_configmap_with(table, "apiVersion: netpol-guard.io/v1\nkind: Policy\n"
                                          "rules:\n  NP001: {action: maybe}\n")
    digests = table.policy_digests()
    result = kubectl("apply", "-f", "-", stdin=json.dumps(broken))
    assert result.returncode == 1, str(result)
    # kubectl apply prints the patch it tried before the webhook's words
    assert ('for: "STDIN": error when patching "STDIN": admission webhook '
            '"policy-configmap.netpol-guard.io" denied the request: ConfigMap '
            'netpol-guard/netpol-guard-policy violates 1 rule:\n'
            "- CM001 invalid-policy: data.policy.yaml is not a valid netpol-guard policy "
            "(1 problem); the webhook would keep its last good policy. Fix the document "
            "(check it with `netpol-guard policy validate FILE`):\n"
            "  * rules.NP001.action (line 4): 'maybe' is not one of "
            "['deny', 'warn', 'audit', 'off']\n") in result.stderr, str(result)
    time.sleep(1.5)  # longer than the policy poll: nothing changed
    assert table.policy_digests() == digests


DD005_NS = "verdicts-dd005"
DD005_LABEL = "e2e.netpol-guard.io/dd005"


@pytest.fixture(scope="module")
def blind_guard(control_plane: ControlPlane, kubectl: Kubectl, dev_certs: Any,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedWebhook]:
    """A second netpol-guard (packaged policy, clusterUnavailable: deny) whose user has no
    RBAC rights, so it can never read the cluster; registered with the chart's workloads
    webhook only, for namespaces labelled DD005_LABEL=true."""
    workdir = tmp_path_factory.mktemp("blind")
    served = start_webhook(workdir, dev_certs, "--cluster-source", "kubernetes",
                           "--kubeconfig", str(control_plane.kubeconfig_for("nobody")),
                           "--workers", "1", "--graceful-timeout", "2",
                           env=clean_environment(), wait_ready=False)
    configuration = webhook_configuration(served.port, dev_certs.ca_cert, {"webhooks": {
        "namespaceSelectorExpressions": [
            {"key": DD005_LABEL, "operator": "In", "values": ["true"]}],
        "networkPolicies": {"enabled": False}, "namespaces": {"enabled": False},
        "policyConfigMap": {"enabled": False}}})
    configuration["metadata"]["name"] = "netpol-guard-blind"
    try:
        kubectl.ok("apply", "-f", "-", stdin=json.dumps(configuration))
        yield served
    finally:
        kubectl("delete", "validatingwebhookconfiguration", "netpol-guard-blind")
        served.stop()


def test_dd005_a_webhook_that_cannot_read_the_cluster_refuses(
        table: Guard, blind_guard: ServedWebhook, kubectl: Kubectl) -> None:
    kubectl.ok("create", "namespace", DD005_NS)
    kubectl.ok("apply", "-f", "-", stdin=default_deny(DD005_NS))
    kubectl.ok("label", "namespace", DD005_NS, f"{DD005_LABEL}=true")
    kubectl.ok("create", "serviceaccount", "default", "-n", DD005_NS)
    # the API server picks a new webhook configuration up asynchronously
    wait_until(lambda: "DD005" in kubectl("run", "probe", "-n", DD005_NS, "--image=x",
                                          "--dry-run=server").stderr)
    case = Case("DD005", (), None, hook="workloads.netpol-guard.io",
                subject=f"Pod {DD005_NS}/web", denies=(
                    ("DD005", "cluster-state-unavailable",
                     "cluster state unavailable: the Kubernetes API cannot be read, so the "
                     f"default-deny of namespace {DD005_NS} cannot be checked "
                     "(clusterUnavailable: deny)."),))
    result = kubectl("run", "web", "-n", DD005_NS, "--image=nginx:1.27")
    # the session's netpol-guard admits it (the namespace is compliant); the blind one cannot
    # tell, and clusterUnavailable: deny refuses
    assert_printed(case, result)
