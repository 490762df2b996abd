"""From Kubernetes objects to the analysis' model: namespaces, pods with their workload, policies.

- A Pod belongs to the workload of its controlling owner (the ownerReference with
  ``controller: true``, else the first), climbing through owners that are themselves in the input
  (a ReplicaSet owned by a Deployment given too is the Deployment). Without an owner the Pod is its
  own workload; an owner reference without a kind is read as ``Pod`` (as the reference analyzer).
- A workload controller (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob,
  ReplicationController) with no Pod of its own in the input stands for the pods its template
  would make: ``replicas`` (``parallelism`` for a Job) of them, 1 when unset.
- Objects without a namespace are in ``default`` (as ``kubectl apply`` without ``-n``). Finished
  pods (phase Succeeded or Failed) hold no address and are left out. Services do not change
  connectivity and are ignored; other kinds are skipped with a warning.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from webhook.engine.apidefaults import NAMESPACE_NAME_LABEL, apply_api_defaults
from webhook.engine.normalize import NormalisedNetworkPolicy, normalise_network_policy

DEFAULT_NAMESPACE = "default"
CONTROLLERS = ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob",
               "ReplicationController")
IGNORED_KINDS = ("Service",)
FINISHED_PHASES = ("Succeeded", "Failed")

# (namespace, kind, name)
WorkloadKey = tuple[str, str, str]
# (port name, protocol, number) of a named container port
NamedPort = tuple[str, str, int]


@dataclass(frozen=True, slots=True)
class InputObject:
    """One object to analyse and where it came from (``file:line``), for warnings."""

    obj: Mapping[str, Any]
    where: str = ""


@dataclass(slots=True)
class Pod:
    """One pod, or ``count`` identical pods of a controller's template."""

    namespace: str
    labels: dict[str, str]
    named_ports: tuple[NamedPort, ...]
    workload: WorkloadKey
    count: int = 1


@dataclass(slots=True)
class Policy:
    """A NetworkPolicy: its name, namespace and the engine's normalised view."""

    namespace: str
    name: str
    view: NormalisedNetworkPolicy


@dataclass(slots=True)
class Model:
    """Everything the analysis reads."""

    namespaces: dict[str, dict[str, str]] = field(default_factory=dict)
    pods: list[Pod] = field(default_factory=list)
    policies: list[Policy] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def workload_id(key: WorkloadKey) -> str:
    """``namespace/name[Kind]``."""
    namespace, kind, name = key
    return f"{namespace}/{name}[{kind}]"


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _name(obj: Mapping[str, Any]) -> str:
    meta = _meta(obj)
    name = meta.get("name") or meta.get("generateName") or ""
    return name if isinstance(name, str) else ""


def _namespace(obj: Mapping[str, Any]) -> str:
    namespace = _meta(obj).get("namespace")
    return namespace if isinstance(namespace, str) and namespace else DEFAULT_NAMESPACE


def _labels(meta: Mapping[str, Any]) -> dict[str, str]:
    labels = meta.get("labels")
    if not isinstance(labels, dict):
        return {}
    return {str(k): str(v) for k, v in labels.items()}


def _owner(obj: Mapping[str, Any]) -> tuple[str, str] | None:
    """(kind, name) of the controlling owner reference, if any."""
    owners = _meta(obj).get("ownerReferences")
    if not isinstance(owners, list):
        return None
    refs = [o for o in owners if isinstance(o, dict) and isinstance(o.get("name"), str)]
    chosen = next((o for o in refs if o.get("controller") is True), refs[0] if refs else None)
    if chosen is None:
        return None
    kind = chosen.get("kind")
    return (kind if isinstance(kind, str) and kind else "Pod", chosen["name"])


def named_ports(pod_spec: object) -> tuple[NamedPort, ...]:
    """The named container ports of a pod spec (protocol defaulted to TCP), sorted."""
    if not isinstance(pod_spec, dict):
        return ()
    found: set[NamedPort] = set()
    for group in ("containers", "initContainers"):
        containers = pod_spec.get(group)
        for container in containers if isinstance(containers, list) else []:
            ports = container.get("ports") if isinstance(container, dict) else None
            for port in ports if isinstance(ports, list) else []:
                if not isinstance(port, dict) or not isinstance(port.get("name"), str):
                    continue
                number = port.get("containerPort")
                protocol = port.get("protocol") or "TCP"
                if isinstance(number, int) and not isinstance(number, bool):
                    found.add((port["name"], str(protocol), number))
    return tuple(sorted(found))


def _template(kind: str, obj: Mapping[str, Any]) -> tuple[Mapping[str, Any], int]:
    """A controller's pod template and how many pods it stands for."""
    spec = obj.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    if kind == "CronJob":
        job = spec.get("jobTemplate")
        spec = job.get("spec") if isinstance(job, dict) else {}
        spec = spec if isinstance(spec, dict) else {}
    count = spec.get("parallelism" if kind in ("Job", "CronJob") else "replicas")
    template = spec.get("template")
    return (template if isinstance(template, dict) else {},
            count if isinstance(count, int) and not isinstance(count, bool) and count > 0
            else 1)


def to_policy(obj: Mapping[str, Any]) -> Policy:
    """A NetworkPolicy object (raw or defaulted) as the analysis reads it."""
    namespace = _namespace(obj)
    return Policy(namespace, _name(obj),
                  normalise_network_policy(apply_api_defaults(obj), namespace))


def build_model(objects: Iterable[InputObject]) -> Model:
    """Read the objects; NetworkPolicies may be raw or already defaulted by the API server."""
    model = Model()
    controllers: dict[WorkloadKey, InputObject] = {}
    raw_pods: list[InputObject] = []
    for item in objects:
        obj = item.obj
        kind = obj.get("kind")
        if kind == "Namespace":
            name = _name(obj)
            labels = _labels(_meta(obj))
            labels[NAMESPACE_NAME_LABEL] = name  # the API server sets it on every namespace
            model.namespaces[name] = labels
        elif kind == "NetworkPolicy":
            model.policies.append(to_policy(obj))
        elif kind == "Pod":
            raw_pods.append(item)
        elif kind in CONTROLLERS:
            controllers[(_namespace(obj), str(kind), _name(obj))] = item
        elif kind not in IGNORED_KINDS:
            model.warnings.append(f"{item.where}: {kind} {_name(obj)!r} skipped: the "
                                  f"connectivity analysis reads Pods, workload controllers, "
                                  f"Namespaces and NetworkPolicies")
    owned = _add_pods(model, raw_pods, controllers)
    _add_templates(model, controllers, owned)
    for pod in model.pods:
        model.namespaces.setdefault(pod.namespace, {NAMESPACE_NAME_LABEL: pod.namespace})
    return model


def _climb(key: WorkloadKey, controllers: Mapping[WorkloadKey, InputObject]) -> WorkloadKey:
    """The topmost owner of a workload among the controllers in the input."""
    seen = {key}
    while key in controllers:
        owner = _owner(controllers[key].obj)
        if owner is None:
            break
        parent = (key[0], owner[0], owner[1])
        if parent in seen or parent not in controllers:
            break
        seen.add(parent)
        key = parent
    return key


def _add_pods(model: Model, raw_pods: list[InputObject],
              controllers: Mapping[WorkloadKey, InputObject]) -> set[WorkloadKey]:
    owned: set[WorkloadKey] = set()
    for item in raw_pods:
        obj = item.obj
        status = obj.get("status")
        if isinstance(status, dict) and status.get("phase") in FINISHED_PHASES:
            continue
        namespace = _namespace(obj)
        owner = _owner(obj)
        key = (namespace, "Pod", _name(obj)) if owner is None else (namespace, *owner)
        owned.add(key)
        key = _climb(key, controllers)
        owned.add(key)
        model.pods.append(Pod(namespace, _labels(_meta(obj)), named_ports(obj.get("spec")), key))
    return owned


def _add_templates(model: Model, controllers: Mapping[WorkloadKey, InputObject],
                   owned: set[WorkloadKey]) -> None:
    for key, item in controllers.items():
        if key in owned or _climb(key, controllers) != key:
            continue  # its pods are in the input, or its owner stands for them
        template, count = _template(key[1], item.obj)
        meta = template.get("metadata")
        model.pods.append(Pod(key[0], _labels(meta if isinstance(meta, dict) else {}),
                              named_ports(template.get("spec")), key, count))
