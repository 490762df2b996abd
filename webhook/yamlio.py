"""The one strict YAML reader, shared by the manifest reader (kube/manifests.py) and the policy
loader (policy/loader.py): node trees with line marks, anchors, aliases and runaway nesting
refused at the first such parser event, merge and duplicate keys refused when building data.

Each caller words the refusals for its own reader (``Refused.reason`` says which one it is), so
their messages stay what they were. Plain YAML 1.1, as kubectl and Helm read it; the manifest
reader leaves plain dates as strings, as kubectl does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import yaml

# Refused.reason values
ALIAS = "alias"
ANCHOR = "anchor"
TOO_DEEP = "too-deep"
SEVERAL_DOCUMENTS = "several-documents"
UNEXPECTED_EVENT = "unexpected-event"
MERGE_KEY = "merge-key"
DUPLICATE_KEY = "duplicate-key"


class Refused(yaml.YAMLError):
    """A construct the strict reader refuses. ``name`` is the anchor, alias, key or event that
    was refused (empty where there is none); ``mark`` where it was (``line`` is 1-based)."""

    def __init__(self, reason: str, name: str, mark: Any) -> None:
        super().__init__(f"{reason}: {name}")
        self.reason = reason
        self.name = name
        self.mark = mark
        self.line: int | None = mark.line + 1 if mark is not None else None


class StrictComposer:
    """Builds the node graph from parser events, refusing anchors, aliases and deep nesting.

    Mixed in before a parser (libyaml's ``CParser`` or PyYAML's own) whose ``check_event`` /
    ``get_event`` / ``peek_event`` it uses; PyYAML's composer would resolve aliases into shared
    nodes, which is what makes "billion laughs" documents expand. A node more than
    ``max_depth`` levels below the document's root is refused.
    """

    check_event: Any
    get_event: Any
    peek_event: Any
    resolve: Any
    max_depth = 32

    def compose_single(self) -> yaml.Node | None:
        """The one document of the stream (None when empty); a second one is refused."""
        self.get_event()  # StreamStart
        if self.check_event(yaml.StreamEndEvent):
            return None
        self.get_event()  # DocumentStart
        node = self._compose(0)
        self.get_event()  # DocumentEnd
        if not self.check_event(yaml.StreamEndEvent):
            raise Refused(SEVERAL_DOCUMENTS, "", self.peek_event().start_mark)
        return node

    def compose_documents(self) -> Iterator[yaml.Node]:
        """Each document of the stream in turn (composed only when asked for)."""
        self.get_event()  # StreamStart
        while not self.check_event(yaml.StreamEndEvent):
            self.get_event()  # DocumentStart
            node = self._compose(0)
            self.get_event()  # DocumentEnd
            yield node
        self.get_event()  # StreamEnd

    def _compose(self, depth: int) -> yaml.Node:
        event: Any = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise Refused(ALIAS, str(event.anchor), event.start_mark)
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            raise Refused(ANCHOR, anchor, event.start_mark)
        if depth > self.max_depth:
            raise Refused(TOO_DEEP, "", event.start_mark)
        start: Any = event.start_mark  # libyaml's Mark type differs from PyYAML's in the stubs
        if isinstance(event, yaml.ScalarEvent):
            self.get_event()
            tag = event.tag
            if tag is None or tag == "!":
                tag = self.resolve(yaml.ScalarNode, event.value, event.implicit)
            end: Any = event.end_mark
            return yaml.ScalarNode(tag, event.value, start, end, style=event.style)
        if isinstance(event, yaml.SequenceStartEvent):
            self.get_event()
            tag = event.tag
            if tag is None or tag == "!":
                tag = self.resolve(yaml.SequenceNode, None, event.implicit)
            items: list[yaml.Node] = []
            while not self.check_event(yaml.SequenceEndEvent):
                items.append(self._compose(depth + 1))
            return yaml.SequenceNode(tag, items, start, self.get_event().end_mark)
        if isinstance(event, yaml.MappingStartEvent):
            self.get_event()
            tag = event.tag
            if tag is None or tag == "!":
                tag = self.resolve(yaml.MappingNode, None, event.implicit)
            pairs: list[tuple[yaml.Node, yaml.Node]] = []
            while not self.check_event(yaml.MappingEndEvent):
                key = self._compose(depth + 1)
                pairs.append((key, self._compose(depth + 1)))
            return yaml.MappingNode(tag, pairs, start, self.get_event().end_mark)
        raise Refused(UNEXPECTED_EVENT, type(event).__name__, event.start_mark)


class KubectlResolver(yaml.resolver.Resolver):
    """YAML 1.1 as kubectl reads it: ``yes`` is true and ``010`` is 8, but a plain
    ``2024-01-01`` stays a string (or a date in an annotation would not decode as one)."""


KubectlResolver.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.items()
}


class PyStrictLoader(StrictComposer, yaml.reader.Reader, yaml.scanner.Scanner,
                     yaml.parser.Parser, yaml.resolver.Resolver):
    """The pure-Python parser, the strict composer, PyYAML's YAML 1.1 resolver."""

    def __init__(self, stream: str) -> None:
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.resolver.Resolver.__init__(self)


class KubectlLoader(StrictComposer, yaml.reader.Reader, yaml.scanner.Scanner,
                    yaml.parser.Parser, KubectlResolver):
    """The pure-Python parser (its error messages are the manifest reader's), the strict
    composer, kubectl's resolver."""

    def __init__(self, stream: str, max_depth: int) -> None:
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        KubectlResolver.__init__(self)
        self.max_depth = max_depth


# The fastest YAML 1.1 loader there is: libyaml's parser (≈ 10× faster) when PyYAML has it.
StrictLoader: Callable[[str], Any] = PyStrictLoader
if yaml.__with_libyaml__:
    from yaml._yaml import CParser

    class CStrictLoader(StrictComposer, CParser, yaml.resolver.Resolver):
        """libyaml's parser, the strict composer, PyYAML's YAML 1.1 resolver."""

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            yaml.resolver.Resolver.__init__(self)

    StrictLoader = CStrictLoader


class StrictConstructor(yaml.constructor.SafeConstructor):
    """SafeConstructor (no custom tags) that refuses merge keys and duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise Refused(MERGE_KEY, "<<", key_node.start_mark)
                if key_node.value in seen:
                    raise Refused(DUPLICATE_KEY, key_node.value, key_node.start_mark)
                seen.add(key_node.value)
        return super().construct_mapping(node, deep=True)


def manifest_documents(text: str, *, max_depth: int) -> Iterator[tuple[Any, yaml.Node]]:
    """Each document of a manifest stream, as (data, node): kubectl's YAML, strictly read.

    Raises ``Refused`` or PyYAML's own errors; empty documents are skipped.
    """
    loader = KubectlLoader(text, max_depth)
    constructor = StrictConstructor()
    try:
        for node in loader.compose_documents():
            if node is None:
                continue
            yield constructor.construct_document(node), node
    finally:
        loader.dispose()
