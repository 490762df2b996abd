"""The admission request as the engine sees it: plain, typed, independent of HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

JSONObject = dict[str, Any]


@dataclass(frozen=True, slots=True)
class UserInfo:
    """Who sent the request (``request.userInfo``)."""

    username: str = ""
    groups: tuple[str, ...] = ()

    @property
    def service_account(self) -> str | None:
        """``namespace/name`` when the user is a service account, else None."""
        prefix = "system:serviceaccount:"
        if not self.username.startswith(prefix):
            return None
        namespace, _, name = self.username[len(prefix):].partition(":")
        return f"{namespace}/{name}" if name else None


@dataclass(frozen=True, slots=True)
class AdmissionRequest:
    """The parts of ``AdmissionReview.request`` that netpol-guard uses.

    ``kind`` is ``request.kind.kind`` (NetworkPolicy, Namespace, Pod, ...). ``obj`` is None on
    DELETE, ``old_obj`` is None on CREATE.
    """

    uid: str
    kind: str
    operation: str
    namespace: str = ""
    name: str = ""
    group: str = ""
    version: str = ""
    resource: str = ""
    sub_resource: str = ""
    user: UserInfo = field(default_factory=UserInfo)
    obj: JSONObject | None = None
    old_obj: JSONObject | None = None
    dry_run: bool = False

    @property
    def subject(self) -> str:
        """``Kind namespace/name`` (or ``Kind name`` for cluster-scoped objects)."""
        name = self.name or _metadata_name(self.obj) or _metadata_name(self.old_obj) or "<unnamed>"
        return f"{self.kind} {self.namespace}/{name}" if self.namespace else f"{self.kind} {name}"


def _metadata_name(obj: JSONObject | None) -> str:
    if not isinstance(obj, dict):
        return ""
    metadata = obj.get("metadata")
    if isinstance(metadata, dict):
        name = metadata.get("name") or metadata.get("generateName") or ""
        return name if isinstance(name, str) else ""
    return ""
