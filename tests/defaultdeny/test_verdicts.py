"""Every row of DESIGN.md §3's verdict table, over the real AdmissionReview fixtures.

Each case takes a captured request (optionally edited: another user, another namespace, a
label), a cluster snapshot and a policy, and asserts the verdict (allowed / warned / denied),
the rule ids and the words the user reads. The fixtures' user is kubernetes-admin in
system:masters; cases about unprivileged users swap in ``alice``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import yaml

from tests.conftest import admission_fixture_names, load_review
from webhook.admission.decision import Decision
from webhook.admission.request import AdmissionRequest, UserInfo
from webhook.admission.wire import parse_review
from webhook.engine.defaultdeny import fix_command
from webhook.engine.dispatch import UNAVAILABLE, ClusterSnapshot, evaluate
from webhook.engine.networkpolicy import check_network_policy
from webhook.kube.inventory import InventoryCluster
from webhook.kube.state import ClusterUnavailable
from webhook.observe.metrics import LIVE_CONFIRMS
from webhook.policy.loader import default_policy, load_policy_text
from webhook.policy.model import EXEMPT_LABEL, Policy
from webhook.serving.review import review_request

Review = dict[str, Any]
Edit = Callable[[Review], None]

ALICE = {"username": "alice", "groups": ["developers", "system:authenticated"]}

TEAM_A: dict[str, Any] = load_review("namespace-create")["request"]["object"]
DENY_INGRESS: dict[str, Any] = load_review(
    "networkpolicy-delete-default-deny-ingress")["request"]["oldObject"]
DENY_ALL: dict[str, Any] = load_review("networkpolicy-create-default-deny-all")["request"]["object"]
ALLOW_ALL_INGRESS: dict[str, Any] = load_review(
    "networkpolicy-create-allow-all-ingress")["request"]["object"]
ALLOW_FRONTEND: dict[str, Any] = load_review(
    "networkpolicy-create-apply-allow-frontend")["request"]["object"]


def namespace(labels: dict[str, str] | None = None, terminating: bool = False,
              name: str = "team-a") -> dict[str, Any]:
    obj = copy.deepcopy(TEAM_A)
    obj["metadata"]["name"] = name
    obj["metadata"]["labels"] = {"kubernetes.io/metadata.name": name, **(labels or {})}
    if terminating:
        obj["metadata"]["deletionTimestamp"] = "2026-11-26T03:53:56Z"
        obj["status"] = {"phase": "Terminating"}
    return obj


WITHOUT_DENY = ClusterSnapshot(namespace=namespace())
COMPLIANT = ClusterSnapshot(namespace=namespace(), network_policies=(DENY_INGRESS,))
COMPLIANT_TWICE = ClusterSnapshot(namespace=namespace(),
                                  network_policies=(DENY_INGRESS, DENY_ALL))
CANCELLED = ClusterSnapshot(namespace=namespace(),
                            network_policies=(DENY_INGRESS, ALLOW_ALL_INGRESS))
TERMINATING = ClusterSnapshot(namespace=namespace(terminating=True))
TERMINATING_WITH_DENY = ClusterSnapshot(namespace=namespace(terminating=True),
                                        network_policies=(DENY_INGRESS,))
EXEMPT_LABELLED = ClusterSnapshot(namespace=namespace({EXEMPT_LABEL: "true"}))
EXEMPT_LABELLED_WITH_DENY = ClusterSnapshot(namespace=namespace({EXEMPT_LABEL: "true"}),
                                            network_policies=(DENY_INGRESS,))
UNKNOWN = ClusterSnapshot(namespace=None)
NONE = ClusterSnapshot()


def policy_text(extra: str) -> Policy:
    return load_policy_text("apiVersion: netpol-guard.io/v1\nkind: Policy\n" + extra)


DEFAULT = default_policy()
ON_CREATE_DENY = policy_text("""
defaultDeny:
  onCreate: deny
  creators: {serviceAccounts: ["platform/namespace-operator"]}
  labelPrincipals: {groups: [system:masters]}
""")
WARN_ONLY = policy_text("""
defaultDeny: {workloads: warn, namespaceUpdates: warn, lastDeny: warn}
""")
WORKLOADS_OFF = policy_text("defaultDeny: {workloads: \"off\"}\n")
INGRESS_AND_EGRESS = policy_text("defaultDeny: {directions: [Ingress, Egress]}\n")
ALICE_EXEMPT = policy_text("exemptions: {principals: {users: [alice]}}\n")
SANDBOX_EXEMPT = policy_text("exemptions: {namespaces: [team-*]}\n")
ALLOW_WHEN_UNAVAILABLE = policy_text("clusterUnavailable: allow\n")


# --- edits of the captured requests -----------------------------------------------------------

def as_alice(review: Review) -> None:
    review["request"]["userInfo"] = copy.deepcopy(ALICE)


def as_service_account(name: str) -> Edit:
    def edit(review: Review) -> None:
        namespace_name, _, account = name.partition("/")
        review["request"]["userInfo"] = {
            "username": f"system:serviceaccount:{namespace_name}:{account}",
            "groups": ["system:serviceaccounts", "system:authenticated"]}
    return edit


def set_label(key: str, value: str | None, *, old: bool = False) -> Edit:
    def edit(review: Review) -> None:
        target = review["request"]["oldObject" if old else "object"]
        labels = target["metadata"].setdefault("labels", {})
        if value is None:
            labels.pop(key, None)
        else:
            labels[key] = value
    return edit


def in_namespace(name: str) -> Edit:
    def edit(review: Review) -> None:
        request = review["request"]
        request["namespace"] = name
        for key in ("object", "oldObject"):
            if request.get(key):
                request[key]["metadata"]["namespace"] = name
    return edit


def namespace_named(name: str) -> Edit:
    """Make a Namespace request about the namespace ``name``."""
    def edit(review: Review) -> None:
        request = review["request"]
        request["namespace"] = request["name"] = name
        for key in ("object", "oldObject"):
            if request.get(key):
                request[key]["metadata"]["name"] = name
                request[key]["metadata"]["labels"]["kubernetes.io/metadata.name"] = name
    return edit


def policy_yaml(text: str) -> Edit:
    def edit(review: Review) -> None:
        review["request"]["object"]["data"]["policy.yaml"] = text
    return edit


def rename(name: str) -> Edit:
    def edit(review: Review) -> None:
        review["request"]["name"] = name
        review["request"]["object"]["metadata"]["name"] = name
    return edit


def update_of(old: dict[str, Any], new_spec: dict[str, Any]) -> Edit:
    """Turn a request into an UPDATE of ``old`` whose new spec is ``new_spec``."""
    def edit(review: Review) -> None:
        request = review["request"]
        request["operation"] = "UPDATE"
        request["name"] = old["metadata"]["name"]
        request["oldObject"] = copy.deepcopy(old)
        request["object"] = copy.deepcopy(old)
        request["object"]["spec"] = new_spec
    return edit


def both(*edits: Edit) -> Edit:
    def edit(review: Review) -> None:
        for one in edits:
            one(review)
    return edit


INVALID_POLICY_YAML = """apiVersion: netpol-guard.io/v1
kind: Policy
rules:
  NP006: {action: explode}
clusterUnavailable: maybe
"""


# --- the table --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    name: str
    fixture: str
    verdict: str  # allowed | warned | denied
    snapshot: ClusterSnapshot = NONE
    policy: Policy = DEFAULT
    edit: Edit | None = None
    rules: tuple[str, ...] = ()  # rule ids that must be in the decision (deny or warn)
    says: tuple[str, ...] = ()  # substrings of the message (denied) or the warnings (warned)
    from_state: bool | None = None  # expected Evaluation.depends_on_state, when it matters
    absent_rules: tuple[str, ...] = field(default=())


WORKLOAD_FIXTURES = {
    "Pod": "pod-create-kubectl-run",
    "Deployment": "deployment-create",
    "StatefulSet": "statefulset-create",
    "DaemonSet": "daemonset-create",
    "ReplicaSet": "replicaset-create",
    "Job": "job-create",
    "CronJob": "cronjob-create",
    "ReplicationController": "replicationcontroller-create",
}

CASES: list[Case] = [
    # Namespace CREATE
    Case("namespace create warns with the fix", "namespace-create", "warned",
         says=("DD001 missing-default-deny", "namespace team-a",
               "kubectl apply -n team-a -f -")),
    Case("v1beta1 namespace create warns with the fix", "namespace-create-v1beta1", "warned",
         says=("DD001", "kubectl apply -n team-v1beta1 -f -")),
    Case("dry-run namespace create warns the same", "namespace-create-dryrun-server", "warned",
         says=("DD001", "kubectl apply -n team-dryrun -f -")),
    Case("namespace create with workloads warn does not claim pods are refused",
         "namespace-create", "warned", policy=WARN_ONLY,
         says=("add one with the command below", "kubectl apply -n team-a -f -")),
    Case("webhook's own namespace create allowed without warning",
         "namespace-create-netpol-guard", "allowed"),
    Case("namespace create with exempt label by non-admin denied", "namespace-create",
         "denied", edit=both(as_alice, set_label(EXEMPT_LABEL, "true")), rules=("DD003",),
         says=("DD003 exempt-label-principal", EXEMPT_LABEL, "user alice is not",
               "labelPrincipals"),
         from_state=False),
    Case("namespace create with exempt label by admin allowed without warning",
         "namespace-create", "allowed", edit=set_label(EXEMPT_LABEL, "true")),
    Case("onCreate deny: namespace create by a developer denied", "namespace-create",
         "denied", policy=ON_CREATE_DENY, edit=as_alice, rules=("DD004",),
         says=("DD004 namespace-create-restricted", "onCreate", "alice")),
    Case("onCreate deny: namespace create by the creator allowed with the fix",
         "namespace-create", "warned", policy=ON_CREATE_DENY,
         edit=as_service_account("platform/namespace-operator"),
         says=("kubectl apply -n team-a -f -",)),
    Case("onCreate deny: exempt namespace create by anyone allowed",
         "namespace-create-netpol-guard", "allowed", policy=ON_CREATE_DENY, edit=as_alice),
    # Namespace UPDATE
    Case("label on namespace without default-deny denied", "namespace-update-label", "denied",
         snapshot=WITHOUT_DENY, rules=("DD001",),
         says=("Namespace team-a violates", "DD001 missing-default-deny",
               "no default-deny NetworkPolicy for Ingress", "kubectl apply -n team-a -f -"),
         from_state=True),
    Case("annotate on namespace without default-deny denied", "namespace-update-annotate",
         "denied", snapshot=WITHOUT_DENY, rules=("DD001",)),
    Case("server-side apply on namespace without default-deny denied",
         "namespace-update-server-side-apply", "denied", snapshot=WITHOUT_DENY,
         rules=("DD001",)),
    Case("label on compliant namespace allowed", "namespace-update-label", "allowed",
         snapshot=COMPLIANT),
    Case("label on namespace whose default-deny is cancelled by allow-all denied",
         "namespace-update-label", "denied", snapshot=CANCELLED, rules=("DD001",)),
    Case("update of terminating namespace allowed", "namespace-update-label-terminating",
         "allowed", snapshot=WITHOUT_DENY),
    Case("update of kube-system allowed", "namespace-update-label", "allowed",
         snapshot=WITHOUT_DENY, edit=namespace_named("kube-system")),
    Case("namespaceUpdates warn: label on namespace without default-deny warned",
         "namespace-update-label", "warned", snapshot=WITHOUT_DENY, policy=WARN_ONLY,
         says=("DD001",)),
    Case("exempt label set by non-admin denied", "namespace-update-label", "denied",
         snapshot=COMPLIANT, edit=both(as_alice, set_label(EXEMPT_LABEL, "true")),
         rules=("DD003",), says=(f'sets the label {EXEMPT_LABEL}="true"',), from_state=False),
    Case("exempt label removed by non-admin denied", "namespace-update-label", "denied",
         snapshot=COMPLIANT,
         edit=both(as_alice, set_label(EXEMPT_LABEL, "true", old=True)),
         rules=("DD003",), says=(f"removes the label {EXEMPT_LABEL}",)),
    Case("exempt label changed by non-admin denied", "namespace-update-label", "denied",
         snapshot=COMPLIANT, edit=both(as_alice, set_label(EXEMPT_LABEL, "false", old=True),
                                       set_label(EXEMPT_LABEL, "true")),
         rules=("DD003",), says=("changes the label",)),
    Case("exempt label set by admin on namespace without default-deny allowed",
         "namespace-update-label", "allowed", snapshot=WITHOUT_DENY,
         edit=set_label(EXEMPT_LABEL, "true")),
    Case("non-admin label change on an exempt namespace allowed", "namespace-update-label",
         "allowed", snapshot=WITHOUT_DENY,
         edit=both(as_alice, set_label(EXEMPT_LABEL, "true", old=True),
                   set_label(EXEMPT_LABEL, "true"))),
    # Namespace DELETE
    Case("namespace delete allowed", "namespace-delete", "allowed", snapshot=WITHOUT_DENY),
    # NetworkPolicy CREATE/UPDATE: least-privilege rules
    Case("default-deny create allowed", "networkpolicy-create-default-deny-ingress-apply",
         "allowed"),
    Case("allow-all ingress create denied by the least-privilege rules",
         "networkpolicy-create-allow-all-ingress", "denied", rules=("NP001",),
         from_state=False),
    # NetworkPolicy UPDATE/DELETE: the last deny
    Case("delete of last default-deny denied", "networkpolicy-delete-default-deny-ingress",
         "denied", snapshot=COMPLIANT, rules=("DD002",),
         says=("DD002 last-default-deny", "deleting it would leave namespace team-a without a "
               "default-deny for Ingress", "kubectl apply -n team-a -f -"), from_state=True),
    Case("delete of last default-deny missing from a stale cache denied",
         "networkpolicy-delete-default-deny-ingress", "denied", snapshot=WITHOUT_DENY,
         rules=("DD002",)),
    Case("delete of a default-deny with another left allowed",
         "networkpolicy-delete-default-deny-ingress", "allowed", snapshot=COMPLIANT_TWICE),
    Case("delete in terminating namespace allowed", "networkpolicy-delete-default-deny-ingress",
         "allowed", snapshot=TERMINATING_WITH_DENY),
    Case("delete in exempt-labelled namespace allowed",
         "networkpolicy-delete-default-deny-ingress", "allowed",
         snapshot=EXEMPT_LABELLED_WITH_DENY),
    Case("delete in unknown kube-system allowed", "networkpolicy-delete-default-deny-ingress",
         "allowed", snapshot=UNKNOWN, edit=in_namespace("kube-system")),
    Case("delete of last default-deny in unknown protected namespace denied",
         "networkpolicy-delete-default-deny-ingress", "denied",
         snapshot=ClusterSnapshot(namespace=None, network_policies=(DENY_INGRESS,)),
         rules=("DD002",)),
    Case("lastDeny warn: delete of last default-deny warned",
         "networkpolicy-delete-default-deny-ingress", "warned", snapshot=COMPLIANT,
         policy=WARN_ONLY, says=("DD002",)),
    Case("delete of another policy in a namespace without default-deny allowed",
         "networkpolicy-delete-default-deny-ingress", "allowed", snapshot=WITHOUT_DENY,
         edit=lambda r: r["request"].update(
             name="allow-frontend-to-api", oldObject=copy.deepcopy(ALLOW_FRONTEND))),
    Case("update that turns the last default-deny into an allow denied",
         "networkpolicy-delete-default-deny-ingress", "denied", snapshot=COMPLIANT,
         edit=update_of(DENY_INGRESS, {
             "podSelector": {}, "policyTypes": ["Ingress"],
             "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}],
                          "ports": [{"protocol": "TCP", "port": 8080}]}]}),
         rules=("DD002",), says=("this change would leave namespace team-a",)),
    Case("update that keeps the default-deny allowed",
         "networkpolicy-delete-default-deny-ingress", "allowed", snapshot=COMPLIANT,
         edit=update_of(DENY_INGRESS, {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})),
    Case("update of another policy in a compliant namespace keeps its rule checks",
         "networkpolicy-update-apply-add-port", "allowed",
         snapshot=ClusterSnapshot(namespace=namespace(),
                                  network_policies=(DENY_INGRESS, ALLOW_FRONTEND)),
         absent_rules=("DD002",)),
    # Pods and workloads
    *[Case(f"{kind} in namespace without default-deny denied", fixture, "denied",
           snapshot=WITHOUT_DENY, rules=("DD001",),
           says=(f"{kind} team-a/", "DD001 missing-default-deny", "cannot be created",
                 "kubectl apply -n team-a -f -"), from_state=True)
      for kind, fixture in WORKLOAD_FIXTURES.items()],
    *[Case(f"{kind} in compliant namespace allowed", fixture, "allowed", snapshot=COMPLIANT)
      for kind, fixture in WORKLOAD_FIXTURES.items()],
    Case("pod in namespace whose default-deny is cancelled by allow-all denied",
         "pod-create-kubectl-run", "denied", snapshot=CANCELLED, rules=("DD001",)),
    Case("pod in terminating namespace allowed", "pod-create-kubectl-run", "allowed",
         snapshot=TERMINATING),
    Case("kube-system pod allowed", "pod-create-kubectl-run", "allowed", snapshot=UNKNOWN,
         edit=in_namespace("kube-system")),
    Case("pod in exempt-labelled namespace allowed", "pod-create-kubectl-run", "allowed",
         snapshot=EXEMPT_LABELLED),
    Case("pod in a namespace unknown to the cache judged by name and denied",
         "pod-create-kubectl-run", "denied", snapshot=UNKNOWN, rules=("DD001",)),
    Case("workloads warn: pod in namespace without default-deny warned",
         "pod-create-kubectl-run", "warned", snapshot=WITHOUT_DENY, policy=WARN_ONLY,
         says=("DD001",)),
    Case("pod where egress is required but only ingress denied", "pod-create-kubectl-run",
         "denied", snapshot=COMPLIANT, policy=INGRESS_AND_EGRESS, rules=("DD001",),
         says=("for Egress", "policyTypes: [Egress]")),
    Case("pod where ingress and egress are required and denied allowed",
         "pod-create-kubectl-run", "allowed", policy=INGRESS_AND_EGRESS,
         snapshot=ClusterSnapshot(namespace=namespace(), network_policies=(DENY_ALL,))),
    # Global exemptions
    Case("pod by a globally exempt principal allowed", "pod-create-kubectl-run", "allowed",
         snapshot=WITHOUT_DENY, policy=ALICE_EXEMPT, edit=as_alice),
    Case("exempt label set by a globally exempt principal allowed", "namespace-update-label",
         "allowed", snapshot=COMPLIANT, policy=ALICE_EXEMPT,
         edit=both(as_alice, set_label(EXEMPT_LABEL, "true"))),
    Case("pod in a globally exempt namespace allowed", "pod-create-kubectl-run", "allowed",
         snapshot=WITHOUT_DENY, policy=SANDBOX_EXEMPT),
    # The policy ConfigMap
    Case("configmap with valid policy allowed", "configmap-create-netpol-guard-policy",
         "allowed"),
    Case("configmap update with valid policy allowed",
         "configmap-update-replace-netpol-guard-policy", "allowed"),
    Case("configmap with invalid policy denied", "configmap-create-netpol-guard-policy",
         "denied", edit=policy_yaml(INVALID_POLICY_YAML), rules=("CM001",),
         says=("CM001 invalid-policy", "data.policy.yaml", "rules.NP006.action", "line 4",
               "clusterUnavailable"), from_state=False),
    Case("configmap update with invalid policy denied",
         "configmap-update-replace-netpol-guard-policy", "denied",
         edit=policy_yaml("apiVersion: netpol-guard.io/v1\nkind: Policy\nrules: [\n"),
         rules=("CM001",)),
    Case("configmap labelled as the policy with invalid policy denied",
         "configmap-create-netpol-guard-policy", "denied",
         edit=both(rename("custom-policy"), set_label("netpol-guard.io/policy", "true"),
                   policy_yaml(INVALID_POLICY_YAML)), rules=("CM001",)),
    Case("policy configmap without policy.yaml denied", "configmap-create-netpol-guard-policy",
         "denied", edit=lambda r: r["request"]["object"].update(data={"other": "x"}),
         rules=("CM001",), says=("data.policy.yaml is missing",)),
    Case("other configmap allowed", "configmap-create-netpol-guard-policy", "allowed",
         edit=both(rename("app-settings"), policy_yaml(INVALID_POLICY_YAML))),
    # Cluster state unavailable: state-dependent checks follow clusterUnavailable
    Case("pod with cluster state unavailable denied", "pod-create-kubectl-run", "denied",
         snapshot=UNAVAILABLE, rules=("DD005",),
         says=("cluster state unavailable", "clusterUnavailable: deny"), from_state=True),
    Case("pod with cluster state unavailable allowed with a warning", "pod-create-kubectl-run",
         "warned", snapshot=UNAVAILABLE, policy=ALLOW_WHEN_UNAVAILABLE,
         says=("DD005 cluster-state-unavailable",)),
    Case("delete of a default-deny with cluster state unavailable denied",
         "networkpolicy-delete-default-deny-ingress", "denied", snapshot=UNAVAILABLE,
         rules=("DD005",)),
    Case("namespace label with cluster state unavailable denied", "namespace-update-label",
         "denied", snapshot=UNAVAILABLE, rules=("DD005",)),
    Case("networkpolicy create with cluster state unavailable still checked",
         "networkpolicy-create-allow-all-ingress", "denied", snapshot=UNAVAILABLE,
         policy=ALLOW_WHEN_UNAVAILABLE, rules=("NP001",), from_state=False),
    Case("workloads warn: pod with cluster state unavailable only warned",
         "pod-create-kubectl-run", "warned", snapshot=UNAVAILABLE, policy=WARN_ONLY,
         says=("DD005",)),
    Case("workloads off: pod with cluster state unavailable allowed", "pod-create-kubectl-run",
         "allowed", snapshot=UNAVAILABLE, policy=WORKLOADS_OFF),
    Case("workloads off: pod in namespace without default-deny allowed",
         "pod-create-kubectl-run", "allowed", snapshot=WITHOUT_DENY, policy=WORKLOADS_OFF),
    Case("kube-system pod with cluster state unavailable allowed", "pod-create-kubectl-run",
         "allowed", snapshot=UNAVAILABLE, edit=in_namespace("kube-system")),
    Case("exempt label by non-admin with cluster state unavailable denied",
         "namespace-update-label", "denied", snapshot=UNAVAILABLE, policy=ALLOW_WHEN_UNAVAILABLE,
         edit=both(as_alice, set_label(EXEMPT_LABEL, "true")), rules=("DD003",)),
]


def request_for(case: Case) -> AdmissionRequest:
    review = load_review(case.fixture)
    if case.edit is not None:
        case.edit(review)
    return parse_review(json.dumps(review).encode())[1]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_verdict(case: Case) -> None:
    evaluation = evaluate(request_for(case), case.policy, case.snapshot)
    decision = evaluation.decision
    assert decision.verdict == case.verdict, (decision.message, decision.warnings)
    fired = {v.rule_id for v in decision.violations} | {
        w.split(" ", 1)[0] for w in decision.warnings}
    for rule_id in case.rules:
        assert rule_id in fired
    for rule_id in case.absent_rules:
        assert rule_id not in fired
    text = decision.message if case.verdict == "denied" else "\n".join(decision.warnings)
    for words in case.says:
        assert words in text
    if case.from_state is not None:
        assert evaluation.depends_on_state is case.from_state
    if not decision.allowed:
        assert decision.code == 403


def test_every_design_row_has_allowed_and_refused_cases() -> None:
    kinds: dict[str, set[str]] = {}
    for case in CASES:
        kinds.setdefault(request_for(case).kind, set()).add(case.verdict)
    for kind in ("Namespace", "NetworkPolicy", "ConfigMap", *WORKLOAD_FIXTURES):
        assert {"allowed", "denied"} <= kinds[kind], kind


def test_namespace_create_warnings_fit_and_the_fix_works() -> None:
    decision = evaluate(request_for(CASES[0]), DEFAULT, NONE).decision
    summary, fix = decision.warnings
    assert len(summary) <= 120
    assert len(fix) <= 256  # the API server truncates longer warnings
    assert fix == f"Fix: {fix_command('team-a', ('Ingress',))}"
    manifest = yaml.safe_load(fix.split("'")[1])
    # The manifest the fix applies is itself a default-deny that passes every rule.
    assert check_network_policy(manifest, DEFAULT, UserInfo("kubernetes-admin"), "team-a") == []
    pod = request_for(Case("", "pod-create-kubectl-run", "allowed"))
    fixed = ClusterSnapshot(namespace=namespace(), network_policies=(manifest,))
    assert evaluate(pod, DEFAULT, fixed).decision.allowed


def test_fix_for_both_directions_fits_with_the_longest_namespace_name() -> None:
    name = "n" * 63
    command = fix_command(name, ("Ingress", "Egress"))
    assert len(f"Fix: {command}") <= 256
    manifest = yaml.safe_load(command.split("'")[1])
    assert manifest["spec"]["policyTypes"] == ["Ingress", "Egress"]


# --- dry-run and retries get the same verdict ---------------------------------------------------

SNAPSHOTS = {"without-deny": WITHOUT_DENY, "compliant": COMPLIANT, "unavailable": UNAVAILABLE}


@pytest.mark.parametrize("snapshot", SNAPSHOTS.values(), ids=SNAPSHOTS.keys())
@pytest.mark.parametrize("fixture", admission_fixture_names())
def test_dry_run_gets_same_verdict(fixture: str, snapshot: ClusterSnapshot) -> None:
    def decide(dry_run: bool, uid: str) -> Decision:
        review = load_review(fixture)
        review["request"]["dryRun"] = dry_run
        review["request"]["uid"] = uid
        return evaluate(parse_review(json.dumps(review).encode())[1], DEFAULT, snapshot).decision

    first = decide(False, "uid-1")
    assert decide(True, "uid-2") == first
    assert decide(False, "uid-3") == first  # one kubectl delete can send 2-3 reviews


# --- review_request: cache, live confirmation, unavailable cluster ------------------------------

class FakeCluster:
    """A ClusterState whose cache and live answers are set by the test."""

    def __init__(self, cached: list[dict[str, Any]], live: list[dict[str, Any]] | None,
                 ready: bool = True) -> None:
        self.cached, self.live, self.ready = cached, live, ready
        self.live_reads = 0

    def is_ready(self) -> bool:
        return self.ready

    def get_namespace(self, name: str, *, live: bool = False) -> dict[str, Any] | None:
        if live:
            self._live()
        return namespace(name=name)

    def list_network_policies(self, namespace: str, *, live: bool = False) -> list[dict[str, Any]]:
        return list(self._live() if live else self.cached)

    def _live(self) -> list[dict[str, Any]]:
        self.live_reads += 1
        if self.live is None:
            raise ClusterUnavailable("connection refused")
        return self.live


def confirms(outcome: str) -> float:
    return LIVE_CONFIRMS.labels(outcome)._value.get()  # type: ignore[no-any-return]


def pod() -> AdmissionRequest:
    return request_for(Case("", "pod-create-kubectl-run", "allowed"))


def test_stale_cache_deny_is_overturned_by_the_live_read() -> None:
    cluster = FakeCluster(cached=[], live=[DENY_INGRESS])
    before = confirms("overturned")
    decision = review_request(pod(), DEFAULT, cluster)  # type: ignore[arg-type]
    assert decision.allowed and not decision.warnings
    assert confirms("overturned") == before + 1


def test_cached_deny_is_confirmed_by_the_live_read() -> None:
    cluster = FakeCluster(cached=[], live=[])
    before = confirms("confirmed")
    decision = review_request(pod(), DEFAULT, cluster)  # type: ignore[arg-type]
    assert not decision.allowed and "DD001" in decision.message
    assert confirms("confirmed") == before + 1


def test_allow_from_the_cache_needs_no_live_read() -> None:
    cluster = FakeCluster(cached=[DENY_INGRESS], live=None)
    assert review_request(pod(), DEFAULT, cluster).allowed  # type: ignore[arg-type]
    assert cluster.live_reads == 0


def test_networkpolicy_create_reads_no_cluster_state() -> None:
    cluster = FakeCluster(cached=[], live=None, ready=False)
    request = request_for(Case("", "networkpolicy-create-default-deny-all", "allowed"))
    assert review_request(request, DEFAULT, cluster).allowed  # type: ignore[arg-type]
    assert cluster.live_reads == 0


@pytest.mark.parametrize(("policy", "verdict", "says"), [
    (DEFAULT, "denied", "DD001 missing-default-deny"),
    (ALLOW_WHEN_UNAVAILABLE, "warned", "DD005 cluster-state-unavailable"),
])
def test_live_read_failing_follows_cluster_unavailable(policy: Policy, verdict: str,
                                                       says: str) -> None:
    cluster = FakeCluster(cached=[], live=None)
    before = confirms("unavailable")
    decision = review_request(pod(), policy, cluster)  # type: ignore[arg-type]
    assert decision.verdict == verdict
    assert says in (decision.message + "\n".join(decision.warnings))
    assert confirms("unavailable") == before + 1


def test_cache_not_ready_uses_the_live_read_to_confirm() -> None:
    cluster = FakeCluster(cached=[], live=[DENY_INGRESS], ready=False)
    assert review_request(pod(), DEFAULT, cluster).allowed  # type: ignore[arg-type]


@pytest.mark.parametrize(("policy", "verdict"), [(DEFAULT, "denied"),
                                                 (ALLOW_WHEN_UNAVAILABLE, "warned")])
def test_no_cluster_at_all_follows_cluster_unavailable(policy: Policy, verdict: str) -> None:
    decision = review_request(pod(), policy, None)
    assert decision.verdict == verdict
    assert "cluster state unavailable" in (decision.message + "\n".join(decision.warnings))


def test_inventory_live_read_sees_a_manifest_written_after_start(tmp_path: Any) -> None:
    cluster = InventoryCluster(tmp_path)
    assert not review_request(pod(), DEFAULT, cluster).allowed
    (tmp_path / "deny.yaml").write_text(yaml.safe_dump(DENY_INGRESS))
    assert review_request(pod(), DEFAULT, cluster).allowed


def delete_default_deny_ingress() -> AdmissionRequest:
    return request_for(Case("", "networkpolicy-delete-default-deny-ingress", "denied"))


def test_deleting_a_default_deny_the_cache_says_is_not_the_last_is_rechecked_live() -> None:
    # kubectl delete networkpolicy --all: default-deny-all went a moment ago, the cache lags.
    cluster = FakeCluster(cached=[DENY_INGRESS, DENY_ALL], live=[DENY_INGRESS])
    decision = review_request(delete_default_deny_ingress(), DEFAULT, cluster)  # type: ignore[arg-type]
    assert not decision.allowed and "DD002" in decision.message
    assert cluster.live_reads > 0


def test_allow_recheck_keeps_the_cache_answer_when_the_api_is_down() -> None:
    cluster = FakeCluster(cached=[DENY_INGRESS, DENY_ALL], live=None)
    assert review_request(delete_default_deny_ingress(), DEFAULT, cluster).allowed  # type: ignore[arg-type]


def test_deleting_a_policy_that_is_no_default_deny_needs_no_live_read() -> None:
    cluster = FakeCluster(cached=[DENY_INGRESS, ALLOW_FRONTEND], live=None)
    review = load_review("networkpolicy-delete-default-deny-ingress")
    review["request"].update(name="allow-frontend-to-api", oldObject=copy.deepcopy(ALLOW_FRONTEND))
    request = parse_review(json.dumps(review).encode())[1]
    assert review_request(request, DEFAULT, cluster).allowed  # type: ignore[arg-type]
    assert cluster.live_reads == 0
