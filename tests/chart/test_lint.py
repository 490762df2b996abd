"""`helm lint --strict` (Helm's own checks: YAML, names, schema, templates) for every scenario,
at the oldest and newest supported Kubernetes versions."""

from __future__ import annotations

import helm_python as helm
import pytest

from tests.chart.rendering import (
    CHART_DIR,
    NAMESPACE,
    NEWEST,
    OLDEST,
    SCENARIOS,
    scenario_values,
)

INFO = 1  # helm lint severities: 1 info, 2 warning, 3 error


@pytest.mark.parametrize("kube_version", [OLDEST, NEWEST])
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_helm_lint_strict_passes(scenario: str, kube_version: str) -> None:
    report = helm.lint(CHART_DIR, scenario_values(scenario), strict=True, namespace=NAMESPACE,
                       kube_version=f"v{kube_version}.0")
    problems = [m for m in report["messages"] if m["severity"] > INFO]
    assert report["errors"] == [] and problems == [], report
    assert report["total_charts_linted"] == 1


def test_lint_strict_can_fail() -> None:
    """The check above can fail: a value of the wrong type is an error."""
    report = helm.lint(CHART_DIR, {"replicas": "three"}, strict=True, namespace=NAMESPACE)
    assert report["errors"], report


def test_chart_metadata(chart: helm.Chart) -> None:
    metadata = chart.metadata
    assert metadata["apiVersion"] == "v2"
    assert metadata["name"] == "netpol-guard"
    assert metadata["kubeVersion"] == ">=1.28.0-0"
    assert metadata["type"] == "application"
    assert metadata["appVersion"] == "0.1.0"
