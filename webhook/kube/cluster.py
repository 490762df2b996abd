"""The one door to the Kubernetes API: ``make_cluster`` picks the cluster state's source, and
``KubernetesCluster`` serves it from the API.

Two sources behind one small interface (``ClusterState``, in state.py):

- ``InventoryCluster`` (inventory.py): Namespace and NetworkPolicy manifests on disk, or an
  empty embedded inventory, so ``serve`` and the offline CLI run with no cluster.
- ``KubernetesCluster``: the official ``kubernetes`` client. Two background threads list and
  then watch Namespaces and NetworkPolicies (all namespaces) into a cache (watchcache.py). It is
  ready once both resources are listed. ``live=True`` reads go straight to the API (live.py: the
  confirmation of a deny that the cache suggested). Threads are plain ``threading`` ones, so they
  become greenlets under gevent's monkey-patching; call ``start()`` in each worker process,
  after fork.

Objects are kept as the plain JSON dicts the API server sends (camelCase, as the engine reads
them); the client's model classes are never built.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from webhook.engine.reach import ReachView
from webhook.engine.reachview import pod_info
from webhook.kube.apiclient import build_api_client
from webhook.kube.inventory import InventoryCluster
from webhook.kube.live import LiveReads
from webhook.kube.reachview import KubeReachView
from webhook.kube.state import ClusterState, ClusterUnavailable, JSONObject, name_of
from webhook.kube.watchcache import WatchedResource, WatchTiming
from webhook.observe.metrics import CACHE_AGE, CACHE_SYNCED, NAMESPACES
from webhook.policy.model import Policy

log = logging.getLogger("netpol_guard.cluster")


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

        self._api_client = api_client or build_api_client(kubeconfig, context)
        core = k8s_client.CoreV1Api(self._api_client)
        networking = k8s_client.NetworkingV1Api(self._api_client)
        self._live = LiveReads(core, networking, live_timeout)
        self._policy = policy
        self.metrics_interval = metrics_interval
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._gauge_key: tuple[int, int] | None = None
        timing = WatchTiming(watch_timeout_seconds, request_timeout, backoff_initial, backoff_max)

        def watched(name: str, kind: str, list_call: Callable[..., Any],
                    keep: Callable[[JSONObject], Any] | None = None) -> WatchedResource:
            return WatchedResource(name, kind, list_call, lock=self._lock,
                                   stopping=self._stopping, timing=timing,
                                   on_listed=self._report_synced, keep=keep)

        self._namespaces = watched("namespaces", "Namespace", core.list_namespace)
        self._policies = watched("networkpolicies", "NetworkPolicy",
                                 networking.list_network_policy_for_all_namespaces)
        # Pods only feed NP018: readiness and the default-deny checks never wait for them.
        self._pods = watched("pods", "Pod", core.list_pod_for_all_namespaces, keep=pod_info)
        self._reach = KubeReachView(self._lock, self._namespaces, self._pods, self._policies)
        CACHE_SYNCED.set(0)

    # -- lifecycle --

    def start(self) -> None:
        """Start the list/watch threads and the metrics ticker (idempotent)."""
        if self._threads:
            return
        self._stopping.clear()
        for resource in (self._namespaces, self._policies, self._pods):
            thread = threading.Thread(target=resource.run,
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
            resource.close()
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
            return self._live.get_namespace(name)
        self._require_synced()
        with self._lock:
            namespace: JSONObject | None = self._namespaces.get("", name)
            return namespace

    def list_network_policies(self, namespace: str, *, live: bool = False) -> list[JSONObject]:
        if live:
            return self._live.list_network_policies(namespace)
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

    # -- metrics --

    def _report_synced(self) -> None:
        CACHE_SYNCED.set(1 if self.is_ready() else 0)

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
        key = (self._namespaces.generation + self._policies.generation + self._pods.generation,
               id(policy))
        if key == self._gauge_key:
            return
        with self._lock:
            namespaces = self._namespaces.all()
            by_namespace = self._policies.by_namespace()
        for state, count in _namespace_states(namespaces, by_namespace, policy).items():
            NAMESPACES.labels(state).set(count)
        self._gauge_key = key


def _namespace_states(namespaces: list[JSONObject], by_namespace: dict[str, list[JSONObject]],
                      policy: Policy) -> dict[str, int]:
    """How many namespaces are protected, compliant, not compliant and exempt."""
    # Imported here: the engine is pure and must not import this module, but may be used by it.
    from webhook.engine.defaultdeny import is_protected, missing_directions

    counts = {"protected": 0, "compliant": 0, "not_compliant": 0, "exempt": 0}
    for namespace_obj in namespaces:
        if not is_protected(namespace_obj, policy):
            counts["exempt"] += 1
            continue
        counts["protected"] += 1
        missing = missing_directions(by_namespace.get(name_of(namespace_obj), []),
                                     policy.default_deny.directions)
        counts["not_compliant" if missing else "compliant"] += 1
    return counts


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

