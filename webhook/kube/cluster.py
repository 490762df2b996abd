"""Cluster state: the one module that talks to the Kubernetes API.

Two sources behind one small interface (``ClusterState``):

- ``InventoryCluster``: Namespace and NetworkPolicy manifests on disk (a directory, read
  recursively; multi-document YAML and ``List`` kinds), or an empty embedded inventory. It lets
  ``serve`` and the offline CLI run with no cluster. A ``live=True`` read rescans the directory.
- ``KubernetesCluster``: the official ``kubernetes`` client. Two background threads list and
  then watch Namespaces and NetworkPolicies (all namespaces) into a cache, keeping the
  resourceVersion, relisting on 410 Gone and backing off with jitter on errors. It is ready once
  both resources are listed. ``live=True`` reads go straight to the API (the confirmation of a
  deny that the cache suggested). Threads are plain ``threading`` ones, so they become greenlets
  under gevent's monkey-patching; call ``start()`` in each worker process, after fork.

Objects are kept as the plain JSON dicts the API server sends (camelCase, as the engine reads
them); the client's model classes are never built.
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import yaml

from webhook.engine.reach import PodInfo, ReachView
from webhook.engine.reachview import StaticReachView, pod_info
from webhook.kube.reachview import KubeReachView
from webhook.observe.metrics import API_ERRORS, CACHE_AGE, CACHE_SYNCED, NAMESPACES
from webhook.policy.model import Policy

# Objects per page when listing; the API server's own default for clients such as kubectl.
LIST_PAGE_SIZE = 500
log = logging.getLogger(__name__)

JSONObject = dict[str, Any]


class ClusterUnavailable(Exception):
    """The Kubernetes API (or the inventory) cannot answer."""


class ClusterState(Protocol):
    """Namespaces and NetworkPolicies as the webhook needs them."""

    def is_ready(self) -> bool:
        """True once the state can be read (the cache has synced)."""
        ...

    def get_namespace(self, name: str, *, live: bool = False) -> JSONObject | None:
        """The Namespace object, or None when it does not exist."""
        ...

    def list_network_policies(self, namespace: str, *, live: bool = False) -> list[JSONObject]:
        """The NetworkPolicies in ``namespace``."""
        ...

    def list_namespaces(self) -> list[JSONObject]:
        """Every Namespace (from the cache; for audit and metrics)."""
        ...

    def list_all_network_policies(self) -> list[JSONObject]:
        """Every NetworkPolicy in every namespace (from the cache; for audit)."""
        ...

    def start(self) -> None:
        """Begin syncing (no-op for sources that need none)."""
        ...

    def stop(self) -> None:
        """Stop syncing and release connections."""
        ...

    def status(self) -> dict[str, Any]:
        """A JSON-able summary for /readyz and logs."""
        ...


def _metadata(obj: JSONObject) -> JSONObject:
    metadata = obj.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def _name(obj: JSONObject) -> str:
    return str(_metadata(obj).get("name") or "")


def _namespace_of(obj: JSONObject) -> str:
    return str(_metadata(obj).get("namespace") or "")


# --- inventory --------------------------------------------------------------------------------

_MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _iter_documents(value: Any) -> Iterator[JSONObject]:
    """Objects in one YAML document, unwrapping ``kind: List`` (and ``*List``) items."""
    if not isinstance(value, dict):
        return
    kind = value.get("kind")
    items = value.get("items")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(items, list):
        for item in items:
            yield from _iter_documents(item)
        return
    yield value


def load_inventory(
        directory: Path, pods: list[PodInfo] | None = None,
) -> tuple[dict[str, JSONObject], dict[str, dict[str, JSONObject]]]:
    """Namespaces by name and NetworkPolicies by namespace and name, read from ``directory``;
    Pods (as compact records) are appended to ``pods`` when it is given.

    Files are read recursively in sorted order; a later manifest for the same object wins. A
    NetworkPolicy without a namespace lands in ``default``, as ``kubectl apply`` would put it.
    Raises ClusterUnavailable when a file cannot be read or parsed.
    """
    namespaces: dict[str, JSONObject] = {}
    policies: dict[str, dict[str, JSONObject]] = {}
    for path in _manifest_files(directory):
        try:
            with path.open(encoding="utf-8") as stream:
                if path.suffix == ".json":
                    # `kubectl get ... -o json` output: json is ~10x faster than even libyaml.
                    documents = [json.load(stream)]
                else:
                    documents = list(yaml.load_all(stream, Loader=_Loader))  # noqa: S506
        except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as error:
            raise ClusterUnavailable(f"inventory file {path}: {error}") from error
        for document in documents:
            for obj in _iter_documents(document):
                kind, name = obj.get("kind"), _name(obj)
                if not name:
                    continue
                if kind == "Namespace":
                    namespaces[name] = obj
                elif kind == "NetworkPolicy":
                    namespace = _namespace_of(obj) or "default"
                    obj.setdefault("metadata", {})["namespace"] = namespace
                    policies.setdefault(namespace, {})[name] = obj
                elif kind == "Pod" and pods is not None:
                    record = pod_info(obj)
                    if record is not None:
                        pods.append(record)
    return namespaces, policies


def _manifest_files(directory: Path) -> list[Path]:
    """The manifest files under ``directory``, recursively, in sorted order."""
    if not directory.is_dir():
        raise ClusterUnavailable(f"inventory {directory} is not a directory")
    return [path for path in sorted(directory.rglob("*"))
            if path.suffix in _MANIFEST_SUFFIXES and path.is_file()]


def _files_stamp(directory: Path) -> tuple[tuple[str, int, int, int], ...]:
    """What the manifest files are now (path, inode, mtime, size): equal stamps, same files."""
    stamp = []
    for path in _manifest_files(directory):
        try:
            info = path.stat()
        except OSError:
            continue  # removed meanwhile: the next stamp differs anyway
        stamp.append((str(path), info.st_ino, info.st_mtime_ns, info.st_size))
    return tuple(stamp)


class InventoryCluster:
    """Cluster state from manifests on disk; ``None`` is the empty embedded inventory.

    Always ready. A ``live=True`` read rescans the directory (the inventory's "live confirm"),
    so a manifest written after start is seen by the next confirmation.
    """

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = Path(directory) if directory is not None else None
        self._lock = threading.Lock()
        self._namespaces: dict[str, JSONObject] = {}
        self._policies: dict[str, dict[str, JSONObject]] = {}
        self._view = StaticReachView((), (), ())
        self._loaded_at = time.time()
        self._stamp: tuple[tuple[str, int, int, int], ...] | None = None
        self.rescan()

    def rescan(self) -> None:
        """Read the directory again (raises ClusterUnavailable and keeps the old state on error).

        Files are parsed only when one was added, removed or changed since the last read: a live
        confirmation reads the namespace and its policies, and would otherwise parse it all twice.
        """
        if self.directory is None:
            return
        stamp = _files_stamp(self.directory)  # taken first: a change during the read shows next
        if stamp == self._stamp:
            return
        pods: list[PodInfo] = []
        namespaces, policies = load_inventory(self.directory, pods)
        view = StaticReachView(namespaces.values(), pods,
                               [p for by_name in policies.values() for p in by_name.values()])
        with self._lock:
            self._namespaces, self._policies, self._view = namespaces, policies, view
            self._loaded_at = time.time()
            self._stamp = stamp

    def is_ready(self) -> bool:
        return True

    def get_namespace(self, name: str, *, live: bool = False) -> JSONObject | None:
        if live:
            self.rescan()
        with self._lock:
            return self._namespaces.get(name)

    def list_network_policies(self, namespace: str, *, live: bool = False) -> list[JSONObject]:
        if live:
            self.rescan()
        with self._lock:
            return list(self._policies.get(namespace, {}).values())

    def list_namespaces(self) -> list[JSONObject]:
        with self._lock:
            return list(self._namespaces.values())

    def list_all_network_policies(self) -> list[JSONObject]:
        with self._lock:
            return [p for by_name in self._policies.values() for p in by_name.values()]

    def reach_view(self) -> ReachView:
        """The inventory's namespaces, pods and policies, for NP018."""
        with self._lock:
            return self._view

    def start(self) -> None:
        return None

    def stop(self) -> None:
        return None

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {
                "source": "inventory",
                "directory": str(self.directory) if self.directory else None,
                "ready": True,
                "namespaces": len(self._namespaces),
                "networkPolicies": sum(len(p) for p in self._policies.values()),
            }


# --- Kubernetes API ---------------------------------------------------------------------------

class _Gone(Exception):
    """The watch's resourceVersion is too old (410 Gone): relist."""


class _Resource:
    """One listed-and-watched resource: its cache (indexed by namespace), resourceVersion and
    sync state. Callers hold the cluster's lock around every method.

    ``keep`` turns each object into what is cached (None: the whole JSON dict); pods are kept
    as compact ``PodInfo`` records. ``versions`` counts changes per namespace, so derived data
    (pod classes) can be cached until its namespace changes.
    """

    def __init__(self, name: str, kind: str, list_call: Callable[..., Any],
                 keep: Callable[[JSONObject], Any] | None = None) -> None:
        self.name = name
        self.kind = kind
        self.list_call = list_call
        self.keep = keep
        self.items: dict[str, dict[str, Any]] = {}
        self.versions: dict[str, int] = {}
        self.resource_version: str | None = None
        self.synced = False
        self.last_heard = 0.0
        self.response: Any = None

    def kept(self, objects: list[JSONObject]) -> list[Any]:
        """``objects`` as they are cached (a page at a time, so a big list is never held
        whole)."""
        if self.keep is None:
            return objects
        return [kept for kept in map(self.keep, objects) if kept is not None]

    @staticmethod
    def _key(obj: Any) -> tuple[str, str]:
        if isinstance(obj, dict):
            return _namespace_of(obj), _name(obj)
        return obj.namespace, obj.name

    def replace(self, objects: list[Any]) -> None:
        items: dict[str, dict[str, Any]] = {}
        for obj in objects:
            namespace, name = self._key(obj)
            items.setdefault(namespace, {})[name] = obj
        for namespace in set(items) | set(self.items):
            self.versions[namespace] = self.versions.get(namespace, 0) + 1
        self.items = items

    def put(self, obj: JSONObject) -> None:
        kept = obj if self.keep is None else self.keep(obj)
        if kept is None:
            return
        namespace, name = self._key(kept)
        self.items.setdefault(namespace, {})[name] = kept
        self.versions[namespace] = self.versions.get(namespace, 0) + 1

    def remove(self, obj: JSONObject) -> None:
        namespace = _namespace_of(obj)
        by_name = self.items.get(namespace)
        if by_name is not None:
            by_name.pop(_name(obj), None)
            self.versions[namespace] = self.versions.get(namespace, 0) + 1
            if not by_name:
                del self.items[namespace]

    def get(self, namespace: str, name: str) -> Any:
        return self.items.get(namespace, {}).get(name)

    def in_namespace(self, namespace: str) -> list[Any]:
        return list(self.items.get(namespace, {}).values())

    def all(self) -> list[Any]:
        return [obj for by_name in self.items.values() for obj in by_name.values()]

    def count(self) -> int:
        return sum(len(by_name) for by_name in self.items.values())


def _status_code(error: BaseException) -> int | None:
    status = getattr(error, "status", None)
    return status if isinstance(status, int) else None


class KubernetesCluster:
    """Namespaces and NetworkPolicies from the Kubernetes API, through a watch-backed cache.

    ``api_client`` is a ``kubernetes.client.ApiClient``; when None, it is built from
    ``kubeconfig``/``context`` if given, else in-cluster config, else the default kubeconfig.
    ``policy`` returns the policy in force, for the namespaces gauge. The timing parameters
    exist so tests can run the real loop quickly.
    """

    def __init__(self, api_client: Any = None, *, kubeconfig: str | None = None,
                 context: str | None = None, policy: Callable[[], Policy] | None = None,
                 watch_timeout_seconds: int = 300, request_timeout: float = 10.0,
                 live_timeout: float = 3.0, backoff_initial: float = 0.5,
                 backoff_max: float = 30.0, metrics_interval: float = 10.0) -> None:
        from kubernetes import client as k8s_client

        self._api_client = api_client or _build_api_client(kubeconfig, context)
        self._core = k8s_client.CoreV1Api(self._api_client)
        self._networking = k8s_client.NetworkingV1Api(self._api_client)
        self._policy = policy
        self.watch_timeout_seconds = watch_timeout_seconds
        self.request_timeout = request_timeout
        self.live_timeout = live_timeout
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.metrics_interval = metrics_interval
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._generation = 0
        self._gauge_key: tuple[int, int] | None = None
        self._namespaces = _Resource("namespaces", "Namespace", self._core.list_namespace)
        self._policies = _Resource("networkpolicies", "NetworkPolicy",
                                   self._networking.list_network_policy_for_all_namespaces)
        # Pods only feed NP018: readiness and the default-deny checks never wait for them.
        self._pods = _Resource("pods", "Pod", self._core.list_pod_for_all_namespaces,
                               keep=pod_info)
        self._reach = KubeReachView(self._lock, self._namespaces, self._pods, self._policies)
        CACHE_SYNCED.set(0)

    # -- lifecycle --

    def start(self) -> None:
        """Start the list/watch threads and the metrics ticker (idempotent)."""
        if self._threads:
            return
        self._stopping.clear()
        for resource in (self._namespaces, self._policies, self._pods):
            thread = threading.Thread(target=self._run, args=(resource,),
                                      name=f"netpol-guard-watch-{resource.name}", daemon=True)
            self._threads.append(thread)
        self._threads.append(threading.Thread(target=self._tick, name="netpol-guard-cache-metrics",
                                              daemon=True))
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the threads: closes open watch connections so blocked reads return."""
        self._stopping.set()
        for resource in (self._namespaces, self._policies, self._pods):
            _close_response(resource.response)
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []

    # -- reads --

    def is_ready(self) -> bool:
        """True once both resources have been listed (stays true while the watch recovers)."""
        return self._namespaces.synced and self._policies.synced

    def _require_synced(self) -> None:
        if not self.is_ready():
            raise ClusterUnavailable("the cluster cache has not synced with the Kubernetes API yet")

    def get_namespace(self, name: str, *, live: bool = False) -> JSONObject | None:
        if live:
            return self._live_get_namespace(name)
        self._require_synced()
        with self._lock:
            namespace: JSONObject | None = self._namespaces.get("", name)
            return namespace

    def list_network_policies(self, namespace: str, *, live: bool = False) -> list[JSONObject]:
        if live:
            return self._live_list_network_policies(namespace)
        self._require_synced()
        with self._lock:
            return self._policies.in_namespace(namespace)

    def list_namespaces(self) -> list[JSONObject]:
        self._require_synced()
        with self._lock:
            return self._namespaces.all()

    def list_all_network_policies(self) -> list[JSONObject]:
        self._require_synced()
        with self._lock:
            return self._policies.all()

    def reach_view(self) -> ReachView:
        """Namespaces, pods and policies for NP018 (ClusterUnavailable until the pods, too,
        are listed)."""
        self._require_synced()
        if not self._pods.synced:
            raise ClusterUnavailable("the webhook's pod cache has not synced yet")
        return self._reach

    def cache_age(self) -> float | None:
        """Seconds since the API server was last heard from (None before the first sync)."""
        heard = min(self._namespaces.last_heard, self._policies.last_heard)
        return max(0.0, time.time() - heard) if heard else None

    def status(self) -> dict[str, Any]:
        age = self.cache_age()
        if age is not None:
            CACHE_AGE.set(age)
        with self._lock:
            return {
                "source": "kubernetes",
                "ready": self.is_ready(),
                "synced": {r.name: r.synced for r in (self._namespaces, self._policies)},
                "resourceVersion": {r.name: r.resource_version
                                    for r in (self._namespaces, self._policies)},
                "cacheAgeSeconds": None if age is None else round(age, 3),
                "namespaces": self._namespaces.count(),
                "networkPolicies": self._policies.count(),
                "pods": {"synced": self._pods.synced, "count": self._pods.count()},
            }

    # -- live reads --

    def _live_get_namespace(self, name: str) -> JSONObject | None:
        try:
            response = self._core.read_namespace(
                name, _preload_content=False, _request_timeout=self.live_timeout)
            body = _read_json(response)
        except Exception as error:
            if _status_code(error) == 404:
                return None
            raise self._unavailable("get", f"namespace {name}", error) from error
        return body if isinstance(body, dict) else None

    def _live_list_network_policies(self, namespace: str) -> list[JSONObject]:
        try:
            response = self._networking.list_namespaced_network_policy(
                namespace, _preload_content=False, _request_timeout=self.live_timeout)
            body = _read_json(response)
        except Exception as error:
            raise self._unavailable("list", f"NetworkPolicies in {namespace}", error) from error
        return _list_items(body, "NetworkPolicy")

    def _unavailable(self, operation: str, what: str, error: BaseException) -> ClusterUnavailable:
        API_ERRORS.labels(operation).inc()
        log.warning("kubernetes API: %s %s failed: %s", operation, what, _describe(error))
        return ClusterUnavailable(f"cannot {operation} {what}: {_describe(error)}")

    # -- list and watch --

    def _run(self, resource: _Resource) -> None:
        backoff = self.backoff_initial
        while not self._stopping.is_set():
            try:
                if resource.resource_version is None:
                    self._list(resource)
                self._watch(resource)
                backoff = self.backoff_initial
            except Exception as error:
                if self._stopping.is_set():
                    break
                if isinstance(error, _Gone) or _status_code(error) == 410:
                    log.info("kubernetes API: %s resourceVersion expired (410 Gone), relisting",
                             resource.name)
                    resource.resource_version = None
                    # A short pause keeps a server that keeps answering 410 from a hot loop.
                    self._stopping.wait(random.uniform(0, self.backoff_initial))
                    continue
                operation = "list" if resource.resource_version is None else "watch"
                API_ERRORS.labels(operation).inc()
                # Full jitter spreads the reconnects of many webhook pods after an outage.
                delay = random.uniform(backoff / 2, backoff)
                log.warning("kubernetes API: %s %s failed (%s); retrying in %.2fs",
                            operation, resource.name, _describe(error), delay)
                self._stopping.wait(delay)
                backoff = min(backoff * 2, self.backoff_max)

    def _list(self, resource: _Resource) -> None:
        # Paged (limit/continue) so that a cluster with 100,000 policies is listed in pieces
        # the API server and each read timeout can handle; every page belongs to the snapshot
        # of the first one, whose resourceVersion the watch then starts from.
        items: list[JSONObject] = []
        token: str | None = None
        version: Any = None
        while True:
            response = resource.list_call(limit=LIST_PAGE_SIZE, _continue=token,
                                          _preload_content=False,
                                          _request_timeout=self.request_timeout)
            body = _read_json(response)
            items.extend(resource.kept(_list_items(body, resource.kind)))
            metadata = body.get("metadata") if isinstance(body, dict) else None
            metadata = metadata if isinstance(metadata, dict) else {}
            version = metadata.get("resourceVersion") or version
            token = metadata.get("continue") or None
            if token is None or self._stopping.is_set():
                break
        with self._lock:
            resource.replace(items)
            resource.resource_version = str(version) if version else None
            resource.synced = True
            resource.last_heard = time.time()
            self._generation += 1
        CACHE_SYNCED.set(1 if self.is_ready() else 0)
        log.info("kubernetes API: listed %d %s at resourceVersion %s",
                 len(items), resource.name, version)

    def _watch(self, resource: _Resource) -> None:
        response = resource.list_call(
            watch=True, resource_version=resource.resource_version,
            allow_watch_bookmarks=True, timeout_seconds=self.watch_timeout_seconds,
            _preload_content=False,
            # The server ends the watch after timeout_seconds; a read that stays silent longer
            # means a dead connection.
            _request_timeout=(self.request_timeout, self.watch_timeout_seconds + 15))
        resource.response = response
        try:
            with self._lock:
                resource.last_heard = time.time()
            if self._stopping.is_set():
                return
            for line in _iter_lines(response):
                if self._stopping.is_set():
                    return
                self._apply_event(resource, line)
        finally:
            resource.response = None
            _close_response(response)

    def _apply_event(self, resource: _Resource, line: str) -> None:
        try:
            event = json.loads(line)
        except ValueError:
            log.warning("kubernetes API: unparseable %s watch line skipped", resource.name)
            return
        if not isinstance(event, dict):
            return
        kind, obj = event.get("type"), event.get("object")
        if not isinstance(obj, dict):
            return
        if kind == "ERROR":
            code = obj.get("code")
            if code == 410:
                raise _Gone()
            raise RuntimeError(f"watch error {code}: {obj.get('message', '')}")
        version = _metadata(obj).get("resourceVersion")
        with self._lock:
            if kind in ("ADDED", "MODIFIED"):
                resource.put(obj)
                self._generation += 1
            elif kind == "DELETED":
                resource.remove(obj)
                self._generation += 1
            if version:
                resource.resource_version = str(version)
            resource.last_heard = time.time()

    # -- metrics --

    def _tick(self) -> None:
        while not self._stopping.wait(self.metrics_interval):
            try:
                self.update_metrics()
            except Exception:  # the ticker must outlive a policy that is not ready, or a bug
                log.exception("updating the cluster metrics failed")

    def update_metrics(self) -> None:
        """Refresh the cache-age gauge and, when cache or policy changed, the namespaces gauge."""
        age = self.cache_age()
        if age is not None:
            CACHE_AGE.set(age)
        CACHE_SYNCED.set(1 if self.is_ready() else 0)
        if self._policy is None or not self.is_ready():
            return
        policy = self._policy()
        key = (self._generation, id(policy))
        if key == self._gauge_key:
            return
        # Imported here: the engine is pure and must not import this module, but may be used by it.
        from webhook.engine.defaultdeny import is_protected, missing_directions

        with self._lock:
            namespaces = self._namespaces.all()
            by_namespace = {namespace: list(by_name.values())
                            for namespace, by_name in self._policies.items.items()}
        counts = {"protected": 0, "compliant": 0, "not_compliant": 0, "exempt": 0}
        for namespace_obj in namespaces:
            if not is_protected(namespace_obj, policy):
                counts["exempt"] += 1
                continue
            counts["protected"] += 1
            missing = missing_directions(by_namespace.get(_name(namespace_obj), []),
                                         policy.default_deny.directions)
            counts["not_compliant" if missing else "compliant"] += 1
        for state, count in counts.items():
            NAMESPACES.labels(state).set(count)
        self._gauge_key = key


def _build_api_client(kubeconfig: str | None, context: str | None) -> Any:
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


def _read_json(response: Any) -> Any:
    try:
        return json.loads(response.data)
    finally:
        response.release_conn()


def _list_items(body: Any, kind: str) -> list[JSONObject]:
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


def _iter_lines(response: Any) -> Iterator[str]:
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


def _close_response(response: Any) -> None:
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


def _describe(error: BaseException) -> str:
    status = _status_code(error)
    reason = getattr(error, "reason", None)
    if status:
        return f"HTTP {status} {reason or ''}".strip()
    return f"{type(error).__name__}: {error}"


# --- factory ----------------------------------------------------------------------------------

def open_synced_cluster(kubeconfig: str | None, context: str | None, *,
                        timeout: float) -> ClusterState:
    """A started Kubernetes cluster cache that has finished its first list, for one-shot
    commands (``check --cluster``, ``audit``); ClusterUnavailable if that takes longer than
    ``timeout`` seconds."""
    # No kubeconfig: the client tries in-cluster config, then the default kubeconfig.
    cluster = make_cluster("kubernetes", kubeconfig=kubeconfig, context=context)
    cluster.start()
    deadline = time.monotonic() + timeout
    while not cluster.is_ready():
        if time.monotonic() > deadline:
            cluster.stop()
            raise ClusterUnavailable("the Kubernetes API did not answer the initial list in "
                                     f"{timeout:.0f}s")
        time.sleep(0.05)
    return cluster


def make_cluster(source: str, inventory: str | None = None, kubeconfig: str | None = None,
                 context: str | None = None, *,
                 policy: Callable[[], Policy] | None = None) -> ClusterState:
    """The cluster state for ``netpol-guard serve``/``audit``: "inventory" or "kubernetes".

    The Kubernetes source is returned unstarted: call ``start()`` in the process that serves
    (after gunicorn forks its workers).
    """
    if source == "inventory":
        return InventoryCluster(inventory)
    if source == "kubernetes":
        return KubernetesCluster(kubeconfig=kubeconfig, context=context, policy=policy)
    raise ValueError(f"unknown cluster source {source!r} (expected inventory or kubernetes)")

