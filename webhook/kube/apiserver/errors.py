"""Field errors and the verdict, rendered word for word as the API server renders them
(k8s.io/apimachinery/pkg/util/validation/field)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

JSONObject = dict[str, Any]
FieldValidation = Literal["Strict", "Warn", "Ignore"]

OMIT = object()


@dataclass(frozen=True, slots=True)
class FieldError:
    """One validation error: ``path: Type: value: detail`` as the API server prints it.

    ``path`` is the JSON path with indices (``spec.ingress[0].ports[0].port``); it is also how
    the CLI finds the line of the error in the source file.
    """

    path: str
    type: str
    value: Any = OMIT
    detail: str = ""

    def __str__(self) -> str:
        body = self.type
        if self.value is not OMIT:
            body = f"{self.type}: {go_value(self.value)}"
        if self.detail:
            body = f"{body}: {self.detail}"
        return f"{self.path}: {body}" if self.path else body


def go_value(value: Any) -> str:
    """A bad value as field.Error prints it: numbers and bools bare, strings quoted, else JSON."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return go_quote(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def go_quote(text: str) -> str:
    """Go's %q for the strings we meet (JSON escaping, non-ASCII printable kept)."""
    return json.dumps(text, ensure_ascii=False)


def required(path: str, detail: str = "") -> FieldError:
    """field.Required."""
    return FieldError(path, "Required value", detail=detail)


def forbidden(path: str, detail: str) -> FieldError:
    """field.Forbidden."""
    return FieldError(path, "Forbidden", detail=detail)


def invalid(path: str, value: Any, detail: str) -> FieldError:
    """field.Invalid."""
    return FieldError(path, "Invalid value", value, detail)


def not_supported(path: str, value: Any, supported: tuple[str, ...]) -> FieldError:
    """field.NotSupported."""
    detail = "supported values: " + ", ".join(go_quote(s) for s in supported)
    return FieldError(path, "Unsupported value", value, detail)



@dataclass(frozen=True, slots=True)
class ApiServerResult:
    """The API server's verdict on one manifest.

    ``errors`` are the causes as the API server lists them (``path: Type: value: detail``, or one
    decoding error); ``message`` is the whole error as kubectl prints it. ``defaulted`` is the
    object as the API server would store it and as a webhook would receive it (None when
    rejected). ``error_paths`` holds the JSON path of each error, for finding its line.
    """

    accepted: bool
    errors: list[str]
    warnings: list[str]
    defaulted: JSONObject | None
    message: str = ""
    error_paths: list[str] = field(default_factory=list)


def rejected(message: str, errors: list[str], warnings: list[str],
              paths: list[str]) -> ApiServerResult:
    """The verdict on a manifest the API server refuses."""
    return ApiServerResult(accepted=False, errors=errors, warnings=warnings, defaulted=None,
                           message=message, error_paths=paths)


def invalid_result(kind: str, name: str, errors: list[FieldError],
                    warnings: list[str]) -> ApiServerResult:
    """``The NetworkPolicy "x" is invalid: ...`` (one cause inline, several as a bullet list)."""
    texts = [str(e) for e in errors]
    head = f"The {kind} {go_quote(name)} is invalid: "
    message = head + texts[0] if len(texts) == 1 else head + "\n" + "\n".join(
        f"* {t}" for t in texts)
    return rejected(message, texts, warnings, [e.path for e in errors])
