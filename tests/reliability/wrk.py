"""Saturating load with wrk (Debian package ``wrk``) and the benchmark's review script.

wrk keeps ``connections`` TLS connections alive and posts real AdmissionReviews on each as fast
as the server answers (``bench/wrk/reviews.lua`` checks every answer is an AdmissionReview).
A C client: on 2 cores it leaves the server most of the CPU, so the server saturates, which a
Python client cannot do. Bounded in time (``-d``) and in count (``BENCH_MAX_REQUESTS``); only
127.0.0.1 is dialled.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ADMISSION_FIXTURES, REPO

LUA_SCRIPT = REPO / "bench" / "wrk" / "reviews.lua"
# A mix of every kind the webhook reviews (allowed and denied).
REVIEWS = ("pod-create-kubectl-run", "deployment-create", "namespace-create",
           "namespace-update-label", "networkpolicy-create-default-deny-all",
           "networkpolicy-create-allow-all-ingress", "networkpolicy-create-egress-world-cidr",
           "networkpolicy-update-apply-add-port")


def wrk_command() -> str:
    """wrk's path. Skips when it is missing, except in CI (.ci/run installs it), where a
    missing tool must fail rather than hide the tests."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("wrk is not installed (.ci/run installs the Debian package wrk)")
    pytest.skip("wrk is not installed (apt-get install wrk)")


@dataclass(frozen=True)
class WrkResult:
    """wrk's counters and the review script's."""

    requests: int
    reviews: int
    not_reviews: int
    connect_errors: int
    read_errors: int
    write_errors: int
    timeouts: int
    non_2xx: int
    latency_max_ms: float
    seconds: float

    @property
    def socket_errors(self) -> int:
        return self.connect_errors + self.read_errors + self.write_errors

    def summary(self) -> str:
        return (f"{self.requests} requests in {self.seconds:.0f} s "
                f"({self.requests / self.seconds:.0f}/s), {self.reviews} reviews, "
                f"{self.not_reviews} not reviews, socket errors {self.socket_errors} "
                f"(connect {self.connect_errors}, read {self.read_errors}, write "
                f"{self.write_errors}), timeouts {self.timeouts}, non-2xx {self.non_2xx}, "
                f"slowest {self.latency_max_ms:.0f} ms")


def run_wrk(port: int, workdir: Path, *, connections: int, seconds: float,
            timeout: float, max_requests: int) -> WrkResult:
    """One wrk run against https://127.0.0.1:PORT/validate; ``timeout`` is wrk's per-request
    timeout (a slower answer counts as a timeout error)."""
    bodies = workdir / "wrk-bodies.txt"
    bodies.write_text("".join(f"{ADMISSION_FIXTURES / name}.json\n" for name in REVIEWS),
                      encoding="utf-8")
    env = {**os.environ, "BENCH_BODIES": str(bodies), "BENCH_MAX_REQUESTS": str(max_requests)}
    command = [wrk_command(), "-t1", f"-c{connections}", f"-d{seconds:g}s",
               "--timeout", f"{timeout:g}s", "-s", str(LUA_SCRIPT),
               f"https://127.0.0.1:{port}/validate"]
    done = subprocess.run(command, capture_output=True, text=True, env=env,
                          timeout=seconds + 60, check=False)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise AssertionError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    errors = data["errors"]
    return WrkResult(requests=data["requests"], reviews=data["reviews"],
                     not_reviews=data["not_reviews"], connect_errors=errors["connect"],
                     read_errors=errors["read"], write_errors=errors["write"],
                     timeouts=errors["timeout"], non_2xx=errors["status"],
                     latency_max_ms=data["latency_us"]["max"] / 1000,
                     seconds=data["duration_us"] / 1e6)
