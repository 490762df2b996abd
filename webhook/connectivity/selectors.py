"""Kubernetes label selectors: matching and the label keys they read.

The objects reaching the analysis were validated as the API server would (operators, values), so
an operator outside In/NotIn/Exists/DoesNotExist cannot occur here; if one does, the requirement
selects nothing rather than everything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """True when ``labels`` satisfy every matchLabels entry and every matchExpression.

    ``{}`` (and None, as a defaulted podSelector) selects everything.
    """
    if not selector:
        return True
    match_labels = selector.get("matchLabels")
    if isinstance(match_labels, dict):
        for key, value in match_labels.items():
            if labels.get(key) != value:
                return False
    expressions = selector.get("matchExpressions")
    if isinstance(expressions, list):
        for requirement in expressions:
            if not _requirement_matches(requirement, labels):
                return False
    return True


def _requirement_matches(requirement: object, labels: Mapping[str, str]) -> bool:
    if not isinstance(requirement, dict):
        return False
    key = requirement.get("key")
    operator = requirement.get("operator")
    values = requirement.get("values") or []
    if not isinstance(key, str) or not isinstance(values, list):
        return False
    if operator == "In":
        return key in labels and labels[key] in values
    if operator == "NotIn":
        # Kubernetes: NotIn also matches objects that do not have the key at all.
        return key not in labels or labels[key] not in values
    if operator == "Exists":
        return key in labels
    if operator == "DoesNotExist":
        return key not in labels
    return False


def selector_keys(selector: Mapping[str, Any] | None) -> set[str]:
    """The label keys a selector reads (so labels can be cut down to what selectors see)."""
    keys: set[str] = set()
    if not selector:
        return keys
    match_labels = selector.get("matchLabels")
    if isinstance(match_labels, dict):
        keys.update(k for k in match_labels if isinstance(k, str))
    expressions = selector.get("matchExpressions")
    if isinstance(expressions, list):
        for requirement in expressions:
            if isinstance(requirement, dict) and isinstance(requirement.get("key"), str):
                keys.add(requirement["key"])
    return keys
