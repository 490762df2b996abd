"""A small, bounded background load for the fault tests: real reviews over kept-alive HTTPS.

``LoadGenerator`` runs N threads against a webhook on 127.0.0.1. Each thread holds one
kept-alive HTTPS connection (as the API server's client does) and posts real AdmissionReview
requests (``tests/fixtures/admission``), each with a fresh uid. Every reply is counted by
outcome:

- ``allowed`` / ``denied_as_expected``: HTTP 200, an AdmissionReview with our uid, and the
  verdict the same server gave this review before the fault (``baseline``);
- a failure, by cause: ``connect`` (TCP connect or TLS handshake failed), ``in-flight`` (the
  connection broke between sending the request and reading the whole answer), ``timeout`` (no
  answer within the API server's 3 s webhook timeout), ``http-status`` (not 200), ``bad-body``
  (not an AdmissionReview for our uid), ``wrong-verdict`` (another verdict than the baseline;
  when that is an allow of a review the policy denies it is also counted in
  ``admitted_but_denied``).

After a failure the thread drops its connection and dials a new one; a reply that carries
``Connection: close`` is not a failure, the thread just dials again. The load is bounded in
requests and in time, and only ever dials 127.0.0.1.
"""

from __future__ import annotations

import http.client
import json
import ssl
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tests.conftest import load_review

HOST = "127.0.0.1"
# The API server gives a webhook call 3 s by default (timeoutSeconds in the chart): an answer
# later than that is as good as none.
WEBHOOK_TIMEOUT_SECONDS = 3.0
CANARY_ANNOTATION = "reliability.netpol-guard.io/canary"
# Distinctive object content: it must never appear in the server's logs.
CANARY = "canary-3f9c1e-object-payload-must-not-be-logged"

# A mix of every kind the webhook reviews; verdicts come from the server itself (baseline).
DEFAULT_REVIEWS = (
    "networkpolicy-create-allow-all-ingress",
    "networkpolicy-create-default-deny-all",
    "networkpolicy-create-egress-world-cidr",
    "networkpolicy-create-named-port",
    "networkpolicy-create-ipblock-except",
    "networkpolicy-update-ratcheted-noncanonical-cidrs",
    "networkpolicy-delete-default-deny-ingress",
    "namespace-create",
    "namespace-update-label",
    "pod-create-kubectl-run",
    "deployment-create",
    "configmap-create-netpol-guard-policy",
)


@dataclass(frozen=True)
class Verdict:
    """What the webhook answered: allowed or not, and the status code of a deny."""

    allowed: bool
    code: int | None


@dataclass(frozen=True)
class LoadReview:
    """One review the load sends, and the verdict it must keep getting."""

    name: str
    review: dict[str, Any]
    expected: Verdict


@dataclass(frozen=True)
class Failure:
    """One request that did not get its expected answer."""

    at: float  # time.monotonic()
    cause: str
    detail: str
    connection: int  # the thread's connection number (one per dial)
    local_port: int | None  # the client port of that connection, when it got one


@dataclass
class Tally:
    """Every request the load sent, counted by outcome."""

    sent: int = 0
    allowed: int = 0
    denied_as_expected: int = 0
    admitted_but_denied: int = 0
    dials: int = 0
    max_latency: float = 0.0
    failures: list[Failure] = field(default_factory=list)
    answered_at: list[float] = field(default_factory=list)
    # Serial numbers of the serving certificates seen, per dial.
    serials: Counter[str] = field(default_factory=Counter)

    @property
    def answered(self) -> int:
        return self.allowed + self.denied_as_expected

    def by_cause(self) -> Counter[str]:
        return Counter(failure.cause for failure in self.failures)

    def answered_after(self, moment: float) -> int:
        return sum(1 for at in self.answered_at if at > moment)

    def summary(self) -> str:
        causes = ", ".join(f"{cause} {count}" for cause, count in sorted(self.by_cause().items()))
        return (f"sent {self.sent}, answered {self.answered} (allowed {self.allowed}, denied as "
                f"expected {self.denied_as_expected}), failed {len(self.failures)}"
                f"{' (' + causes + ')' if causes else ''}, admitted but denied by the policy "
                f"{self.admitted_but_denied}, dials {self.dials}, slowest answer "
                f"{self.max_latency * 1000:.0f} ms")


def client_context(ca_file: str, client_cert: tuple[str, str] | None = None) -> ssl.SSLContext:
    """A TLS client context that trusts ``ca_file`` (and presents ``client_cert``)."""
    context = ssl.create_default_context(cafile=ca_file)
    if client_cert is not None:
        context.load_cert_chain(*client_cert)
    return context


def with_canary(review: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``review`` whose object carries the canary annotation."""
    copy = json.loads(json.dumps(review))
    obj = copy["request"].get("object")
    if isinstance(obj, dict):
        obj.setdefault("metadata", {}).setdefault("annotations", {})[CANARY_ANNOTATION] = CANARY
    return copy


def post_review(connection: http.client.HTTPSConnection, review: dict[str, Any]
                ) -> tuple[int, dict[str, Any] | None, bool]:
    """POST one review; (HTTP status, the JSON answer or None, server asked to close)."""
    connection.request("POST", "/validate?timeout=3s", body=json.dumps(review).encode(),
                       headers={"Content-Type": "application/json",
                                "User-Agent": "kube-apiserver-admission",
                                "Accept": "application/json"})
    answer = connection.getresponse()
    raw = answer.read()
    try:
        document = json.loads(raw)
    except ValueError:
        document = None
    return answer.status, document if isinstance(document, dict) else None, answer.will_close


def verdict_of(document: dict[str, Any] | None, uid: str) -> Verdict | None:
    """The verdict in an AdmissionReview answer for ``uid``; None when it is not one."""
    if document is None or document.get("kind") != "AdmissionReview":
        return None
    response = document.get("response")
    if not isinstance(response, dict) or response.get("uid") != uid:
        return None
    allowed = response.get("allowed")
    if not isinstance(allowed, bool):
        return None
    status = response.get("status")
    code = status.get("code") if isinstance(status, dict) and not allowed else None
    return Verdict(allowed, code if isinstance(code, int) else None)


def baseline(port: int, ca_file: str, names: tuple[str, ...] = DEFAULT_REVIEWS, *,
             client_cert: tuple[str, str] | None = None,
             reviews: dict[str, dict[str, Any]] | None = None) -> list[LoadReview]:
    """Ask the server once for each review's verdict: what the load must keep getting.

    ``reviews`` adds (or overrides) reviews by name; the rest are fixtures.
    """
    extra = reviews or {}
    connection = http.client.HTTPSConnection(HOST, port, timeout=10,
                                             context=client_context(ca_file, client_cert))
    result = []
    try:
        for name in names:
            review = with_canary(extra[name] if name in extra else load_review(name))
            status, document, _ = post_review(connection, review)
            verdict = verdict_of(document, review["request"]["uid"])
            if status != 200 or verdict is None:
                raise AssertionError(f"baseline for {name}: HTTP {status}, {document}")
            result.append(LoadReview(name, review, verdict))
    finally:
        connection.close()
    return result


class LoadGenerator:
    """``threads`` clients posting ``reviews`` until stopped, ``max_requests`` or ``max_seconds``.

    ``pause`` is the time each thread waits between requests (keeps a 2-core machine from
    saturating); ``reconnect_every`` makes each thread dial a new connection every so many
    requests (exercises handshakes, e.g. during certificate rotation).
    """

    def __init__(self, port: int, ca_file: str, reviews: list[LoadReview], *, threads: int = 4,
                 max_requests: int = 20_000, max_seconds: float = 30.0, pause: float = 0.002,
                 reconnect_every: int = 0, client_cert: tuple[str, str] | None = None) -> None:
        if not reviews:
            raise ValueError("no reviews to send")
        self.port = port
        self.reviews = reviews
        self.threads = threads
        self.max_seconds = max_seconds
        self.pause = pause
        self.reconnect_every = reconnect_every
        self.context = client_context(ca_file, client_cert)
        self.tally = Tally()
        self._budget = max_requests
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []
        self._deadline = 0.0
        self._ports: dict[int, int] = {}

    def __enter__(self) -> LoadGenerator:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> None:
        self._deadline = time.monotonic() + self.max_seconds
        for index in range(self.threads):
            worker = threading.Thread(target=self._run, args=(index,), daemon=True,
                                      name=f"loadgen-{index}")
            self._workers.append(worker)
            worker.start()

    def stop(self) -> Tally:
        """Stop every thread (each finishes its request in flight) and return the tally."""
        self._stop.set()
        for worker in self._workers:
            worker.join(WEBHOOK_TIMEOUT_SECONDS + 5)
        self._workers = []
        return self.tally

    def wait_for_answers(self, count: int, timeout: float = 10.0) -> None:
        """Block until ``count`` more requests were answered as expected (the load runs)."""
        target = self.tally.answered + count
        deadline = time.monotonic() + timeout
        while self.tally.answered < target:
            if time.monotonic() > deadline:
                raise AssertionError(f"the load got no answers: {self.tally.summary()}")
            time.sleep(0.02)

    def local_ports(self) -> dict[int, int]:
        """The client port of each thread's open connection (thread index -> port)."""
        with self._lock:
            return dict(self._ports)

    # --- one client ----------------------------------------------------------------------------

    def _take_budget(self) -> bool:
        with self._lock:
            if self._budget <= 0:
                return False
            self._budget -= 1
            self.tally.sent += 1
            return True

    def _fail(self, cause: str, detail: str, dial: int, port: int | None) -> None:
        with self._lock:
            self.tally.failures.append(Failure(time.monotonic(), cause, detail, dial, port))

    def _dial(self) -> tuple[http.client.HTTPSConnection, int]:
        connection = http.client.HTTPSConnection(HOST, self.port, context=self.context,
                                                 timeout=WEBHOOK_TIMEOUT_SECONDS)
        try:
            connection.connect()
        except BaseException:
            connection.close()
            raise
        sock = connection.sock
        assert isinstance(sock, ssl.SSLSocket)
        port = int(sock.getsockname()[1])
        serial = (sock.getpeercert() or {}).get("serialNumber", "?")
        with self._lock:
            self.tally.dials += 1
            self.tally.serials[str(serial)] += 1
        return connection, port

    def _run(self, index: int) -> None:
        connection: http.client.HTTPSConnection | None = None
        port: int | None = None
        dial = 0
        sent = 0
        try:
            while not self._stop.is_set() and time.monotonic() < self._deadline:
                if not self._take_budget():
                    break
                item = self.reviews[(index + sent) % len(self.reviews)]
                sent += 1
                if connection is None:
                    dial += 1
                    try:
                        connection, port = self._dial()
                    except (OSError, http.client.HTTPException) as error:
                        self._fail("connect", f"{type(error).__name__}: {error}", dial, None)
                        port = None
                        time.sleep(0.05)
                        continue
                    with self._lock:
                        self._ports[index] = port
                close = self._one_request(index, sent, item, connection, dial, port)
                if close or (self.reconnect_every and sent % self.reconnect_every == 0):
                    connection.close()
                    connection = None
                    with self._lock:
                        self._ports.pop(index, None)
                if self.pause:
                    time.sleep(self.pause)
        finally:
            if connection is not None:
                connection.close()
            with self._lock:
                self._ports.pop(index, None)

    def _one_request(self, index: int, sent: int, item: LoadReview,
                     connection: http.client.HTTPSConnection, dial: int,
                     port: int | None) -> bool:
        """Send one review; True when the connection must be dropped afterwards."""
        review = dict(item.review)
        uid = f"load-{index}-{sent}"
        review["request"] = {**item.review["request"], "uid": uid}
        started = time.monotonic()
        try:
            status, document, will_close = post_review(connection, review)
        except TimeoutError as error:
            self._fail("timeout", f"{item.name}: {error}", dial, port)
            return True
        except (OSError, http.client.HTTPException) as error:
            self._fail("in-flight", f"{item.name}: {type(error).__name__}: {error}", dial, port)
            return True
        elapsed = time.monotonic() - started
        with self._lock:
            self.tally.max_latency = max(self.tally.max_latency, elapsed)
        if status != 200:
            self._fail("http-status", f"{item.name}: HTTP {status} {document}", dial, port)
            return True
        verdict = verdict_of(document, uid)
        if verdict is None:
            self._fail("bad-body", f"{item.name}: {document}", dial, port)
            return True
        if verdict != item.expected:
            self._fail("wrong-verdict", f"{item.name}: {verdict} instead of {item.expected}",
                       dial, port)
            if verdict.allowed and not item.expected.allowed:
                with self._lock:
                    self.tally.admitted_but_denied += 1
            return will_close
        with self._lock:
            if verdict.allowed:
                self.tally.allowed += 1
            else:
                self.tally.denied_as_expected += 1
            self.tally.answered_at.append(time.monotonic())
        return will_close
