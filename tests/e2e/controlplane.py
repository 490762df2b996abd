"""A real control plane on loopback: etcd and kube-apiserver, fresh data and PKI per start.

No kubelet, controller-manager or scheduler: enough to create namespaces, NetworkPolicies and
Pods and to call admission webhooks. Every ``*_proxy`` variable is removed from the processes'
environment (loopback only). ``restart_apiserver`` and ``compact_etcd`` are the fault
injections of the race tests.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import ssl
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from tests.conftest import free_port
from tests.e2e.binaries import KubeBinaries
from tests.e2e.pki import Pki, client_certificate, write_pki

ADMISSION_PLUGINS = ("NamespaceLifecycle,ServiceAccount,MutatingAdmissionWebhook,"
                     "ValidatingAdmissionWebhook")
SA_ISSUER = "https://kubernetes.default.svc.cluster.local"


def clean_environment() -> dict[str, str]:
    """os.environ without proxies: the API server must dial the webhook directly."""
    return {key: value for key, value in os.environ.items()
            if not key.lower().endswith("_proxy")}


def _stop(process: subprocess.Popen[bytes] | None, timeout: float = 20) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@dataclass
class ControlPlane:
    binaries: KubeBinaries
    workdir: Path
    pki: Pki = field(init=False)
    etcd_port: int = 0
    api_port: int = 0
    kubeconfig: Path = field(init=False)
    etcd: subprocess.Popen[bytes] | None = None
    apiserver: subprocess.Popen[bytes] | None = None
    _logs: list[IO[bytes]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.pki = write_pki(self.workdir / "pki")
        self.kubeconfig = self.workdir / "kubeconfig"

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.api_port}"

    def _log(self, name: str) -> IO[bytes]:
        handle = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 - closed in stop()
        self._logs.append(handle)
        return handle

    def log_text(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start(self) -> None:
        self.etcd_port, peer_port, self.api_port = free_port(), free_port(), free_port()
        etcd_url = f"http://127.0.0.1:{self.etcd_port}"
        self.etcd = subprocess.Popen(
            [str(self.binaries.etcd), f"--data-dir={self.workdir / 'etcd'}",
             f"--listen-client-urls={etcd_url}", f"--advertise-client-urls={etcd_url}",
             f"--listen-peer-urls=http://127.0.0.1:{peer_port}",
             f"--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}",
             f"--initial-cluster=default=http://127.0.0.1:{peer_port}",
             "--log-level=warn"],
            stdout=self._log("etcd"), stderr=subprocess.STDOUT, env=clean_environment())
        self._write_kubeconfig()
        self.start_apiserver()

    def start_apiserver(self) -> None:
        pki = self.pki
        self.apiserver = subprocess.Popen(
            [str(self.binaries.kube_apiserver),
             f"--etcd-servers=http://127.0.0.1:{self.etcd_port}",
             "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
             f"--secure-port={self.api_port}",
             f"--tls-cert-file={pki.server_cert}", f"--tls-private-key-file={pki.server_key}",
             f"--client-ca-file={pki.ca_cert}", "--authorization-mode=RBAC",
             f"--service-account-issuer={SA_ISSUER}",
             f"--service-account-key-file={pki.sa_pub}",
             f"--service-account-signing-key-file={pki.sa_key}",
             f"--api-audiences={SA_ISSUER}", "--service-cluster-ip-range=10.0.0.0/24",
             "--endpoint-reconciler-type=none",
             f"--enable-admission-plugins={ADMISSION_PLUGINS}",
             "--allow-privileged=true", "--profiling=false", "-v=1"],
            stdout=self._log("kube-apiserver"), stderr=subprocess.STDOUT,
            env=clean_environment())
        self.wait_ready()

    def wait_ready(self, timeout: float = 90) -> None:
        """Until /readyz answers 200 and the default namespace exists."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, process in (("etcd", self.etcd), ("kube-apiserver", self.apiserver)):
                if process is not None and process.poll() is not None:
                    raise RuntimeError(f"{name} exited:\n{self.log_text(name)[-4000:]}")
            try:
                if (self.get("/readyz")[0] == 200
                        and self.get("/api/v1/namespaces/default")[0] == 200):
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("kube-apiserver not ready:\n"
                           + self.log_text("kube-apiserver")[-4000:])

    def ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.pki.ca_cert))
        context.load_cert_chain(str(self.pki.admin_cert), str(self.pki.admin_key))
        return context

    def request(self, method: str, path: str, body: Any = None,
                content_type: str = "application/json") -> tuple[int, Any]:
        """One admin request to the API server: (status, decoded JSON or text)."""
        data = None if body is None else (body if isinstance(body, bytes)
                                          else json.dumps(body).encode())
        req = urllib.request.Request(self.server + path, data=data, method=method,
                                     headers={"Content-Type": content_type})
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),
            urllib.request.HTTPSHandler(context=self.ssl_context()))
        try:
            with opener.open(req, timeout=30) as answer:
                status, raw = answer.status, answer.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode(errors="replace")

    def get(self, path: str) -> tuple[int, Any]:
        return self.request("GET", path)

    def _write_kubeconfig(self) -> None:
        self.write_kubeconfig(self.kubeconfig, self.pki.admin_cert, self.pki.admin_key)

    def kubeconfig_for(self, user: str) -> Path:
        """A kubeconfig for ``user``, a client certificate without groups."""
        cert, key = client_certificate(self.pki, user, self.workdir / "pki")
        path = self.workdir / f"kubeconfig-{user}"
        self.write_kubeconfig(path, cert, key)
        return path

    def write_kubeconfig(self, path: Path, cert: Path, key: Path) -> None:
        def b64(file: Path) -> str:
            return base64.b64encode(file.read_bytes()).decode()

        config = {
            "apiVersion": "v1", "kind": "Config", "current-context": "e2e",
            "clusters": [{"name": "e2e", "cluster": {
                "server": self.server, "certificate-authority-data": b64(self.pki.ca_cert)}}],
            "users": [{"name": "user", "user": {
                "client-certificate-data": b64(cert), "client-key-data": b64(key)}}],
            "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": "user"}}],
        }
        path.write_text(json.dumps(config, indent=2))

    def restart_apiserver(self) -> None:
        """Stop the API server (SIGTERM) and start it again on the same port and data."""
        self.stop_apiserver()
        self.start_apiserver()

    def stop_apiserver(self) -> None:
        _stop(self.apiserver)

    def bump_etcd(self, writes: int = 3) -> None:
        """Write a key outside the API server's prefix: etcd's revision moves past every
        resourceVersion a client has seen."""
        for index in range(writes):
            self._etcd("/v3/kv/put", {"key": base64.b64encode(b"/e2e/bump").decode(),
                                      "value": base64.b64encode(str(index).encode()).decode()})

    def etcd_revision(self) -> int:
        answer = self._etcd("/v3/kv/range", {"key": base64.b64encode(b"/").decode(),
                                              "limit": 1})
        return int(answer["header"]["revision"])

    def compact_etcd(self) -> int:
        """Compact etcd to its current revision (watches from before it get 410 Gone)."""
        revision = self.etcd_revision()
        self._etcd("/v3/kv/compaction", {"revision": revision, "physical": True})
        return revision

    def _etcd(self, path: str, body: dict[str, Any]) -> Any:
        req = urllib.request.Request(f"http://127.0.0.1:{self.etcd_port}{path}",
                                     data=json.dumps(body).encode(), method="POST")
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(req, timeout=30) as answer:
            return json.loads(answer.read())

    def stop(self) -> None:
        """The API server first, then etcd (the README's order)."""
        _stop(self.apiserver)
        _stop(self.etcd)
        for handle in self._logs:
            handle.close()
        self._logs.clear()
