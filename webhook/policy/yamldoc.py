"""The policy document as YAML: read strictly (webhook/yamlio.py), with the line of every value
and the plain scalars whose YAML 1.1 reading surprises (``no``, ``017``, ``22:22``).

The YAML is read strictly (DESIGN.md §5, bounded work):

- at most ``MAX_DOCUMENT_BYTES`` (1 MiB), checked before parsing;
- anchors and aliases are refused at the first such parser event, so a "billion laughs"
  document fails before anything is expanded;
- duplicate keys, non-string keys (``yes:``, ``1:``, merge keys ``<<``), custom tags, several
  documents in one stream and nesting deeper than ``MAX_DEPTH`` are refused;
- scalars keep their YAML 1.1 meaning (``no`` → false, ``017`` → 15, ``22:22`` → 1342), as
  kubectl and Helm read them too, so the schema refuses them where a string is expected and
  the message explains why; an octal or base-60 number that lands where a number is expected is
  refused as well, because its value is almost certainly not what the author meant.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

import yaml

from webhook import yamlio

MAX_DOCUMENT_BYTES: Final = 1024 * 1024
MAX_DEPTH: Final = 32


PathPart = str | int

Path = tuple[PathPart, ...]



@dataclass(frozen=True, slots=True)
class PolicyProblem:
    """One reason a document was refused.

    ``path`` is dotted (``rules.NP006.minPrefixV4``, ``exemptions.namespaces[0]``); the empty
    string means the document as a whole. ``line`` is 1-based, None when unknown.
    """

    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        what = f"{self.path}: " if self.path else ""
        return f"{where}{what}{self.message}"



@dataclass(frozen=True, slots=True)
class _Surprise:
    """A plain scalar whose YAML 1.1 reading differs from what most authors expect."""

    text: str
    hint: str
    # True when the value is wrong even where the schema accepts its type (017 is 15).
    always_wrong: bool



@dataclass(slots=True)
class ParsedYaml:
    """A strictly parsed YAML document, with where each value came from.

    ``data`` is plain JSON-like Python data (dict, list, str, int, float, bool, None).
    ``lines`` maps a path to the 1-based line of its key (mapping entries) or item (lists).
    ``block_lines`` maps the path of a literal block scalar (``|``) to the line its content
    starts on, so errors inside an embedded document can be reported against the outer file.
    """

    data: Any = None
    problems: list[PolicyProblem] = field(default_factory=list)
    lines: dict[Path, int] = field(default_factory=dict)
    block_lines: dict[Path, int] = field(default_factory=dict)
    surprises: dict[Path, _Surprise] = field(default_factory=dict)

    def line_of(self, path: Path) -> int | None:
        """The line of ``path``, or of its closest ancestor that has one."""
        for end in range(len(path), 0, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return 1 if self.data is not None else None



def format_path(path: Sequence[PathPart]) -> str:
    """``('rules', 'NP006', 'minPrefixV4')`` → ``rules.NP006.minPrefixV4``; ints as ``[i]``."""
    out: list[str] = []
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif re.fullmatch(r"[A-Za-z0-9_-]+", part):
            out.append(f".{part}" if out else part)
        else:
            out.append(f"[{json.dumps(part)}]")
    return "".join(out)



# How the policy loader words the strict reader's refusals (the manifest reader has its own).
_REFUSALS: Final[Mapping[str, str]] = MappingProxyType({
    yamlio.SEVERAL_DOCUMENTS: "the stream holds more than one document (--- separator); "
                              "put one policy document per file",
    yamlio.ALIAS: "YAML aliases are not allowed (found alias *{name}); write the value out",
    yamlio.ANCHOR: "YAML anchors and aliases are not allowed (found anchor &{name}); "
                   "write the value out",
    yamlio.TOO_DEEP: f"nested deeper than {MAX_DEPTH} levels",
    yamlio.UNEXPECTED_EVENT: "unexpected YAML event {name}",
})



_STR = "tag:yaml.org,2002:str"

_MAP = "tag:yaml.org,2002:map"

_SEQ = "tag:yaml.org,2002:seq"

_SCALAR_TAGS = frozenset({_STR, "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
                          "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null",
                          "tag:yaml.org,2002:timestamp"})

_TYPE_NAMES: Final = MappingProxyType({"bool": "a boolean", "int": "a number", "float": "a number",
                                       "null": "null", "timestamp": "a date"})

_OCTAL = re.compile(r"[-+]?0[0-7_]+")

_BASE60 = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?")



def _describe_surprise(node: yaml.ScalarNode, value: Any) -> _Surprise | None:
    text = node.value
    if node.style:  # quoted or block scalars are always strings ('' or None: plain)
        return None
    if node.tag == "tag:yaml.org,2002:bool" and text.lower() not in ("true", "false"):
        return _Surprise(text, f'YAML 1.1 reads unquoted {text} as {str(value).lower()}: '
                               f'write "{text}" in quotes if you meant the word', False)
    if node.tag == "tag:yaml.org,2002:int" and _OCTAL.fullmatch(text) and text.strip("+-0_"):
        return _Surprise(text, f'YAML 1.1 reads {text} as the octal number {value}: quote it '
                               f'("{text}") or drop the leading zero', True)
    if node.tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float") and \
            _BASE60.fullmatch(text):
        return _Surprise(text, f'YAML 1.1 reads {text} as the base-60 number {value}: quote it '
                               f'("{text}")', True)
    if node.tag == "tag:yaml.org,2002:timestamp":
        return _Surprise(text, f'YAML reads {text} as a date: quote it ("{text}")', False)
    return None



def _to_text(text: str | bytes) -> tuple[str, PolicyProblem | None]:
    """Size-check and decode the input: (text, problem); the size is counted in UTF-8 bytes."""
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    if len(raw) > MAX_DOCUMENT_BYTES:
        return "", PolicyProblem(
            "", f"the document is {len(raw)} bytes, more than the limit of "
                f"{MAX_DOCUMENT_BYTES} bytes (1 MiB)")
    if isinstance(text, str):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as error:  # a lone surrogate: no UTF-8 text can hold it
            line = text.count("\n", 0, error.start) + 1
            return "", PolicyProblem(
                "", f"the document is not valid Unicode (character {error.start}: "
                    f"{error.reason})", line)
        return text, None
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        return "", PolicyProblem(
            "", f"the document is not valid UTF-8 (byte {error.start}: {error.reason})", line)
    return decoded.removeprefix("\ufeff"), None



def parse_yaml(text: str | bytes) -> ParsedYaml:
    """Read one YAML document strictly (see the module docstring); never raises on bad input.

    Problems of the YAML itself land in ``ParsedYaml.problems``; nothing is checked against
    the policy schema here (``netpol-guard policy validate`` reuses this for ConfigMaps).
    """
    parsed = ParsedYaml()
    decoded, problem = _to_text(text)
    if problem is not None:
        parsed.problems.append(problem)
        return parsed
    loader: Any = None
    try:
        loader = yamlio.StrictLoader(decoded)  # the pure-Python reader checks characters here
        loader.max_depth = MAX_DEPTH
        node = loader.compose_single()
    except yamlio.Refused as refused:
        message = _REFUSALS[refused.reason].format(name=refused.name)
        parsed.problems.append(PolicyProblem("", message, refused.line))
        return parsed
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        message = " ".join(part for part in (error.context, error.problem) if part)
        parsed.problems.append(PolicyProblem(
            "", f"not valid YAML: {message}", mark.line + 1 if mark else None))
        return parsed
    except yaml.reader.ReaderError as error:  # a control character the reader refuses
        line = decoded.count("\n", 0, error.position) + 1
        character = error.character if isinstance(error.character, int) else 0
        parsed.problems.append(PolicyProblem(
            "", f"not valid YAML: unacceptable character #x{character:04x} ({error.reason})",
            line))
        return parsed
    except yaml.YAMLError as error:
        parsed.problems.append(PolicyProblem("", f"not valid YAML: {error}"))
        return parsed
    finally:
        if loader is not None:
            loader.dispose()
    if node is None or (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")):
        parsed.problems.append(PolicyProblem("", "the document is empty", 1))
        return parsed
    constructor = yaml.constructor.SafeConstructor()
    parsed.data = _build(node, (), parsed, constructor)
    return parsed



def _build(node: yaml.Node, path: Path, parsed: ParsedYaml,
           constructor: yaml.constructor.SafeConstructor) -> Any:
    """Plain Python data from a node, recording lines and refusing what JSON cannot hold."""
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        if node.tag != _MAP:
            parsed.problems.append(PolicyProblem(format_path(path),
                                                 f"the tag {node.tag} is not allowed", line))
        result: dict[str, Any] = {}
        first_seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if not (isinstance(key_node, yaml.ScalarNode) and key_node.tag == _STR):
                parsed.problems.append(PolicyProblem(
                    format_path(path), _non_string_key(key_node), key_line))
                continue
            key = key_node.value
            child = (*path, key)
            if key in first_seen:
                parsed.problems.append(PolicyProblem(
                    format_path(child),
                    f"duplicate key {key!r} (first at line {first_seen[key]})", key_line))
                continue
            first_seen[key] = key_line
            parsed.lines[child] = key_line
            result[key] = _build(value_node, child, parsed, constructor)
        return result
    if isinstance(node, yaml.SequenceNode):
        if node.tag != _SEQ:
            parsed.problems.append(PolicyProblem(format_path(path),
                                                 f"the tag {node.tag} is not allowed", line))
        items: list[Any] = []
        for index, item in enumerate(node.value):
            parsed.lines[(*path, index)] = item.start_mark.line + 1
            items.append(_build(item, (*path, index), parsed, constructor))
        return items
    assert isinstance(node, yaml.ScalarNode)
    if node.tag not in _SCALAR_TAGS:
        parsed.problems.append(PolicyProblem(format_path(path),
                                             f"the tag {node.tag} is not allowed", line))
        return None
    if node.style == "|":
        parsed.block_lines[path] = line + 1
    value = constructor.construct_object(node)
    surprise = _describe_surprise(node, value)
    if surprise is not None:
        parsed.surprises[path] = surprise
    return value



def _non_string_key(key_node: yaml.Node) -> str:
    if isinstance(key_node, yaml.ScalarNode):
        if key_node.tag == "tag:yaml.org,2002:merge":
            return "merge keys (<<) are not allowed; write the keys out"
        kind = _TYPE_NAMES.get(key_node.tag.rsplit(":", 1)[-1], "non-string value")
        return (f"key {key_node.value!r} is read as {kind} by YAML 1.1, and keys must be "
                f'strings: write "{key_node.value}" in quotes')
    return "keys must be strings, not lists or mappings"
