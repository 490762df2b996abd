"""Cluster state from Namespace and NetworkPolicy manifests on disk (``--inventory DIR``).

A directory read recursively (multi-document YAML, JSON, ``List`` kinds), or an empty embedded
inventory: ``serve`` and the offline CLI run with no cluster. A ``live=True`` read rescans it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from webhook.engine.reach import PodInfo, ReachView
from webhook.engine.reachview import StaticReachView, pod_info
from webhook.kube.state import ClusterUnavailable, JSONObject, name_of, namespace_of

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
                kind, name = obj.get("kind"), name_of(obj)
                if not name:
                    continue
                if kind == "Namespace":
                    namespaces[name] = obj
                elif kind == "NetworkPolicy":
                    namespace = namespace_of(obj) or "default"
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
