"""``netpol-guard check`` against the real API server on generated NetworkPolicy manifests.

Hypothesis generates the manifests (``tests/e2e/npgen.py``, derandomized: the same manifests on
every run, so a failure reproduces). Each is sent to the API server as ``kubectl create
--dry-run=server`` sends it (POST with ``dryRun=All``, ``fieldManager=kubectl-create`` and
kubectl's default ``fieldValidation=Strict``), in parallel over kept-alive admin connections,
into the release namespace, which no netpol-guard webhook is called for. All of them go to one
``netpol-guard check -o json`` run. On every manifest both must give the same verdict, and for
a rejection the same field paths. ``test_kubectl_sends_what_the_harness_sends`` checks on a
sample that the real kubectl gets the same answers as the direct requests.

200 manifests in ``make test``, 2,000 in ``make e2e`` (``NETPOL_GUARD_E2E_FULL=1``).
"""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, Phase, given, settings

from tests.e2e.conftest import FULL
from tests.e2e.controlplane import ControlPlane
from tests.e2e.npgen import network_policies
from tests.e2e.webhook import RELEASE_NAMESPACE, Kubectl

COUNT = 2000 if FULL else 200
# The chart's webhooks never see the release namespace: the API server alone judges there.
NAMESPACE = RELEASE_NAMESPACE
CREATE = ("/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies"
          "?dryRun=All&fieldManager=kubectl-create&fieldValidation=Strict")
_UNKNOWN_FIELD = re.compile(r'unknown field "([^"]+)"')


def generate(count: int) -> list[dict[str, Any]]:
    """``count`` distinct manifests, the same ones on every run."""
    found: dict[str, dict[str, Any]] = {}

    @settings(max_examples=count * 3, derandomize=True, database=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck), deadline=None)
    @given(network_policies())
    def collect(manifest: dict[str, Any]) -> None:
        if len(found) < count:
            found.setdefault(json.dumps(manifest, sort_keys=True), manifest)

    collect()
    assert len(found) == count, f"only {len(found)} distinct manifests"
    return list(found.values())


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    paths: frozenset[str]
    message: str


class ApiServerClient:
    """Kept-alive admin connections to the API server, one per thread."""

    def __init__(self, plane: ControlPlane) -> None:
        self.plane = plane
        self.context = plane.ssl_context()
        self.local = threading.local()
        self.connections: list[http.client.HTTPSConnection] = []

    def post(self, path: str, body: bytes) -> tuple[int, Any]:
        connection = getattr(self.local, "connection", None)
        if connection is None:
            connection = http.client.HTTPSConnection("127.0.0.1", self.plane.api_port,
                                                     context=self.context, timeout=30)
            self.local.connection = connection
            self.connections.append(connection)
        connection.request("POST", path, body, {"Content-Type": "application/json",
                                                "User-Agent": "kubectl/v1.36.2"})
        answer = connection.getresponse()
        return answer.status, json.loads(answer.read())

    def close(self) -> None:
        for connection in self.connections:
            connection.close()


def api_verdict(client: ApiServerClient, manifest: dict[str, Any]) -> Verdict:
    status, body = client.post(CREATE.format(ns=quote(NAMESPACE)),
                               json.dumps(manifest).encode())
    if status == 201:
        return Verdict(True, frozenset(), "")
    message = body.get("message", "")
    causes = (body.get("details") or {}).get("causes") or []
    paths = {cause["field"] for cause in causes if cause.get("field")}
    paths |= set(_UNKNOWN_FIELD.findall(message))
    return Verdict(False, frozenset(paths), message)


def agree(server: Verdict, cli: Verdict) -> bool:
    """Same verdict; for a rejection the same field paths, or (a JSON type mismatch, whose
    message names the Go field without list indexes) the API server's very words."""
    if server.accepted != cli.accepted:
        return False
    if "cannot unmarshal" in server.message:
        return server.message in cli.message
    return server.paths == cli.paths


def check_verdicts(workdir: Path, manifests: list[dict[str, Any]]) -> list[Verdict]:
    """One ``netpol-guard check -o json`` over every manifest (one file each)."""
    for index, manifest in enumerate(manifests):
        (workdir / f"{index:05d}.json").write_text(json.dumps(manifest), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "webhook.cli", "check", "-o", "json",
                           "-n", NAMESPACE, "-f", str(workdir)],
                          capture_output=True, text=True, check=False)
    assert done.returncode in (0, 1), done.stderr
    findings: dict[int, list[dict[str, Any]]] = {}
    for finding in json.loads(done.stdout)["findings"]:
        if finding["rule"] == "K8S001":
            findings.setdefault(int(Path(finding["file"]).stem), []).append(finding)
    return [Verdict(index not in findings,
                    frozenset(f["path"] for f in findings.get(index, [])),
                    "\n".join(f["message"] for f in findings.get(index, [])))
            for index in range(len(manifests))]


def test_check_agrees_with_the_api_server(control_plane: ControlPlane, release_namespace: str,
                                          tmp_path: Path) -> None:
    manifests = generate(COUNT)
    client = ApiServerClient(control_plane)
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            api = list(pool.map(lambda m: api_verdict(client, m), manifests))
    finally:
        client.close()
    offline = check_verdicts(tmp_path, manifests)
    disagreements = []
    for manifest, server, cli in zip(manifests, api, offline, strict=True):
        if not agree(server, cli):
            disagreements.append(
                f"manifest: {json.dumps(manifest, ensure_ascii=False)}\n"
                f"  API server: {'accepted' if server.accepted else 'rejected'} "
                f"{sorted(server.paths)} {server.message}\n"
                f"  check:      {'accepted' if cli.accepted else 'rejected'} "
                f"{sorted(cli.paths)} {cli.message}")
    assert not disagreements, (f"{len(disagreements)} of {COUNT} disagree:\n"
                               + "\n".join(disagreements[:40]))
    rejected = sum(not verdict.accepted for verdict in api)
    # The generator reaches both sides of the boundary.
    assert COUNT * 0.2 < rejected < COUNT * 0.8, rejected


def test_kubectl_sends_what_the_harness_sends(control_plane: ControlPlane, kubectl: Kubectl,
                                              release_namespace: str, tmp_path: Path) -> None:
    """On a sample, the real ``kubectl create --dry-run=server`` gets the answers the direct
    requests get: same exit status, and the API server's message in what kubectl prints."""
    manifests = generate(40)
    client = ApiServerClient(control_plane)
    try:
        api = [api_verdict(client, manifest) for manifest in manifests]
    finally:
        client.close()
    assert {verdict.accepted for verdict in api} == {True, False}
    for index, (manifest, verdict) in enumerate(zip(manifests, api, strict=True)):
        path = tmp_path / f"{index}.json"
        path.write_text(json.dumps(manifest), encoding="utf-8")
        result = kubectl("create", "--dry-run=server", "-n", NAMESPACE, "-f", str(path))
        assert result.returncode == (0 if verdict.accepted else 1), (manifest, str(result))
        if not verdict.accepted:
            # kubectl rebuilds a 422's text from the Status causes (one "* path: ..." line
            # each when there are several); other rejections it prints as they come.
            if " is invalid: " in verdict.message:
                assert all(f"{path}: " in result.stderr for path in verdict.paths), str(result)
            else:
                assert verdict.message in result.stderr, (manifest, str(result))
