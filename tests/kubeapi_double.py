"""The one test double of the Kubernetes API server: Namespaces, NetworkPolicies, Pods and
Secrets, list and watch, discovery and OpenAPI documents for Helm.

Only for what a real API server cannot be made to do on demand: cut watches, 410 Gone, outages
and injected errors, and state a test sets directly (the Secrets Helm's ``lookup`` finds in
tests/chart). Behaviour a real kube-apiserver can show is tested against one (tests/e2e).

The cluster cache (``webhook.kube.cluster.KubernetesCluster``, the official ``kubernetes``
client underneath) is tested against it under faults: a real HTTP server (threaded
``http.server`` on 127.0.0.1, a random port) that speaks the wire protocol the client and
client-go reflectors rely on. It is kept faithful to the protocol by copying what a
kube-apiserver sends, not what the client happens to accept:

- ``GET /api/v1/namespaces`` and ``GET /apis/networking.k8s.io/v1/networkpolicies`` (and the
  namespaced ``/apis/networking.k8s.io/v1/namespaces/NS/networkpolicies``) answer a ``*List``
  with ``metadata.resourceVersion`` and items *without* kind/apiVersion (as the server does);
- ``GET /api/v1/pods`` lists (and watches) Pods of every namespace (the connectivity commands
  read them once; the webhook's pod cache watches them for NP018);
- ``GET /api/v1/namespaces/NAME`` answers the object, or a ``Status`` with code 404;
- ``?watch=true&resourceVersion=N&timeoutSeconds=T`` answers 200 with ``Transfer-Encoding:
  chunked`` and one JSON event per line, ``{"type": ADDED|MODIFIED|DELETED|BOOKMARK|ERROR,
  "object": ...}``, for every change after N, then waits for more until T elapses and ends the
  stream cleanly; ``resourceVersion`` absent or "0" starts with synthetic ADDED events;
- a watch from a resourceVersion older than the last compaction gets what the watch cache
  sends: HTTP 200, then one ERROR event whose object is a ``Status`` with ``reason: Expired``
  and ``code: 410``, then the end of the stream;
- resourceVersions are one global, increasing counter (as etcd's revision is); every object
  carries its own in ``metadata.resourceVersion``; DELETED events carry the last state with a
  new resourceVersion;
- errors are ``Status`` objects with the HTTP code; a bearer token is required when set;
- for ``helm install --dry-run=server`` (tests/chart): ``/version``, the discovery documents
  (``/api``, ``/apis``, one per group of the chart's kinds), the OpenAPI v3 documents (only so
  Helm learns the server validates fields itself) and ``GET`` of single Secrets; every other
  object of the chart is "not found", and writes are refused with 405 and recorded in
  ``writes`` (a server-side dry run writes nothing).

Failure injection for the tests: ``drop_watches()`` cuts open watch connections mid-stream (no
terminating chunk, like a load balancer reset), ``hold_events`` delays watch delivery (a lagging
watch while live reads see the new state), ``compact()`` expires old resourceVersions,
``fail_status``/``fail_resources`` answer every (or some) request with an error, and
``stop()``/``start()`` take the server down and bring it back on the same port with its data.
"""

from __future__ import annotations

import copy
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

JSONObject = dict[str, Any]

# resource -> (kind, apiVersion, list path prefix, namespaced)
RESOURCES = {
    "namespaces": ("Namespace", "v1", "/api/v1/namespaces", False),
    "networkpolicies": ("NetworkPolicy", "networking.k8s.io/v1",
                        "/apis/networking.k8s.io/v1/networkpolicies", True),
    "pods": ("Pod", "v1", "/api/v1/pods", True),
    "secrets": ("Secret", "v1", "/api/v1/secrets", True),
}
KIND_TO_RESOURCE = {kind: resource for resource, (kind, *_rest) in RESOURCES.items()}


@dataclass(frozen=True)
class Event:
    resource_version: int
    resource: str
    type: str
    obj: JSONObject


@dataclass(frozen=True)
class Route:
    resource: str
    namespace: str | None  # for namespaced lists/gets of NetworkPolicies
    name: str | None  # a single-object GET


def _status(code: int, reason: str, message: str) -> JSONObject:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


class _ExpiredContinue(Exception):
    """A continue token this double does not hold (the API server answers 410 Expired)."""


class KubeAPIDouble:
    """The fake API server. Thread-safe; every mutation notifies open watches."""

    def __init__(self, token: str | None = "test-token") -> None:
        self.token = token
        self.port = 0
        self._cond = threading.Condition()
        self._objects: dict[str, dict[tuple[str, str], JSONObject]] = {r: {} for r in RESOURCES}
        self._events: list[Event] = []
        self._revision = 100
        self._compacted = 0
        self._drop_generation = 0
        self._stopping = False
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._sockets: set[socket.socket] = set()
        self.hold_events = False
        self.fail_status: int | None = None
        self.fail_resources: set[str] = set()
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        # Pending list pages by continue token: (snapshot items, its revision, next index).
        self._pages: dict[str, tuple[list[JSONObject], int, int]] = {}
        self._page_counter = 0
        self.list_pages_served = 0
        self.minor = 36  # the Kubernetes version /version reports: v1.<minor>.0
        self.writes: list[str] = []

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> KubeAPIDouble:
        """Serve (on the same port as before after a stop)."""
        double = self

        class Handler(_Handler):
            api = double

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        with self._cond:
            self._stopping = False
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="kubeapi-double", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Go down like a crashed API server: the port refuses, open connections are cut."""
        if self._server is None:
            return
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._server.shutdown()
        self._server.server_close()
        self._cut_connections()
        if self._thread is not None:
            self._thread.join(5)
        self._server = None

    @contextmanager
    def running(self) -> Iterator[KubeAPIDouble]:
        """Serve for the duration of a ``with`` block."""
        self.start()
        try:
            yield self
        finally:
            self.stop()

    @property
    def resource_version(self) -> str:
        """The current (global) resourceVersion."""
        with self._cond:
            return str(self._revision)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def write_kubeconfig(self, path: Path) -> Path:
        """A kubeconfig whose current context points at this double."""
        user: JSONObject = {"token": self.token} if self.token else {}
        config = {
            "apiVersion": "v1", "kind": "Config", "current-context": "double",
            "clusters": [{"name": "double", "cluster": {"server": self.url}}],
            "users": [{"name": "tester", "user": user}],
            "contexts": [{"name": "double", "context": {"cluster": "double", "user": "tester"}}],
        }
        path.write_text(json.dumps(config), encoding="utf-8")
        return path

    # --- data --------------------------------------------------------------------------------

    def create(self, obj: JSONObject) -> JSONObject:
        return self._write("ADDED", obj)

    def update(self, obj: JSONObject) -> JSONObject:
        return self._write("MODIFIED", obj)

    def delete(self, kind: str, name: str, namespace: str = "") -> None:
        resource = KIND_TO_RESOURCE[kind]
        with self._cond:
            obj = self._objects[resource].pop((namespace, name))
            self._revision += 1
            obj = copy.deepcopy(obj)
            obj["metadata"]["resourceVersion"] = str(self._revision)
            self._events.append(Event(self._revision, resource, "DELETED", obj))
            self._cond.notify_all()

    def get(self, kind: str, name: str, namespace: str = "") -> JSONObject | None:
        with self._cond:
            obj = self._objects[KIND_TO_RESOURCE[kind]].get((namespace, name))
            return copy.deepcopy(obj) if obj is not None else None

    def _write(self, event_type: str, obj: JSONObject) -> JSONObject:
        resource = KIND_TO_RESOURCE[obj["kind"]]
        kind, api_version, _, namespaced = RESOURCES[resource]
        obj = copy.deepcopy(obj)
        obj["apiVersion"] = api_version
        metadata = obj.setdefault("metadata", {})
        namespace = metadata.get("namespace", "") if namespaced else ""
        if kind == "Namespace":
            metadata.setdefault("labels", {})["kubernetes.io/metadata.name"] = metadata["name"]
        with self._cond:
            key = (namespace, metadata["name"])
            exists = key in self._objects[resource]
            if (event_type == "ADDED") == exists:
                raise ValueError(f"{kind} {key} {'exists' if exists else 'does not exist'}")
            self._revision += 1
            metadata["resourceVersion"] = str(self._revision)
            metadata.setdefault("uid", f"uid-{self._revision}")
            self._objects[resource][key] = obj
            self._events.append(Event(self._revision, resource, event_type, copy.deepcopy(obj)))
            self._cond.notify_all()
        return copy.deepcopy(obj)

    # --- failure injection -------------------------------------------------------------------

    def compact(self) -> int:
        """Expire history: a watch from an older resourceVersion now gets 410 Gone."""
        with self._cond:
            self._compacted = self._revision
            return self._compacted

    def drop_watches(self) -> None:
        """Cut every open watch connection mid-stream."""
        with self._cond:
            self._drop_generation += 1
            self._cond.notify_all()

    def release_events(self) -> None:
        """Deliver the events held by ``hold_events``."""
        with self._cond:
            self.hold_events = False
            self._cond.notify_all()

    def bookmark(self) -> None:
        """Send a BOOKMARK with the current resourceVersion to watches that asked for them."""
        with self._cond:
            for resource, (kind, api_version, _, _) in RESOURCES.items():
                self._events.append(Event(self._revision, resource, "BOOKMARK", {
                    "kind": kind, "apiVersion": api_version,
                    "metadata": {"resourceVersion": str(self._revision)}}))
            self._cond.notify_all()

    def count_requests(self, resource: str, *, watch: bool) -> int:
        """How many list (watch=False) or watch requests this resource has had."""
        return sum(1 for _, res, query in list(self.requests)
                   if res == resource and (query.get("watch") in ("true", "1")) == watch)

    def _cut_connections(self) -> None:
        with self._cond:
            sockets = list(self._sockets)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    # --- protocol, called by the handler -----------------------------------------------------

    def list_body(self, route: Route, query: dict[str, str] | None = None) -> JSONObject:
        """A list, paged like the API server's: with ``limit``, the first page takes a
        snapshot; ``continue`` tokens hand out the rest of that same snapshot, all pages
        carrying its resourceVersion; the last page has no token."""
        kind, api_version, _, _ = RESOURCES[route.resource]
        query = query or {}
        token = query.get("continue")
        with self._cond:
            if token:
                if token not in self._pages:
                    raise _ExpiredContinue(token)
                items, revision, start = self._pages.pop(token)
            else:
                items = []
                for (namespace, _), obj in sorted(self._objects[route.resource].items()):
                    if route.namespace is not None and namespace != route.namespace:
                        continue
                    item = copy.deepcopy(obj)
                    # The API server leaves kind and apiVersion off list items.
                    item.pop("kind", None)
                    item.pop("apiVersion", None)
                    items.append(item)
                revision, start = self._revision, 0
            limit = int(query.get("limit") or 0)
            end = start + limit if limit > 0 else len(items)
            metadata: JSONObject = {"resourceVersion": str(revision)}
            if end < len(items):
                self._page_counter += 1
                next_token = f"page-{self._page_counter}"
                self._pages[next_token] = (items, revision, end)
                metadata["continue"] = next_token
                metadata["remainingItemCount"] = len(items) - end
            self.list_pages_served += 1
        return {"kind": f"{kind}List", "apiVersion": api_version, "metadata": metadata,
                "items": items[start:end]}

    def stream_watch(self, handler: _Handler, route: Route, query: dict[str, str],
                     drop_generation: int) -> None:
        timeout = float(query.get("timeoutSeconds") or 1800)
        bookmarks = query.get("allowWatchBookmarks") in ("true", "1")
        requested = query.get("resourceVersion") or "0"
        deadline = time.monotonic() + timeout
        handler.start_chunked()
        with self._cond:
            if requested != "0" and int(requested) < self._compacted:
                expired = _status(410, "Expired", f"too old resource version: {requested} "
                                                  f"({self._compacted})")
                initial = [{"type": "ERROR", "object": expired}]
                next_index = None
            else:
                initial = []
                if requested == "0":
                    for (namespace, _), obj in sorted(self._objects[route.resource].items()):
                        if route.namespace in (None, namespace):
                            initial.append({"type": "ADDED", "object": copy.deepcopy(obj)})
                    since = self._revision
                else:
                    since = int(requested)
                next_index = next((i for i, e in enumerate(self._events)
                                   if e.resource_version > since), len(self._events))
        for event in initial:
            handler.send_chunk(event)
        if next_index is None:
            handler.end_chunked()
            return
        while True:
            with self._cond:
                while True:
                    if self._stopping or self._drop_generation != drop_generation:
                        handler.cut()
                        return
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    if not self.hold_events and next_index < len(self._events):
                        break
                    self._cond.wait(min(remaining, 0.5))
                if remaining <= 0:
                    break
                pending = self._events[next_index:]
                next_index = len(self._events)
            for event in pending:
                if event.resource != route.resource:
                    continue
                namespace = event.obj.get("metadata", {}).get("namespace", "")
                if route.namespace is not None and namespace != route.namespace:
                    continue
                if event.type == "BOOKMARK" and not bookmarks:
                    continue
                handler.send_chunk({"type": event.type, "object": event.obj})
        handler.end_chunked()


class _Handler(BaseHTTPRequestHandler):
    api: KubeAPIDouble
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
        return None

    def setup(self) -> None:
        super().setup()
        with self.api._cond:
            self.api._sockets.add(self.connection)

    def finish(self) -> None:
        with self.api._cond:
            self.api._sockets.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        parts = urlsplit(self.path)
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        route = _route(parts.path)
        with self.api._cond:
            # A drop_watches() after this request arrived cuts its watch too, as a reset
            # connection would.
            drop_generation = self.api._drop_generation
            self.api.requests.append(("GET", route.resource if route else parts.path, query))
        if self.api.token and self.headers.get("Authorization") != f"Bearer {self.api.token}":
            self.send_json(401, _status(401, "Unauthorized", "Unauthorized"))
            return
        if route is None:
            document = discovery_document(parts.path, self.api.minor)
            if document is not None:
                self.send_json(200, document)
                return
            self.send_json(404, _status(404, "NotFound", "the server could not find the "
                                                         "requested resource"))
            return
        failing = self.api.fail_status
        if failing is None and route.resource in self.api.fail_resources:
            failing = 503
        if failing is not None:
            self.send_json(failing, _status(failing, "InternalError" if failing == 500
                                            else "ServiceUnavailable", "injected failure"))
            return
        try:
            if route.name is not None:
                kind = RESOURCES[route.resource][0]
                obj = self.api.get(kind, route.name, route.namespace or "")
                if obj is None:
                    self.send_json(404, _status(404, "NotFound", f'{route.resource} '
                                                                 f'"{route.name}" not found'))
                else:
                    self.send_json(200, obj)
            elif query.get("watch") in ("true", "1"):
                self.api.stream_watch(self, route, query, drop_generation)
            else:
                try:
                    self.send_json(200, self.api.list_body(route, query))
                except _ExpiredContinue:
                    self.send_json(410, _status(410, "Expired", "the provided continue "
                                                "parameter is too old"))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def refuse_write(self) -> None:
        self.api.writes.append(f"{self.command} {self.path}")
        self.send_json(405, _status(405, "MethodNotAllowed", "this double is read-only"))

    do_POST = do_PUT = do_PATCH = do_DELETE = refuse_write  # noqa: N815 - http.server's naming

    def send_json(self, code: int, body: JSONObject) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def start_chunked(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()

    def send_chunk(self, event: JSONObject) -> None:
        data = json.dumps(event).encode() + b"\n"
        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def end_chunked(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def cut(self) -> None:
        """Drop the connection without the terminating chunk."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _route(path: str) -> Route | None:
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "v1"] and parts[2:3] == ["namespaces"]:
        if len(parts) in (5, 6) and parts[4] == "secrets":
            return Route("secrets", parts[3], parts[5] if len(parts) == 6 else None)
        if len(parts) == 3:
            return Route("namespaces", None, None)
        if len(parts) == 4:
            return Route("namespaces", None, parts[3])
    if parts[:2] == ["api", "v1"] and parts[2:] == ["pods"]:
        return Route("pods", None, None)
    if parts[:3] == ["apis", "networking.k8s.io", "v1"]:
        rest = parts[3:]
        if rest == ["networkpolicies"]:
            return Route("networkpolicies", None, None)
        if len(rest) in (3, 4) and rest[0] == "namespaces" and rest[2] == "networkpolicies":
            return Route("networkpolicies", rest[1], rest[3] if len(rest) == 4 else None)
    return None


# --- discovery, for Helm ---------------------------------------------------------------------

# (group, version) -> [(resource, kind, namespaced)]: the kinds the chart renders.
DISCOVERY: dict[tuple[str, str], list[tuple[str, str, bool]]] = {
    ("", "v1"): [("configmaps", "ConfigMap", True), ("secrets", "Secret", True),
                 ("services", "Service", True), ("serviceaccounts", "ServiceAccount", True),
                 ("namespaces", "Namespace", False)],
    ("apps", "v1"): [("deployments", "Deployment", True)],
    ("policy", "v1"): [("poddisruptionbudgets", "PodDisruptionBudget", True)],
    ("rbac.authorization.k8s.io", "v1"): [("clusterroles", "ClusterRole", False),
                                          ("clusterrolebindings", "ClusterRoleBinding", False)],
    ("networking.k8s.io", "v1"): [("networkpolicies", "NetworkPolicy", True)],
    ("admissionregistration.k8s.io", "v1"): [
        ("validatingwebhookconfigurations", "ValidatingWebhookConfiguration", False)],
}


def _group_path(group: str, version: str) -> str:
    return f"api/{version}" if not group else f"apis/{group}/{version}"


def discovery_document(path: str, minor: int) -> JSONObject | None:
    """``/version``, ``/api``, ``/apis``, a group's resource list or an OpenAPI v3 document;
    None for any other path."""
    if path == "/version":
        return {"major": "1", "minor": str(minor), "gitVersion": f"v1.{minor}.0",
                "platform": "linux/amd64"}
    if path == "/api":
        return {"kind": "APIVersions", "versions": ["v1"]}
    if path == "/apis":
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
            {"name": group, "versions": [{"groupVersion": f"{group}/{version}",
                                          "version": version}],
             "preferredVersion": {"groupVersion": f"{group}/{version}", "version": version}}
            for group, version in DISCOVERY if group]}
    for (group, version), resources in DISCOVERY.items():
        if path == "/" + _group_path(group, version):
            return {"kind": "APIResourceList", "apiVersion": "v1",
                    "groupVersion": f"{group}/{version}".lstrip("/"),
                    "resources": [{"name": name, "singularName": "", "kind": kind,
                                   "namespaced": namespaced,
                                   "verbs": ["get", "list", "watch", "create", "update",
                                             "patch", "delete"]}
                                  for name, kind, namespaced in resources]}
    if path == "/openapi/v3":
        return {"paths": {
            _group_path(g, v): {"serverRelativeURL": f"/openapi/v3/{_group_path(g, v)}?h=1"}
            for g, v in DISCOVERY}}
    if path.startswith("/openapi/v3/"):
        return _openapi(path.removeprefix("/openapi/v3/"))
    return None


def _openapi(group_path: str) -> JSONObject:
    """A PATCH operation per kind that takes fieldValidation: the server validates."""
    paths = {}
    for (group, version), resources in DISCOVERY.items():
        if _group_path(group, version) != group_path:
            continue
        for name, kind, namespaced in resources:
            scope = "/namespaces/{namespace}" if namespaced else ""
            paths[f"/{group_path}{scope}/{name}/{{name}}"] = {"patch": {
                "x-kubernetes-group-version-kind": {"group": group, "version": version,
                                                    "kind": kind},
                "parameters": [{"name": "fieldValidation", "in": "query",
                                "schema": {"type": "string"}}],
                "responses": {}}}
    return {"openapi": "3.0.0", "info": {"title": "fake", "version": "v1"}, "paths": paths}


# --- objects as the API server stores them ---------------------------------------------------

def namespace(name: str, labels: dict[str, str] | None = None) -> JSONObject:
    """A Namespace as the API server stores it."""
    return {"kind": "Namespace", "apiVersion": "v1",
            "metadata": {"name": name, "labels": dict(labels or {})},
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}


def network_policy(namespace_name: str, name: str, spec: JSONObject) -> JSONObject:
    """A NetworkPolicy as the API server stores it."""
    return {"kind": "NetworkPolicy", "apiVersion": "networking.k8s.io/v1",
            "metadata": {"name": name, "namespace": namespace_name}, "spec": spec}
