"""Reading Kubernetes manifests for ``netpol-guard check``: files, directories and stdin.

Multi-document YAML and JSON are read safely (no custom tags; anchors, aliases and duplicate keys
refused, as the policy loader does); ``List`` kinds are expanded into their items. Every object
keeps its source file and the 1-based line where it starts, and can find the line of a JSON path
inside it (``spec.ingress[0].from``) from the YAML node marks, so findings point at the line.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from webhook import yamlio

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
STDIN = "-"
STDIN_NAME = "<stdin>"
MAX_DEPTH = 64
# Bounded work: a manifest stream larger than this is refused before it is parsed.
MAX_INPUT_BYTES = 64 * 1024 * 1024

_PATH_TOKEN = re.compile(r'\.?([^.\[\]]+)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]')


class ManifestError(Exception):
    """A manifest could not be read; ``str()`` is ``file:line: message``."""

    # True when the text was read but is not a Kubernetes object at all (a report, a values
    # file): a caller walking a directory may skip such a file with a warning.
    not_kubernetes = False

    def __init__(self, source: str, line: int | None, message: str) -> None:
        self.source = source
        self.line = line
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class SourceObject:
    """One Kubernetes object from the input, with where it came from.

    ``source`` is the file as given on the command line (``<stdin>`` for ``-``); ``line`` is the
    1-based line where the object starts.
    """

    obj: dict[str, Any]
    source: str
    line: int
    node: yaml.Node | None = field(default=None, repr=False, compare=False)

    @property
    def kind(self) -> str:
        kind = self.obj.get("kind")
        return kind if isinstance(kind, str) else ""

    @property
    def name(self) -> str:
        metadata = self.obj.get("metadata")
        if isinstance(metadata, dict):
            name = metadata.get("name") or metadata.get("generateName") or ""
            return name if isinstance(name, str) else ""
        return ""

    @property
    def namespace(self) -> str | None:
        """``metadata.namespace`` when set, else None."""
        metadata = self.obj.get("metadata")
        if isinstance(metadata, dict):
            namespace = metadata.get("namespace")
            if isinstance(namespace, str) and namespace:
                return namespace
        return None

    def line_of(self, path: str) -> int:
        """The line of a JSON path (``spec.ingress[0].from``) inside the object.

        A mapping entry is found at its key's line, a list item at its first line; a path that
        is not in the source (a defaulted field) gives the line of its closest ancestor.
        """
        node = self.node
        line = self.line
        if node is None:
            return line
        for part in parse_path(path):
            child = _child(node, part)
            if child is None:
                break
            line, node = child
        return line


def parse_path(path: str) -> list[str | int]:
    """``spec.ingress[0].from`` → ``["spec", "ingress", 0, "from"]``."""
    parts: list[str | int] = []
    for match in _PATH_TOKEN.finditer(path):
        key, index, quoted = match.groups()
        if index is not None:
            parts.append(int(index))
        elif quoted is not None:
            parts.append(json.loads(f'"{quoted}"'))
        elif key is not None:
            parts.append(key)
    return parts


def _child(node: yaml.Node, part: str | int) -> tuple[int, yaml.Node] | None:
    if isinstance(node, yaml.MappingNode) and isinstance(part, str):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == part:
                return key_node.start_mark.line + 1, value_node
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int):
        if 0 <= part < len(node.value):
            item = node.value[part]
            return item.start_mark.line + 1, item
    return None


# --- strict YAML (webhook/yamlio.py), worded for the manifest reader ---

_REFUSALS = {
    yamlio.ALIAS: "YAML aliases are not allowed (found alias *{name}); write the value out",
    yamlio.ANCHOR: "YAML anchors are not allowed (found anchor &{name}); write the value out",
    yamlio.TOO_DEEP: f"nesting deeper than {MAX_DEPTH} levels",
    yamlio.UNEXPECTED_EVENT: "unexpected YAML event {name}",
    yamlio.MERGE_KEY: "YAML merge keys (<<) are not allowed",
    yamlio.DUPLICATE_KEY: "duplicate key {name!r}",
}


def _yaml_documents(text: str, source: str) -> Iterator[tuple[Any, yaml.Node]]:
    try:
        # MAX_DEPTH counts the root as level 1; the reader counts levels below the root.
        yield from yamlio.manifest_documents(text, max_depth=MAX_DEPTH - 1)
    except yamlio.Refused as err:
        message = _REFUSALS[err.reason].format(name=err.name)
        raise ManifestError(source, _mark_line(err.mark), message) from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        problem = err.problem or str(err)
        if err.context:
            problem = f"{err.context}: {problem}"
        raise ManifestError(source, _mark_line(mark), f"invalid YAML: {problem}") from None
    except yaml.reader.ReaderError as err:  # a control character the reader refuses
        line = text.count("\n", 0, err.position) + 1
        character = err.character if isinstance(err.character, int) else 0
        raise ManifestError(source, line, f"invalid YAML: unacceptable character "
                                          f"#x{character:04x} ({err.reason})") from None
    except yaml.YAMLError as err:
        raise ManifestError(source, None, f"invalid YAML: {err}") from None


def _mark_line(mark: Any) -> int | None:
    return mark.line + 1 if mark is not None else None


def _json_document(text: str, source: str,
                   lines: bool = True) -> Iterator[tuple[Any, yaml.Node | None]]:
    def refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                raise ValueError(f"duplicate key {key!r}")
            result[key] = value
        return result

    try:
        data = json.loads(text, object_pairs_hook=refuse_duplicates)
    except json.JSONDecodeError as err:
        raise ManifestError(source, err.lineno, f"invalid JSON: {err.msg}") from None
    except ValueError as err:
        raise ManifestError(source, None, f"invalid JSON: {err}") from None
    if not lines:
        yield data, None
        return
    # JSON is YAML: the node tree gives the lines (the data itself comes from the JSON parser).
    # libyaml's composer when available: the pure-Python one took 13 s for 5,000 pods.
    node: yaml.Node | None
    try:
        node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        node = None
    yield data, node


# --- objects ---


def _not_kubernetes(source: str, line: int, message: str) -> ManifestError:
    error = ManifestError(source, line, message)
    error.not_kubernetes = True
    return error


def _objects(data: Any, node: yaml.Node | None, source: str,
             item_type: tuple[str, str] | None = None) -> Iterator[SourceObject]:
    line = node.start_mark.line + 1 if node is not None else 1
    if data is None:
        return  # an empty document (a lone `---`, or a template that rendered nothing)
    if not isinstance(data, dict):
        raise _not_kubernetes(source, line, f"expected a Kubernetes object (a mapping), "
                                            f"found {_type_name(data)}")
    if item_type is not None and "kind" not in data and "apiVersion" not in data:
        # The API server's own list replies (PodList, NamespaceList) leave out the items' type.
        data = {"apiVersion": item_type[1], "kind": item_type[0], **data}
    kind = data.get("kind")
    if not isinstance(kind, str) or not kind:
        raise _not_kubernetes(source, line, "object has no kind")
    if not isinstance(data.get("apiVersion"), str) or not data.get("apiVersion"):
        raise ManifestError(source, line, "object has no apiVersion")
    if kind.endswith("List") and "items" in data:
        items = data.get("items") or []
        if not isinstance(items, list):
            raise ManifestError(source, line, f"{kind}.items is not a list")
        item_nodes = _child(node, "items") if node is not None else None
        sequence = item_nodes[1] if item_nodes is not None else None
        typed = (kind[:-len("List")], data["apiVersion"]) if kind != "List" else None
        for index, item in enumerate(items):
            item_node = None
            if isinstance(sequence, yaml.SequenceNode) and index < len(sequence.value):
                item_node = sequence.value[index]
            yield from _objects(item, item_node, source, typed)
        return
    yield SourceObject(obj=data, source=source, line=line, node=node)


def _type_name(data: Any) -> str:
    if isinstance(data, list):
        return "a list"
    if isinstance(data, str):
        return "a string"
    return type(data).__name__


def load_text(text: str, source: str, *, json_file: bool = False,
              lines: bool = True) -> list[SourceObject]:
    """The objects in one file's text; raises ManifestError with file:line.

    ``lines=False`` skips the node tree of a JSON file (every object then says line 1): a
    caller reading thousands of objects reads the file again with lines when a message needs
    one. YAML always has its lines (they come with the parse).
    """
    if len(text) > MAX_INPUT_BYTES:
        raise ManifestError(source, None, f"larger than {MAX_INPUT_BYTES} bytes")
    documents = (_json_document(text, source, lines) if json_file
                 else _yaml_documents(text, source))
    objects: list[SourceObject] = []
    for data, node in documents:
        objects.extend(_objects(data, node, source))
    return objects


def manifest_files(path: Path) -> list[Path]:
    """``path`` itself, or every *.yaml, *.yml and *.json below a directory, sorted."""
    if path.is_dir():
        return sorted(p for p in path.rglob("*")
                      if p.is_file() and p.suffix.lower() in MANIFEST_SUFFIXES)
    return [path]


def load_paths(paths: Iterable[str], stdin: Any = None, *,
               lines: bool = True) -> list[SourceObject]:
    """Every object in the given files, directories and ``-`` (stdin), in order.

    ``lines``: as for ``load_text`` (files only; stdin always has its lines).

    Raises ManifestError for the first file that cannot be read or parsed.
    """
    objects: list[SourceObject] = []
    for given in paths:
        if given == STDIN:
            stream = stdin if stdin is not None else sys.stdin
            text = stream.read()
            try:
                objects.extend(load_text(text, STDIN_NAME,
                                         json_file=text.lstrip().startswith("{")))
            except ManifestError:
                if not text.lstrip().startswith("{"):
                    raise
                # Not one JSON value: maybe YAML in flow style, or several JSON documents.
                objects.extend(load_text(text, STDIN_NAME))
            continue
        path = Path(given)
        if not path.exists():
            raise ManifestError(given, None, "no such file or directory")
        files = manifest_files(path)
        for file in files:
            display = str(file)
            try:
                raw = file.read_bytes()
            except OSError as err:
                raise ManifestError(display, None, err.strerror or str(err)) from None
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise ManifestError(display, None, "not UTF-8 text") from None
            objects.extend(load_text(text, display, json_file=file.suffix.lower() == ".json",
                                     lines=lines))
    return objects
