"""Just enough of a Kubernetes API server for `helm install --dry-run=server` to run the chart's
`lookup` calls against Secrets that a test puts in place.

Helm asks for the version, the discovery documents, the OpenAPI v3 documents (only to learn
that the server validates fields itself, so Helm skips client-side schema validation), and then
GETs each object of the release; a server-side dry run writes nothing. Every object is "not
found" except the Secrets in ``secrets``. Read-only, 127.0.0.1, a random port.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# (group, version) -> [(resource, kind, namespaced)]: the kinds the chart renders.
RESOURCES: dict[tuple[str, str], list[tuple[str, str, bool]]] = {
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


class FakeAPIServer:
    def __init__(self, minor: int = 36) -> None:
        self.minor = minor
        self.secrets: dict[tuple[str, str], dict[str, Any]] = {}
        self.writes: list[str] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def _document(self, path: str) -> tuple[int, dict[str, Any]]:
        parts = path.strip("/").split("/")
        if path == "/version":
            return 200, {"major": "1", "minor": str(self.minor),
                         "gitVersion": f"v1.{self.minor}.0", "platform": "linux/amd64"}
        if path == "/api":
            return 200, {"kind": "APIVersions", "versions": ["v1"]}
        if path == "/apis":
            return 200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": group, "versions": [{"groupVersion": f"{group}/{version}",
                                              "version": version}],
                 "preferredVersion": {"groupVersion": f"{group}/{version}", "version": version}}
                for group, version in RESOURCES if group]}
        for (group, version), resources in RESOURCES.items():
            if path == "/" + _group_path(group, version):
                return 200, {"kind": "APIResourceList", "apiVersion": "v1",
                             "groupVersion": f"{group}/{version}".lstrip("/"),
                             "resources": [{"name": name, "singularName": "", "kind": kind,
                                            "namespaced": namespaced,
                                            "verbs": ["get", "list", "watch", "create",
                                                      "update", "patch", "delete"]}
                                           for name, kind, namespaced in resources]}
        if path == "/openapi/v3":
            return 200, {"paths": {
                _group_path(g, v): {"serverRelativeURL": f"/openapi/v3/{_group_path(g, v)}?h=1"}
                for g, v in RESOURCES}}
        if path.startswith("/openapi/v3/"):
            return 200, self._openapi(path.removeprefix("/openapi/v3/"))
        if len(parts) == 6 and parts[:3] == ["api", "v1", "namespaces"] and parts[4] == "secrets":
            secret = self.secrets.get((parts[3], parts[5]))
            if secret is not None:
                return 200, secret
        return 404, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                     "reason": "NotFound", "code": 404, "message": f"{path} not found"}

    @staticmethod
    def _openapi(group_path: str) -> dict[str, Any]:
        """A PATCH operation per kind that takes fieldValidation: the server validates."""
        paths = {}
        for (group, version), resources in RESOURCES.items():
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

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def _send(self, code: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                self._send(*fake._document(self.path.split("?", 1)[0]))

            def _refuse(self) -> None:
                fake.writes.append(f"{self.command} {self.path}")
                self._send(405, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                 "reason": "MethodNotAllowed", "code": 405})

            do_POST = do_PUT = do_PATCH = do_DELETE = _refuse

        return Handler

    @contextmanager
    def running(self) -> Iterator[FakeAPIServer]:
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()
            thread.join(timeout=5)
