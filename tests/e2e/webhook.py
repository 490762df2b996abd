"""netpol-guard served to the test control plane, registered as the Helm chart registers it.

The ValidatingWebhookConfiguration is rendered from the chart's own template (helm-python-sdk,
default values, Kubernetes 1.36); only what points it at the Service changes: ``clientConfig``
becomes ``url: https://127.0.0.1:PORT/validate`` (the chart's path) with the dev CA in
``caBundle``. Everything else (rules, namespaceSelector, matchConditions, failurePolicy,
timeoutSeconds) is the chart's.
"""

from __future__ import annotations

import base64
import copy
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.chart.rendering import NAMESPACE as RELEASE_NAMESPACE
from tests.chart.rendering import render_chart

__all__ = ["RELEASE_NAMESPACE", "Kubectl", "KubectlResult", "webhook_configuration"]


def webhook_configuration(port: int, ca_file: Path,
                          values: dict[str, Any] | None = None) -> dict[str, Any]:
    """The chart's ValidatingWebhookConfiguration, pointed at ``https://127.0.0.1:port``."""
    rendered = render_chart(values, kube_version="1.36")
    config = copy.deepcopy(rendered.one("ValidatingWebhookConfiguration"))
    ca_bundle = base64.b64encode(ca_file.read_bytes()).decode()
    for hook in config["webhooks"]:
        service = hook["clientConfig"].pop("service")
        hook["clientConfig"] = {"url": f"https://127.0.0.1:{port}{service['path']}",
                                "caBundle": ca_bundle}
    return config


@dataclass(frozen=True)
class KubectlResult:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        """stderr then stdout, line by line (kubectl prints warnings and errors on stderr)."""
        return self.stderr.splitlines() + self.stdout.splitlines()

    def __str__(self) -> str:
        return (f"kubectl {' '.join(self.args)} -> exit {self.returncode}\n"
                f"stdout:\n{self.stdout}\nstderr:\n{self.stderr}")


@dataclass(frozen=True)
class Kubectl:
    """The real kubectl against the test cluster (admin kubeconfig, no proxies)."""

    binary: Path
    kubeconfig: Path
    env: dict[str, str]

    def __call__(self, *args: str, stdin: str | None = None, timeout: float = 60,
                 cwd: Path | None = None) -> KubectlResult:
        done = subprocess.run([str(self.binary), "--kubeconfig", str(self.kubeconfig), *args],
                              input=stdin, capture_output=True, text=True, env=self.env,
                              timeout=timeout, check=False, cwd=cwd)
        return KubectlResult(tuple(args), done.returncode, done.stdout, done.stderr)

    def ok(self, *args: str, stdin: str | None = None) -> KubectlResult:
        result = self(*args, stdin=stdin)
        assert result.returncode == 0, str(result)
        return result
