"""Strict loading of the policy document: YAML → JSON Schema → semantic checks → typed ``Policy``.

Every problem is reported with a dotted JSON path (``rules.NP006.minPrefixV4``, list items as
``defaultDeny.directions[1]``, the document itself as the empty path) and, when known, the
1-based line in the YAML text.

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

import difflib
import functools
import hashlib
import ipaddress
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from types import MappingProxyType
from typing import Any, Final

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from webhook.admission.decision import Action
from webhook.policy.model import (
    RULES,
    CrossNamespaceAllowance,
    DefaultDenyConfig,
    Exemptions,
    Policy,
    Principals,
    RuleConfig,
)

MAX_DOCUMENT_BYTES: Final = 1024 * 1024
MAX_DEPTH: Final = 32
# Enough to fix a document in one go; more would only bloat a ConfigMap deny message.
MAX_PROBLEMS: Final = 50

DEFAULT_SOURCE: Final = "<default>"

SCHEMA_TEXT: Final[str] = (resources.files("webhook.policy") / "schema.json").read_text("utf-8")
SCHEMA: Final[Mapping[str, Any]] = MappingProxyType(json.loads(SCHEMA_TEXT))
# Compiled once: jsonschema.validate() re-checks the schema on every call (≈ 3.6 ms vs ≈ 130 µs).
_VALIDATOR: Final = Draft202012Validator(dict(SCHEMA))

# jsonschema reports a failed pattern as the bare regex; say what the pattern means instead.
_PATTERN_MEANINGS: Final[Mapping[str, str]] = MappingProxyType({
    "^[-a-z0-9*?]+$": "is not a namespace name or glob (lowercase letters, digits, '-' and the "
                      "wildcards * and ?; globs, never regular expressions)",
    "^[-a-z0-9*?]+/[-a-z0-9.*?]+$": "is not a service account: write namespace/name (either "
                                    "part may be a glob with * and ?)",
    "^NP0(0[1-9]|1[0-8])$": "is not a rule id (NP001 to NP018)",
})

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


class PolicyError(Exception):
    """A policy document was refused; ``problems`` says why (never empty)."""

    def __init__(self, problems: Sequence[PolicyProblem], source: str = "<string>") -> None:
        self.problems: tuple[PolicyProblem, ...] = tuple(problems)
        self.source = source
        super().__init__(str(self))

    def __str__(self) -> str:
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        lines = [f"policy {self.source} is invalid ({count} {noun}):"]
        lines.extend(f"  {problem}" for problem in self.problems)
        return "\n".join(lines)


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


# --- strict YAML -------------------------------------------------------------------------------

class _Refused(Exception):
    """Stops composing at the first construct the strict reader refuses."""

    def __init__(self, message: str, mark: Any) -> None:
        super().__init__(message)
        self.message = message
        self.line = mark.line + 1 if mark is not None else None


class _StrictComposer:
    """Builds the node graph from parser events, refusing anchors, aliases and deep nesting.

    Mixed in before a parser (libyaml's ``CParser`` when available) whose ``check_event`` /
    ``get_event`` / ``peek_event`` it uses; PyYAML's own composer would resolve aliases into
    shared nodes, which is what makes "billion laughs" documents expand.
    """

    check_event: Any
    get_event: Any
    peek_event: Any
    resolve: Any

    def compose_single(self) -> yaml.Node | None:
        self.get_event()  # StreamStart
        if self.check_event(yaml.StreamEndEvent):
            return None
        self.get_event()  # DocumentStart
        node = self._compose(0)
        self.get_event()  # DocumentEnd
        if not self.check_event(yaml.StreamEndEvent):
            raise _Refused("the stream holds more than one document (--- separator); "
                           "put one policy document per file", self.peek_event().start_mark)
        return node

    def _compose(self, depth: int) -> yaml.Node:
        event: Any = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise _Refused(f"YAML aliases are not allowed (found alias *{event.anchor}); "
                           "write the value out", event.start_mark)
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            raise _Refused(f"YAML anchors and aliases are not allowed (found anchor &{anchor}); "
                           "write the value out", event.start_mark)
        if depth > MAX_DEPTH:
            raise _Refused(f"nested deeper than {MAX_DEPTH} levels", event.start_mark)
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
        raise _Refused(f"unexpected YAML event {type(event).__name__}", event.start_mark)


class _PyStrictLoader(_StrictComposer, yaml.reader.Reader, yaml.scanner.Scanner,
                      yaml.parser.Parser, yaml.resolver.Resolver):
    """The pure-Python parser, our composer, PyYAML's YAML 1.1 resolver."""

    def __init__(self, stream: str) -> None:
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.resolver.Resolver.__init__(self)


_StrictLoader: Callable[[str], Any] = _PyStrictLoader
if yaml.__with_libyaml__:
    from yaml._yaml import CParser

    class _CStrictLoader(_StrictComposer, CParser, yaml.resolver.Resolver):
        """libyaml's parser (≈ 10× faster), our composer, PyYAML's YAML 1.1 resolver."""

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            yaml.resolver.Resolver.__init__(self)

    _StrictLoader = _CStrictLoader


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
        loader = _StrictLoader(decoded)  # the pure-Python reader checks characters here
        node = loader.compose_single()
    except _Refused as refused:
        parsed.problems.append(PolicyProblem("", refused.message, refused.line))
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


# --- schema and semantic checks ----------------------------------------------------------------

def _schema_problems(parsed: ParsedYaml) -> list[PolicyProblem]:
    problems: list[PolicyProblem] = []
    hinted: set[Path] = set()
    unknown_keys: set[Path] = set()
    # Bad rule ids first, so the same key is not also reported as merely unknown.
    errors = sorted(_VALIDATOR.iter_errors(parsed.data),
                    key=lambda e: ("propertyNames" not in e.relative_schema_path,
                                   list(map(str, e.absolute_path))))
    for error in errors:
        for path, message in _explain(error, unknown_keys):
            surprise = parsed.surprises.get(path)
            if surprise is not None:
                message = f"{message} ({surprise.hint})"
                hinted.add(path)
            problem = PolicyProblem(format_path(path), message, parsed.line_of(path))
            if problem not in problems:  # "required" repeats itself once per missing key
                problems.append(problem)
    # 017 → 15 passes where an integer is expected, yet is almost surely not what was meant.
    for path, surprise in parsed.surprises.items():
        if surprise.always_wrong and path not in hinted:
            problems.append(PolicyProblem(format_path(path), surprise.hint, parsed.line_of(path)))
    return problems


def _explain(error: ValidationError, unknown_keys: set[Path]) -> Iterator[tuple[Path, str]]:
    """One or more (path, message) pairs for a schema error, worded for the config author."""
    path: Path = tuple(error.absolute_path)
    instance = error.instance
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    if error.validator == "additionalProperties" and isinstance(instance, dict):
        allowed = list(schema.get("properties", {}))
        for key in instance:
            if key in allowed or (*path, key) in unknown_keys:
                continue
            unknown_keys.add((*path, key))
            owner = f"{path[-1]} takes" if path and path[0] == "rules" and len(path) == 2 \
                else "allowed here"
            message = f"unknown key {key!r} ({owner}: {', '.join(allowed)})"
            close = difflib.get_close_matches(key.lower(), [a.lower() for a in allowed], n=1)
            if close:
                suggestion = next(a for a in allowed if a.lower() == close[0])
                message += f"; did you mean {suggestion!r}?"
            yield (*path, key), message
        return
    if "propertyNames" in error.relative_schema_path:
        # jsonschema reports a bad key at its parent's path, with the key as the instance.
        key = str(instance)
        unknown_keys.add((*path, key))
        meaning = _PATTERN_MEANINGS.get(str(error.validator_value), "is not allowed here")
        yield (*path, key), f"{key!r} {meaning}"
        return
    if error.validator == "required" and isinstance(instance, dict):
        for name in error.validator_value:
            if name not in instance:
                yield (*path, name), "is required"
        return
    if error.validator == "const":
        yield path, f"must be {error.validator_value!r}, not {instance!r}"
        return
    if error.validator == "pattern" and error.validator_value in _PATTERN_MEANINGS:
        yield path, f"{instance!r} {_PATTERN_MEANINGS[error.validator_value]}"
        return
    if error.validator == "uniqueItems" and isinstance(instance, list):
        seen: list[Any] = []
        repeated: list[str] = []
        for item in instance:
            if item in seen and repr(item) not in repeated:
                repeated.append(repr(item))
            seen.append(item)
        yield path, f"lists {', '.join(repeated)} more than once"
        return
    if error.validator == "minItems":
        yield path, f"must list at least {error.validator_value} entry"
        return
    yield path, error.message


def _semantic_problems(data: Mapping[str, Any], parsed: ParsedYaml) -> list[PolicyProblem]:
    """Checks the schema cannot express: addresses and CIDRs must parse."""
    problems: list[PolicyProblem] = []
    rules = data.get("rules", {})

    def report(path: Path, message: str) -> None:
        problems.append(PolicyProblem(format_path(path), message, parsed.line_of(path)))

    for key in ("podCIDRs", "serviceCIDRs"):
        for index, cidr in enumerate(rules.get("NP014", {}).get(key, [])):
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError as error:
                report(("rules", "NP014", key, index), f"{cidr!r} is not a CIDR ({error})")
    for index, address in enumerate(rules.get("NP007", {}).get("endpoints", [])):
        try:
            ipaddress.ip_address(address)
        except ValueError:
            report(("rules", "NP007", "endpoints", index),
                   f"{address!r} is not an IPv4 or IPv6 address")
    return problems


def _check(text: str | bytes) -> tuple[ParsedYaml, list[PolicyProblem]]:
    parsed = parse_yaml(text)
    problems = list(parsed.problems)
    if not problems and not isinstance(parsed.data, dict):
        kind = "a list" if isinstance(parsed.data, list) else f"the value {parsed.data!r}"
        problems.append(PolicyProblem(
            "", f"the document must be a mapping (apiVersion: netpol-guard.io/v1, "
                f"kind: Policy, ...), not {kind}", 1))
    if not problems:
        problems = _schema_problems(parsed)
    if not problems:
        problems = _semantic_problems(parsed.data, parsed)
    problems.sort(key=lambda p: (p.line or 0, p.path))
    if len(problems) > MAX_PROBLEMS:
        hidden = len(problems) - (MAX_PROBLEMS - 1)
        problems = [*problems[: MAX_PROBLEMS - 1],
                    PolicyProblem("", f"... and {hidden} more problems")]
    return parsed, problems


def validate_policy_text(text: str | bytes) -> list[PolicyProblem]:
    """Every problem of a policy document, sorted by line; empty when it is valid."""
    return _check(text)[1]


def load_policy_text(text: str | bytes, source: str = "<string>") -> Policy:
    """The typed ``Policy`` of a document; raises ``PolicyError`` listing every problem."""
    parsed, problems = _check(text)
    if problems:
        raise PolicyError(problems, source)
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    return build_policy(parsed.data, source=source, digest=hashlib.sha256(raw).hexdigest())


def load_policy_file(path: str | os.PathLike[str]) -> Policy:
    """Load a policy file; ``OSError`` when it cannot be read, ``PolicyError`` when invalid."""
    with open(path, "rb") as handle:
        # Read one byte past the cap so an oversize file is refused without reading it all.
        data = handle.read(MAX_DOCUMENT_BYTES + 1)
    return load_policy_text(data, source=os.fspath(path))


@functools.cache
def default_policy() -> Policy:
    """The policy shipped in the package (``default-policy.yaml``), loaded once."""
    text = (resources.files("webhook.policy") / "default-policy.yaml").read_bytes()
    return load_policy_text(text, source=DEFAULT_SOURCE)


# --- typed model -------------------------------------------------------------------------------

def build_policy(document: Mapping[str, Any], *, source: str = "<string>",
                 digest: str = "") -> Policy:
    """The typed ``Policy`` of a document that passed validation; omitted keys get defaults."""
    rules = dict(RULES)
    configs: dict[str, RuleConfig] = {}
    listed = document.get("rules", {})
    for rule_id, (_, default_action) in rules.items():
        configs[rule_id] = _rule_config(rule_id, default_action, listed.get(rule_id, {}))
    return Policy(
        rules=MappingProxyType(configs),
        default_deny=_default_deny(document.get("defaultDeny", {})),
        exemptions=_exemptions(document.get("exemptions", {})),
        cluster_unavailable=document.get("clusterUnavailable", "deny"),
        source=source,
        digest=digest,
        raw=_freeze(document),
    )


def _principals(doc: Mapping[str, Any]) -> Principals:
    return Principals(users=tuple(doc.get("users", ())), groups=tuple(doc.get("groups", ())),
                      service_accounts=tuple(doc.get("serviceAccounts", ())))


def _exemptions(doc: Mapping[str, Any], default: Exemptions | None = None) -> Exemptions:
    base = default or Exemptions()
    namespaces = tuple(doc["namespaces"]) if "namespaces" in doc else base.namespaces
    principals = _principals(doc["principals"]) if "principals" in doc else base.principals
    return Exemptions(namespaces=namespaces, principals=principals)


def _default_deny(doc: Mapping[str, Any]) -> DefaultDenyConfig:
    base = DefaultDenyConfig()
    return DefaultDenyConfig(
        directions=tuple(doc.get("directions", base.directions)),
        on_create=doc.get("onCreate", base.on_create),
        creators=_principals(doc["creators"]) if "creators" in doc else base.creators,
        workloads=Action(doc.get("workloads", base.workloads)),
        namespace_updates=Action(doc.get("namespaceUpdates", base.namespace_updates)),
        last_deny=Action(doc.get("lastDeny", base.last_deny)),
        exemptions=_exemptions(doc.get("exemptions", {}), base.exemptions),
        label_principals=(_principals(doc["labelPrincipals"]) if "labelPrincipals" in doc
                          else base.label_principals),
    )


# Document key → RuleConfig field, for the parameters that are tuples of strings or scalars.
_RULE_PARAMETERS: Final[Mapping[str, str]] = MappingProxyType({
    "allowDNS": "allow_dns",
    "allowedKeys": "allowed_keys",
    "minPrefixV4": "min_prefix_v4",
    "minPrefixV6": "min_prefix_v6",
    "endpoints": "endpoints",
    "maxRange": "max_range",
    "podCIDRs": "pod_cidrs",
    "serviceCIDRs": "service_cidrs",
    "allowedProtocols": "allowed_protocols",
    "denyExposureToAllNamespaces": "deny_exposure_to_all_namespaces",
    "denyExposureToOutside": "deny_exposure_to_outside",
    "maxAddedPairs": "max_added_pairs",
    "timeBudgetMs": "time_budget_ms",
})


def _rule_config(rule_id: str, default_action: Action, doc: Mapping[str, Any]) -> RuleConfig:
    fields: dict[str, Any] = {}
    for key, name in _RULE_PARAMETERS.items():
        if key in doc:
            value = doc[key]
            fields[name] = tuple(value) if isinstance(value, list) else value
    if "allow" in doc:
        fields["allow"] = tuple(CrossNamespaceAllowance(namespaces=tuple(item["namespaces"]),
                                                        peers=tuple(item["peers"]))
                                for item in doc["allow"])
    return RuleConfig(rule_id=rule_id, action=Action(doc.get("action", default_action)),
                      exemptions=_exemptions(doc.get("exemptions", {})), **fields)


def _freeze(value: Any) -> Any:
    """Read-only copy: mappings become MappingProxyType, lists tuples (a Policy is shared)."""
    if isinstance(value, Mapping):
        return MappingProxyType({key: _freeze(item) for key, item in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(item) for item in value)
    return value
