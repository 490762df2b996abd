"""Fixtures of the chart tests; the rendering itself lives in rendering.py (cached per session)."""

from __future__ import annotations

import helm_python as helm
import pytest

from tests.chart.rendering import Rendered, chart_handle, render_scenario


@pytest.fixture(scope="session")
def chart() -> helm.Chart:
    return chart_handle()


@pytest.fixture(scope="session")
def default_render() -> Rendered:
    return render_scenario("default")
