"""The watch cache: one resource listed (paged) and then watched into memory, relisting on
410 Gone and backing off with jitter on errors."""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from webhook.kube.apiclient import (
    close_response,
    describe_error,
    iter_lines,
    list_items,
    read_json,
    status_code,
)
from webhook.kube.state import JSONObject, metadata_of, name_of, namespace_of
from webhook.observe.metrics import API_ERRORS

# Objects per page when listing; the API server's own default for clients such as kubectl.
LIST_PAGE_SIZE = 500
log = logging.getLogger("netpol_guard.cluster")


@dataclass(frozen=True, slots=True)
class WatchTiming:
    """How long a watch lasts, read timeouts and the retry backoff (tests make them short)."""

    watch_timeout_seconds: int = 300
    request_timeout: float = 10.0
    backoff_initial: float = 0.5
    backoff_max: float = 30.0


class _Gone(Exception):
    """The watch's resourceVersion is too old (410 Gone): relist."""


class WatchedResource:
    """One listed-and-watched resource: its cache (indexed by namespace), resourceVersion and
    sync state. ``lock`` (shared by the cluster's resources) guards them: callers hold it around
    every cache method; ``run`` takes it itself. ``generation`` counts changes to the cache.

    ``keep`` turns each object into what is cached (None: the whole JSON dict); pods are kept
    as compact ``PodInfo`` records. ``versions`` counts changes per namespace, so derived data
    (pod classes) can be cached until its namespace changes.
    """

    def __init__(self, name: str, kind: str, list_call: Callable[..., Any], *,
                 lock: threading.Lock, stopping: threading.Event, timing: WatchTiming,
                 on_listed: Callable[[], None],
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
        self.generation = 0
        self.response: Any = None
        self._lock = lock
        self._stopping = stopping
        self._timing = timing
        self._on_listed = on_listed

    # -- the cache --

    def kept(self, objects: list[JSONObject]) -> list[Any]:
        """``objects`` as they are cached (a page at a time, so a big list is never held
        whole)."""
        if self.keep is None:
            return objects
        return [kept for kept in map(self.keep, objects) if kept is not None]

    @staticmethod
    def _key(obj: Any) -> tuple[str, str]:
        if isinstance(obj, dict):
            return namespace_of(obj), name_of(obj)
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
        namespace = namespace_of(obj)
        by_name = self.items.get(namespace)
        if by_name is not None:
            by_name.pop(name_of(obj), None)
            self.versions[namespace] = self.versions.get(namespace, 0) + 1
            if not by_name:
                del self.items[namespace]

    def get(self, namespace: str, name: str) -> Any:
        return self.items.get(namespace, {}).get(name)

    def in_namespace(self, namespace: str) -> list[Any]:
        return list(self.items.get(namespace, {}).values())

    def by_namespace(self) -> dict[str, list[Any]]:
        return {namespace: list(by_name.values()) for namespace, by_name in self.items.items()}

    def all(self) -> list[Any]:
        return [obj for by_name in self.items.values() for obj in by_name.values()]

    def count(self) -> int:
        return sum(len(by_name) for by_name in self.items.values())

    # -- list and watch --

    def run(self) -> None:
        """List, then watch, until the stopping event is set (the thread's target)."""
        backoff = self._timing.backoff_initial
        while not self._stopping.is_set():
            try:
                if self.resource_version is None:
                    self._list()
                self._watch()
                backoff = self._timing.backoff_initial
            except Exception as error:
                if self._stopping.is_set():
                    break
                if isinstance(error, _Gone) or status_code(error) == 410:
                    log.info("kubernetes API: %s resourceVersion expired (410 Gone), relisting",
                             self.name)
                    self.resource_version = None
                    # A short pause keeps a server that keeps answering 410 from a hot loop.
                    self._stopping.wait(random.uniform(0, self._timing.backoff_initial))
                    continue
                operation = "list" if self.resource_version is None else "watch"
                API_ERRORS.labels(operation).inc()
                # Full jitter spreads the reconnects of many webhook pods after an outage.
                delay = random.uniform(backoff / 2, backoff)
                log.warning("kubernetes API: %s %s failed (%s); retrying in %.2fs",
                            operation, self.name, describe_error(error), delay)
                self._stopping.wait(delay)
                backoff = min(backoff * 2, self._timing.backoff_max)

    def close(self) -> None:
        """Close the open watch connection, so a read blocked on it returns."""
        close_response(self.response)

    def _list(self) -> None:
        # Paged (limit/continue) so that a cluster with 100,000 policies is listed in pieces
        # the API server and each read timeout can handle; every page belongs to the snapshot
        # of the first one, whose resourceVersion the watch then starts from.
        items: list[JSONObject] = []
        token: str | None = None
        version: Any = None
        while True:
            response = self.list_call(limit=LIST_PAGE_SIZE, _continue=token,
                                      _preload_content=False,
                                      _request_timeout=self._timing.request_timeout)
            body = read_json(response)
            items.extend(self.kept(list_items(body, self.kind)))
            metadata = body.get("metadata") if isinstance(body, dict) else None
            metadata = metadata if isinstance(metadata, dict) else {}
            version = metadata.get("resourceVersion") or version
            token = metadata.get("continue") or None
            if token is None or self._stopping.is_set():
                break
        with self._lock:
            self.replace(items)
            self.resource_version = str(version) if version else None
            self.synced = True
            self.last_heard = time.time()
            self.generation += 1
        self._on_listed()
        log.info("kubernetes API: listed %d %s at resourceVersion %s",
                 len(items), self.name, version)

    def _watch(self) -> None:
        timeout = self._timing.watch_timeout_seconds
        response = self.list_call(
            watch=True, resource_version=self.resource_version,
            allow_watch_bookmarks=True, timeout_seconds=timeout,
            _preload_content=False,
            # The server ends the watch after timeout_seconds; a read that stays silent longer
            # means a dead connection.
            _request_timeout=(self._timing.request_timeout, timeout + 15))
        self.response = response
        try:
            with self._lock:
                self.last_heard = time.time()
            if self._stopping.is_set():
                return
            for line in iter_lines(response):
                if self._stopping.is_set():
                    return
                self._apply_event(line)
        finally:
            self.response = None
            close_response(response)

    def _apply_event(self, line: str) -> None:
        try:
            event = json.loads(line)
        except ValueError:
            log.warning("kubernetes API: unparseable %s watch line skipped", self.name)
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
        version = metadata_of(obj).get("resourceVersion")
        with self._lock:
            if kind in ("ADDED", "MODIFIED"):
                self.put(obj)
                self.generation += 1
            elif kind == "DELETED":
                self.remove(obj)
                self.generation += 1
            if version:
                self.resource_version = str(version)
            self.last_heard = time.time()
