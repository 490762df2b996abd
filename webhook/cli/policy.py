"""``netpol-guard policy validate FILE...`` and ``netpol-guard policy schema``.

``validate`` accepts a policy document or a ConfigMap manifest holding one under
``data["policy.yaml"]`` (``-`` reads stdin). It prints ``FILE: valid (sha256 ...)`` or one line
per problem, ``FILE:LINE: PATH: MESSAGE``. Exit status: 0 all valid, 1 some invalid,
2 some unreadable.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from webhook.policy.yamldoc import PolicyProblem

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_UNREADABLE = 2

CONFIGMAP_KEY = "policy.yaml"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register ``validate`` and ``schema`` under ``netpol-guard policy``."""
    actions = parser.add_subparsers(dest="policy_command", metavar="ACTION", required=True)
    validate = actions.add_parser(
        "validate", help="check policy documents (or ConfigMaps holding one)",
        description="Check policy documents against the schema; a ConfigMap manifest is "
                    f'checked through its data["{CONFIGMAP_KEY}"]. Exit 0 valid, 1 invalid, '
                    "2 unreadable.")
    validate.add_argument("files", nargs="+", metavar="FILE", help="a file, or - for stdin")
    actions.add_parser("schema", help="print the JSON Schema of the policy document",
                       description="Print the JSON Schema (Draft 2020-12) of the policy document.")


def run(args: argparse.Namespace) -> int:
    """Run the chosen action; returns the exit status."""
    if args.policy_command == "schema":
        from webhook.policy.loader import SCHEMA_TEXT

        sys.stdout.write(SCHEMA_TEXT)
        return EXIT_VALID
    status = EXIT_VALID
    for name in args.files:
        status = max(status, validate_file(name, sys.stdout, sys.stderr))
    return status


def validate_file(name: str, out: TextIO, err: TextIO) -> int:
    """Validate one file (or ``-``) and print the outcome; returns its exit status."""
    import hashlib

    from webhook.policy.loader import validate_policy_text
    from webhook.policy.yamldoc import MAX_DOCUMENT_BYTES, PolicyProblem

    label = "<stdin>" if name == "-" else name
    try:
        if name == "-":
            data = sys.stdin.buffer.read(MAX_DOCUMENT_BYTES + 1)
        else:
            with open(name, "rb") as handle:
                data = handle.read(MAX_DOCUMENT_BYTES + 1)
    except OSError as error:
        err.write(f"{label}: cannot read: {error.strerror or error}\n")
        return EXIT_UNREADABLE

    text: str | bytes = data
    line_offset: int | None = 0
    embedded = _policy_in_configmap(data)
    if isinstance(embedded, PolicyProblem):
        problems = [embedded]
    else:
        if embedded is not None:
            text, line_offset = embedded
            label = f"{label}#{CONFIGMAP_KEY}" if line_offset is None else label
        problems = validate_policy_text(text)
    if not problems:
        raw = text.encode("utf-8") if isinstance(text, str) else text
        out.write(f"{label}: valid (sha256 {hashlib.sha256(raw).hexdigest()})\n")
        return EXIT_VALID
    for problem in problems:
        line = problem.line
        if line is not None and line_offset:
            line += line_offset
        where = f"{label}:{line}" if line is not None else label
        what = f" {problem.path}:" if problem.path else ""
        out.write(f"{where}:{what} {problem.message}\n")
    return EXIT_INVALID


def _policy_in_configmap(data: bytes) -> tuple[str, int | None] | PolicyProblem | None:
    """For a ConfigMap manifest: its policy text and how far its lines are shifted in the file.

    Returns None when ``data`` is not a ConfigMap (validate it as a policy document), a
    ``PolicyProblem`` when it is one without a policy, else ``(text, offset)``; the offset is
    None when the text's lines cannot be mapped to the file's (it was not a ``|`` block).
    """
    from webhook.policy.yamldoc import PolicyProblem, parse_yaml

    parsed = parse_yaml(data)
    document = parsed.data
    if parsed.problems or not isinstance(document, dict) or document.get("kind") != "ConfigMap":
        return None
    configmap_data = document.get("data")
    text = configmap_data.get(CONFIGMAP_KEY) if isinstance(configmap_data, dict) else None
    if not isinstance(text, str):
        return PolicyProblem(f"data.{CONFIGMAP_KEY}",
                             f'the ConfigMap has no data["{CONFIGMAP_KEY}"] holding a policy', 1)
    start = parsed.block_lines.get(("data", CONFIGMAP_KEY))
    return text, (start - 1 if start is not None else None)
