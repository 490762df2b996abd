"""The Kubernetes API client and reading its raw responses (JSON bodies, list items, watch
lines), without the client's model classes; errors described by their HTTP status."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

from webhook.kube.state import ClusterUnavailable, JSONObject


def status_code(error: BaseException) -> int | None:
    """The HTTP status of a client error, None when it has none."""
    status = getattr(error, "status", None)
    return status if isinstance(status, int) else None


def build_api_client(kubeconfig: str | None, context: str | None) -> Any:
    """A client from ``kubeconfig``/``context``, else in-cluster config, else the default
    kubeconfig."""
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config

    configuration = k8s_client.Configuration()
    # One retry covers a pooled keep-alive connection the server has closed; more would make a
    # live read against an unreachable API server hold the admission request for too long.
    configuration.retries = 1
    if kubeconfig or context or not os.environ.get("KUBERNETES_SERVICE_HOST"):
        return k8s_config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=kubeconfig, context=context, client_configuration=configuration)
    k8s_config.load_incluster_config(  # type: ignore[no-untyped-call]
        client_configuration=configuration)
    return k8s_client.ApiClient(configuration)


def read_json(response: Any) -> Any:
    """The JSON body of a raw response (``_preload_content=False``), releasing the connection."""
    try:
        return json.loads(response.data)
    finally:
        response.release_conn()


def list_items(body: Any, kind: str) -> list[JSONObject]:
    """The items of a ``*List`` body with their kind restored; ClusterUnavailable without items."""
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise ClusterUnavailable(f"the API server sent a {kind} list without items")
    result = []
    for item in items:
        if isinstance(item, dict):
            # List items omit kind and apiVersion; restore them for the engine and for audit.
            item.setdefault("kind", kind)
            result.append(item)
    return result


def iter_lines(response: Any) -> Iterator[str]:
    """Lines of a chunked watch stream (one JSON event per line)."""
    buffer = b""
    for chunk in response.stream(amt=None, decode_content=False):
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            if line.strip():
                yield line.decode("utf-8", errors="replace")
    if buffer.strip():
        yield buffer.decode("utf-8", errors="replace")


def close_response(response: Any) -> None:
    """Close a streaming response, shutting its socket first so a blocked read returns."""
    if response is None:
        return
    try:
        # Shut the socket down first so a read blocked in another thread returns at once.
        import socket

        sock = getattr(getattr(response, "connection", None), "sock", None)
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        response.close()
    except Exception:  # noqa: BLE001 - closing is best effort
        pass


def describe_error(error: BaseException) -> str:
    """``HTTP 403 Forbidden``, or the exception's type and text."""
    status = status_code(error)
    reason = getattr(error, "reason", None)
    if status:
        return f"HTTP {status} {reason or ''}".strip()
    return f"{type(error).__name__}: {error}"
