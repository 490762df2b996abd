"""``make bench``: load, engine, scale and balance figures, printed as a table and saved as JSON.

    python -m bench.run                 # everything (7-11 minutes on 2 cores)
    python -m bench.run --duration 5    # shorter load points
    python -m bench.run --only load     # one part: load, breakdown, instructions, engine,
                                        # scale, connectivity, reach, apiserver

Results go to bench/results/bench-<UTC time>.json (and latest.json); the synthetic cluster for
the scale run is cached in bench/results/cache/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.load import POINTS, describe_failure, ensure_wrk, round_ratio, run_load
from bench.reach import POLICY_MIX, WORKLOAD_ROUNDS, workload_cpu_ratios

RESULTS = Path(__file__).resolve().parent / "results"
PARTS = ("load", "breakdown", "instructions", "engine", "scale", "connectivity", "reach",
         "apiserver")

TARGET_THROUGHPUT_RATIO = 0.85
TARGET_P99_AT_400_MS = 10.0
TARGET_EVALUATIONS_PER_SECOND = 20_000
TARGET_AUDIT_SECONDS = 10.0
TARGET_AUDIT_MIB = 1024.0

SERVER_NAMES = {
    "netpol-guard": "netpol-guard",
    "reference-webhook": "ref same cfg",
    "reference-gevent": "ref stock gevent",
}
# Only in the alternating rounds: netpol-guard with review_request answering a fixed allow.
DIAGNOSTIC_NAMES = {"engine-off": "ng, engine off"}


def machine() -> dict[str, Any]:
    model = ""
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        model = next((line.split(":", 1)[1].strip() for line in lscpu.splitlines()
                      if line.startswith("Model name")), "")
    except OSError:
        pass
    versions = {}
    for package in ("gunicorn", "gevent", "flask"):
        try:
            from importlib.metadata import version

            versions[package] = version(package)
        except Exception:  # noqa: BLE001 - informative only
            versions[package] = "?"
    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True,
                                 check=False).stdout.splitlines()
    return {"cpus": os.cpu_count(), "cpu_model": model, "python": platform.python_version(),
            "kernel": platform.release(), "load_average_at_start": os.getloadavg(),
            "wrk": wrk_version[0] if wrk_version else "?", **versions}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0,
                        help="seconds per load point (default %(default)s)")
    parser.add_argument("--only", choices=PARTS, action="append",
                        help="run only this part (repeatable)")
    parser.add_argument("--no-profile", action="store_true",
                        help="skip the py-spy profile of netpol-guard under load")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results directory")
    args = parser.parse_args(argv)
    parts = args.only or list(PARTS)
    if "load" in parts:
        ensure_wrk()
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    report: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "command": "make bench  (python -m bench.run " + " ".join(argv or sys.argv[1:]) + ")",
        "machine": machine(),
        "load_duration_seconds": args.duration,
    }
    with tempfile.TemporaryDirectory(prefix="netpol-guard-bench-") as temp:
        workdir = Path(temp)
        if "load" in parts:
            from webhook.cli.certs import write_dev_certificates

            certs = write_dev_certificates(workdir / "certs")
            print(f"load: {len(POINTS)} points × 3 servers × {args.duration:g} s, then "
                  "alternating saturation rounds ...", file=sys.stderr)
            report["load"] = run_load(workdir, certs, args.duration,
                                      log=lambda text: print(text, file=sys.stderr),
                                      profile_seconds=0 if args.no_profile else 8)
        if "breakdown" in parts:
            print("breakdown: CPU per review in-process ...", file=sys.stderr)
            report["breakdown"] = _in_child("breakdown", workdir)
        if "instructions" in parts:
            print("instructions: valgrind counts per review (1-2 minutes) ...", file=sys.stderr)
            from bench.instructions import run_instructions

            report["instructions"] = run_instructions(workdir)
        if "engine" in parts:
            print("engine: NetworkPolicy evaluations on one core ...", file=sys.stderr)
            report["engine"] = _in_child("engine", workdir)
        if "scale" in parts:
            print("scale: audit of 10,000 namespaces / 100,000 NetworkPolicies ...",
                  file=sys.stderr)
            from bench.scale import run_scale

            report["scale"] = run_scale(args.out / "cache" / "synthetic")
        if "connectivity" in parts:
            print("connectivity: -o json on 250, 500, 1,000 and 2,000 generated workloads ...",
                  file=sys.stderr)
            from bench.connectivity_scale import run_connectivity_scale

            report["connectivity"] = run_connectivity_scale()
        if "reach" in parts:
            print("reach: NP018 on vs off, 5,000 pods / 1,000 policies at 200 reviews/s ...",
                  file=sys.stderr)
            from bench.reach import run as run_reach

            report["reach"] = run_reach(args.duration, 200,
                                        log=lambda text: print(text, file=sys.stderr))
        if "apiserver" in parts:
            from tests.e2e.binaries import BinariesMissing

            print("apiserver: dry-run creates through kube-apiserver v1.36, no admission / "
                  "CEL / reference webhook / netpol-guard, 1 and 8 clients ...", file=sys.stderr)
            from bench.apiserver_latency import run_apiserver_latency

            try:
                report["apiserver"] = run_apiserver_latency(
                    workdir, log=lambda text: print(text, file=sys.stderr))
            except BinariesMissing as missing:
                print(f"apiserver: skipped: {missing}", file=sys.stderr)
    report["elapsed_seconds"] = time.time() - started
    report["targets"] = targets(report)
    report["failed_runs"] = failed_runs(report)
    text = render(report)
    print(text)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(started))
    for name in (f"bench-{stamp}.json", "latest.json"):
        (args.out / name).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (args.out / "latest.txt").write_text(text + "\n", encoding="utf-8")
    print(f"\nwritten: {args.out / f'bench-{stamp}.json'}", file=sys.stderr)
    if report["failed_runs"]:
        print(f"FAILED: {len(report['failed_runs'])} load runs lost reviews (see above)",
              file=sys.stderr)
        return 1
    return 0


def failed_runs(report: dict[str, Any]) -> list[str]:
    """Every load run that lost reviews (socket errors, timeouts, non-2xx, restarts)."""
    runs: list[str] = list(report.get("load", {}).get("failed_runs", []))
    for mix, by_server in report.get("reach", {}).get("results", {}).items():
        for results in by_server.values():
            runs += [f"reach, {mix} (run {number}): {describe_failure(result)}"
                     for number, result in enumerate(results, 1) if result["failed"]]
    return runs


def _in_child(part: str, workdir: Path) -> dict[str, Any]:
    """Run an in-process part in a fresh interpreter (its own caches, metrics dir, one core)."""
    code = {
        "breakdown": "from bench.breakdown import run_breakdown as f; r = f(Path(sys.argv[1]))",
        "engine": "from bench.engine import run_engine as f; r = f()",
    }[part]
    script = f"import json, sys\nfrom pathlib import Path\n{code}\nprint(json.dumps(r))"
    env = {**os.environ}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    done = subprocess.run([sys.executable, "-c", script, str(workdir)], capture_output=True,
                          text=True, check=False, env=env,
                          cwd=Path(__file__).resolve().parent.parent)
    if done.returncode != 0:
        raise RuntimeError(f"{part} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# --- targets and the table ---------------------------------------------------------------


def _points(report: dict[str, Any], server: str) -> dict[str, Any]:
    points: dict[str, Any] = report["load"]["servers"][server]["points"]
    return points


def _point_ratio(report: dict[str, Any], point: str, reference: str) -> float | None:
    """netpol-guard's throughput at ``point`` over ``reference``'s; None when either run lost
    reviews (it has no throughput figure)."""
    ours = _points(report, "netpol-guard")[point]["achieved_rate"]
    theirs = _points(report, reference)[point]["achieved_rate"]
    return None if ours is None or theirs is None else float(ours / theirs)


NO_FIGURE = "no figure: a run lost reviews"


def _ratio_row(label: str, ratio: float | None) -> dict[str, Any]:
    if ratio is None:
        return {"target": label, "value": NO_FIGURE, "met": False}
    return {"target": label, "value": f"{ratio:.0%}", "met": ratio >= TARGET_THROUGHPUT_RATIO}


def targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if "load" in report:
        ours = _points(report, "netpol-guard")
        rounds = report["load"].get("rounds")
        for reference in ("reference-webhook", "reference-gevent"):
            if rounds:  # the steadier figure: median of alternating rounds
                ratio = round_ratio(rounds, "netpol-guard", reference)
                where = (f"8 conns, median of {rounds['rounds']} alternating rounds of "
                         f"{rounds['seconds']:g} s")
            else:
                where = "saturation 8 conns"
                ratio = _point_ratio(report, where, reference)
            rows.append(_ratio_row(f"throughput ≥ {TARGET_THROUGHPUT_RATIO:.0%} of "
                                   f"{SERVER_NAMES[reference]} ({where})", ratio))
        point = "saturation 64 conns"
        for reference in ("reference-webhook", "reference-gevent"):
            rows.append(_ratio_row(f"throughput ≥ {TARGET_THROUGHPUT_RATIO:.0%} of "
                                   f"{SERVER_NAMES[reference]} ({point}, one run)",
                                   _point_ratio(report, point, reference)))
        at_400 = ours["rate 400/s"]
        p99 = at_400["latency_us"]["p99"] / 1000
        label = f"p99 ≤ {TARGET_P99_AT_400_MS:g} ms at 400 reviews/s"
        rows.append({"target": label, "value": NO_FIGURE, "met": False} if at_400.get("failed")
                    else {"target": label, "value": f"{p99:.1f} ms",
                          "met": p99 <= TARGET_P99_AT_400_MS})
        uneven = [f"{point}: conns {result['open_connections_per_worker_mid_run']}, reviews "
                  f"{result['requests_per_worker']}"
                  for point, result in ours.items() if not _even(result)]
        rows.append({"target": "even split over the 2 workers in every run, netpol-guard "
                               "(connections ±1, reviews ≤ 60 % on one)",
                     "value": "all even" if not uneven else "; ".join(uneven),
                     "met": not uneven})
    if "engine" in report:
        rate = report["engine"]["typical_evaluations_per_second"]
        rows.append({"target": f"≥ {TARGET_EVALUATIONS_PER_SECOND:,} typical NetworkPolicy "
                               "evaluations/s per core",
                     "value": f"{rate:,.0f}/s", "met": rate >= TARGET_EVALUATIONS_PER_SECOND})
        linear = report["engine"]["linearity_100_to_1000_vs_overall"]
        rows.append({"target": "evaluation time linear in peers (100→1,000 step / overall "
                               "per-peer cost ≈ 1)",
                     "value": f"{linear:.2f}", "met": 0.7 <= linear <= 1.3})
    if "scale" in report:
        for key, label, seconds in (
                ("function", "audit() of 100,000 policies in memory",
                 report["scale"]["function"]["audit_seconds"]),
                ("cli", "netpol-guard audit --inventory (JSON Lists) of 100,000 policies",
                 report["scale"]["cli"]["wall_seconds"])):
            rss = report["scale"][key]["peak_rss_mib"]
            rows.append({"target": f"{label}: ≤ {TARGET_AUDIT_SECONDS:g} s, ≤ 1 GiB",
                         "value": f"{seconds:.1f} s, {rss:.0f} MiB",
                         "met": seconds <= TARGET_AUDIT_SECONDS and rss <= TARGET_AUDIT_MIB})
    if "apiserver" in report:
        from bench.apiserver_latency import targets as apiserver_targets

        rows += apiserver_targets(report["apiserver"])
    if "reach" in report:
        rows += _reach_targets(report["reach"])
    if "connectivity" in report:
        from bench.connectivity_scale import TARGET_MIB, TARGET_SECONDS, TARGET_SIZE

        point = next((p for p in report["connectivity"]["points"]
                      if p["workloads"] == TARGET_SIZE), None)
        if point is not None:
            rows.append({"target": f"connectivity -o json of {TARGET_SIZE:,} workloads / "
                                   f"{point['pods']:,} pods / {point['policies']:,} policies: "
                                   f"≤ {TARGET_SECONDS:g} s, ≤ 1 GiB",
                         "value": f"{point['wall_seconds']:.1f} s, "
                                  f"{point['peak_rss_mib']:.0f} MiB",
                         "met": point["wall_seconds"] <= TARGET_SECONDS
                         and point["peak_rss_mib"] <= TARGET_MIB})
    return rows


def _reach_targets(reach: dict[str, Any]) -> list[dict[str, Any]]:
    """NP018's two targets, from one run with NP018 on and off side by side."""
    [policies] = reach["results"][POLICY_MIX]["np018-on"]
    p99 = policies["latency_us"]["p99"] / 1000
    label = f"NetworkPolicy reviews with NP018 on: p99 ≤ 10 ms at {reach['rate']}/s"
    rows = [{"target": label, "value": NO_FIGURE, "met": False} if policies["failed"]
            else {"target": label, "value": f"{p99:.2f} ms", "met": p99 <= 10}]
    # CPU per review, not latency: it is what NP018 could add, and less noisy (README).
    ratios = workload_cpu_ratios(reach)
    label = ("Pod/workload reviews no slower with NP018 on (CPU per review, on/off ≤ 1.10, "
             f"median of {WORKLOAD_ROUNDS} alternating rounds)")
    if ratios is None:
        rows.append({"target": label, "value": NO_FIGURE, "met": False})
    else:
        ratio = statistics.median(ratios)
        rows.append({"target": label, "value": f"{ratio:.2f} (rounds: "
                     + " ".join(f"{r:.2f}" for r in ratios) + ")", "met": ratio <= 1.10})
    return rows


def _even(result: dict[str, Any]) -> bool:
    """Connections differ by at most one, and no worker answered more than 60 % of reviews."""
    split = result["open_connections_per_worker_mid_run"]
    reviews = result["requests_per_worker"]
    return (len(split) >= 2 and max(split) - min(split) <= 1
            and sum(reviews) > 0 and max(reviews) <= 0.6 * sum(reviews))


def _ms(value_us: float) -> str:
    return f"{value_us / 1000:.1f}"


def render(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        f"netpol-guard benchmark  {report['started']}  ({report['elapsed_seconds']:.0f} s)",
        f"machine: {m['cpus']} CPUs, {m['cpu_model']}, Linux {m['kernel']}, Python {m['python']},"
        f" gunicorn {m['gunicorn']}, gevent {m['gevent']}, Flask {m['flask']}",
        f"load average at start: {' '.join(f'{x:.2f}' for x in m['load_average_at_start'])}",
    ]
    if "load" in report:
        lines += _render_load(report)
    if "breakdown" in report:
        b = report["breakdown"]
        lines += ["", "CPU per review in-process (WSGI call, no network; CPU time):",
                  f"  reference app {b['reference_app_us']:.0f} µs, netpol-guard app "
                  f"{b['netpol_guard_app_us']:.0f} µs (without the per-review log line "
                  f"{b['netpol_guard_app_no_review_log_us']:.0f} µs): netpol-guard − reference "
                  f"= {b['extra_us']:+.0f} µs"]
        for stage, value in b["stages_us"].items():
            lines.append(f"    {stage:<52} {value:6.1f} µs")
    if "instructions" in report:
        i = report["instructions"]
        lines += ["", "Instructions per review in-process (valgrind; within ≈ 2 % on every run, "
                      "unlike CPU time):",
                  f"  reference app {i['reference_app_per_review']:,.0f}, netpol-guard app "
                  f"{i['netpol_guard_app_per_review']:,.0f} "
                  f"({i['netpol_guard_over_reference']:.2f}× the reference); a typical "
                  f"10-peer evaluation {i['typical_evaluation']:,.0f}"]
    if "engine" in report:
        e = report["engine"]
        lines += ["", "Engine: check_network_policy on one core (CPU time, default policy; best "
                      "of 5 rounds, median round beside it):",
                  f"  {'peers':>6} {'evaluations/s':>14} {'µs/evaluation':>14} {'median':>8} "
                  f"{'µs/peer':>8}"]
        for size in e["sizes"].values():
            lines.append(f"  {size['peers']:>6} {size['evaluations_per_second']:>14,.0f} "
                         f"{size['us_per_evaluation']:>14.1f} "
                         f"{size['us_per_evaluation_median_round']:>8.1f} "
                         f"{size['us_per_peer']:>8.2f}")
        lines.append(f"  marginal cost {e['marginal_us_per_peer']:.2f} µs/peer; 100→1,000 step "
                     f"/ overall = {e['linearity_100_to_1000_vs_overall']:.2f} (1 = linear)")
    if "scale" in report:
        s = report["scale"]
        cli, fn = s["cli"], s["function"]
        summary = cli["summary"]
        lines += ["", f"Scale: synthetic cluster, {s['namespaces']:,} namespaces, "
                      f"{s['network_policies']:,} NetworkPolicies ({s['inventory_mib']:.0f} MiB "
                      "of JSON):",
                  f"  netpol-guard audit --inventory -o json: {cli['wall_seconds']:.1f} s wall, "
                  f"{cli['cpu_seconds']:.1f} s CPU, peak RSS {cli['peak_rss_mib']:.0f} MiB",
                  f"  audit() alone, objects in memory:      {fn['audit_seconds']:.1f} s, "
                  f"peak RSS {fn['peak_rss_mib']:.0f} MiB (incl. {fn['load_json_seconds']:.1f} s "
                  "json.load of the objects, not timed)",
                  f"  found: {summary['nonCompliant']:,} namespaces without default-deny, "
                  f"{summary['deny']:,} deny and {summary['warn']:,} warn findings"]
    if "connectivity" in report:
        from bench.connectivity_scale import render as render_connectivity

        lines += ["", "Connectivity: netpol-guard connectivity -o json on a generated cluster "
                      "(5 pods per workload, 10 workloads and 10 policies per namespace):",
                  render_connectivity(report["connectivity"])]
    if "reach" in report:
        from bench.reach import render as render_reach

        lines += ["", render_reach(report["reach"])]
    if "apiserver" in report:
        from bench.apiserver_latency import render as render_apiserver

        lines += render_apiserver(report["apiserver"])
    failures = report.get("failed_runs") or []
    if failures:
        lines += ["", f"FAILED RUNS: {len(failures)} load runs lost reviews; they have no "
                      "throughput figure:"]
        lines += [f"  {failure}" for failure in failures]
    lines += ["", "Targets:"]
    for row in report["targets"]:
        mark = "met   " if row["met"] else "MISSED"
        lines.append(f"  [{mark}] {row['target']}: {row['value']}")
    return "\n".join(lines)


def _render_load(report: dict[str, Any]) -> list[str]:
    load = report["load"]
    mix = ", ".join(f"{name} {share:.0%}" for name, share in load["mix"].items())
    lines = ["",
             f"Load: wrk over TLS with keep-alive, {report['load_duration_seconds']:g} s per "
             "point, 2 gunicorn workers each.",
             "  wrk (1 thread) SHARES THE 2 CORES with the servers: its CPU ('wrk') and any "
             "other process's ('other') are shown, in cores.",
             f"  mix: {mix}",
             "  fixed rates: wrk paced by a Lua schedule (wrk has no rate option; latency "
             "is from send, not from the scheduled time).",
             "",
             f"  {'point':<20} {'server':<17} {'rate/s':>7} {'p50':>5} {'p90':>5} {'p99':>5} "
             f"{'max':>6} {'err':>4} {'ok%':>5} {'split req':>12} {'conns':>7} "
             f"{'cpu/rev':>7} {'wrk':>4} {'other':>5}",
             f"  {'':<20} {'':<17} {'':>7} {'ms':>5} {'ms':>5} {'ms':>5} {'ms':>6} {'':>4} "
             f"{'':>5} {'':>12} {'':>7} {'ms':>7}"]
    for point in POINTS:
        for key, name in SERVER_NAMES.items():
            r = load["servers"][key]["points"][point.name]
            lat = r["latency_us"]
            errors = sum(r["lost"].values())
            ok = 100 * r["reviews"] / r["responses"] if r["responses"] else 0
            split = "/".join(str(x) for x in r["requests_per_worker"])
            conns = "/".join(str(x) for x in r["open_connections_per_worker_mid_run"])
            cpu = r["server_cpu_ms_per_review"]
            rate = "FAILED" if r["achieved_rate"] is None else f"{r['achieved_rate']:.0f}"
            lines.append(
                f"  {point.name if key == 'netpol-guard' else '':<20} {name:<17} "
                f"{rate:>7} {_ms(lat['p50']):>5} {_ms(lat['p90']):>5} "
                f"{_ms(lat['p99']):>5} {_ms(lat['max']):>6} {errors:>4} {ok:>5.1f} "
                f"{split:>12} {conns:>7} {cpu:>7.2f} {r['wrk_cpu_cores']:>4.2f} "
                f"{r['other_cpu_cores']:>5.2f}{'!' if r['other_cpu_cores'] > 0.25 else ''}")
    lines += ["", "  netpol-guard / reference:      throughput   p99"]
    for point in POINTS:
        ours = load["servers"]["netpol-guard"]["points"][point.name]
        for key in ("reference-webhook", "reference-gevent"):
            ref = load["servers"][key]["points"][point.name]
            ratio = _point_ratio(report, point.name, key)
            lines.append(f"    {point.name:<20} vs {SERVER_NAMES[key]:<17} "
                         f"{'FAILED' if ratio is None else f'{ratio:.0%}':>6} "
                         f"{ours['latency_us']['p99'] / max(ref['latency_us']['p99'], 1):>8.2f}×")
    lines.append("  'split req': reviews answered by each worker; 'conns': open connections per "
                 "worker mid-run (the stock gevent reference does not count connections).")
    lines.append("  '!': other processes used > 0.25 cores in every attempt of that run; its "
                 "figures are not comparable.")
    if load.get("rounds"):
        lines += _render_rounds(load["rounds"])
    profile = load.get("profile")
    if profile and "stages_percent" in profile:
        lines += ["", f"Where netpol-guard's worker time goes at saturation (py-spy, "
                      f"{profile['samples']} samples, inclusive % of worker samples):"]
        for label, share in profile["stages_percent"].items():
            lines.append(f"  {share:5.1f}%  {label}")
    elif profile:
        lines += ["", f"profile: {profile.get('error')}"]
    return lines


def _figure(value: float | None, spec: str) -> str:
    """A throughput figure, or FAILED for a run that lost reviews."""
    return "FAILED" if value is None else format(value, spec)


def _render_rounds(rounds: dict[str, Any]) -> list[str]:
    names = {**SERVER_NAMES, **DIAGNOSTIC_NAMES}
    lines = ["", f"Saturation, {rounds['connections']} connections, {rounds['rounds']} "
                 f"alternating rounds of {rounds['seconds']:g} s (order rotates each round; "
                 f"other processes ≤ {rounds['max_other_cpu_cores']:.2f} cores):",
             f"  {'server':<17} {'median/s':>9} {'cpu/rev':>8}  {'vs ref same cfg':>15} "
             f"{'vs stock gevent':>15}  rounds/s"]
    for key, name in names.items():
        rates = rounds["rates"][key]
        lines.append(
            f"  {name:<17} {_figure(rounds['median_rate'][key], '.0f'):>9} "
            f"{rounds['median_cpu_ms_per_review'][key]:>6.2f}ms  "
            f"{_figure(round_ratio(rounds, key, 'reference-webhook'), '.0%'):>15} "
            f"{_figure(round_ratio(rounds, key, 'reference-gevent'), '.0%'):>15}  "
            + " ".join(_figure(rate, ".0f") for rate in rates))
    lines.append("  ratios: median over rounds of the ratio within a round. 'ng, engine off': "
                 "netpol-guard with review_request (rules, cluster")
    lines.append("  snapshot) answering a fixed allow, all else its own (bench/engine_off.py): "
                 "the gap to it is what the rules cost.")
    return lines


if __name__ == "__main__":
    sys.exit(main())
