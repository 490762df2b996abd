"""The gunicorn worker: gevent, with deadlines for handshakes and slow requests.

gevent serves each connection in its own greenlet, so idle or slow clients never starve the
others (gthread's fixed threads do: DESIGN.md §6). What gevent alone does not do is let go of
them: a client that connects and never finishes the TLS handshake, or trickles a request
body, would hold its greenlet and socket forever. This worker bounds the handshake and each
request, and answers malformed HTTP with JSON instead of gunicorn's HTML page.

Four more things, measured with bench/:
- the API server's reviews (POST /validate of one plain shape) are read and answered by
  webhook.serving.plainhttp, without gunicorn's parser and WSGI; anything else on the
  connection goes to gunicorn;
- with more than one worker, kept-alive connections are spread evenly: a worker holding more
  open connections than another stops accepting until the other catches up (webhook.serving.balance;
  left alone, gunicorn often put every connection on one worker, DESIGN.md §6);
- a response's status line, headers and body go out in one TLS record (``CoalescedWrites``);
- on SIGTERM (also how gunicorn retires old workers on a SIGHUP reload) the worker stops
  accepting at once instead of at its next one-second poll, and closes its listeners only when
  every accepted connection has been served. (Stock GeventWorker calls StreamServer.close(),
  which drops the server's handler: a connection accepted a moment before got a handler
  greenlet that found no handler and closed the socket, and its review was lost. The listening
  socket is shared with the master and the new workers, so connections still queued in the
  kernel are accepted by them.)
"""

from __future__ import annotations

import json
import os
import time
from functools import partial
from typing import Any

import gevent
from gevent.pool import Pool
from gevent.server import StreamServer
from gunicorn import util
from gunicorn.sock import ssl_context
from gunicorn.workers.ggevent import GeventWorker

from webhook.serving.balance import (
    FAST_TICK_SECONDS,
    FAST_TICKS_FOR_SECONDS,
    IDLE_TICK_SECONDS,
    TICK_SECONDS,
    WorkerSlot,
)
from webhook.serving.plainhttp import Answerer, Replayed, head_limits, serve_plain_reviews

HANDSHAKE_TIMEOUT_ENV = "NETPOL_GUARD_HANDSHAKE_TIMEOUT"
# A worker that answers requests or completes handshakes is alive, however late its main
# loop runs: it beats on that progress too, at most this often (one utime call per beat).
PROGRESS_BEAT_SECONDS = 0.2
REQUEST_TIMEOUT_ENV = "NETPOL_GUARD_REQUEST_TIMEOUT"


class WebhookWorker(GeventWorker):  # type: ignore[misc]
    """GeventWorker with handshake and request deadlines, JSON errors, balanced accepts."""

    alive: bool  # gunicorn's: False once the worker is leaving
    keepalive: float
    head_limits: tuple[int, int, int]
    balance_slot: WorkerSlot | None = None
    # The app's door for plain reviews (None: every request goes through gunicorn and WSGI).
    plain_reviews: Answerer | None = None
    _servers: tuple[BalancedStreamServer, ...] = ()
    _last_progress_beat = 0.0

    def init_process(self) -> None:
        self.handshake_timeout = float(os.environ.get(HANDSHAKE_TIMEOUT_ENV, "5"))
        self.request_timeout = float(os.environ.get(REQUEST_TIMEOUT_ENV, "10"))
        util.write_error = write_json_error
        super().init_process()

    def load_wsgi(self) -> None:
        super().load_wsgi()
        self.plain_reviews = _plain_door(self.wsgi, self.cfg)
        # Seconds a kept-alive connection may wait for its next request (gunicorn's keepalive;
        # with keep-alive off, one request, waited for as long as a request may take).
        self.keepalive = float(self.cfg.keepalive) or self.request_timeout
        self.head_limits = head_limits(self.cfg)

    def run(self) -> None:
        """GeventWorker.run, with servers that take part in the connection balance and a
        shutdown that serves every connection it accepted."""
        slot = self.balance_slot if self.cfg.workers > 1 else None
        ssl_args = {"ssl_context": ssl_context(self.cfg)} if self.cfg.is_ssl else {}
        servers: list[BalancedStreamServer] = []
        for sock in self.sockets:
            sock.setblocking(1)
            server = BalancedStreamServer(sock, slot, handle=partial(self.handle, sock),
                                          spawn=Pool(self.worker_connections), **ssl_args)
            if self.cfg.workers > 1:
                server.max_accept = 1
            server.start()
            servers.append(server)
        self._servers = tuple(servers)
        ticker = gevent.spawn(_rebalance, servers, slot) if slot is not None else None

        # gunicorn hands its workers half the heartbeat timeout as self.timeout: beat at least
        # that often (stock gevent waits 1 s, which a --timeout of 1 s kills even when idle).
        interval = min(1.0, self.timeout) if self.timeout else 1.0
        while self.alive:
            self.notify()
            gevent.sleep(interval)

        if ticker is not None:
            ticker.kill(block=False)
        try:
            self._stop_accepting()
            # Finish the connections accepted so far, up to graceful_timeout.
            started = time.time()
            while time.time() - started <= self.cfg.graceful_timeout:
                if all(server.pool.free_count() == server.pool.size for server in servers):
                    break
                self.notify()
                gevent.sleep(0.1)
            else:
                self.log.warning("Worker graceful timeout (pid:%s)", self.pid)
                for server in servers:
                    server.stop(timeout=1)
            for server in servers:
                if not server.closed:
                    server.close()
        except Exception:  # as gunicorn's GeventWorker: the worker is exiting anyway
            pass

    def handle_exit(self, sig: Any, frame: Any) -> None:
        """SIGTERM (also sent to old workers on a SIGHUP reload): stop accepting at once.

        gunicorn's loop would notice only at its next poll, up to a second later; meanwhile
        the new workers (or the other replicas) should take the new connections.
        """
        super().handle_exit(sig, frame)
        gevent.spawn(self._stop_accepting)

    def _stop_accepting(self) -> None:
        # Not close(): see the module docstring.
        for server in self._servers:
            server.draining = True
            if not server.closed:
                server.stop_accepting()

    def handle(self, listener: Any, client: Any, addr: Any) -> None:
        client.setblocking(1)
        if hasattr(client, "do_handshake"):
            timer = gevent.Timeout(self.handshake_timeout)
            timer.start()
            try:
                client.do_handshake()
            except gevent.Timeout as expired:
                if expired is not timer:
                    raise
                self.log.debug("TLS handshake timed out from %s", addr)
                util.close(client)
                return
            except OSError as error:  # ssl.SSLError is an OSError
                self.log.debug("TLS handshake failed from %s: %s", addr, error)
                util.close(client)
                return
            finally:
                timer.close()
            self.progress()
        if self.plain_reviews is not None:
            client = self._serve_plain(client, addr, self.plain_reviews)
            if client is None:
                return
        super().handle(listener, client, addr)

    def _serve_plain(self, client: Any, addr: Any, answer: Answerer) -> Any:
        """Plain reviews on ``client``; then None (closed here), or the connection with
        the bytes read so far put back, for gunicorn."""
        try:
            pending = serve_plain_reviews(client, answer, self, addr)
        except OSError as error:  # ssl.SSLError too: the client went away, as gunicorn logs it
            self.log.debug("connection from %s ended: %s", addr, error)
            pending = None
        except BaseException:
            util.close(client)
            raise
        if pending is None:
            util.close(client)
            return None
        self.log.debug("a request from %s is not a plain review; gunicorn serves the rest "
                       "of the connection", addr)
        return Replayed(client, pending)

    # The connection owner for webhook.serving.plainhttp (``keepalive``: set in load_wsgi).
    def count_request(self) -> bool:
        """gunicorn's bookkeeping for one request (``handle_request``), with the line its
        default pre_request hook logs at debug level."""
        self.log.debug("%s %s", "POST", "/validate")
        if self.balance_slot is not None:
            self.balance_slot.request_handled()
        self.nr += 1
        if self.nr >= self.max_requests and self.alive:
            self.log.info("Autorestarting worker after current request.")
            self.alive = False
        return bool(self.alive and self.cfg.keepalive)

    def answered(self) -> None:
        self.progress()

    def handle_request(self, listener_name: Any, req: Any, sock: Any, addr: Any) -> bool:
        if self.balance_slot is not None:
            self.balance_slot.request_handled()
        writes = CoalescedWrites(sock)
        timer = gevent.Timeout(self.request_timeout)
        timer.start()
        try:
            keep_alive = bool(super().handle_request(listener_name, req, writes, addr))
        except StopIteration:
            writes.flush()  # a complete response on a connection that closes now
            raise
        except gevent.Timeout as expired:
            if expired is not timer:
                raise
            self.log.warning("request from %s exceeded %.1fs; closing the connection",
                             addr, self.request_timeout)
            raise StopIteration() from None
        finally:
            timer.close()
        writes.flush()
        self.progress()
        return keep_alive

    def progress(self) -> None:
        """A request answered or a handshake done: beat for gunicorn's arbiter.

        gunicorn's heartbeat comes from the worker's main loop, a greenlet that wakes once a
        second, but a saturated worker runs it only after every ready connection has had its
        turn: measured under 256 kept-alive connections, its beats came up to 1.9 s apart, close
        to the 2 s timeout, and a busier machine pushes them past it (WORKER TIMEOUT, and every
        review in flight on the worker lost). Progress is the better sign of life. Only the
        heartbeat file is touched here: gunicorn's notify() may sys.exit, which belongs in the
        main loop. (The balance table keeps its own beat from ``_rebalance``: a worker too busy
        to run that ticker is left out of the accept comparison, as before.)
        """
        now = time.monotonic()
        if now - self._last_progress_beat >= PROGRESS_BEAT_SECONDS:
            self._last_progress_beat = now
            self.tmp.notify()


class CoalescedWrites:
    """The client socket, with a response's writes sent together when the request is done.

    gunicorn writes the status line and headers, then the body, each with its own
    ``sendall``: two TLS records and two system calls for a response of a few hundred bytes.
    Collected, they go out as one. ``send`` and ``sendfile`` are not collected (gunicorn
    sends ``100 Continue`` with ``send``, and the client waits for it before it sends the
    body): they flush what was collected first, so the bytes stay in order.
    """

    __slots__ = ("_chunks", "_sock")

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._chunks: list[bytes] = []

    def sendall(self, data: Any) -> None:
        self._chunks.append(bytes(data))

    def send(self, data: Any, *args: Any) -> int:
        self.flush()
        return int(self._sock.send(data, *args))

    def sendfile(self, *args: Any, **kwargs: Any) -> Any:
        self.flush()
        return self._sock.sendfile(*args, **kwargs)

    def flush(self) -> None:
        if self._chunks:
            data = b"".join(self._chunks)
            self._chunks.clear()
            self._sock.sendall(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class BalancedStreamServer(StreamServer):  # type: ignore[misc]
    """A StreamServer that accepts only while its worker holds no more than its fair share
    (with a balance slot), and never again once the worker is draining."""

    def __init__(self, listener: Any, slot: WorkerSlot | None, **kwargs: Any) -> None:
        self.balance_slot = slot
        self.draining = False
        super().__init__(listener, **kwargs)

    def start_accepting(self) -> None:
        if not self.draining:
            super().start_accepting()

    def do_read(self) -> Any:
        slot = self.balance_slot
        if self.draining or (slot is not None and not slot.may_accept()):
            self.stop_accepting()  # _rebalance starts it again unless draining
            return None
        accepted = super().do_read()
        if accepted and slot is not None:
            slot.connection_opened()
        return accepted

    def do_close(self, sock: Any, *args: Any) -> None:
        # Called once for every accepted connection, when its handler is done.
        try:
            super().do_close(sock, *args)
        finally:
            if self.balance_slot is not None:
                self.balance_slot.connection_closed()

    @property
    def accepting(self) -> bool:
        return self._watcher is not None


def _rebalance(servers: list[BalancedStreamServer], slot: WorkerSlot) -> None:
    """Show this worker is alive; resume accepting as soon as the counts allow.

    Pausing happens in ``do_read``, at the moment of an accept. While paused the counts are
    polled quickly at first (a burst of new connections is being spread), then slowly (an odd
    number of connections keeps one worker paused for as long as they live).
    """
    paused_since: float | None = None
    while True:
        slot.beat()
        live = [server for server in servers if server.started and not server.closed]
        if any(not server.accepting for server in live) and slot.may_accept():
            for server in live:
                if not server.accepting:
                    server.start_accepting()
        paused = any(not server.accepting for server in live)
        if not paused:
            paused_since = None
            gevent.sleep(IDLE_TICK_SECONDS)
            continue
        now = time.monotonic()
        paused_since = paused_since or now
        gevent.sleep(FAST_TICK_SECONDS if now - paused_since < FAST_TICKS_FOR_SECONDS
                     else TICK_SECONDS)


def _plain_door(app: Any, cfg: Any) -> Answerer | None:
    """The app's answer function for plain reviews, when nothing would miss gunicorn's
    request objects: the app has a ValidateRoute, there is no access log and no
    pre/post_request hook (netpol-guard serve sets none), and no SCRIPT_NAME prefix."""
    from webhook.serving.validate import ValidateRoute

    route = getattr(app, "wsgi_app", None)
    hooks_default = all(cfg.settings[name].value is cfg.settings[name].default
                        for name in ("pre_request", "post_request"))
    if (not isinstance(route, ValidateRoute) or cfg.accesslog or not hooks_default
            or os.environ.get("SCRIPT_NAME")):
        return None
    return route.answer


def write_json_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's error writer, answering JSON (a Kubernetes Status) instead of HTML."""
    body = json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                       "code": status_int, "reason": reason.replace(" ", ""),
                       "message": mesg}).encode()
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    util.write_nonblock(sock, head.encode("latin1") + body)
