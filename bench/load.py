"""Load: wrk over TLS with keep-alive against netpol-guard and the two reference servers.

All three servers run at once on loopback ports (idle ones cost nothing measurable), and each
load point is applied to each of them in turn, so drift on the machine hits them alike. wrk
runs on the same 2 cores as the servers; its CPU time is reported beside the figures.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.tools import ensure_command
from bench.workload import REPO, write_body_list, write_inventory
from webhook.serving.balance import STATS_FILE_ENV, WorkerStats, read_stats

LUA_SCRIPT = Path(__file__).resolve().parent / "wrk" / "reviews.lua"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# A run during which other processes used more than this many cores is repeated (up to
# MAX_ATTEMPTS runs in all) and the quietest is kept: the machine may be shared. All attempts
# are recorded in the JSON.
BUSY_MACHINE_CORES = 0.25
MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class LoadPoint:
    """A fixed rate (requests/s, over ``connections``) or saturation (rate None)."""

    name: str
    connections: int
    rate: int | None = None


# Alternating saturation rounds after the points: the throughput comparison the targets use.
ROUNDS = 5
ROUND_SECONDS = 5.0

POINTS = (
    LoadPoint("rate 100/s", 8, 100),
    LoadPoint("rate 400/s", 8, 400),
    LoadPoint("rate 1000/s", 8, 1000),
    LoadPoint("saturation 8 conns", 8),
    LoadPoint("saturation 64 conns", 64),
)


@dataclass
class Server:
    """One server under test: a process on a loopback port, with its worker table file."""

    key: str
    label: str
    command: list[str]
    port: int
    stats_file: Path
    log_file: Path
    balanced: bool = True
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    def start(self, ca_file: Path) -> None:
        environment = {**os.environ, STATS_FILE_ENV: str(self.stats_file), **self.env}
        environment.pop("PROMETHEUS_MULTIPROC_DIR", None)
        log = open(self.log_file, "wb")  # noqa: SIM115 - the process owns it
        self.process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT,
                                        env=environment, cwd=REPO)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.label} exited:\n{self.log_file.read_text()}")
            workers = self.workers()
            # Balanced servers: wait until both workers tick (a booting one takes no share).
            if _ready(self.port, ca_file) and len(workers) >= 2 and (not self.balanced or all(
                    w.heartbeat_age < 0.5 for w in workers)):
                return
            time.sleep(0.2)
        raise RuntimeError(f"{self.label} did not become ready:\n{self.log_file.read_text()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def workers(self) -> list[WorkerStats]:
        try:
            return read_stats(str(self.stats_file))
        except OSError:
            return []

    def cpu_seconds(self) -> float:
        """CPU time of the master and its workers so far."""
        pids = [self.process.pid] if self.process else []
        pids += [w.pid for w in self.workers()]
        return sum(_cpu_seconds(pid) for pid in pids)


def _cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_busy_seconds() -> float:
    """CPU seconds all processes have used so far (from /proc/stat)."""
    with open("/proc/stat", encoding="ascii") as handle:
        fields = handle.readline().split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def _ready(port: int, ca_file: Path) -> bool:
    context = ssl.create_default_context(cafile=str(ca_file))
    context.check_hostname = False
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=2)
    try:
        connection.request("GET", "/readyz", headers={"Connection": "close"})
        return connection.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ensure_wrk() -> str:
    """wrk's path; installed with apt-get when missing (Debian package ``wrk``)."""
    return ensure_command("wrk")


def make_servers(workdir: Path, certs: Any, inventory: Path) -> list[Server]:
    python = sys.executable
    cert, key = str(certs.cert), str(certs.key)
    servers = []
    port = _free_port()
    servers.append(Server(
        "netpol-guard", "netpol-guard serve (default policy, inventory, 2 workers)",
        [python, "-m", "webhook.cli.main", "serve", "--bind", f"127.0.0.1:{port}", "--cert", cert,
         "--key", key, "--cluster-source", "inventory", "--inventory", str(inventory),
         "--workers", "2"],
        port, workdir / "netpol-guard.stats", workdir / "netpol-guard.log"))
    for worker, label in (("webhook", "reference, same gunicorn config (WebhookWorker)"),
                          ("gevent", "reference, stock gunicorn gevent worker")):
        port = _free_port()
        servers.append(Server(
            f"reference-{worker}", label,
            [python, "-m", "bench.reference_app", "--worker", worker,
             "--bind", f"127.0.0.1:{port}", "--cert", cert, "--key", key, "--workers", "2"],
            port, workdir / f"reference-{worker}.stats", workdir / f"reference-{worker}.log",
            balanced=worker == "webhook"))
    return servers


def make_engine_off_server(workdir: Path, certs: Any, inventory: Path) -> Server:
    """netpol-guard with ``review_request`` answering a fixed allow (``bench/engine_off.py``):
    run in the rounds only, to show what the rules cost under load."""
    port = _free_port()
    return Server(
        "engine-off", "netpol-guard serve with review_request answering a fixed allow",
        [sys.executable, "-m", "bench.engine_off", "--bind", f"127.0.0.1:{port}",
         "--cert", str(certs.cert), "--key", str(certs.key), "--cluster-source", "inventory",
         "--inventory", str(inventory), "--workers", "2"],
        port, workdir / "engine-off.stats", workdir / "engine-off.log")


def run_rounds(wrk: str, servers: list[Server], bodies: Path, rounds: int, seconds: float,
               log: Any = print) -> dict[str, Any]:
    """Alternating saturation rounds (8 connections): each round runs every server once, the
    order rotating from round to round, so drift on the machine hits all of them alike.

    Throughput of one 10 s run moves by ±10-20 % here from run to run; the median over
    alternating rounds, and the median of the per-round ratios, move far less.
    """
    point = LoadPoint("round", 8)
    rates: dict[str, list[float | None]] = {server.key: [] for server in servers}
    cpu: dict[str, list[float]] = {server.key: [] for server in servers}
    other: list[float] = []
    failed_runs: list[str] = []
    for index in range(rounds):
        log(f"  rounds: {index + 1}/{rounds} ({len(servers)} servers × {seconds:g} s) ...")
        order = servers[index % len(servers):] + servers[:index % len(servers)]
        for server in order:
            result = run_wrk(wrk, server, point, seconds, bodies)
            if result["failed"]:
                failed_runs.append(describe_failure(result) + f" in round {index + 1}")
            rates[server.key].append(result["achieved_rate"])
            cpu[server.key].append(result["server_cpu_ms_per_review"])
            other.append(result["other_cpu_cores"])
    return {
        "rounds": rounds, "seconds": seconds, "connections": point.connections,
        "rates": rates, "cpu_ms_per_review": cpu, "max_other_cpu_cores": max(other),
        "failed_runs": failed_runs,
        "median_rate": {key: _median_or_none(values) for key, values in rates.items()},
        "median_cpu_ms_per_review": {key: _median_or_none(values)
                                     for key, values in cpu.items()},
    }


def _median_or_none(values: list[float | None]) -> float | None:
    """The median, or None when a round has no figure (it lost reviews)."""
    if not values or any(value is None for value in values):
        return None
    return statistics.median(value for value in values if value is not None)


def round_ratio(rounds: dict[str, Any], server: str, reference: str) -> float | None:
    """The median over rounds of ``server``'s throughput / ``reference``'s in the same round;
    None when a round of either lost reviews."""
    pairs = list(zip(rounds["rates"][server], rounds["rates"][reference], strict=True))
    if any(ours is None or theirs is None for ours, theirs in pairs):
        return None
    return statistics.median(ours / theirs for ours, theirs in pairs)


def run_wrk(wrk: str, server: Server, point: LoadPoint, duration: float,
            bodies: Path) -> dict[str, Any]:
    """One wrk run; latency, counters, the split over workers, CPU per review."""
    env = {**os.environ, "BENCH_BODIES": str(bodies)}
    if point.rate:
        env["BENCH_RATE"] = str(point.rate)  # one wrk thread
    command = [wrk, "-t1", f"-c{point.connections}", f"-d{duration:g}s", "--timeout", "5s",
               "-s", str(LUA_SCRIPT), f"https://127.0.0.1:{server.port}/validate"]
    before = {w.pid: w for w in server.workers()}
    cpu_before = server.cpu_seconds()
    busy_before = machine_busy_seconds()
    mid_split: list[list[int]] = []

    def sample_open_connections() -> None:
        time.sleep(duration / 2)
        mid_split.append(sorted((w.open for w in server.workers()), reverse=True))

    sampler = threading.Thread(target=sample_open_connections, daemon=True)
    sampler.start()
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    out = process.stdout.read().decode() if process.stdout else ""
    err = process.stderr.read().decode() if process.stderr else ""
    elapsed = time.monotonic() - started
    sampler.join()
    cpu_after = server.cpu_seconds()
    busy_after = machine_busy_seconds()
    after = server.workers()
    line = next((ln for ln in out.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if process.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({process.returncode}):\n{out}\n{err}")
    result: dict[str, Any] = json.loads(line.removeprefix("BENCH_JSON "))
    seconds = result["duration_us"] / 1e6
    errors = result["errors"]
    requests = result["requests"]
    per_worker = sorted((w.requests - (before[w.pid].requests if w.pid in before else 0)
                         for w in after), reverse=True)
    result.update({
        "server": server.key,
        "point": point.name,
        "connections": point.connections,
        "target_rate": point.rate,
        "achieved_rate": requests / seconds if seconds else 0.0,
        "socket_errors": errors["connect"] + errors["read"] + errors["write"]
        + errors["timeout"],
        "non_2xx": errors["status"],
        "requests_per_worker": per_worker,
        "open_connections_per_worker_mid_run": mid_split[0] if mid_split else [],
        "worker_restarts": sorted(before) != sorted(w.pid for w in after),
        "server_cpu_ms_per_review": ((cpu_after - cpu_before) * 1000 / requests
                                     if requests else None),
        "server_cpu_cores": (cpu_after - cpu_before) / elapsed,
        "wrk_cpu_cores": (usage.ru_utime + usage.ru_stime) / elapsed,
        # Whatever else ran on the machine meanwhile (other jobs, the bench's own Python).
        "other_cpu_cores": max(0.0, (busy_after - busy_before - (cpu_after - cpu_before)
                                     - usage.ru_utime - usage.ru_stime) / elapsed),
    })
    return account(result)


def lost_reviews(result: dict[str, Any]) -> dict[str, int]:
    """What a wrk run lost, by cause; empty when every request got a 200 AdmissionReview.

    Any socket error, timeout, non-2xx reply or other answer than an AdmissionReview, and any
    worker replaced during the run (its reviews in flight were lost), fails the run.
    """
    errors = result["errors"]
    lost = {
        "connect errors": errors["connect"],
        "read errors": errors["read"],
        "write errors": errors["write"],
        "timeouts": errors["timeout"],
        "non-2xx replies": errors["status"],
        # Counted by reviews.lua: any answer that is not a 200 AdmissionReview with a uid
        # (the non-2xx replies among them).
        "not AdmissionReviews": result["not_reviews"],
        "worker restarts": int(bool(result.get("worker_restarts"))),
    }
    return {cause: count for cause, count in lost.items() if count}


def account(result: dict[str, Any]) -> dict[str, Any]:
    """Mark a run that lost reviews as failed: it has no throughput figure."""
    lost = lost_reviews(result)
    result["lost"] = lost
    result["failed"] = bool(lost)
    if lost:
        result["achieved_rate"] = None
    return result


def describe_failure(result: dict[str, Any]) -> str:
    """One line for a failed run: where, and what it lost."""
    causes = ", ".join(f"{count} {cause}" for cause, count in result["lost"].items())
    return (f"{result.get('server', '?')}, {result.get('point', '?')} "
            f"({result.get('connections', '?')} connections): {causes}")


def run_load(workdir: Path, certs: Any, duration: float, points: tuple[LoadPoint, ...] = POINTS,
             warmup: float = 2.0, log: Any = print, profile_seconds: float = 0.0,
             rounds: int = ROUNDS, round_seconds: float = ROUND_SECONDS) -> dict[str, Any]:
    """Every point against every server; results by server key, then point name.

    Then ``rounds`` alternating saturation rounds of the three servers and the engine-off
    diagnostic (``results["rounds"]``). With ``profile_seconds``, netpol-guard's workers are
    then sampled with py-spy under a saturating load (not one of the measured points: sampling
    costs CPU)."""
    wrk = ensure_wrk()
    inventory = workdir / "inventory"
    write_inventory(inventory)
    bodies = workdir / "bodies.txt"
    shares = write_body_list(bodies)
    servers = make_servers(workdir, certs, inventory)
    engine_off = make_engine_off_server(workdir, certs, inventory)
    results: dict[str, Any] = {"servers": {}, "mix": shares, "failed_runs": []}
    try:
        for server in [*servers, engine_off]:
            server.start(Path(certs.ca_cert))
            results["servers"][server.key] = {"label": server.label, "points": {}}
        warm_ups = []
        for server in [*servers, engine_off]:  # warm caches and lazy imports
            warm_ups.append(run_wrk(wrk, server, LoadPoint("warm-up", 8), warmup, bodies))
        results["failed_runs"] += [describe_failure(r) for r in warm_ups if r["failed"]]
        for point in points:
            for server in servers:
                log(f"  load: {server.key:<18} {point.name} ...")
                runs = [run_wrk(wrk, server, point, duration, bodies)]
                while (runs[-1]["other_cpu_cores"] > BUSY_MACHINE_CORES
                       and len(runs) < MAX_ATTEMPTS):
                    log(f"  load: {server.key:<18} {point.name}: other processes used "
                        f"{runs[-1]['other_cpu_cores']:.2f} cores; again ...")
                    runs.append(run_wrk(wrk, server, point, duration, bodies))
                failed = [r for r in runs if r["failed"]]
                # A run that lost reviews fails the point even if a later attempt did not.
                outcome = failed[0] if failed else min(runs, key=lambda r: r["other_cpu_cores"])
                results["failed_runs"] += [describe_failure(r) for r in failed]
                if len(runs) > 1:
                    outcome["attempts"] = [
                        {key: r[key] for key in ("achieved_rate", "latency_us",
                                                 "other_cpu_cores")} for r in runs]
                results["servers"][server.key]["points"][point.name] = outcome
        if rounds > 0:
            results["rounds"] = run_rounds(wrk, [*servers, engine_off], bodies, rounds,
                                           round_seconds, log)
            results["failed_runs"] += results["rounds"]["failed_runs"]
        if profile_seconds > 0:
            results["profile"] = _profile(wrk, servers[0], bodies, workdir, profile_seconds,
                                          log)
    finally:
        for server in [*servers, engine_off]:
            server.stop()
    return results


def _profile(wrk: str, server: Server, bodies: Path, workdir: Path, seconds: float,
             log: Any) -> dict[str, Any]:
    from bench.profile import ensure_py_spy, profile_workers

    py_spy = ensure_py_spy()
    if py_spy is None:
        return {"error": "py-spy is not available (pip install py-spy)"}
    log(f"  profile: py-spy on netpol-guard's workers, {seconds:g} s at 8 connections ...")
    point = LoadPoint("profile", 8)
    return profile_workers(py_spy, [w.pid for w in server.workers()], seconds, workdir,
                           lambda: run_wrk(wrk, server, point, seconds + 2, bodies))
