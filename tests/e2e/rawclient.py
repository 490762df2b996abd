"""Many API requests fast: raw HTTPS with the admin certificate, one kept-alive connection per
thread (no kubectl process per request). Warnings come back in the ``Warning`` header."""

from __future__ import annotations

import http.client
import json
import re
import threading
from dataclasses import dataclass
from typing import Any

from tests.e2e.controlplane import ControlPlane

_WARNING = re.compile(r'299 - "((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    warnings: tuple[str, ...]

    @property
    def message(self) -> str:
        return str(self.body.get("message", "")) if isinstance(self.body, dict) else ""


class ApiClient:
    def __init__(self, plane: ControlPlane, user_agent: str = "kubectl/v1.36.2") -> None:
        self.plane = plane
        self.user_agent = user_agent
        self.local = threading.local()
        self.connections: list[http.client.HTTPSConnection] = []
        self.lock = threading.Lock()

    def _connection(self) -> http.client.HTTPSConnection:
        connection = getattr(self.local, "connection", None)
        if connection is None:
            connection = http.client.HTTPSConnection(
                "127.0.0.1", self.plane.api_port, context=self.plane.ssl_context(), timeout=30)
            self.local.connection = connection
            with self.lock:
                self.connections.append(connection)
        return connection

    def request(self, method: str, path: str, body: Any = None) -> Answer:
        """One request; a broken connection raises OSError (http.client's errors are)."""
        connection = self._connection()
        data = None if body is None else (body if isinstance(body, bytes)
                                          else json.dumps(body).encode())
        try:
            connection.request(method, path, data, {"Content-Type": "application/json",
                                                    "User-Agent": self.user_agent})
            answer = connection.getresponse()
            raw = answer.read()
        except (OSError, http.client.HTTPException) as err:
            connection.close()
            self.local.connection = None
            raise OSError(f"{method} {path}: {err!r}") from err
        warnings = tuple(match.group(1).replace('\\"', '"')
                         for header in answer.headers.get_all("Warning") or []
                         for match in _WARNING.finditer(header))
        try:
            decoded: Any = json.loads(raw)
        except ValueError:
            decoded = raw.decode(errors="replace")
        return Answer(answer.status, decoded, warnings)

    def post(self, path: str, body: Any) -> Answer:
        return self.request("POST", path, body)

    def close(self) -> None:
        with self.lock:
            for connection in self.connections:
                connection.close()
            self.connections.clear()
