"""NP018's view of the watch-backed cache: namespaces, pod classes and policies, read under
the cache's lock, with pod classes cached per namespace until a pod of it changes."""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

from webhook.engine.reach import JSONObject, Labels, PodInfo, classes_of, namespace_labels_of


class KubeReachView:
    """A ``ReachView`` over the cluster cache's resources (``_Resource`` objects)."""

    def __init__(self, lock: threading.Lock, namespaces: Any, pods: Any,
                 policies: Any) -> None:
        self._lock = lock
        self._namespaces, self._pods, self._policies = namespaces, pods, policies
        self._classes: dict[str, tuple[int, list[PodInfo]]] = {}
        self._labels: tuple[int, dict[str, Labels]] = (-1, {})
        self._memo: dict[Any, Any] = {}

    def namespace_labels(self) -> Mapping[str, Labels]:
        with self._lock:
            version = sum(self._namespaces.versions.values())
            if self._labels[0] != version:
                labels = {}
                for namespace in self._namespaces.all():
                    metadata = namespace.get("metadata") or {}
                    name = str(metadata.get("name", ""))
                    labels[name] = namespace_labels_of(name, metadata.get("labels"))
                self._labels = (version, labels)
            return self._labels[1]

    def namespaces_with_pods(self) -> Iterable[str]:
        with self._lock:
            return list(self._pods.items)

    def pods_in(self, namespace: str) -> Sequence[PodInfo]:
        with self._lock:
            return self._pods.in_namespace(namespace)  # type: ignore[no-any-return]

    def classes_in(self, namespace: str) -> Sequence[PodInfo]:
        with self._lock:
            version = self._pods.versions.get(namespace, 0)
            cached = self._classes.get(namespace)
            if cached is not None and cached[0] == version:
                return cached[1]
            pods = self._pods.in_namespace(namespace)
        classes = classes_of(pods)
        with self._lock:
            self._classes[namespace] = (version, classes)
        return classes

    def policies_in(self, namespace: str) -> Sequence[JSONObject]:
        with self._lock:
            return self._policies.in_namespace(namespace)  # type: ignore[no-any-return]

    def namespace_version(self, namespace: str) -> Hashable:
        with self._lock:
            return (self._pods.versions.get(namespace, 0),
                    self._policies.versions.get(namespace, 0))

    def memo(self) -> dict[Any, Any]:
        return self._memo
