"""Rendering the Helm chart offline, once per (values, Kubernetes version) per session.

helm-python-sdk binds Helm's Go SDK (libhelm_c) through ctypes, so no helm binary and no network
are needed. Its public ``Chart.render()`` does not expose the Kubernetes version, but the native
``helm_render`` call it wraps takes ``kube_version`` and ``api_versions`` in the same JSON options
(the fields of ``helm template --kube-version/--api-versions``); ``render_chart`` passes them.
"""

from __future__ import annotations

import functools
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml
from helm_python import _native

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = REPO_ROOT / "charts" / "netpol-guard"
CI_DIR = CHART_DIR / "ci"
RELEASE = "netpol-guard"
NAMESPACE = "netpol-guard"

# Kubernetes minor versions the chart supports (Chart.yaml kubeVersion >=1.28) and is validated
# against; kubernetes-validate ships a schema for each of them.
KUBE_VERSIONS = ("1.28", "1.29", "1.30", "1.31", "1.32", "1.33", "1.34", "1.35", "1.36")
OLDEST, NEWEST = KUBE_VERSIONS[0], KUBE_VERSIONS[-1]

SCENARIOS = sorted(path.name.removesuffix("-values.yaml") for path in CI_DIR.glob("*-values.yaml"))


@dataclass(frozen=True)
class Rendered:
    """One rendering of the chart: the manifests as objects, and NOTES.txt."""

    objects: tuple[dict[str, Any], ...]
    notes: str
    sources: tuple[tuple[str, dict[str, Any]], ...]  # (template path, object)

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [obj for obj in self.objects if obj["kind"] == kind]

    def one(self, kind: str, name: str | None = None) -> dict[str, Any]:
        found = [obj for obj in self.of_kind(kind)
                 if name is None or obj["metadata"]["name"] == name]
        assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
        return found[0]

    def webhooks(self) -> dict[str, dict[str, Any]]:
        config = self.one("ValidatingWebhookConfiguration")
        return {hook["name"]: hook for hook in config["webhooks"]}

    def container(self) -> dict[str, Any]:
        containers = self.one("Deployment")["spec"]["template"]["spec"]["containers"]
        assert len(containers) == 1
        return containers[0]


def scenario_values(scenario: str) -> dict[str, Any]:
    values = yaml.safe_load((CI_DIR / f"{scenario}-values.yaml").read_text(encoding="utf-8"))
    return values or {}


@functools.cache
def chart_handle() -> helm.Chart:
    return helm.Chart.load(CHART_DIR)


@functools.cache
def _render_cached(values_json: str, kube_version: str, namespace: str,
                   api_versions: tuple[str, ...]) -> Rendered:
    options: dict[str, Any] = {"name": RELEASE, "namespace": namespace, "is_install": True,
                               "kube_version": f"v{kube_version}.0"}
    if api_versions:
        options["api_versions"] = list(api_versions)
    chart = chart_handle()
    raw = _native.call_string("helm_render", chart._raw(), values_json, json.dumps(options))
    manifests: dict[str, str] = json.loads(raw)
    notes = ""
    objects: list[dict[str, Any]] = []
    sources: list[tuple[str, dict[str, Any]]] = []
    for path, text in sorted(manifests.items()):
        if path.endswith("NOTES.txt"):
            notes = text
            continue
        for document in yaml.safe_load_all(text):
            if document:
                objects.append(document)
                sources.append((path, document))
    return Rendered(tuple(objects), notes, tuple(sources))


def render_chart(values: dict[str, Any] | None = None, *, kube_version: str = NEWEST,
                 namespace: str = NAMESPACE, api_versions: tuple[str, ...] = ()) -> Rendered:
    """Render the chart as `helm template` would (cached: treat the result as read-only).

    Raises helm_python.HelmError (HelmValuesError, HelmRenderError) when Helm refuses.
    """
    return _render_cached(json.dumps(values or {}, sort_keys=True), kube_version, namespace,
                          api_versions)


def render_scenario(scenario: str, kube_version: str = NEWEST) -> Rendered:
    return render_chart(scenario_values(scenario), kube_version=kube_version)


def prefetch(scenarios: tuple[str, ...] | list[str], kube_versions: tuple[str, ...]) -> None:
    """Render many (scenario, version) pairs at once: the native render releases the GIL, so a
    few threads overlap the Go engine's work (certificate generation mostly)."""
    pairs = [(scenario, version) for scenario in scenarios for version in kube_versions]
    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in pool.map(lambda pair: render_scenario(*pair), pairs):
            pass
