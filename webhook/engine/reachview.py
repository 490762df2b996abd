"""Pod records from Pod objects, and a ReachView over plain lists (inventory, tests, audit)."""

from __future__ import annotations

import re
import sys
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

from webhook.engine.reach import JSONObject, Labels, PodInfo, classes_of, namespace_labels_of

# A ReplicaSet made by a Deployment is named <deployment>-<pod-template-hash>.
_HASH = re.compile(r"^[a-z0-9]{1,10}$")


def _intern_labels(labels: Any) -> dict[str, str]:
    if not isinstance(labels, dict):
        return {}
    # Label keys and values repeat across thousands of pods: one string object each.
    return {sys.intern(str(k)): sys.intern(str(v)) for k, v in labels.items()}


def owner_of(metadata: Mapping[str, Any], labels: Labels, *,
             resolve_deployments: bool = True) -> tuple[str, str]:
    """The pod's workload (kind, name): its controller, a ReplicaSet resolved to the
    Deployment that owns it by the pod-template-hash naming (unless ``resolve_deployments``
    is False); the pod itself without one."""
    for reference in metadata.get("ownerReferences") or ():
        if not isinstance(reference, dict) or not reference.get("controller"):
            continue
        kind, name = str(reference.get("kind") or "Pod"), str(reference.get("name", ""))
        template_hash = labels.get("pod-template-hash", "")
        if (resolve_deployments and kind == "ReplicaSet" and template_hash
                and _HASH.match(template_hash) and name.endswith("-" + template_hash)):
            return "Deployment", name[: -len(template_hash) - 1]
        return kind, name
    return "Pod", str(metadata.get("name", ""))


def pod_info(obj: Any, *, resolve_deployments: bool = True) -> PodInfo | None:
    """The compact record of a Pod object (None when it has no name)."""
    if not isinstance(obj, dict):
        return None
    metadata = obj.get("metadata") or {}
    name = metadata.get("name")
    if not isinstance(name, str) or not name:
        return None
    labels = _intern_labels(metadata.get("labels"))
    kind, owner = owner_of(metadata, labels, resolve_deployments=resolve_deployments)
    ports: list[tuple[str, int, str]] = []
    spec = obj.get("spec") or {}
    for container in [*(spec.get("containers") or ()), *(spec.get("initContainers") or ())]:
        for port in (container or {}).get("ports") or ():
            number = port.get("containerPort") if isinstance(port, dict) else None
            if isinstance(number, int):
                ports.append((sys.intern(str(port.get("name") or "")), number,
                              sys.intern(str(port.get("protocol") or "TCP"))))
    phase = (obj.get("status") or {}).get("phase") or "Running"
    return PodInfo(namespace=sys.intern(str(metadata.get("namespace") or "default")),
                   name=name, labels=labels, owner_kind=sys.intern(kind),
                   owner_name=sys.intern(owner), ports=tuple(ports),
                   phase=sys.intern(str(phase)))


class StaticReachView:
    """A ReachView over lists: Namespace objects, pod records and NetworkPolicy objects."""

    def __init__(self, namespaces: Iterable[JSONObject], pods: Iterable[PodInfo],
                 policies: Iterable[JSONObject]) -> None:
        self._labels: dict[str, Labels] = {}
        for namespace_obj in namespaces:
            metadata = namespace_obj.get("metadata") or {}
            name = str(metadata.get("name", ""))
            self._labels[name] = namespace_labels_of(name, metadata.get("labels"))
        self._pods: dict[str, list[PodInfo]] = {}
        for pod in pods:
            self._pods.setdefault(pod.namespace, []).append(pod)
        self._classes: dict[str, list[PodInfo]] = {}
        self._memo: dict[Any, Any] = {}
        self._policies: dict[str, list[JSONObject]] = {}
        for policy in policies:
            namespace = (policy.get("metadata") or {}).get("namespace") or "default"
            self._policies.setdefault(namespace, []).append(policy)

    def namespace_labels(self) -> Mapping[str, Labels]:
        return self._labels

    def namespaces_with_pods(self) -> Iterable[str]:
        return list(self._pods)

    def pods_in(self, namespace: str) -> Sequence[PodInfo]:
        return self._pods.get(namespace, ())

    def classes_in(self, namespace: str) -> Sequence[PodInfo]:
        classes = self._classes.get(namespace)
        if classes is None:
            classes = self._classes[namespace] = classes_of(self.pods_in(namespace))
        return classes

    def policies_in(self, namespace: str) -> Sequence[JSONObject]:
        return self._policies.get(namespace, ())

    def namespace_version(self, namespace: str) -> Hashable:
        return 0  # the lists never change

    def memo(self) -> dict[Any, Any]:
        return self._memo
