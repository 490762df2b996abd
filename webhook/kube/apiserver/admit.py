"""Admitting one manifest as kube-apiserver v1.36 does, resource by resource: check its
apiVersion and kind, decode, default (the same defaulting code as the engine), validate."""

from __future__ import annotations

import copy

from webhook.engine.apidefaults import apply_api_defaults
from webhook.kube.apiserver.decode import NAMESPACE_TYPE, NETWORK_POLICY_TYPE, decode_manifest
from webhook.kube.apiserver.errors import (
    ApiServerResult,
    FieldValidation,
    JSONObject,
    go_quote,
    invalid_result,
    rejected,
)
from webhook.kube.apiserver.networkpolicy import (
    ValidationOptions,
    collect_cidrs,
    has_invalid_selector_values,
    network_policy_warnings,
    validate_spec,
)
from webhook.kube.apiserver.objectmeta import validate_object_meta
from webhook.kube.apiserver.syntax import is_dns1123_label, is_dns1123_subdomain

NETWORK_POLICY_API_VERSION = "networking.k8s.io/v1"
NAMESPACE_LABEL = "kubernetes.io/metadata.name"


def _type_meta_error(manifest: JSONObject, kind: str, api_version: str) -> str | None:
    got_version = manifest.get("apiVersion")
    got_kind = manifest.get("kind")
    if got_kind != kind:
        return f"expected kind {go_quote(kind)}, got {go_quote(str(got_kind))}"
    if got_version != api_version:
        return (f"no matches for kind {go_quote(kind)} in version "
                f"{go_quote(str(got_version))}")
    return None


def admit_network_policy(manifest: JSONObject, namespace: str, *,
                         field_validation: FieldValidation = "Strict",
                         old: JSONObject | None = None) -> ApiServerResult:
    """Decode, default and validate a NetworkPolicy manifest as kube-apiserver v1.36 does.

    ``namespace`` is where it is created (``kubectl -n``; a manifest's own
    ``metadata.namespace`` must agree with it). ``field_validation`` is kubectl's
    ``--validate``: ``Strict`` (kubectl's default) rejects unknown fields, ``Warn`` drops them
    with a warning, ``Ignore`` drops them silently. ``old`` is the stored object on UPDATE: CIDRs
    and selector values it already holds are validated as leniently as when it was stored
    (validation ratcheting). The defaulted object is what a webhook would receive.
    """
    if not isinstance(manifest, dict):
        return rejected("the object is not a JSON/YAML mapping", [
            "the object is not a JSON/YAML mapping"], [], [""])
    mismatch = _type_meta_error(manifest, "NetworkPolicy", NETWORK_POLICY_API_VERSION)
    if mismatch:
        return rejected(mismatch, [mismatch], [], ["apiVersion"])
    decoded, warnings, rejection = decode_manifest(manifest, NETWORK_POLICY_TYPE, "NetworkPolicy",
                                           field_validation)
    if rejection is not None:
        return rejection
    assert decoded is not None
    meta = decoded["metadata"]
    name = meta.get("name") or meta.get("generateName") or ""
    own_namespace = meta.get("namespace")
    if own_namespace and own_namespace != namespace:
        text = (f"the namespace from the provided object {go_quote(own_namespace)} does not "
                f"match the namespace {go_quote(namespace)}. You must pass "
                f"'--namespace={own_namespace}' to perform this operation.")
        return rejected(text, [text], warnings, ["metadata.namespace"])
    meta["namespace"] = namespace
    defaulted = apply_api_defaults(copy.deepcopy(decoded))
    opts = ValidationOptions(legacy_cidrs=collect_cidrs(old),
                    allow_invalid_label_values=has_invalid_selector_values(old))
    errors = list(validate_object_meta(meta, is_dns1123_subdomain))
    errors.extend(validate_spec(defaulted.get("spec") or {}, opts))
    if errors:
        return invalid_result("NetworkPolicy", name, errors, warnings)
    warnings.extend(network_policy_warnings(defaulted.get("spec") or {}))
    return ApiServerResult(accepted=True, errors=[], warnings=warnings, defaulted=defaulted)


def admit_namespace(manifest: JSONObject, *,
                    field_validation: FieldValidation = "Strict") -> ApiServerResult:
    """Decode and validate a Namespace manifest; the defaulted object carries the
    ``kubernetes.io/metadata.name`` label the API server adds to every namespace."""
    if not isinstance(manifest, dict):
        return rejected("the object is not a JSON/YAML mapping", [
            "the object is not a JSON/YAML mapping"], [], [""])
    mismatch = _type_meta_error(manifest, "Namespace", "v1")
    if mismatch:
        return rejected(mismatch, [mismatch], [], ["apiVersion"])
    decoded, warnings, rejection = decode_manifest(manifest, NAMESPACE_TYPE, "Namespace",
                                           field_validation)
    if rejection is not None:
        return rejection
    assert decoded is not None
    meta = decoded["metadata"]
    name = meta.get("name") or ""
    if name:
        # Set before validation, as the API server does: an invalid name also fails as the
        # label's value ("metadata.labels: ... must be no more than 63 bytes").
        meta.setdefault("labels", {})[NAMESPACE_LABEL] = name
    errors = list(validate_object_meta(meta, is_dns1123_label))
    if meta.get("namespace"):
        # A Namespace is cluster-scoped; the API server clears a namespace it is given.
        meta.pop("namespace")
    if errors:
        return invalid_result("Namespace", name, errors, warnings)
    return ApiServerResult(accepted=True, errors=[], warnings=warnings, defaulted=decoded)
