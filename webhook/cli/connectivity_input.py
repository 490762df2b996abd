"""Reading the objects for ``connectivity`` and ``diff``: the strict manifest reader, then checks.

Manifests are read like ``check`` reads them (files, directories, ``-``, multi-document YAML,
JSON, ``List`` objects; line-numbered errors). Then:

- a file met while walking a directory that holds no Kubernetes object (a report, a picture's
  JSON) is skipped with a warning; named on the command line it is an error;
- every NetworkPolicy goes through the API server's decoding, defaulting and validation; a policy
  it would reject is an error with the file, the line and the API server's words; only a
  rejected ``metadata.name`` (it does not change connectivity) is a warning;
- a Pod, Namespace or controller whose labels are not a map of strings is an error;
- an object of another kind is skipped with a warning (Services silently: they do not change
  who reaches whom).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from webhook.connectivity.model import (
    CONTROLLERS,
    DEFAULT_NAMESPACE,
    IGNORED_KINDS,
    InputObject,
)
from webhook.kube.apiserver import admit_network_policy
from webhook.kube.manifests import (
    STDIN,
    ManifestError,
    SourceObject,
    load_paths,
    manifest_files,
)

ANALYSED_KINDS = ("Pod", "Namespace", *CONTROLLERS)


class InputError(Exception):
    """The input cannot be analysed; ``str()`` is ``file:line: what``."""


class Sources:
    """The objects read, and their lines on demand.

    JSON files are read without their node tree (building it cost 10 s for 5,000 pods); when a
    message needs the line of an object from such a file, the file is read again with lines.
    """

    def __init__(self) -> None:
        self.objects: list[SourceObject] = []
        self.warnings: list[str] = []
        self._origin: dict[int, tuple[str, int]] = {}  # id(object) -> (file, index in file)
        self._reread: dict[str, list[SourceObject]] = {}

    def add_file(self, file: str) -> None:
        fast = file.lower().endswith(".json")
        found = load_paths([file], lines=not fast)
        if fast:
            for index, source in enumerate(found):
                self._origin[id(source)] = (file, index)
        self.objects.extend(found)

    def located(self, source: SourceObject) -> SourceObject:
        """``source`` with its node tree (and so its lines)."""
        origin = self._origin.get(id(source))
        if origin is None:
            return source
        file, index = origin
        if file not in self._reread:
            self._reread[file] = load_paths([file])
        return self._reread[file][index]

    def where(self, source: SourceObject, path: str = "") -> str:
        """``file:line`` of the object, or of ``path`` inside it."""
        found = self.located(source)
        return f"{found.source}:{found.line_of(path) if path else found.line}"


def read_sources(paths: Iterable[str], stdin: Any = None) -> Sources:
    """Every object in the paths; files in directories that hold no Kubernetes object are
    skipped with a warning."""
    sources = Sources()
    try:
        for given in paths:
            if given == STDIN or not Path(given).is_dir():
                if given == STDIN:
                    sources.objects.extend(load_paths([given], stdin))
                else:
                    sources.add_file(given)
                continue
            for file in manifest_files(Path(given)):
                try:
                    sources.add_file(str(file))
                except ManifestError as err:
                    if not err.not_kubernetes:
                        raise
                    sources.warnings.append(f"{err}: file skipped (not a Kubernetes manifest)")
    except ManifestError as err:
        raise InputError(str(err)) from None
    return sources


def _labels_error(sources: Sources, source: SourceObject, path: str, labels: object) -> None:
    if labels is None:
        return
    if not isinstance(labels, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in labels.items()):
        raise InputError(f"{sources.where(source, path)}: {source.kind} {source.name!r}: "
                         f"{path} must be a map of strings")


def _check_labels(sources: Sources, source: SourceObject) -> None:
    meta = source.obj.get("metadata")
    if meta is not None and not isinstance(meta, dict):
        raise InputError(f"{sources.where(source)}: {source.kind}: metadata must be a map")
    _labels_error(sources, source, "metadata.labels", (meta or {}).get("labels"))
    spec = source.obj.get("spec")
    template = spec.get("template") if isinstance(spec, dict) else None
    template_meta = template.get("metadata") if isinstance(template, dict) else None
    if isinstance(template_meta, dict):
        _labels_error(sources, source, "spec.template.metadata.labels",
                      template_meta.get("labels"))


def to_input(sources: Sources) -> tuple[list[InputObject], list[str]]:
    """Checked objects for the analysis, and warnings; raises InputError."""
    objects: list[InputObject] = []
    warnings: list[str] = list(sources.warnings)
    for source in sources.objects:
        kind = source.kind
        if kind in IGNORED_KINDS:
            continue
        if kind != "NetworkPolicy":
            if kind not in ANALYSED_KINDS:
                warnings.append(f"{sources.where(source)}: {kind} {source.name!r} skipped: the "
                                f"connectivity analysis reads Pods, workload controllers, "
                                f"Namespaces and NetworkPolicies")
                continue
            _check_labels(sources, source)
            objects.append(InputObject(source.obj, source.source))
            continue
        namespace = source.namespace or DEFAULT_NAMESPACE
        verdict = admit_network_policy(source.obj, namespace, field_validation="Warn")
        if verdict.warnings:
            where = sources.where(source)
            warnings.extend(f"{where}: NetworkPolicy {source.name!r}: {w}"
                            for w in verdict.warnings)
        if verdict.accepted and verdict.defaulted is not None:
            objects.append(InputObject(verdict.defaulted, source.source))
            continue
        if verdict.error_paths and all(p.startswith("metadata.name") for p in verdict.error_paths):
            warnings.append(f"{sources.where(source)}: {verdict.message} (analysed anyway: the "
                            f"name does not change connectivity)")
            objects.append(InputObject(source.obj, source.source))
            continue
        path = verdict.error_paths[0] if verdict.error_paths else ""
        raise InputError(f"{sources.where(source, path)}: {verdict.message}")
    return objects, warnings


def read_objects(paths: Iterable[str], stdin: Any = None) -> tuple[list[InputObject], list[str]]:
    """Read and check; returns the objects and the warnings; raises InputError."""
    return to_input(read_sources(paths, stdin))


def read_cluster(kubeconfig: str | None, context: str | None) -> list[InputObject]:
    """Namespaces, Pods and NetworkPolicies of the live cluster (already validated and
    defaulted by its API server); raises InputError when the cluster cannot be read."""
    from webhook.kube.snapshot import list_objects_once
    from webhook.kube.state import ClusterUnavailable

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


def read_side(paths: Iterable[str], *, cluster: bool, kubeconfig: str | None,
              context: str | None) -> tuple[list[InputObject], list[str]]:
    """One side of an analysis: the live cluster when ``cluster``, else the manifests at
    ``paths``; the objects and the warnings; raises InputError."""
    if cluster:
        return read_cluster(kubeconfig, context), []
    return read_objects(paths)
