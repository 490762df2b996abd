"""Decoding a manifest as the Go structs would: their fields, JSON types and omitempty tags,
and kubectl's ``--validate`` (fieldValidation Strict, Warn or Ignore) for unknown fields."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from webhook.kube.apiserver.errors import (
    ApiServerResult,
    FieldValidation,
    JSONObject,
    go_quote,
    rejected,
)


class _Type:
    """A Go type a JSON value decodes into."""

    @property
    def go_type(self) -> str:
        return str(getattr(self, "go_name", ""))


@dataclass(frozen=True)
class _Scalar(_Type):
    go_name: str
    kind: str  # "string" | "*string" | "int32" | "int64" | "intstr" | "any"


@dataclass(frozen=True)
class _List(_Type):
    item: _Type
    go_name: str = ""


@dataclass(frozen=True)
class _Map(_Type):
    value: _Type
    go_name: str = "map[string]string"


@dataclass(frozen=True)
class GoStruct(_Type):
    go_name: str
    fields: Mapping[str, _Type]
    # Fields without omitempty: always present after decoding, with their zero value.
    always: tuple[str, ...] = ()


_STRING = _Scalar("string", "string")
# Named string types (their Go names appear in decoding errors).
_POLICY_TYPE = _Scalar("v1.PolicyType", "string")
_OPERATOR = _Scalar("v1.LabelSelectorOperator", "string")
# A *string: "" is a value (a pointer to ""), not an omitted field, so it is not defaulted.
_PROTOCOL = _Scalar("v1.Protocol", "*string")
_INT32 = _Scalar("int32", "int32")
_INT64 = _Scalar("int64", "int64")
_INTSTR = _Scalar("intstr.IntOrString", "intstr")
_ANY = _Scalar("", "any")

_LABEL_SELECTOR = GoStruct("v1.LabelSelector", {
    "matchLabels": _Map(_STRING),
    "matchExpressions": _List(GoStruct("v1.LabelSelectorRequirement", {
        "key": _STRING, "operator": _OPERATOR, "values": _List(_STRING),
    }, always=("key", "operator"))),
})

_OBJECT_META = GoStruct("v1.ObjectMeta", {
    "name": _STRING, "generateName": _STRING, "namespace": _STRING, "selfLink": _STRING,
    "uid": _STRING, "resourceVersion": _STRING, "generation": _INT64,
    "creationTimestamp": _ANY, "deletionTimestamp": _ANY, "deletionGracePeriodSeconds": _INT64,
    "labels": _Map(_STRING), "annotations": _Map(_STRING), "ownerReferences": _ANY,
    "finalizers": _List(_STRING), "managedFields": _ANY,
})

_PORT = GoStruct("v1.NetworkPolicyPort", {
    "protocol": _PROTOCOL, "port": _INTSTR, "endPort": _INT32,
})
_PEER = GoStruct("v1.NetworkPolicyPeer", {
    "podSelector": _LABEL_SELECTOR, "namespaceSelector": _LABEL_SELECTOR,
    "ipBlock": GoStruct("v1.IPBlock", {"cidr": _STRING, "except": _List(_STRING)},
                       always=("cidr",)),
})

NETWORK_POLICY_TYPE = GoStruct("v1.NetworkPolicy", {
    "apiVersion": _STRING, "kind": _STRING, "metadata": _OBJECT_META,
    "spec": GoStruct("v1.NetworkPolicySpec", {
        "podSelector": _LABEL_SELECTOR,
        "ingress": _List(GoStruct("v1.NetworkPolicyIngressRule",
                                 {"ports": _List(_PORT), "from": _List(_PEER)})),
        "egress": _List(GoStruct("v1.NetworkPolicyEgressRule",
                                {"ports": _List(_PORT), "to": _List(_PEER)})),
        "policyTypes": _List(_POLICY_TYPE),
    }, always=("podSelector",)),
}, always=("metadata", "spec"))

NAMESPACE_TYPE = GoStruct("v1.Namespace", {
    "apiVersion": _STRING, "kind": _STRING, "metadata": _OBJECT_META,
    "spec": GoStruct("v1.NamespaceSpec", {"finalizers": _List(_STRING)}),
    "status": _ANY,
}, always=("metadata",))


class _DecodeError(Exception):
    def __init__(self, message: str, path: str) -> None:
        super().__init__(message)
        self.path = path


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


@dataclass
class _Decoder:
    """Walks a manifest along a struct description, as encoding/json would decode it."""

    kind: str
    unknown: list[str] = field(default_factory=list)

    def decode(self, value: Any, typ: _Type, path: str, owner: str, go_path: str) -> Any:
        """The decoded value, or None when the field decodes to an omitted zero value."""
        if value is None:
            return None
        if isinstance(typ, _Scalar):
            return self._scalar(value, typ, path, owner, go_path)
        if isinstance(typ, _List):
            if not isinstance(value, list):
                raise self._mismatch(value, f"[]{typ.item.go_type or 'interface {}'}", path,
                                     owner, go_path)
            items = []
            for index, item in enumerate(value):
                decoded = self.decode(item, typ.item, f"{path}[{index}]", owner, go_path)
                if decoded is None:
                    # A null list item decodes to the item type's zero value.
                    decoded = self._zero(typ.item)
                items.append(decoded)
            return items or None
        if isinstance(typ, _Map):
            if not isinstance(value, dict):
                raise self._mismatch(value, typ.go_name, path, owner, go_path)
            result = {}
            for key, item in value.items():
                if item is not None and not isinstance(item, str):
                    raise self._mismatch(item, "string", path, owner, go_path, exact=False)
                # null and "" are both the empty string (a valid label value).
                result[str(key)] = item or ""
            return result or None
        assert isinstance(typ, GoStruct)
        if not isinstance(value, dict):
            raise self._mismatch(value, typ.go_name, path, owner, go_path)
        struct_name = typ.go_name.split(".")[-1]
        out: JSONObject = {}
        for key, item in value.items():
            child_path = f"{path}.{key}" if path else str(key)
            child_type = typ.fields.get(key) if isinstance(key, str) else None
            if child_type is None:
                self.unknown.append(child_path)
                continue
            child_go = f"{go_path}.{key}" if go_path else key
            decoded = self.decode(item, child_type, child_path, struct_name, child_go)
            if decoded is not None:
                out[key] = decoded
        for key in typ.always:
            if key not in out:
                out[key] = self._zero(typ.fields[key])
        return out

    def _scalar(self, value: Any, typ: _Scalar, path: str, owner: str, go_path: str) -> Any:
        if typ.kind == "any":
            return value
        if typ.kind in ("string", "*string"):
            if not isinstance(value, str):
                raise self._mismatch(value, typ.go_name, path, owner, go_path, exact=False)
            return value if typ.kind == "*string" else value or None
        if typ.kind == "intstr":
            if isinstance(value, str):
                return value
            if isinstance(value, int) and not isinstance(value, bool) and _fits_int32(value):
                return value
            raise self._mismatch(value, "int32", path, owner, go_path)
        limit_ok = _fits_int32 if typ.kind == "int32" else _fits_int64
        if isinstance(value, int) and not isinstance(value, bool) and limit_ok(value):
            return value
        raise self._mismatch(value, typ.go_name, path, owner, go_path)

    def _zero(self, typ: _Type) -> Any:
        if isinstance(typ, GoStruct):
            return {key: self._zero(typ.fields[key]) for key in typ.always}
        if isinstance(typ, _Scalar) and typ.kind == "string":
            return ""
        return None

    def _mismatch(self, value: Any, go_type: str, path: str, owner: str,
                  go_path: str, exact: bool = True) -> _DecodeError:
        # encoding/json names a number's literal only where it was read as a number (into an
        # integer field); into a string field it says just "number".
        where = f"{owner}.{go_path}" if owner else go_path
        shown = _json_type(value)
        if shown == "number" and exact:
            shown = f"number {value}"
        message = (f"{self.kind} in version \"v1\" cannot be handled as a {self.kind}: "
                   f"json: cannot unmarshal {shown} into Go struct field {where} "
                   f"of type {go_type}")
        return _DecodeError(message, path)


def _fits_int32(value: int) -> bool:
    return -(2**31) <= value < 2**31


def _fits_int64(value: int) -> bool:
    return -(2**63) <= value < 2**63


def decode_manifest(manifest: JSONObject, typ: GoStruct, kind: str,
                    field_validation: FieldValidation
                    ) -> tuple[JSONObject | None, list[str], ApiServerResult | None]:
    """Decode ``manifest``; returns (object, warnings, rejection)."""
    decoder = _Decoder(kind)
    try:
        obj = decoder.decode(manifest, typ, "", "", "")
    except _DecodeError as err:
        return None, [], rejected(str(err), [str(err)], [], [err.path])
    unknown = [f"unknown field {go_quote(p)}" for p in decoder.unknown]
    if unknown and field_validation == "Strict":
        message = (f"{kind} in version \"v1\" cannot be handled as a {kind}: "
                   f"strict decoding error: " + ", ".join(unknown))
        return None, [], rejected(message, unknown, [], list(decoder.unknown))
    warnings = unknown if field_validation == "Warn" else []
    return obj, warnings, None
