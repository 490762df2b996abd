"""NetworkPolicy validation as pkg/apis/networking/validation does it (with ratcheting of
stored values on UPDATE), and the warnings the API server returns."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from webhook.kube.apiserver.cidr import (
    cidr_errors,
    cidr_warnings,
    parse_cidr_sloppy,
    strict_subset,
)
from webhook.kube.apiserver.errors import (
    FieldError,
    JSONObject,
    forbidden,
    invalid,
    not_supported,
    required,
)
from webhook.kube.apiserver.objectmeta import validate_labels
from webhook.kube.apiserver.syntax import (
    is_label_key,
    is_label_value,
    is_port_name,
    port_num_errors,
)


@dataclass
class ValidationOptions:
    """Ratcheting on UPDATE: values the stored object already has are validated leniently."""

    legacy_cidrs: frozenset[str] = frozenset()
    allow_invalid_label_values: bool = False


def _validate_selector(selector: JSONObject | None, path: str,
                       opts: ValidationOptions) -> Iterator[FieldError]:
    if selector is None:
        return
    yield from validate_labels(selector.get("matchLabels"), f"{path}.matchLabels")
    for index, req in enumerate(selector.get("matchExpressions") or []):
        req_path = f"{path}.matchExpressions[{index}]"
        operator = req.get("operator", "")
        values = req.get("values") or []
        if operator in ("In", "NotIn"):
            if not values:
                yield required(f"{req_path}.values",
                                "must be specified when `operator` is 'In' or 'NotIn'")
        elif operator in ("Exists", "DoesNotExist"):
            if values:
                yield forbidden(f"{req_path}.values",
                                 "may not be specified when `operator` is 'Exists' or "
                                 "'DoesNotExist'")
        else:
            yield invalid(f"{req_path}.operator", operator, "not a valid selector operator")
        for msg in is_label_key(req.get("key", "")):
            yield invalid(f"{req_path}.key", req.get("key", ""), msg)
        if not opts.allow_invalid_label_values:
            for value_index, value in enumerate(values):
                for msg in is_label_value(value):
                    yield invalid(f"{req_path}.values[{value_index}]", value, msg)


def _validate_port(port: JSONObject, path: str) -> Iterator[FieldError]:
    protocol = port.get("protocol")
    if protocol is not None and protocol not in ("TCP", "UDP", "SCTP"):
        yield not_supported(f"{path}.protocol", protocol, ("TCP", "UDP", "SCTP"))
    number = port.get("port")
    end_port = port.get("endPort")
    if number is None:
        if end_port is not None:
            yield invalid(f"{path}.endPort", end_port,
                           "may not be specified when `port` is not specified")
    elif isinstance(number, int):
        for msg in port_num_errors(number):
            yield invalid(f"{path}.port", number, msg)
        if end_port is not None:
            if end_port < number:
                # The API server reports `port`'s value here, not endPort's.
                yield invalid(f"{path}.endPort", number, "must be greater than or equal to `port`")
            for msg in port_num_errors(end_port):
                yield invalid(f"{path}.endPort", end_port, msg)
    else:
        if end_port is not None:
            yield invalid(f"{path}.endPort", end_port,
                           "may not be specified when `port` is non-numeric")
        for msg in is_port_name(number):
            yield invalid(f"{path}.port", number, msg)


def _validate_ip_block(block: JSONObject, path: str,
                       opts: ValidationOptions) -> Iterator[FieldError]:
    cidr_text = block.get("cidr", "")
    if not cidr_text:
        yield required(f"{path}.cidr")
        return
    yield from cidr_errors(f"{path}.cidr", cidr_text, cidr_text not in opts.legacy_cidrs)
    cidr = parse_cidr_sloppy(cidr_text)
    if cidr is None:
        return
    for index, except_text in enumerate(block.get("except") or []):
        except_path = f"{path}.except[{index}]"
        yield from cidr_errors(except_path, except_text, except_text not in opts.legacy_cidrs)
        except_cidr = parse_cidr_sloppy(except_text)
        if except_cidr is None:
            continue
        if not strict_subset(cidr, except_cidr):
            yield invalid(except_path, except_text, "must be a strict subset of `cidr`")


def _validate_peer(peer: JSONObject, path: str, opts: ValidationOptions) -> Iterator[FieldError]:
    count = 0
    if "podSelector" in peer:
        count += 1
        yield from _validate_selector(peer["podSelector"], f"{path}.podSelector", opts)
    if "namespaceSelector" in peer:
        count += 1
        yield from _validate_selector(peer["namespaceSelector"], f"{path}.namespaceSelector",
                                      opts)
    if "ipBlock" in peer:
        count += 1
        yield from _validate_ip_block(peer["ipBlock"], f"{path}.ipBlock", opts)
    if count == 0:
        yield required(path, "must specify a peer")
    elif count > 1 and "ipBlock" in peer:
        yield forbidden(path, "may not specify both ipBlock and another peer")


def validate_spec(spec: JSONObject, opts: ValidationOptions) -> Iterator[FieldError]:
    """ValidateNetworkPolicySpec: selectors, ports, peers and policyTypes."""
    yield from _validate_selector(spec.get("podSelector"), "spec.podSelector", opts)
    for direction, peers_key in (("ingress", "from"), ("egress", "to")):
        for index, rule in enumerate(spec.get(direction) or []):
            rule_path = f"spec.{direction}[{index}]"
            for port_index, port in enumerate(rule.get("ports") or []):
                yield from _validate_port(port, f"{rule_path}.ports[{port_index}]")
            for peer_index, peer in enumerate(rule.get(peers_key) or []):
                yield from _validate_peer(peer, f"{rule_path}.{peers_key}[{peer_index}]", opts)
    policy_types = spec.get("policyTypes") or []
    if len(policy_types) > 2:
        yield invalid("spec.policyTypes", policy_types,
                       "may not specify more than two policyTypes")
        return
    for index, policy_type in enumerate(policy_types):
        if policy_type not in ("Ingress", "Egress"):
            yield not_supported(f"spec.policyTypes[{index}]", policy_type, ("Ingress", "Egress"))


def collect_cidrs(obj: JSONObject | None) -> frozenset[str]:
    """Every CIDR the stored object holds (validated leniently on UPDATE)."""
    values: set[str] = set()
    spec = (obj or {}).get("spec") or {}
    for direction, peers_key in (("ingress", "from"), ("egress", "to")):
        for rule in spec.get(direction) or []:
            for peer in (rule or {}).get(peers_key) or []:
                block = (peer or {}).get("ipBlock") or {}
                if isinstance(block.get("cidr"), str):
                    values.add(block["cidr"])
                values.update(e for e in block.get("except") or [] if isinstance(e, str))
    return frozenset(values)


def has_invalid_selector_values(obj: JSONObject | None) -> bool:
    """True when the stored object has a selector value that is no longer valid (ratcheting)."""
    spec = (obj or {}).get("spec") or {}
    selectors = [spec.get("podSelector")]
    for direction, peers_key in (("ingress", "from"), ("egress", "to")):
        for rule in spec.get(direction) or []:
            for peer in (rule or {}).get(peers_key) or []:
                selectors += [(peer or {}).get("podSelector"),
                              (peer or {}).get("namespaceSelector")]
    for selector in selectors:
        for req in (selector or {}).get("matchExpressions") or []:
            for value in (req or {}).get("values") or []:
                if not isinstance(value, str) or is_label_value(value):
                    return True
    return False


def network_policy_warnings(spec: JSONObject) -> Iterator[str]:
    """networkpolicy.GetWarningsForNetworkPolicy: non-canonical CIDR spellings."""
    for direction, peers_key in (("ingress", "from"), ("egress", "to")):
        for index, rule in enumerate(spec.get(direction) or []):
            for peer_index, peer in enumerate(rule.get(peers_key) or []):
                block = peer.get("ipBlock")
                if not block:
                    continue
                path = f"spec.{direction}[{index}].{peers_key}[{peer_index}].ipBlock"
                yield from cidr_warnings(f"{path}.cidr", block.get("cidr", ""))
                for except_index, value in enumerate(block.get("except") or []):
                    yield from cidr_warnings(f"{path}.except[{except_index}]", value)
