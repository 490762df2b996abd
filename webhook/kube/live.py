"""Live reads straight from the Kubernetes API: the confirmation of a deny the cache suggested."""

from __future__ import annotations

import logging
from typing import Any

from webhook.kube.apiclient import describe_error, list_items, read_json, status_code
from webhook.kube.state import ClusterUnavailable, JSONObject
from webhook.observe.metrics import API_ERRORS

log = logging.getLogger("netpol_guard.cluster")


class LiveReads:
    """One GET or LIST per call, under a short timeout; failures raise ClusterUnavailable and
    are counted in ``API_ERRORS``. ``core`` and ``networking`` are the client's CoreV1Api and
    NetworkingV1Api."""

    def __init__(self, core: Any, networking: Any, timeout: float) -> None:
        self._core = core
        self._networking = networking
        self.timeout = timeout

    def get_namespace(self, name: str) -> JSONObject | None:
        """The Namespace as the API server has it now; None when it does not exist."""
        try:
            response = self._core.read_namespace(
                name, _preload_content=False, _request_timeout=self.timeout)
            body = read_json(response)
        except Exception as error:
            if status_code(error) == 404:
                return None
            raise unavailable("get", f"namespace {name}", error) from error
        return body if isinstance(body, dict) else None

    def list_network_policies(self, namespace: str) -> list[JSONObject]:
        """The NetworkPolicies in ``namespace`` as the API server has them now."""
        try:
            response = self._networking.list_namespaced_network_policy(
                namespace, _preload_content=False, _request_timeout=self.timeout)
            body = read_json(response)
        except Exception as error:
            raise unavailable("list", f"NetworkPolicies in {namespace}", error) from error
        return list_items(body, "NetworkPolicy")


def unavailable(operation: str, what: str, error: BaseException) -> ClusterUnavailable:
    """Count and log a failed API call; the ClusterUnavailable to raise for it."""
    API_ERRORS.labels(operation).inc()
    log.warning("kubernetes API: %s %s failed: %s", operation, what, describe_error(error))
    return ClusterUnavailable(f"cannot {operation} {what}: {describe_error(error)}")
