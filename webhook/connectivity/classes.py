"""Pods grouped into classes that no selector and no named port tells apart.

Two pods are in one class when they are in the same namespace, have the same values for every
label key that some policy's pod selector reads, and resolve every named port that some policy
uses to the same number. Every policy treats all pods of a class alike, so the analysis evaluates
policies per class and computes connections per pair of classes, never per pair of pods.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from webhook.connectivity.model import Model, Policy
from webhook.connectivity.selectors import selector_keys

# (protocol, name) -> number
PortMap = dict[tuple[str, str], int]


@dataclass(slots=True)
class PodClass:
    """Pods alike for every policy: namespace, labels as selectors see them, named ports."""

    index: int
    namespace: str
    labels: dict[str, str]
    ports: PortMap
    port_signature: tuple[tuple[str, str, int], ...]
    pods: int = 0


@dataclass(slots=True)
class Classes:
    """The classes, the class of each of the model's pods, and indexes over them."""

    classes: list[PodClass] = field(default_factory=list)
    of_pod: list[int] = field(default_factory=list)
    by_namespace: dict[str, list[int]] = field(default_factory=dict)
    by_port_signature: dict[tuple[tuple[str, str, int], ...], list[int]] = field(
        default_factory=dict)


def referenced_keys(policies: Iterable[Policy]) -> tuple[set[str], set[str]]:
    """Label keys read by pod selectors, and port names used, over all policies."""
    keys: set[str] = set()
    names: set[str] = set()
    for policy in policies:
        keys |= selector_keys(policy.view.pod_selector)
        for peer in policy.view.peers:
            keys |= selector_keys(peer.pod_selector)
        for port in policy.view.ports:
            if isinstance(port.port, str):
                names.add(port.port)
    return keys, names


def build_classes(model: Model, policies: Iterable[Policy]) -> Classes:
    """Group the model's pods into classes for the given policies."""
    keys, port_names = referenced_keys(policies)
    result = Classes()
    index_of: dict[tuple[object, ...], int] = {}
    for pod in model.pods:
        labels = tuple(sorted((k, v) for k, v in pod.labels.items() if k in keys))
        signature = tuple(p for p in pod.named_ports if p[0] in port_names)
        key = (pod.namespace, labels, signature)
        index = index_of.get(key)
        if index is None:
            index = len(result.classes)
            index_of[key] = index
            ports = {(protocol, name): number for name, protocol, number in signature}
            result.classes.append(PodClass(index, pod.namespace, dict(labels), ports, signature))
            result.by_namespace.setdefault(pod.namespace, []).append(index)
            result.by_port_signature.setdefault(signature, []).append(index)
        result.classes[index].pods += pod.count
        result.of_pod.append(index)
    return result
