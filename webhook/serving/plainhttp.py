"""The API server's reviews, read and answered straight off the connection.

Every review the API server sends has one shape: ``POST /validate?timeout=…`` over HTTP/1.1,
``Content-Type: application/json``, a Content-Length, a kept-alive connection. For that shape
gunicorn's general HTTP machinery (its parser, the WSGI environ, its response object) costs
more than the review itself: through a real kube-apiserver it took netpol-guard's added
latency from about 0.8 ms (what a bare TLS server in Python adds) to about 1.9 ms
(bench/README.md, "Through the API server").

So the worker serves such requests here: the request head is checked against that one shape
(strictly: anything unusual is not ours to judge), the body read by its Content-Length and
handed to ``ValidateRoute.answer`` (the same function the WSGI door uses, so the JSON is the
same byte for byte), and the answer written in one TLS record with the headers gunicorn
would send. The first request of another shape — a probe, a chunked body, a malformed head —
is handed back, with the bytes already read, to gunicorn, which serves the rest of that
connection as before.

The gunicorn master imports this module (with the worker class) before it forks: nothing here
may import the app's metrics, whose gauges would then get a file for the master's pid
(``netpol_guard_policy_valid`` is the minimum over all of them). A test checks it.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import gevent
from gunicorn import SERVER, util
from gunicorn.http.message import DEFAULT_MAX_HEADERFIELD_SIZE, MAX_HEADERS, MAX_REQUEST_LINE

from webhook.admission.wire import MAX_BODY_BYTES
from webhook.serving.statuslines import STATUS_LINES

log = logging.getLogger("netpol_guard.server")

# A request head of the plain shape is a few hundred bytes; one that has not ended by this
# many is not ours (gunicorn's limits then answer it).
MAX_HEAD_BYTES = 16 * 1024
READ_SIZE = 64 * 1024
_SERVER = SERVER.encode()
# The header lines, checked in one pass: names of letters, digits and '-' (gunicorn has rules
# for underscores and the rest: such a request goes to it), values of visible ASCII, spaces and
# tabs. Linear: a value cannot contain the CRLF that ends its line (an earlier per-line pattern
# with a lazy value backtracked quadratically: 0.4 s of CPU for one crafted 8 KiB line).
_FIELDS = re.compile(rb"[A-Za-z0-9-]+:[\t\x20-\x7e]*(?:\r\n[A-Za-z0-9-]+:[\t\x20-\x7e]*)*")
# Headers that change how the body or the connection is handled: gunicorn's business.
_NOT_PLAIN = frozenset({b"transfer-encoding", b"expect", b"upgrade", b"http2-settings",
                        b"trailer"})
_READ = frozenset({b"content-length", b"content-type", b"connection"}) | _NOT_PLAIN


@dataclass(frozen=True)
class PlainRequest:
    """A request head of the plain shape: its body length, and whether the client closes."""

    length: int
    close: bool


def parse_plain_head(head: bytes, max_fields: int = 100, max_line: int = 8190,
                     max_field_size: int = 8190) -> PlainRequest | None:
    """``head`` (request line and headers, without the blank line) if it has the shape the API
    server sends, else None: POST /validate (a query allowed) over HTTP/1.1, exactly one
    Content-Length within the limit, Content-Type exactly application/json, no header that
    changes framing (Transfer-Encoding, Expect, Upgrade), no continuation lines; within
    gunicorn's limits (``limit_request_fields``, ``limit_request_line``,
    ``limit_request_field_size``), which refuse the rest."""
    request_line, _, block = head.partition(b"\r\n")
    if len(request_line) > max_line or not _FIELDS.fullmatch(block):
        return None
    method, _, rest = request_line.partition(b" ")
    target, _, version = rest.partition(b" ")
    if (method != b"POST" or version != b"HTTP/1.1"
            or target.partition(b"?")[0] != b"/validate" or not target.isascii()
            or b" " in version or b"#" in target):
        return None
    lines = block.split(b"\r\n")
    if len(lines) > max_fields:
        return None
    length: int | None = None
    content_type: bytes | None = None
    close = False
    for line in lines:
        if len(line) + 2 > max_field_size:  # gunicorn counts the line with its CRLF
            return None
        name, _, value = line.partition(b":")
        name = name.lower()
        if name not in _READ:
            continue
        if name in _NOT_PLAIN:
            return None
        value = value.strip(b" \t")
        if name == b"content-length":
            if length is not None or not value.isdigit():
                return None
            length = int(value)
        elif name == b"content-type":
            if content_type is not None:
                return None
            content_type = value
        else:  # connection
            options = {option.strip().lower() for option in value.split(b",")}
            if b"upgrade" in options:
                return None
            close = close or b"close" in options
    if length is None or length > MAX_BODY_BYTES or content_type != b"application/json":
        return None
    return PlainRequest(length, close)


def head_limits(cfg: Any) -> tuple[int, int, int]:
    """gunicorn's ``limit_request_fields``, ``limit_request_line`` and
    ``limit_request_field_size`` as its request parser applies them (gunicorn.http.message):
    0 or less means its maximum, no limit (a line) or its default (a field), and the fields and
    line are capped at its maximums. The door must refuse exactly what gunicorn refuses."""
    fields = cfg.limit_request_fields
    if fields <= 0 or fields > MAX_HEADERS:
        fields = MAX_HEADERS
    line = cfg.limit_request_line
    if line < 0 or line >= MAX_REQUEST_LINE:
        line = MAX_REQUEST_LINE
    elif line == 0:
        line = MAX_HEAD_BYTES  # no limit: the door's own bound on a head is the only one
    field_size = cfg.limit_request_field_size
    if field_size <= 0:
        field_size = DEFAULT_MAX_HEADERFIELD_SIZE
    return fields, line, field_size


class ConnectionOwner(Protocol):
    """What the worker provides: its timeouts, and its bookkeeping around each answer."""

    keepalive: float
    request_timeout: float
    # gunicorn's limit_request_fields, limit_request_line and limit_request_field_size
    head_limits: tuple[int, int, int]

    def count_request(self) -> bool:
        """Count the request; False when the connection must close after it (the worker is
        leaving, or keep-alive is off)."""

    def answered(self) -> None:
        """The answer is written."""


# ValidateRoute.answer: (body, announced length, bookkeeping to run after sending).
Answerer = Callable[[bytes, int, list[Callable[[], None]]], tuple[int, bytes]]


def serve_plain_reviews(sock: Any, answer: Answerer, owner: ConnectionOwner,
                        addr: Any) -> bytes | None:
    """Answer plain reviews on ``sock`` until it closes (None) or a request of another shape
    arrives: then the bytes read so far, for gunicorn to carry on from."""
    buffer = b""
    later: list[Callable[[], None]] = []
    while True:
        head = _read_head(sock, buffer, owner.keepalive)
        if head is None:
            return None  # closed, or idle past the keep-alive timeout
        buffer, end = head
        request = parse_plain_head(buffer[:end], *owner.head_limits) if end >= 0 else None
        if request is None:
            return buffer
        # A fresh Timeout per request: a restarted one keeps its first deadline.
        timer = gevent.Timeout(owner.request_timeout)
        timer.start()
        try:
            keep_alive = owner.count_request() and not request.close
            body, buffer, complete = _read_body(sock, buffer[end + 4:], request.length)
            status, payload = answer(body, request.length, later)
            keep_alive = keep_alive and complete
            _send(sock, _response_head(status, len(payload), keep_alive) + payload)
        except gevent.Timeout as expired:
            if expired is not timer:
                raise
            log.warning("request from %s exceeded %.1fs; closing the connection",
                        addr, owner.request_timeout)
            return None
        finally:
            timer.close()
            _run(later)
        owner.answered()
        if not keep_alive:
            return None


def _run(later: list[Callable[[], None]]) -> None:
    # The review's log line and metrics, once its answer is on its way.
    for task in later:
        task()
    later.clear()


def _send(sock: Any, data: bytes) -> None:
    # One send() takes the whole answer (a single TLS record) nearly always; sendall's
    # chunking loop is for the rest.
    sent = sock.send(data)
    if sent < len(data):
        sock.sendall(data[sent:])


def _read_head(sock: Any, buffer: bytes, keepalive: float) -> tuple[bytes, int] | None:
    """The buffer with a whole request head in it and where the head ends (-1: no end within
    MAX_HEAD_BYTES); None when the client closes or sends nothing for ``keepalive`` s."""
    with gevent.Timeout(keepalive, False):  # False: the block just ends when time is up
        while (end := buffer.find(b"\r\n\r\n")) < 0:
            if len(buffer) > MAX_HEAD_BYTES:
                return buffer, -1
            chunk = sock.recv(READ_SIZE)
            if not chunk:
                return None
            buffer += chunk
        return buffer, end
    return None


def _read_body(sock: Any, start: bytes, length: int) -> tuple[bytes, bytes, bool]:
    """The body (``length`` bytes, fewer if the client closed first), what followed it (the
    next pipelined request), and whether the body is whole."""
    parts, have = [start], len(start)
    while have < length:
        chunk = sock.recv(max(READ_SIZE, min(length - have, 1 << 20)))
        if not chunk:
            break
        parts.append(chunk)
        have += len(chunk)
    data = b"".join(parts) if len(parts) > 1 else start
    return data[:length], data[length:], have >= length


def _response_head(status: int, length: int, keep_alive: bool) -> bytes:
    # The headers gunicorn sends for the same answer, in its order.
    return (b"HTTP/1.1 %s\r\nServer: %s\r\nDate: %s\r\nConnection: %s\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
            % (STATUS_LINES[status].encode(), _SERVER, _http_date(),
               b"keep-alive" if keep_alive else b"close", length))


_date_cache: tuple[int, bytes] = (0, b"")


def _http_date() -> bytes:
    """gunicorn's Date header value, formatted once a second."""
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, util.http_date(now).encode())
    return _date_cache[1]


class Replayed:
    """The client socket with bytes already read put back in front of it, for gunicorn's
    parser (which reads with ``recv``)."""

    def __init__(self, sock: Any, pending: bytes) -> None:
        self._sock = sock
        self._pending = pending

    def recv(self, size: int, *flags: Any) -> bytes:
        if self._pending:
            data, self._pending = self._pending[:size], self._pending[size:]
            return data
        return bytes(self._sock.recv(size, *flags))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)
