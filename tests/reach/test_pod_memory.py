"""The pod cache's memory budget: at most 50 MiB per worker for 10,000 pods (issue 18).

Measured with tracemalloc as ``bench/pod_memory.py`` does (pages of realistic Pod JSON decoded
and kept as compact records, pod classes built); the figure is in bench/README.md.
"""

from __future__ import annotations

from bench.pod_memory import BUDGET_BYTES, measure


def test_ten_thousand_pods_stay_within_the_budget() -> None:
    used = measure(10_000)
    assert used <= BUDGET_BYTES, f"{used / 2**20:.1f} MiB"
    # The records keep what the analysis needs, not the pods: far below a pod's JSON (~1.5 KB).
    assert used / 10_000 < 1500
