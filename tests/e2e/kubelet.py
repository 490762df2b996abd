"""What kubelet does for a ConfigMap volume: the policy ConfigMap projected into a directory.

There is no kubelet in the test cluster. This stand-in polls the policy ConfigMap through the
API server and projects its ``data`` into a directory the way kubelet's atomic writer does: the
files live in a timestamped directory, ``..data`` is a symlink to it swapped with a rename, and
each key is a symlink ``KEY -> ..data/KEY``. ``netpol-guard serve --policy DIR/policy.yaml``
reads it as it would in a pod. Kubelet itself takes up to its sync period plus its cache TTL
(about a minute by default) to do this; here it is done within ``interval``, so a test measures
the webhook's part: from the file swap to the new verdicts.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from tests.e2e.controlplane import ControlPlane


class ConfigMapVolume:
    def __init__(self, plane: ControlPlane, namespace: str, name: str, directory: Path,
                 interval: float = 0.2) -> None:
        self.plane = plane
        self.path = f"/api/v1/namespaces/{namespace}/configmaps/{name}"
        self.directory = directory
        self.interval = interval
        self.resource_version: str | None = None
        self.swapped_at: float | None = None  # monotonic time of the last swap
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._generation = 0
        directory.mkdir(parents=True, exist_ok=True)

    def sync(self) -> bool:
        """Project the ConfigMap now if it changed; True when the files were swapped."""
        try:
            status, body = self.plane.get(self.path)
        except OSError:
            return False  # the API server is restarting: keep the files, as kubelet does
        if status != 200 or body["metadata"]["resourceVersion"] == self.resource_version:
            return False
        self._write(body.get("data") or {})
        self.resource_version = body["metadata"]["resourceVersion"]
        return True

    def project(self, data: dict[str, Any]) -> None:
        """Swap the files to ``data`` (what kubelet would do with a ConfigMap holding it)."""
        self._write(data)

    def _write(self, data: dict[str, Any]) -> None:
        self._generation += 1
        stamp = self.directory / f"..{time.strftime('%Y_%m_%d_%H_%M_%S')}.{self._generation}"
        stamp.mkdir()
        for key, value in data.items():
            (stamp / key).write_text(value, encoding="utf-8")
        link = self.directory / "..data_tmp"
        os.symlink(stamp.name, link)
        os.replace(link, self.directory / "..data")
        for key in data:
            user_link = self.directory / key
            if not user_link.is_symlink():
                os.symlink(f"..data/{key}", user_link)
        self.swapped_at = time.monotonic()

    def start(self) -> None:
        self.sync()
        self._thread = threading.Thread(target=self._run, name="configmap-volume", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sync()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
