"""Shared fixtures: real AdmissionReview requests, dev certificates, a served webhook, an empty
Kubernetes API double."""

from __future__ import annotations

import copy
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.kubeapi_double import KubeAPIDouble

FIXTURES = Path(__file__).parent / "fixtures"
ADMISSION_FIXTURES = FIXTURES / "admission"
REPO = Path(__file__).resolve().parent.parent


def admission_fixture_names() -> list[str]:
    """Every captured AdmissionReview request (file names without .json)."""
    return sorted(p.stem for p in ADMISSION_FIXTURES.glob("*.json"))


def load_review(name: str) -> dict[str, Any]:
    """A captured AdmissionReview request, as the API server sent it (a fresh copy)."""
    with open(ADMISSION_FIXTURES / f"{name}.json", encoding="utf-8") as handle:
        return copy.deepcopy(json.load(handle))


@pytest.fixture(scope="session")
def dev_certs(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from webhook.cli.certs import write_dev_certificates

    return write_dev_certificates(tmp_path_factory.mktemp("certs"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServedWebhook:
    """A real ``netpol-guard serve`` subprocess (gunicorn, gevent workers, TLS)."""

    process: subprocess.Popen[bytes]
    port: int
    ca_file: str
    log_path: Path
    certs_dir: Path
    extra: dict[str, Any] = field(default_factory=dict)
    log_handle: Any = None

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self.log_handle is not None:
            self.log_handle.close()
            self.log_handle = None


def start_webhook(workdir: Path, certs: Any, *args: str, env: dict[str, str] | None = None,
                  wait_ready: bool = True) -> ServedWebhook:
    """Start ``netpol-guard serve`` on a free loopback port and wait until it answers."""
    port = free_port()
    log_path = workdir / f"serve-{port}.log"
    command = [sys.executable, "-m", "webhook.cli.main", "serve", "--bind", f"127.0.0.1:{port}",
               "--cert", str(certs.cert), "--key", str(certs.key), *args]
    environment = {**os.environ, **(env or {})}
    environment.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log_file = open(log_path, "wb")  # noqa: SIM115 - owned by the process for its lifetime
    process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT,
                               env=environment, cwd=REPO)
    served = ServedWebhook(process, port, str(certs.ca_cert), log_path, certs.cert.parent,
                           log_handle=log_file)
    wait_until_answers(served, ready=wait_ready)
    return served


def wait_until_answers(served: ServedWebhook, *, ready: bool, timeout: float = 30) -> None:
    import requests

    path = "/readyz" if ready else "/healthz"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            raise RuntimeError(f"netpol-guard serve exited:\n{served.log_text()}")
        try:
            # Connection: close, so no idle kept-alive connection delays the server's shutdown.
            answer = requests.get(served.base_url + path, verify=served.ca_file, timeout=2,
                                  headers={"Connection": "close"})
            if answer.status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    served.stop()
    raise RuntimeError(f"netpol-guard serve did not become ready:\n{served.log_text()}")


def start_with_inventory(workdir: Path, certs: Any, *args: str) -> ServedWebhook:
    """A served webhook whose cluster state is an (empty) inventory directory, found in
    ``extra["inventory"]``."""
    inventory = workdir / "inventory"
    inventory.mkdir()
    served = start_webhook(workdir, certs, "--inventory", str(inventory), *args)
    served.extra["inventory"] = inventory
    return served


@pytest.fixture(scope="session")
def served_webhook(tmp_path_factory: pytest.TempPathFactory,
                   dev_certs: Any) -> Iterator[ServedWebhook]:
    """One real server for the session: default policy, an empty inventory."""
    served = start_with_inventory(tmp_path_factory.mktemp("served"), dev_certs,
                                  "--workers", "2")
    yield served
    served.stop()


@pytest.fixture
def double() -> Iterator[KubeAPIDouble]:
    """An empty Kubernetes API double (tests/kubeapi_double.py), stopped after the test."""
    api = KubeAPIDouble().start()
    try:
        yield api
    finally:
        api.stop()
