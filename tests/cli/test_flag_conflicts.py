"""No flag silently ignored: each combination that would leave a flag without effect is either
implied (serve's --kubeconfig/--context select the live cluster) or refused with one line that
names the flag to add or remove (exit 2). The decisions are listed in docs/cli.md."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from tests.conftest import REPO, ServedWebhook, load_review, start_webhook
from tests.kubeapi_double import KubeAPIDouble, namespace, network_policy
from webhook.cli.flags import UsageError, serve_cluster_source
from webhook.cli.main import build_parser, main

EXAMPLES = str(REPO / "examples" / "good")
DEFAULT_DENY = {"podSelector": {}, "policyTypes": ["Ingress"]}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def serve_args(*argv: str) -> argparse.Namespace:
    return build_parser("serve").parse_args(["serve", *argv])


# --- serve: where the cluster state comes from ---------------------------------------------------

@pytest.mark.parametrize(("argv", "source"), [
    ((), "inventory"),
    (("--inventory", "inv"), "inventory"),
    (("--cluster-source", "inventory", "--inventory", "inv"), "inventory"),
    (("--kubeconfig", "kc"), "kubernetes"),
    (("--context", "prod"), "kubernetes"),
    (("--kubeconfig", "kc", "--context", "prod"), "kubernetes"),
    (("--cluster-source", "kubernetes"), "kubernetes"),
    (("--cluster-source", "kubernetes", "--kubeconfig", "kc"), "kubernetes"),
])
def test_serve_kubeconfig_and_context_select_the_live_cluster(argv: tuple[str, ...],
                                                              source: str) -> None:
    assert serve_cluster_source(serve_args(*argv), default="inventory") == source


@pytest.mark.parametrize(("argv", "message"), [
    (("--cluster-source", "inventory", "--kubeconfig", "kc"),
     "--kubeconfig reads the live cluster: remove --kubeconfig or use --cluster-source "
     "kubernetes"),
    (("--cluster-source", "inventory", "--kubeconfig", "kc", "--context", "c"),
     "--kubeconfig and --context read the live cluster: remove --kubeconfig and --context or "
     "use --cluster-source kubernetes"),
    (("--cluster-source", "kubernetes", "--inventory", "inv"),
     "--inventory is for --cluster-source inventory: remove --inventory (the live cluster is "
     "read through the kubeconfig)"),
    (("--context", "prod", "--inventory", "inv"),
     "--inventory and --context name two cluster sources: keep --inventory or --context"),
])
def test_serve_refuses_contradicting_cluster_flags(capsys: pytest.CaptureFixture[str],
                                                   argv: tuple[str, ...], message: str) -> None:
    with pytest.raises(UsageError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        serve_cluster_source(serve_args(*argv), default="inventory")
    # Refused before anything else is looked at (here: certificates that do not exist).
    code, out, err = run(capsys, "serve", "--cert", "missing.crt", "--key", "missing.key",
                         *argv)
    assert (code, out, err) == (2, "", f"netpol-guard serve: {message}\n")


@pytest.fixture
def kube_api(tmp_path: Path) -> Iterator[Path]:
    double = KubeAPIDouble().start()
    double.create(namespace("team-a"))
    double.create(network_policy("team-a", "default-deny", DEFAULT_DENY))
    yield double.write_kubeconfig(tmp_path / "kubeconfig")
    double.stop()


def pod_review(namespace_name: str) -> dict[str, Any]:
    review = load_review("pod-create-kubectl-run")
    review["request"]["namespace"] = namespace_name
    review["request"]["object"]["metadata"]["namespace"] = namespace_name
    return review


def ask(served: ServedWebhook, review: dict[str, Any]) -> dict[str, Any]:
    import requests

    answer = requests.post(served.base_url + "/validate", json=review, verify=served.ca_file,
                           timeout=10, headers={"Connection": "close"})
    assert answer.status_code == 200, answer.text
    response: dict[str, Any] = answer.json()["response"]
    return response


@pytest.mark.integration
def test_serve_with_only_a_kubeconfig_reads_the_live_cluster(tmp_path: Path, dev_certs: Any,
                                                             kube_api: Path) -> None:
    # The seed walkthrough's first step: with the empty inventory, team-a would have no
    # default-deny and the pod would be refused (DD001).
    served = start_webhook(tmp_path, dev_certs, "--workers", "1", "--kubeconfig", str(kube_api))
    try:
        assert ask(served, pod_review("team-a"))["allowed"] is True
        refused = ask(served, pod_review("team-z"))  # not in the cluster: no default-deny
        assert refused["allowed"] is False and "DD001" in refused["status"]["message"]
    finally:
        served.stop()


# --- check -------------------------------------------------------------------------------

@pytest.mark.parametrize(("argv", "message"), [
    (("--kubeconfig", "kc"), "--kubeconfig needs --cluster: add --cluster to read the live "
                             "cluster"),
    (("--context", "c", "--kubeconfig", "kc"),
     "--kubeconfig and --context need --cluster: add --cluster to read the live cluster"),
    (("--inventory", "inv", "--context", "c"),
     "--context reads a live cluster, --inventory a directory: keep --inventory or use "
     "--cluster with --context"),
])
def test_check_refuses_flags_without_effect(capsys: pytest.CaptureFixture[str],
                                            argv: tuple[str, ...], message: str) -> None:
    assert run(capsys, "check", "-f", EXAMPLES, *argv) == (
        2, "", f"netpol-guard check: {message}\n")


@pytest.mark.parametrize("output", ["text", "json", "sarif"])
def test_check_no_color_holds_in_every_output(capsys: pytest.CaptureFixture[str],
                                              output: str) -> None:
    # Accepted everywhere: what it asks for (no colour) is true of every format.
    code, out, err = run(capsys, "check", "-f", str(REPO / "examples"), "-o", output,
                         "--no-color")
    assert (code, err) == (1, "")
    assert "\x1b[" not in out and "DD001" in out


# --- audit -------------------------------------------------------------------------------

@pytest.mark.parametrize(("argv", "message"), [
    (("--inventory", "inv", "--kubeconfig", "kc"),
     "--inventory audits a directory, --kubeconfig a live cluster: remove --inventory or "
     "--kubeconfig"),
    (("--in-cluster", "--context", "c"),
     "--in-cluster excludes --context: remove --in-cluster or --context"),
    (("--in-cluster",),
     "--in-cluster needs the pod's service account, and KUBERNETES_SERVICE_HOST is not set "
     "(not in a pod): remove --in-cluster to use the kubeconfig"),
])
def test_audit_refuses_flags_without_effect(capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch,
                                            argv: tuple[str, ...], message: str) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    assert run(capsys, "audit", *argv) == (2, "", f"netpol-guard audit: {message}\n")


# --- certs -------------------------------------------------------------------------------

def _sans(path: Path) -> list[str]:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return list(names.get_values_for_type(x509.DNSName))


def test_certs_refuses_shaping_flags_for_certificates_it_would_keep(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "certs"
    assert run(capsys, "certs", "--out", str(out))[0] == 0
    before = (out / "tls.crt").read_bytes()
    code, stdout, err = run(capsys, "certs", "--out", str(out), "--service", "other",
                            "--days", "30")
    assert (code, stdout) == (2, "")
    assert err == (f"netpol-guard certs: {out / 'tls.crt'} exists and --service, --days only "
                   "shape a new certificate: add --force to replace it\n")
    assert (out / "tls.crt").read_bytes() == before
    # Without such flags, existing files are kept as before (make serve relies on it).
    assert run(capsys, "certs", "--out", str(out)) == (
        0, f"{out / 'tls.crt'} exists; keeping it (use --force to replace)\n", "")
    assert run(capsys, "certs", "--out", str(out), "--force", "--service", "other")[0] == 0
    assert "other.netpol-guard.svc" in _sans(out / "tls.crt")
