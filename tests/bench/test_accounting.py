"""``make bench``'s accounting: a load run that loses reviews fails and has no throughput; the
NP018 targets come from alternating rounds."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from bench.load import POINTS, account, describe_failure, lost_reviews, round_ratio
from bench.reach import KEPT
from bench.reach import render as render_reach
from bench.run import NO_FIGURE, SERVER_NAMES, failed_runs, render, targets


def wrk_result(**changes: Any) -> dict[str, Any]:
    """A wrk run as bench.load.run_wrk reports it, clean unless ``changes`` say otherwise."""
    result: dict[str, Any] = {
        "server": "netpol-guard", "point": "saturation 64 conns", "connections": 64,
        "requests": 30_000, "duration_us": 10_000_000, "responses": 30_000,
        "reviews": 30_000, "allowed": 20_000, "denied": 10_000, "not_reviews": 0,
        "errors": {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0},
        "latency_us": {"p50": 1000, "p90": 2000, "p99": 4000, "p999": 6000, "max": 9000,
                       "mean": 1200.0},
        "achieved_rate": 3000.0, "worker_restarts": False,
        "requests_per_worker": [15_000, 15_000], "open_connections_per_worker_mid_run": [32, 32],
        "server_cpu_ms_per_review": 0.6, "server_cpu_cores": 1.8, "wrk_cpu_cores": 0.2,
        "other_cpu_cores": 0.0,
    }
    errors = changes.pop("errors", {})
    result.update(changes)
    result["errors"] = {**result["errors"], **errors}
    return account(result)


def test_a_clean_run_keeps_its_throughput() -> None:
    result = wrk_result()
    assert (result["failed"], result["lost"], result["achieved_rate"]) == (False, {}, 3000.0)


@pytest.mark.parametrize(("changes", "lost"), [
    ({"errors": {"connect": 2}}, {"connect errors": 2}),
    ({"errors": {"read": 3}}, {"read errors": 3}),
    ({"errors": {"write": 1}}, {"write errors": 1}),
    ({"errors": {"timeout": 4}}, {"timeouts": 4}),
    ({"errors": {"status": 5}, "not_reviews": 5},
     {"non-2xx replies": 5, "not AdmissionReviews": 5}),
    ({"not_reviews": 1}, {"not AdmissionReviews": 1}),
    ({"worker_restarts": True}, {"worker restarts": 1}),
])
def test_any_lost_review_fails_the_run_and_drops_its_throughput(
        changes: dict[str, Any], lost: dict[str, int]) -> None:
    result = wrk_result(**changes)
    assert lost_reviews(result) == lost == result["lost"]
    assert result["failed"] is True
    assert result["achieved_rate"] is None
    described = describe_failure(result)
    assert described.startswith("netpol-guard, saturation 64 conns (64 connections): ")
    for cause, count in lost.items():
        assert f"{count} {cause}" in described


def report_with(failed: tuple[str, str] | None = None,
                failed_round: str | None = None) -> dict[str, Any]:
    """A whole bench report: every point of every server clean, except ``failed``
    (server, point) and one round of ``failed_round`` (a server)."""
    servers: dict[str, Any] = {}
    failures = []
    for key in SERVER_NAMES:
        points = {}
        for point in POINTS:
            broken = failed == (key, point.name)
            result = wrk_result(server=key, point=point.name, connections=point.connections,
                                errors={"read": 7} if broken else {})
            points[point.name] = result
            if broken:
                failures.append(describe_failure(result))
        servers[key] = {"label": key, "points": points}
    keys = [*SERVER_NAMES, "engine-off"]
    rates: dict[str, list[float | None]] = {key: [3000.0, 3100.0, 2900.0] for key in keys}
    if failed_round:
        rates[failed_round][1] = None
    rounds = {"rounds": 3, "seconds": 5.0, "connections": 8, "rates": rates,
              "cpu_ms_per_review": {key: [0.6, 0.6, 0.6] for key in keys},
              "max_other_cpu_cores": 0.0, "failed_runs": [],
              "median_rate": {key: None if key == failed_round else 3000.0 for key in keys},
              "median_cpu_ms_per_review": {key: 0.6 for key in keys}}
    report: dict[str, Any] = {
        "started": "2026-12-04T15:00:00Z", "elapsed_seconds": 100.0,
        "load_duration_seconds": 10.0,
        "machine": {"cpus": 2, "cpu_model": "x", "kernel": "6", "python": "3.11",
                    "gunicorn": "27.0.1", "gevent": "25", "flask": "3",
                    "load_average_at_start": (0.1, 0.1, 0.1)},
        "load": {"servers": servers, "mix": {"pod-create-kubectl-run": 1.0}, "rounds": rounds,
                 "failed_runs": failures},
    }
    report["targets"] = targets(report)
    report["failed_runs"] = failures
    return report


def test_a_clean_report_has_figures_for_every_target() -> None:
    report = report_with()
    assert all(row["value"] != NO_FIGURE for row in report["targets"])
    assert "FAILED" not in render(report)


def test_a_failed_point_has_no_throughput_figure_and_is_printed() -> None:
    report = report_with(failed=("reference-gevent", "saturation 64 conns"))
    rows = {row["target"]: row for row in report["targets"]}
    [row] = [row for label, row in rows.items()
             if "stock gevent (saturation 64 conns" in label]
    assert (row["value"], row["met"]) == (NO_FIGURE, False)
    text = render(report)
    assert "FAILED RUNS: 1 load runs lost reviews" in text
    assert ("reference-gevent, saturation 64 conns (64 connections): 7 read errors" in text)


def test_a_failed_round_leaves_no_ratio() -> None:
    report = report_with(failed_round="reference-webhook")
    rounds = report["load"]["rounds"]
    assert round_ratio(rounds, "netpol-guard", "reference-webhook") is None
    assert round_ratio(rounds, "netpol-guard", "reference-gevent") == pytest.approx(1.0)
    [row] = [row for row in report["targets"] if "ref same cfg (8 conns, median" in row["target"]]
    assert (row["value"], row["met"]) == (NO_FIGURE, False)
    assert "FAILED" in render(copy.deepcopy(report))


def test_the_p99_target_of_a_failed_run_has_no_figure() -> None:
    report = report_with(failed=("netpol-guard", "rate 400/s"))
    [row] = [row for row in report["targets"] if row["target"].startswith("p99")]
    assert (row["value"], row["met"]) == (NO_FIGURE, False)


def reach_report(workload_cpu: dict[str, list[float]],
                 lost_in: tuple[str, int] | None = None) -> dict[str, Any]:
    """bench.reach's report: one NetworkPolicy run per server, the Pod/workload mix in rounds
    with the CPU per review given (``lost_in``: a server and round whose run lost reviews)."""
    def run(key: str, cpu: float, lost: bool = False) -> dict[str, Any]:
        result = wrk_result(server=key, point="rate 200/s", connections=8,
                            server_cpu_ms_per_review=cpu, errors={"read": 3} if lost else {})
        return {name: result[name] for name in KEPT if name in result}  # as bench.reach keeps it
    workloads = {key: [run(key, cpu, lost_in == (key, number)) for number, cpu in enumerate(cpus)]
                 for key, cpus in workload_cpu.items()}
    return {"cluster": {"pods": 5000, "networkPolicies": 1000, "namespaces": 100},
            "rate": 200, "duration": 10.0,
            "results": {"NetworkPolicy reviews": {"np018-on": [run("np018-on", 2.0)],
                                                  "np018-off": [run("np018-off", 0.5)]},
                        "Pod/workload reviews": workloads}}


def workload_target(report: dict[str, Any]) -> dict[str, Any]:
    [row] = [row for row in targets({"reach": report}) if row["target"].startswith("Pod/")]
    return row


def test_the_workload_target_is_the_median_of_the_round_ratios() -> None:
    # One noisy round (1.30) does not decide it; two of four over the bar do.
    row = workload_target(reach_report({"np018-on": [0.50, 0.65, 0.50, 0.52],
                                        "np018-off": [0.50, 0.50, 0.50, 0.50]}))
    assert (row["value"], row["met"]) == ("1.02 (rounds: 1.00 1.30 1.00 1.04)", True)
    row = workload_target(reach_report({"np018-on": [0.60, 0.65, 0.50, 0.52],
                                        "np018-off": [0.50, 0.50, 0.50, 0.50]}))
    assert row["met"] is False


def test_a_reach_run_that_lost_reviews_fails_and_has_no_figure() -> None:
    report = reach_report({"np018-on": [0.5] * 4, "np018-off": [0.5] * 4},
                          lost_in=("np018-off", 2))
    assert (workload_target(report)["value"], workload_target(report)["met"]) == (NO_FIGURE, False)
    assert failed_runs({"reach": report}) == [
        "reach, Pod/workload reviews (run 3): np018-off, rate 200/s (8 connections): "
        "3 read errors"]
    assert "no figure (a run lost reviews)" in render_reach(report)
    assert "| Pod/workload reviews | off | 3 | FAILED |" in render_reach(report)
    clean = reach_report({"np018-on": [0.5] * 4, "np018-off": [0.5] * 4})
    assert failed_runs({"reach": clean}) == []
    assert "per round: 1.00 1.00 1.00 1.00; median 1.00" in render_reach(clean)
