"""ValidateObjectMeta: name (or generateName), labels and annotations, for every resource."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from webhook.kube.apiserver.errors import FieldError, JSONObject, invalid, required
from webhook.kube.apiserver.syntax import byte_len, is_label_key, is_label_value

TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024


def validate_labels(labels: Mapping[str, str] | None, path: str) -> Iterator[FieldError]:
    """ValidateLabels: every key and value."""
    for key in sorted(labels or {}):
        for msg in is_label_key(key):
            yield invalid(path, key, msg)
        for msg in is_label_value((labels or {})[key]):
            yield invalid(path, (labels or {})[key], msg)


def validate_object_meta(meta: JSONObject,
                          name_check: Callable[[str], list[str]]) -> Iterator[FieldError]:
    """ValidateObjectMeta: name (or generateName), labels, annotations."""
    name = meta.get("name", "")
    generate_name = meta.get("generateName", "")
    if generate_name:
        for msg in name_check(_generate_name_prefix(generate_name)):
            yield invalid("metadata.generateName", generate_name, msg)
    if not name and not generate_name:
        yield required("metadata.name", "name or generateName is required")
    elif name:
        for msg in name_check(name):
            yield invalid("metadata.name", name, msg)
    yield from validate_labels(meta.get("labels"), "metadata.labels")
    annotations = meta.get("annotations") or {}
    for key in sorted(annotations):
        for msg in is_label_key(key.lower()):
            yield invalid("metadata.annotations", key, msg)
    size = sum(byte_len(k) + byte_len(v) for k, v in annotations.items())
    if size > TOTAL_ANNOTATION_SIZE_LIMIT:
        yield FieldError("metadata.annotations", "Too long",
                         detail=f"may not be more than {TOTAL_ANNOTATION_SIZE_LIMIT} bytes")


def _generate_name_prefix(generate_name: str) -> str:
    # generateName is validated as a name once a random suffix is appended; a trailing "-"
    # is the common spelling and fine.
    return generate_name[:-1] if generate_name.endswith("-") else generate_name
