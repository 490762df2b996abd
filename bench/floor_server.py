"""The floor: about the least a webhook in Python can do over TLS, for bench/apiserver_latency.py.

One process, gevent (a greenlet per connection, as netpol-guard's workers), the standard
library's TLS, HTTP/1.1 keep-alive read by Content-Length, and for every POST the review's
apiVersion and uid echoed with ``allowed: true``; a GET answers ``{"status":"ready"}``. No
gunicorn, no WSGI, no deadlines, no logs: not a server to run, a measure of what the API
server's webhook call costs before any webhook does any work.

    python -m bench.floor_server --bind 127.0.0.1:9443 --cert certs/tls.crt --key certs/tls.key
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402 - after the patching, as gevent asks
import json  # noqa: E402
import ssl  # noqa: E402
import sys  # noqa: E402
from typing import Any  # noqa: E402

from gevent.server import StreamServer  # noqa: E402

READY = b'{"status":"ready"}'


def answer(head: bytes, body: bytes) -> bytes:
    if head.startswith(b"GET"):
        payload = READY
    else:
        review = json.loads(body)
        payload = json.dumps({"apiVersion": review.get("apiVersion"), "kind": "AdmissionReview",
                              "response": {"uid": review["request"]["uid"], "allowed": True}},
                             separators=(",", ":")).encode()
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
            % len(payload) + payload)


def serve_connection(sock: Any, _address: Any) -> None:
    buffer = b""
    while True:
        while b"\r\n\r\n" not in buffer:
            chunk = sock.recv(65536)
            if not chunk:
                return
            buffer += chunk
        head, _, buffer = buffer.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(buffer) < length:
            chunk = sock.recv(65536)
            if not chunk:
                return
            buffer += chunk
        body, buffer = buffer[:length], buffer[length:]
        sock.sendall(answer(head, body))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.floor_server")
    parser.add_argument("--bind", default="127.0.0.1:9443")
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    args = parser.parse_args(argv)
    host, _, port = args.bind.rpartition(":")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    StreamServer((host, int(port)), serve_connection, ssl_context=context).serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
