"""One side of a NetworkPolicy change (before or after), evaluated lazily (pure).

``State`` answers "what may go from this pod class (or external atom) to that one" under one
set of policies: the changed namespace's policies with the changed one replaced, every other
namespace's as compiled and kept in the view's memo (``NamespaceMemo``, checked against the
namespace's version), each affected pod's allowances as a ``Side``.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from webhook.engine.conns import NONE, ConnSet
from webhook.engine.reach import (
    CompiledPolicy,
    JSONObject,
    Labels,
    PodInfo,
    ReachView,
    compile_policy,
    namespace_labels_of,
)
from webhook.engine.reacheval import Endpoint, allowed, governing


def with_policy(policies: Sequence[JSONObject], namespace: str, name: str,
                 replacement: JSONObject | None) -> list[CompiledPolicy]:
    kept = [compile_policy(p) for p in policies
            if (p.get("metadata") or {}).get("name") != name]
    if replacement is not None:
        kept.append(compile_policy(placed(replacement, namespace)))
    return kept


def placed(obj: JSONObject, namespace: str) -> JSONObject:
    metadata = obj.get("metadata") or {}
    if metadata.get("namespace") == namespace:
        return obj
    return {**obj, "metadata": {**metadata, "namespace": namespace}}


@dataclass(slots=True)
class NamespaceMemo:
    """A namespace's compiled policies and its pods' governors, kept in the view's memo while
    ``version`` (its pods and policies) stays the same."""

    version: Hashable
    policies: list[CompiledPolicy]
    # (id(pod), direction) -> (pod, governors); the pod is kept to check the id's identity.
    governors: dict[tuple[int, str], tuple[PodInfo, tuple[CompiledPolicy, ...]]] = field(
        default_factory=dict)


def namespace_memo(view: ReachView, namespace: str) -> NamespaceMemo:
    memo = view.memo()
    version = view.namespace_version(namespace)
    entry = memo.get(("namespace", namespace))
    if not isinstance(entry, NamespaceMemo) or entry.version != version:
        entry = NamespaceMemo(version, [compile_policy(p) for p in view.policies_in(namespace)])
        memo[("namespace", namespace)] = entry
    return entry


@dataclass(slots=True)
class Side:
    """What an affected pod's policies allow in one direction: per pod class (by id), unless
    ``open_all`` (not isolated, or a rule without peers): then every class is evaluated."""

    open_all: bool
    admitted: dict[int, tuple[PodInfo, ConnSet]] = field(default_factory=dict)


@dataclass(slots=True)
class State:
    """The cluster under one set of policies (before or after), evaluated lazily."""

    view: ReachView
    labels: Mapping[str, Labels]
    # The changed policy: (namespace, name, the object on this side or None); none for a
    # plain analysis.
    override: tuple[str, str, JSONObject | None] = ("", "", None)
    sides: dict[tuple[int, str], Side] = field(default_factory=dict)
    # What a pod outside the changed namespace allows is the same before and after: both
    # states share this cache, keyed by the pod, the direction and the other end.
    outside: dict[tuple[int, str, object], ConnSet] = field(default_factory=dict)
    _changed: list[CompiledPolicy] | None = None
    _governing: dict[tuple[int, str], tuple[CompiledPolicy, ...]] = field(default_factory=dict)
    _entries: dict[str, NamespaceMemo] = field(default_factory=dict)

    def _entry(self, namespace: str) -> NamespaceMemo:
        entry = self._entries.get(namespace)
        if entry is None:
            entry = self._entries[namespace] = namespace_memo(self.view, namespace)
        return entry

    def policies(self, namespace: str) -> list[CompiledPolicy]:
        if namespace != self.override[0]:
            return self._entry(namespace).policies
        if self._changed is None:
            self._changed = with_policy(self.view.policies_in(namespace), *self.override)
        return self._changed

    def governors(self, pod: PodInfo, direction: str) -> tuple[CompiledPolicy, ...]:
        key = (id(pod), direction)
        if pod.namespace == self.override[0]:
            cached = self._governing.get(key)
            if cached is None:
                cached = self._governing[key] = governing(self.policies(pod.namespace),
                                                          direction, pod)
            return cached
        entry = self._entry(pod.namespace)
        found = entry.governors.get(key)
        if found is None or found[0] is not pod:
            found = (pod, governing(entry.policies, direction, pod))
            entry.governors[key] = found
        return found[1]

    def _allowed(self, subject: PodInfo, direction: str, other: Endpoint) -> ConnSet:
        side = self.sides.get((id(subject), direction))
        if side is not None and not side.open_all and isinstance(other, PodInfo):
            admitted = side.admitted.get(id(other))
            return admitted[1] if admitted is not None and admitted[0] is other else NONE
        if subject.namespace == self.override[0]:
            return allowed(self.governors(subject, direction), direction, subject, other,
                           self.labels)
        # Both ends stay alive for the whole delta, so their ids name them.
        key = (id(subject), direction, other if isinstance(other, tuple) else id(other))
        found = self.outside.get(key)
        if found is None:
            found = self.outside[key] = allowed(self.governors(subject, direction), direction,
                                                subject, other, self.labels)
        return found

    def conns(self, src: Endpoint, dst: Endpoint) -> ConnSet:
        """Allowed connections from ``src`` to ``dst``: the destination's ingress first (it
        is most often the one that allows nothing), then the source's egress."""
        ingress = self._allowed(dst, "ingress", src) if isinstance(dst, PodInfo) else None
        if ingress is not None and not ingress:
            return NONE
        if isinstance(src, PodInfo):
            egress = self._allowed(src, "egress", dst)
            return egress if ingress is None else egress & ingress
        return ingress if ingress is not None else NONE


def known_labels(view: ReachView, namespaces: Iterable[str]) -> dict[str, Labels]:
    known = dict(view.namespace_labels())
    for name in namespaces:
        known.setdefault(name, namespace_labels_of(name, None))
    return known
