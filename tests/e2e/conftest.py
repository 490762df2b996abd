"""The end-to-end tier: one real control plane and one served netpol-guard per session.

Every test under tests/e2e is marked ``e2e``. Without the kube binaries (see
``tests/e2e/binaries.py``: ``NETPOL_GUARD_KUBE_BINARIES``) the whole tier skips with one line.
``NETPOL_GUARD_E2E_FULL=1`` (``make e2e``) runs the full counts of the long tests; ``make test``
runs their fast subsets.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.chart.rendering import render_chart
from tests.conftest import ServedWebhook, start_webhook
from tests.e2e.binaries import ENV, BinariesMissing, KubeBinaries, find_binaries, source_dir
from tests.e2e.controlplane import ControlPlane, clean_environment
from tests.e2e.kubelet import ConfigMapVolume
from tests.e2e.webhook import RELEASE_NAMESPACE, Kubectl, webhook_configuration

E2E_DIR = Path(__file__).parent
FULL = os.environ.get("NETPOL_GUARD_E2E_FULL") == "1"
POLICY_CONFIGMAP = "netpol-guard-policy"
WORKERS = 2  # gunicorn workers of the session's netpol-guard


def _missing() -> str | None:
    """Why the tier cannot run (a cheap check: the source directory), or None."""
    source = source_dir()
    if source.is_dir():
        return None
    return f"e2e tier skipped: no kube binaries at {source} (set {ENV})"


def pytest_ignore_collect(collection_path: Path) -> bool | None:
    # Without the binaries nothing here is collected, and the summary says why in one line.
    if _missing() and collection_path.name.startswith("test_"):
        return True
    return None


def pytest_terminal_summary(terminalreporter: Any) -> None:
    reason = _missing()
    if reason:
        terminalreporter.write_line(reason)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if E2E_DIR in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def kube_binaries() -> KubeBinaries:
    try:
        return find_binaries()
    except BinariesMissing as missing:
        pytest.skip(f"e2e tier skipped: {missing}")


@pytest.fixture(scope="session")
def control_plane(kube_binaries: KubeBinaries,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    plane = ControlPlane(kube_binaries, tmp_path_factory.mktemp("control-plane"))
    try:
        plane.start()
        yield plane
    finally:
        plane.stop()


@pytest.fixture(scope="session")
def kubectl(kube_binaries: KubeBinaries, control_plane: ControlPlane) -> Kubectl:
    return Kubectl(kube_binaries.kubectl, control_plane.kubeconfig, clean_environment())


@dataclass
class Guard:
    """The served webhook, its registration and its policy volume."""

    served: ServedWebhook
    configuration: dict[str, Any]
    policy_volume: ConfigMapVolume
    policy_configmap: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.configuration["metadata"]["name"])

    def policy_digests(self, samples: int = 8) -> set[str]:
        """The policy sha256 the workers report on /readyz (new connections: both workers)."""
        import requests

        digests = set()
        for _ in range(samples):
            answer = requests.get(self.served.base_url + "/readyz",
                                  verify=self.served.ca_file, timeout=5,
                                  headers={"Connection": "close"})
            digests.add(answer.json()["policy"]["sha256"])
        return digests


def register(kubectl: Kubectl, configuration: dict[str, Any]) -> None:
    kubectl.ok("apply", "-f", "-", stdin=json.dumps(configuration))


@pytest.fixture(scope="session")
def release_namespace(kubectl: Kubectl) -> str:
    """The chart's release namespace, which every netpol-guard webhook but the policy
    ConfigMap's excludes."""
    kubectl.ok("create", "namespace", RELEASE_NAMESPACE)
    return RELEASE_NAMESPACE


@pytest.fixture(scope="session")
def guard(control_plane: ControlPlane, kubectl: Kubectl, dev_certs: Any, release_namespace: str,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Guard]:
    """``netpol-guard serve --cluster-source kubernetes`` (2 gunicorn workers over TLS) with the
    control plane's kubeconfig, registered with the chart's webhook configuration, reading the
    policy the chart puts in its ConfigMap from a kubelet-style projection of that ConfigMap."""
    workdir = tmp_path_factory.mktemp("guard")
    policy_configmap = render_chart().one("ConfigMap", POLICY_CONFIGMAP)
    kubectl.ok("apply", "-f", "-", stdin=json.dumps(policy_configmap))
    volume = ConfigMapVolume(control_plane, RELEASE_NAMESPACE, POLICY_CONFIGMAP,
                             workdir / "policy")
    volume.start()
    served = start_webhook(workdir, dev_certs, "--cluster-source", "kubernetes",
                           "--kubeconfig", str(control_plane.kubeconfig),
                           "--workers", str(WORKERS),
                           "--policy", str(workdir / "policy" / "policy.yaml"),
                           "--policy-configmap", POLICY_CONFIGMAP,
                           # The API server's kept-alive idle connections are held for the
                           # whole graceful timeout (15 s) at shutdown; the session's end need
                           # not wait for them.
                           "--graceful-timeout", "3", env=clean_environment())
    configuration = webhook_configuration(served.port, dev_certs.ca_cert)
    try:
        register(kubectl, configuration)
        wait_for_webhook(kubectl)
        yield Guard(served, configuration, volume, policy_configmap)
    finally:
        kubectl("delete", "validatingwebhookconfiguration",
                configuration["metadata"]["name"], "--ignore-not-found")
        served.stop()
        volume.stop()


def wait_for_webhook(kubectl: Kubectl, timeout: float = 30) -> None:
    """Until the API server calls the webhook: a server-side dry-run namespace create gets
    the DD001 warning (the registration reaches the API server's cache asynchronously)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = kubectl("create", "namespace", "webhook-probe", "--dry-run=server")
        if "DD001" in result.stderr:
            return
        time.sleep(0.2)
    raise AssertionError(f"the webhook is not called: {result}")


def policy_configmap_with(guard: Guard, text: str) -> dict[str, Any]:
    configmap = copy.deepcopy(guard.policy_configmap)
    configmap["data"] = {"policy.yaml": text}
    return configmap


def apply_policy(guard: Guard, kubectl: Kubectl, text: str, timeout: float = 15) -> float:
    """``kubectl apply`` the policy ConfigMap with ``text``; returns the seconds from the
    projected file's swap until both workers have loaded it (each logs ``policy_loaded`` with
    the sha256 once; /readyz would answer from either)."""
    wanted = hashlib.sha256(text.encode()).hexdigest()
    if guard.policy_digests() == {wanted}:
        return 0.0  # already in force: nothing will be reloaded
    offset = len(guard.served.log_text())
    kubectl.ok("apply", "-f", "-", stdin=json.dumps(policy_configmap_with(guard, text)))
    marker = f'"sha256": "{wanted}"'
    deadline = time.monotonic() + timeout
    while True:
        loaded = [line for line in guard.served.log_text()[offset:].splitlines()
                  if '"event": "policy_loaded"' in line and marker in line]
        if len(loaded) >= WORKERS:
            break
        assert time.monotonic() < deadline, f"policy {wanted} not loaded by every worker"
        time.sleep(0.05)
    assert guard.policy_digests() == {wanted}
    assert guard.policy_volume.swapped_at is not None
    return time.monotonic() - guard.policy_volume.swapped_at
