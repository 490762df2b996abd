"""Server TLS: one SSL context per worker, reloaded in place when the certificate changes.

Stock gunicorn builds a context for every connection, which doubles the cost of a handshake.
We build one, and before wrapping a new connection check (at most once a second) whether the
certificate, key or client CA files changed; if so the same context loads them again, so new
connections get the new certificate while existing ones are untouched. A bad pair on disk
(e.g. the key written before the certificate) is logged and the last good pair kept.
"""

from __future__ import annotations

import logging
import os
import ssl
import threading
import time
from typing import Any

log = logging.getLogger("netpol_guard.tls")

CHECK_INTERVAL_SECONDS = 1.0


class CertificateFiles:
    """The serving certificate, key and optional client CA, with change detection."""

    def __init__(self, certfile: str, keyfile: str, client_ca: str | None = None) -> None:
        self.certfile = certfile
        self.keyfile = keyfile
        self.client_ca = client_ca
        self._stamp = self._read_stamp()
        self._checked = time.monotonic()
        self._lock = threading.Lock()

    def _read_stamp(self) -> tuple[Any, ...]:
        stamp: list[Any] = []
        for path in (self.certfile, self.keyfile, self.client_ca):
            if path is None:
                continue
            try:
                info = os.stat(path)
                stamp.append((info.st_ino, info.st_mtime_ns, info.st_size))
            except OSError:
                stamp.append(None)
        return tuple(stamp)

    def load_into(self, context: ssl.SSLContext) -> None:
        """Load the certificate chain (and client CA) into ``context``."""
        context.load_cert_chain(certfile=self.certfile, keyfile=self.keyfile)
        if self.client_ca:
            context.load_verify_locations(cafile=self.client_ca)

    def reload_if_changed(self, context: ssl.SSLContext) -> None:
        """Reload into ``context`` when the files changed since the last load."""
        now = time.monotonic()
        if now - self._checked < CHECK_INTERVAL_SECONDS:
            return
        with self._lock:
            self._checked = now
            stamp = self._read_stamp()
            if stamp == self._stamp:
                return
            try:
                # A pair that does not match (the certificate written before its key) must not
                # reach the live context: OpenSSL swaps the certificate in before it notices.
                self.load_into(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER))
                self.load_into(context)
            except (OSError, ssl.SSLError) as error:
                # Probably caught mid-rotation; retry on the next check, keep serving the old.
                log.warning("certificate reload failed, keeping the previous one",
                            extra={"fields": {"cert": self.certfile, "error": str(error)}})
                return
            self._stamp = stamp
            log.info("certificate reloaded", extra={"fields": {"cert": self.certfile}})


def server_context(files: CertificateFiles) -> ssl.SSLContext:
    """A server context: TLS 1.2 minimum, HTTP/1.1 only, client certs when a CA is given.

    The context class is looked up at call time so that, in a gevent worker, it is gevent's
    (monkey-patched) SSLContext.
    """

    class ReloadingContext(ssl.SSLContext):
        def wrap_socket(self, sock: Any, *args: Any, **kwargs: Any) -> Any:
            files.reload_if_changed(self)
            # The handshake happens in the worker, under a timeout (webhook.serving.worker).
            kwargs["do_handshake_on_connect"] = False
            return super().wrap_socket(sock, *args, **kwargs)

    context = ReloadingContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.options |= ssl.OP_NO_COMPRESSION
    context.set_alpn_protocols(["http/1.1"])
    files.load_into(context)
    context.verify_mode = ssl.CERT_REQUIRED if files.client_ca else ssl.CERT_NONE
    return context
