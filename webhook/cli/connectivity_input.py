"""Reading the objects for ``connectivity`` and ``diff``: the strict manifest reader, then checks.

Manifests are read like ``check`` reads them (files, directories, ``-``, multi-document YAML,
JSON, ``List`` objects; line-numbered errors). Then:

- a file met while walking a directory that holds no Kubernetes object (a report, a picture's
  JSON) is skipped with a warning; named on the command line it is an error;
- every NetworkPolicy goes through the API server's decoding, defaulting and validation; a policy
  it would reject is an error with the file, the line and the API server's words; only a
  rejected ``metadata.name`` (it does not change connectivity) is a warning;
- a Pod, Namespace or controller whose labels are not a map of strings is an error.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from webhook.connectivity.model import DEFAULT_NAMESPACE, InputObject
from webhook.kube.apiserver import admit_network_policy
from webhook.kube.manifests import (
    STDIN,
    ManifestError,
    SourceObject,
    load_paths,
    manifest_files,
)


class InputError(Exception):
    """The input cannot be analysed; ``str()`` is ``file:line: what``."""


def read_sources(paths: Iterable[str], stdin: Any = None) -> tuple[list[SourceObject], list[str]]:
    """Every object in the paths; files in directories that hold no Kubernetes object are
    skipped with a warning."""
    objects: list[SourceObject] = []
    warnings: list[str] = []
    for given in paths:
        if given == STDIN or not Path(given).is_dir():
            objects.extend(_load([given], stdin))
            continue
        for file in manifest_files(Path(given)):
            try:
                objects.extend(load_paths([str(file)]))
            except ManifestError as err:
                if not err.not_kubernetes:
                    raise InputError(str(err)) from None
                warnings.append(f"{err}: file skipped (not a Kubernetes manifest)")
    return objects, warnings


def _load(paths: list[str], stdin: Any) -> list[SourceObject]:
    try:
        return load_paths(paths, stdin)
    except ManifestError as err:
        raise InputError(str(err)) from None


def _labels_error(source: SourceObject, path: str, labels: object) -> None:
    if labels is None:
        return
    if not isinstance(labels, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in labels.items()):
        raise InputError(f"{source.source}:{source.line_of(path)}: {source.kind} "
                         f"{source.name!r}: {path} must be a map of strings")


def _check_labels(source: SourceObject) -> None:
    meta = source.obj.get("metadata")
    if meta is not None and not isinstance(meta, dict):
        raise InputError(f"{source.source}:{source.line}: {source.kind}: metadata must be a map")
    _labels_error(source, "metadata.labels", (meta or {}).get("labels"))
    spec = source.obj.get("spec")
    template = spec.get("template") if isinstance(spec, dict) else None
    template_meta = template.get("metadata") if isinstance(template, dict) else None
    if isinstance(template_meta, dict):
        _labels_error(source, "spec.template.metadata.labels", template_meta.get("labels"))


def to_input(sources: Iterable[SourceObject]) -> tuple[list[InputObject], list[str]]:
    """Checked objects for the analysis, and warnings; raises InputError."""
    objects: list[InputObject] = []
    warnings: list[str] = []
    for source in sources:
        where = f"{source.source}:{source.line}"
        if source.kind != "NetworkPolicy":
            _check_labels(source)
            objects.append(InputObject(source.obj, where))
            continue
        namespace = source.namespace or DEFAULT_NAMESPACE
        verdict = admit_network_policy(source.obj, namespace, field_validation="Warn")
        warnings.extend(f"{where}: NetworkPolicy {source.name!r}: {w}" for w in verdict.warnings)
        if verdict.accepted and verdict.defaulted is not None:
            objects.append(InputObject(verdict.defaulted, where))
            continue
        if verdict.error_paths and all(p.startswith("metadata.name") for p in verdict.error_paths):
            warnings.append(f"{where}: {verdict.message} (analysed anyway: the name does not "
                            f"change connectivity)")
            objects.append(InputObject(source.obj, where))
            continue
        line = source.line_of(verdict.error_paths[0]) if verdict.error_paths else source.line
        raise InputError(f"{source.source}:{line}: {verdict.message}")
    return objects, warnings


def read_objects(paths: Iterable[str], stdin: Any = None) -> tuple[list[InputObject], list[str]]:
    """Read and check; returns the objects and the warnings; raises InputError."""
    sources, warnings = read_sources(paths, stdin)
    objects, more = to_input(sources)
    return objects, warnings + more


def read_cluster(kubeconfig: str | None, context: str | None) -> list[InputObject]:
    """Namespaces, Pods and NetworkPolicies of the live cluster (already validated and
    defaulted by its API server); raises InputError when the cluster cannot be read."""
    from webhook.kube.cluster import ClusterUnavailable, list_objects_once

    try:
        items = list_objects_once(kubeconfig, context)
    except ClusterUnavailable as err:
        raise InputError(f"cluster state unavailable: {err}") from None
    objects = []
    for obj in items:
        found = obj.get("metadata")
        meta = found if isinstance(found, dict) else {}
        where = f"cluster:{obj.get('kind')} {meta.get('namespace') or ''}/{meta.get('name')}"
        objects.append(InputObject(obj, where))
    return objects
