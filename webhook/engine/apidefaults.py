"""The API server's defaults on a NetworkPolicy (what it stores and hands a webhook), and what
follows from them: the effective policyTypes and whether a selector selects everything.

``apply_api_defaults``: empty lists and maps vanish, a missing spec or podSelector becomes
``podSelector: {}``, ``policyTypes`` defaults to ``[Ingress]`` (+ ``Egress`` when ``egress`` has
entries), a port's protocol to TCP. The offline CLI's API-server emulation runs the same code.
"""

from __future__ import annotations

import copy
from typing import Any

INGRESS = "Ingress"
EGRESS = "Egress"
DEFAULT_PROTOCOL = "TCP"
# The label the API server sets on every namespace to its own name; users cannot change it.
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


def apply_api_defaults(obj: object) -> dict[str, Any]:
    """Return a new NetworkPolicy dict defaulted exactly as the API server stores it.

    The spec is decoded as the typed ``networking.k8s.io/v1`` struct would be: unknown fields are
    dropped, ``null`` and empty lists/maps are absent (``omitempty``), a missing spec or
    podSelector becomes ``podSelector: {}``, ``policyTypes`` (absent or ``[]``) becomes
    ``[Ingress]`` plus ``Egress`` when ``egress`` has entries, and a port with no protocol gets
    TCP. Values of the wrong type are copied unchanged for validation to report. Other top-level
    fields are deep-copied. Idempotent: an object the API server handed a webhook comes back
    equal. A non-dict is treated as an empty object.
    """
    source: dict[str, Any] = obj if isinstance(obj, dict) else {}
    result = {key: copy.deepcopy(value) for key, value in source.items() if key != "spec"}
    result["spec"] = _default_spec(source.get("spec"))
    return result


def _is_absent(value: object) -> bool:
    """``null``, ``[]`` and ``{}`` are all dropped by ``omitempty`` slices and maps."""
    return value is None or (isinstance(value, list | dict) and not value)


def _default_spec(spec: object) -> Any:
    if spec is None:
        spec = {}
    if not isinstance(spec, dict):
        return copy.deepcopy(spec)
    selector = spec.get("podSelector")
    # podSelector is a struct, not a pointer: absent or null decodes to {} (select all).
    out: dict[str, Any] = {"podSelector": {} if selector is None else _default_selector(selector)}
    for direction, peers_key in (("ingress", "from"), ("egress", "to")):
        rules = spec.get(direction)
        if _is_absent(rules):
            continue
        out[direction] = ([_default_rule(rule, peers_key) for rule in rules]
                          if isinstance(rules, list) else copy.deepcopy(rules))
    declared = spec.get("policyTypes")
    if _is_absent(declared):
        has_egress = isinstance(out.get("egress"), list)
        out["policyTypes"] = [INGRESS, EGRESS] if has_egress else [INGRESS]
    else:
        out["policyTypes"] = copy.deepcopy(declared)
    return out


def _default_selector(selector: object) -> Any:
    """A LabelSelector; None stays None (the caller decides what absent means)."""
    if selector is None or not isinstance(selector, dict):
        return copy.deepcopy(selector)
    out: dict[str, Any] = {}
    labels = selector.get("matchLabels")
    if not _is_absent(labels):
        out["matchLabels"] = copy.deepcopy(labels)
    expressions = selector.get("matchExpressions")
    if not _is_absent(expressions):
        out["matchExpressions"] = ([_default_requirement(e) for e in expressions]
                                   if isinstance(expressions, list)
                                   else copy.deepcopy(expressions))
    return out


def _default_requirement(requirement: object) -> Any:
    if not isinstance(requirement, dict):
        return copy.deepcopy(requirement)
    out = {key: copy.deepcopy(requirement[key]) for key in ("key", "operator")
           if key in requirement}
    values = requirement.get("values")
    if not _is_absent(values):
        out["values"] = copy.deepcopy(values)
    return out


def _default_rule(rule: object, peers_key: str) -> Any:
    if not isinstance(rule, dict):
        return copy.deepcopy(rule)
    out: dict[str, Any] = {}
    peers = rule.get(peers_key)
    if not _is_absent(peers):
        out[peers_key] = ([_default_peer(peer) for peer in peers]
                          if isinstance(peers, list) else copy.deepcopy(peers))
    ports = rule.get("ports")
    if not _is_absent(ports):
        out["ports"] = ([_default_port(port) for port in ports]
                        if isinstance(ports, list) else copy.deepcopy(ports))
    return out


def _default_peer(peer: object) -> Any:
    if not isinstance(peer, dict):
        return copy.deepcopy(peer)
    out: dict[str, Any] = {}
    for key in ("podSelector", "namespaceSelector"):
        selector = peer.get(key)
        if selector is not None:
            out[key] = _default_selector(selector)
    block = peer.get("ipBlock")
    if isinstance(block, dict):
        out["ipBlock"] = {key: copy.deepcopy(block[key]) for key in ("cidr",) if key in block}
        excepts = block.get("except")
        if not _is_absent(excepts):
            out["ipBlock"]["except"] = copy.deepcopy(excepts)
    elif block is not None:
        out["ipBlock"] = copy.deepcopy(block)
    return out


def _default_port(port: object) -> Any:
    if not isinstance(port, dict):
        return copy.deepcopy(port)
    protocol = port.get("protocol")
    out: dict[str, Any] = {"protocol": DEFAULT_PROTOCOL if protocol is None
                           else copy.deepcopy(protocol)}
    for key in ("port", "endPort"):
        if port.get(key) is not None:
            out[key] = copy.deepcopy(port[key])
    return out


def effective_policy_types(spec: object) -> tuple[str, ...]:
    """The directions a policy governs, after the API server's defaulting.

    ``policyTypes`` when it lists any (duplicates and unknown values dropped); otherwise
    ``("Ingress",)``, plus ``"Egress"`` when ``egress`` has entries.
    """
    if not isinstance(spec, dict):
        return (INGRESS,)
    declared = spec.get("policyTypes")
    if isinstance(declared, list) and declared:
        return tuple(dict.fromkeys(t for t in declared if t == INGRESS or t == EGRESS))
    egress = spec.get("egress")
    return (INGRESS, EGRESS) if isinstance(egress, list) and egress else (INGRESS,)


def selects_all(selector: object) -> bool:
    """True when a label selector has no matchLabels entries and no matchExpressions.

    ``{}``, ``{matchLabels: {}}``, ``{matchExpressions: []}`` and None (a missing podSelector is
    defaulted to ``{}``) all select everything. A value that is not a mapping has no entries
    either, so it counts as selecting everything too.
    """
    if not isinstance(selector, dict):
        return True
    labels = selector.get("matchLabels")
    expressions = selector.get("matchExpressions")
    has_labels = isinstance(labels, dict) and bool(labels)
    has_expressions = isinstance(expressions, list) and bool(expressions)
    return not has_labels and not has_expressions


