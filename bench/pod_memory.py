"""Memory of the webhook's pod cache: 10,000 pods listed as the API server pages them.

The pages are JSON text decoded one at a time (as the cache lists them), each pod kept as a
``PodInfo`` record (namespace, name, interned labels, owner, ports, phase), the page dropped;
then the pod classes of every namespace are built (what NP018 caches). ``tracemalloc`` counts
what stays allocated afterwards: the cost of the cache per worker process.

    python -m bench.pod_memory [PODS]
"""

from __future__ import annotations

import gc
import json
import sys
import threading
import tracemalloc
from typing import Any

from bench.reach_cluster import namespace_objects, pod_objects
from webhook.engine.reachview import pod_info
from webhook.kube.reachview import KubeReachView
from webhook.kube.watchcache import WatchedResource, WatchTiming

BUDGET_BYTES = 50 * 1024 * 1024
PAGE = 500


def measure(pods: int = 10_000, pods_per_workload: int = 5, namespaces: int = 100) -> int:
    """Bytes the cache keeps for ``pods`` pods (pod records, their index and pod classes)."""
    pages = [json.dumps(page).encode() for page in _pages(pods, pods_per_workload, namespaces)]
    gc.collect()
    tracemalloc.start()
    try:
        resource = _resource("pods", "Pod", keep=pod_info)
        namespace_resource = _resource("namespaces", "Namespace")
        namespace_resource.replace(namespace_objects(namespaces))
        kept: list[object] = []
        for page in pages:
            kept.extend(resource.kept(json.loads(page)))
        resource.replace(kept)
        del kept
        view = KubeReachView(threading.Lock(), namespace_resource, resource,
                             _resource("networkpolicies", "NetworkPolicy"))
        for namespace in list(resource.items):
            view.classes_in(namespace)
        gc.collect()
        used, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del view, resource
    return used


def _resource(name: str, kind: str, keep: Any = None) -> WatchedResource:
    """A cache like the cluster's, filled by hand (no API: nothing is listed or watched)."""
    return WatchedResource(name, kind, lambda **_: None, lock=threading.Lock(),
                           stopping=threading.Event(), timing=WatchTiming(),
                           on_listed=lambda: None, keep=keep)


def _pages(pods: int, pods_per_workload: int, namespaces: int) -> list[list[dict[str, object]]]:
    objects = pod_objects(pods // pods_per_workload, pods_per_workload, namespaces)
    return [objects[i:i + PAGE] for i in range(0, len(objects), PAGE)]


def main() -> int:
    pods = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    used = measure(pods)
    print(f"pod cache for {pods} pods: {used / 1024 / 1024:.1f} MiB "
          f"({used / pods:.0f} bytes per pod); budget {BUDGET_BYTES / 1024 / 1024:.0f} MiB")
    return 0 if used <= BUDGET_BYTES else 1


if __name__ == "__main__":
    raise SystemExit(main())
