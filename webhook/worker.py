"""The gunicorn worker: gevent, with deadlines for handshakes and slow requests.

gevent serves each connection in its own greenlet, so idle or slow clients never starve the
others (gthread's fixed threads do: DESIGN.md §6). What gevent alone does not do is let go of
them: a client that connects and never finishes the TLS handshake, or trickles a request
body, would hold its greenlet and socket forever. This worker bounds the handshake and each
request, and answers malformed HTTP with JSON instead of gunicorn's HTML page.
"""

from __future__ import annotations

import json
import os
from typing import Any

import gevent
from gunicorn import util
from gunicorn.workers.ggevent import GeventWorker

HANDSHAKE_TIMEOUT_ENV = "NETPOL_GUARD_HANDSHAKE_TIMEOUT"
REQUEST_TIMEOUT_ENV = "NETPOL_GUARD_REQUEST_TIMEOUT"


class WebhookWorker(GeventWorker):
    """GeventWorker with a handshake deadline, a per-request deadline and JSON errors."""

    def init_process(self) -> None:
        self.handshake_timeout = float(os.environ.get(HANDSHAKE_TIMEOUT_ENV, "5"))
        self.request_timeout = float(os.environ.get(REQUEST_TIMEOUT_ENV, "10"))
        util.write_error = write_json_error
        super().init_process()

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
        super().handle(listener, client, addr)

    def handle_request(self, listener_name: Any, req: Any, sock: Any, addr: Any) -> bool:
        timer = gevent.Timeout(self.request_timeout)
        timer.start()
        try:
            return bool(super().handle_request(listener_name, req, sock, addr))
        except gevent.Timeout as expired:
            if expired is not timer:
                raise
            self.log.warning("request from %s exceeded %.1fs; closing the connection",
                             addr, self.request_timeout)
            raise StopIteration() from None
        finally:
            timer.close()


def write_json_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's error writer, answering JSON (a Kubernetes Status) instead of HTML."""
    body = json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                       "code": status_int, "reason": reason.replace(" ", ""),
                       "message": mesg}).encode()
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    util.write_nonblock(sock, head.encode("latin1") + body)
