"""One snapshot of the cluster for the one-shot connectivity commands (no watch, no cache).

``netpol-guard connectivity --cluster`` and ``diff --cluster`` list namespaces, pods and
NetworkPolicies once, paged, with the same client and error reporting as the webhook's cache
(``webhook.kube.apiclient``).
"""

from __future__ import annotations

from webhook.kube.apiclient import build_api_client, describe_error, list_items, read_json
from webhook.kube.state import ClusterUnavailable, JSONObject
from webhook.kube.watchcache import LIST_PAGE_SIZE


def list_objects_once(kubeconfig: str | None, context: str | None, *,
                      request_timeout: float = 30.0) -> list[JSONObject]:
    """Namespaces, Pods and NetworkPolicies of the whole cluster, listed once (paged), for the
    one-shot ``connectivity --cluster`` and ``diff --cluster``; ClusterUnavailable on failure.

    Items come back with their kind set (the API server leaves it out of list items).
    """
    from kubernetes import client as k8s_client

    try:
        api_client = build_api_client(kubeconfig, context)
    except Exception as error:
        raise ClusterUnavailable(f"cannot load the kubeconfig: {describe_error(error)}") from error
    core = k8s_client.CoreV1Api(api_client)
    networking = k8s_client.NetworkingV1Api(api_client)
    calls = (("namespaces", "Namespace", core.list_namespace),
             ("pods", "Pod", core.list_pod_for_all_namespaces),
             ("NetworkPolicies", "NetworkPolicy",
              networking.list_network_policy_for_all_namespaces))
    objects: list[JSONObject] = []
    try:
        for what, kind, call in calls:
            token: str | None = None
            while True:
                try:
                    body = read_json(call(limit=LIST_PAGE_SIZE, _continue=token,
                                           _preload_content=False,
                                           _request_timeout=request_timeout))
                except ClusterUnavailable:
                    raise
                except Exception as error:
                    raise ClusterUnavailable(
                        f"cannot list {what}: {describe_error(error)}") from error
                objects.extend(list_items(body, kind))
                metadata = body.get("metadata") if isinstance(body, dict) else None
                token = metadata.get("continue") if isinstance(metadata, dict) else None
                if not token:
                    break
    finally:
        api_client.close()
    return objects
