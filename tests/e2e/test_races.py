"""Races and faults: many interleaved sequences from parallel clients, with zero wrong verdicts.

Each sequence is what a team does with a new namespace, as fast as the API server takes it:
create the namespace (allowed, DD001 warning), its ``default`` ServiceAccount (what the missing
controller would do), a pod (refused: DD001), the default-deny (allowed), the pod again
(allowed at once: a deny the watch cache suggests is confirmed live first). 16 clients run the
sequences in parallel over raw HTTPS, so the webhook sees namespaces and policies it has not
watched yet, interleaved with everyone else's.

Faults, while sequences run: the API server restarted (the webhook's watches break and
reconnect), and etcd compacted to its current revision before a restart (the watches come back
with a resourceVersion that is gone: 410, relist). A request the API server cannot take while
it restarts (connection refused, 5xx from the API server itself) is retried; a wrong verdict,
a failed webhook call (``failed calling webhook``: a 5xx or a timeout from netpol-guard) or a
review answered with a 5xx or slower than the webhook's timeoutSeconds fails the test. A pod
refused with DD001 during a fault although its default-deny exists is right only when the answer
says it is unconfirmed (the cache's verdict, the live read failed) and the log shows that read.

1,000 sequences in ``make e2e``; 120 in ``make test``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.e2e.conftest import FULL, Guard
from tests.e2e.controlplane import ControlPlane
from tests.e2e.rawclient import Answer, ApiClient
from webhook.serving.review import UNCONFIRMED_WARNING

SEQUENCES = 1000 if FULL else 120
CLIENTS = 16
RETRY_FOR = 90.0  # seconds a step is retried while the API server is away
POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
       "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}


def default_deny(namespace: str) -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "default-deny-ingress", "namespace": namespace},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}


@dataclass
class Tally:
    wrong: list[str] = field(default_factory=list)
    webhook_failures: list[str] = field(default_factory=list)
    # Denies while the API server was away: the webhook could not confirm a cached deny live
    # and clusterUnavailable: deny kept it (documented); each must match a logged failed
    # confirmation, and the step is retried as a user would.
    unconfirmed_denies: list[str] = field(default_factory=list)
    retries: int = 0
    done: int = 0
    fault_until: float = 0.0  # monotonic end of the fault window (0: no fault yet)
    fault_started: float = float("inf")
    lock: threading.Lock = field(default_factory=threading.Lock)

    def in_fault(self) -> bool:
        now = time.monotonic()
        return self.fault_started <= now and (self.fault_until == 0.0
                                              or now <= self.fault_until + 1.0)

    def add(self, where: list[str], text: str) -> None:
        with self.lock:
            where.append(text)


def step(client: ApiClient, tally: Tally, path: str, body: dict[str, Any],
         check: Callable[[Answer], str | None], created_ok: bool = True) -> None:
    """POST until the API server takes it; record a wrong verdict or a failed webhook call."""
    deadline = time.monotonic() + RETRY_FOR
    while True:
        try:
            answer = client.post(path, body)
        except OSError as err:
            answer, error = None, str(err)
        else:
            error = ""
            if "failed calling webhook" in answer.message:
                tally.add(tally.webhook_failures, f"{path}: {answer.status} {answer.message}")
                return
            if answer.status == 409 and created_ok:
                return  # an earlier try went through before the connection broke
            problem = check(answer) if answer.status < 500 and answer.status != 429 else ""
            if problem and tally.in_fault() and "admission webhook" not in answer.message:
                problem = ""  # the API server's own trouble while it stops (e.g. a lookup)
                answer = None
            elif (problem and tally.in_fault() and answer.status == 403
                  and "DD001 missing-default-deny" in answer.message
                  and UNCONFIRMED_WARNING in answer.warnings):
                tally.add(tally.unconfirmed_denies, path.split("/")[4])
                problem = ""
                answer = None
            if answer is not None and answer.status < 500 and answer.status != 429:
                if problem:
                    tally.add(tally.wrong, f"{path} {json.dumps(body)[:80]}: {problem}")
                return
            error = f"{answer.status} {answer.message}" if answer else "retried"
        with tally.lock:
            tally.retries += 1
        if time.monotonic() > deadline:
            tally.add(tally.wrong, f"{path}: API server away for {RETRY_FOR} s: {error}")
            return
        time.sleep(0.2)


def expect(status: int, text: str = "", *, warning: str = "") -> Callable[[Answer], str | None]:
    def check(answer: Answer) -> str | None:
        if answer.status != status:
            return f"expected {status}, got {answer.status} {answer.message}"
        if text and text not in answer.message:
            return f"expected {text!r} in {answer.message!r}"
        if warning and not any(warning in w for w in answer.warnings):
            return f"expected warning {warning!r}, got {answer.warnings}"
        return None
    return check


def sequence(client: ApiClient, tally: Tally, run: str, index: int) -> None:
    ns = f"{run}-{index}"
    step(client, tally, "/api/v1/namespaces",
         {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
         expect(201, warning=f"DD001 missing-default-deny: namespace {ns} has no default-deny"))
    step(client, tally, f"/api/v1/namespaces/{ns}/serviceaccounts",
         {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}},
         expect(201))
    step(client, tally, f"/api/v1/namespaces/{ns}/pods", POD,
         expect(403, f"DD001 missing-default-deny: namespace {ns} has no default-deny"),
         created_ok=False)
    step(client, tally, f"/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies",
         default_deny(ns), expect(201))
    step(client, tally, f"/api/v1/namespaces/{ns}/pods", POD, expect(201))
    with tally.lock:
        tally.done += 1


def run_sequences(plane: ControlPlane, run: str, count: int,
                  during: Callable[[Tally], None] | None = None) -> Tally:
    """``count`` sequences from CLIENTS threads; ``during`` runs beside them (a fault)."""
    tally = Tally()
    client = ApiClient(plane)
    try:
        with ThreadPoolExecutor(max_workers=CLIENTS + 1) as pool:
            fault = pool.submit(during, tally) if during else None
            futures = [pool.submit(sequence, client, tally, run, index)
                       for index in range(count)]
            for future in futures:
                future.result()
            if fault:
                fault.result()
    finally:
        client.close()
    return tally


def review_lines(guard: Guard) -> list[dict[str, Any]]:
    lines = []
    for line in guard.served.log_text().splitlines():
        if '"logger":"netpol_guard.review"' in line:
            lines.append(json.loads(line))
    return lines


def assert_clean(guard: Guard, tally: Tally, count: int, timeout_ms: float) -> None:
    assert tally.done == count
    assert tally.webhook_failures == [], "\n".join(tally.webhook_failures[:20])
    assert tally.wrong == [], f"{len(tally.wrong)} wrong:\n" + "\n".join(tally.wrong[:20])
    log = guard.served.log_text()
    for namespace in tally.unconfirmed_denies:
        assert f"live confirmation of Pod {namespace}/web failed" in log, namespace
    assert "WORKER TIMEOUT" not in log
    reviews = review_lines(guard)
    assert [r for r in reviews if r["code"] >= 500] == []
    slow = [r for r in reviews if r["durationMs"] >= timeout_ms]
    assert slow == [], slow[:5]


def wait_for(predicate: Callable[[], bool], timeout: float) -> float:
    start = time.monotonic()
    while not predicate():
        assert time.monotonic() - start < timeout, "condition not reached"
        time.sleep(0.1)
    return time.monotonic() - start


def timeout_ms(guard: Guard) -> float:
    return 1000.0 * min(hook["timeoutSeconds"] for hook in guard.configuration["webhooks"])


def test_parallel_sequences_get_the_right_verdicts(guard: Guard,
                                                   control_plane: ControlPlane) -> None:
    tally = run_sequences(control_plane, "race", SEQUENCES)
    assert_clean(guard, tally, SEQUENCES, timeout_ms(guard))


def test_api_server_restarted_mid_run(guard: Guard, control_plane: ControlPlane,
                                      tmp_path: Path) -> None:
    def restart(tally: Tally) -> None:
        wait_for(lambda: tally.done >= SEQUENCES // 4, 300)
        tally.fault_started = time.monotonic()
        control_plane.restart_apiserver()
        tally.fault_until = time.monotonic()

    tally = run_sequences(control_plane, "restart", SEQUENCES // 2, during=restart)
    assert tally.retries > 0  # the restart did interrupt the run
    assert_clean(guard, tally, SEQUENCES // 2, timeout_ms(guard))
    # and right away after it: a fresh batch, no retries needed
    after = run_sequences(control_plane, "after-restart", CLIENTS)
    assert_clean(guard, after, CLIENTS, timeout_ms(guard))
    assert after.retries == 0 and after.unconfirmed_denies == []


def test_etcd_compacted_watches_relist(guard: Guard, control_plane: ControlPlane) -> None:
    """With the API server stopped, move etcd's revision on and compact it there: when the API
    server is back, the webhook's watches resume from a resourceVersion that is gone (410) and
    relist."""
    before = guard.served.log_text().count("(410 Gone), relisting")

    def compact_and_restart(tally: Tally) -> None:
        wait_for(lambda: tally.done >= SEQUENCES // 8, 300)
        tally.fault_started = time.monotonic()
        control_plane.stop_apiserver()
        control_plane.bump_etcd()
        control_plane.compact_etcd()
        control_plane.start_apiserver()
        tally.fault_until = time.monotonic()

    tally = run_sequences(control_plane, "compacted", SEQUENCES // 4,
                          during=compact_and_restart)
    assert_clean(guard, tally, SEQUENCES // 4, timeout_ms(guard))
    wait_for(lambda: guard.served.log_text().count("(410 Gone), relisting") > before, 60)
    after = run_sequences(control_plane, "after-compaction", CLIENTS)
    assert_clean(guard, after, CLIENTS, timeout_ms(guard))
    assert after.retries == 0 and after.unconfirmed_denies == []
