#!/usr/bin/env python3
"""Embed the policy document's JSON Schema into the chart's values.schema.json.

webhook/policy/schema.json is the single source of what a policy document may contain (DESIGN §4).
The chart's `policy` value is such a document, so values.schema.json carries a copy of that
schema under properties.policy. This script writes the copy; tests/chart fails when it is stale.

The copy is made self-contained inside values.schema.json: the package schema's "$defs" move to
the root "$defs" with a "policy." prefix and every "$ref" into them is rewritten, because a
"#/$defs/..." reference always resolves against the root of the document it sits in.

    charts/netpol-guard/scripts/sync-policy-schema.py           # rewrite values.schema.json
    charts/netpol-guard/scripts/sync-policy-schema.py --check   # exit 1 when it is out of sync
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

CHART_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = CHART_DIR.parent.parent
POLICY_SCHEMA = REPO_ROOT / "webhook" / "policy" / "schema.json"
VALUES_SCHEMA = CHART_DIR / "values.schema.json"
DEF_PREFIX = "policy."
# Keywords that only make sense at the root of a standalone schema document.
ROOT_ONLY = ("$schema", "$id", "$defs", "definitions")


def _rewrite_refs(node: Any) -> Any:
    """Point every local "$ref" of the package schema at its new home in values.schema.json."""
    if isinstance(node, dict):
        rewritten = {key: _rewrite_refs(value) for key, value in node.items()}
        ref = rewritten.get("$ref")
        if isinstance(ref, str):
            if ref.startswith("#/$defs/"):
                rewritten["$ref"] = "#/$defs/" + DEF_PREFIX + ref.removeprefix("#/$defs/")
            elif ref.startswith("#/definitions/"):
                rewritten["$ref"] = "#/$defs/" + DEF_PREFIX + ref.removeprefix("#/definitions/")
            elif ref == "#":
                rewritten["$ref"] = "#/properties/policy"
            elif ref.startswith("#/"):
                rewritten["$ref"] = "#/properties/policy/" + ref.removeprefix("#/")
            else:
                raise ValueError(f"cannot embed a non-local $ref: {ref}")
        return rewritten
    if isinstance(node, list):
        return [_rewrite_refs(item) for item in node]
    return node


def embedded(values_schema: dict[str, Any], policy_schema: dict[str, Any]) -> dict[str, Any]:
    """values_schema with properties.policy (and its $defs) taken from policy_schema."""
    result = json.loads(json.dumps(values_schema))  # deep copy
    definitions = {**policy_schema.get("$defs", {}), **policy_schema.get("definitions", {})}
    policy = {key: value for key, value in policy_schema.items() if key not in ROOT_ONLY}
    policy["description"] = (
        "The policy document rendered into the policy ConfigMap (default: the packaged "
        "webhook/policy/default-policy.yaml). Schema copied from webhook/policy/schema.json by "
        "scripts/sync-policy-schema.py. " + policy_schema.get("description", "")).strip()
    result["properties"]["policy"] = _rewrite_refs(policy)
    root_defs = {key: value for key, value in result.get("$defs", {}).items()
                 if not key.startswith(DEF_PREFIX)}
    for name, definition in definitions.items():
        root_defs[DEF_PREFIX + name] = _rewrite_refs(definition)
    if root_defs:
        result["$defs"] = root_defs
    else:
        result.pop("$defs", None)
    return result


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 when values.schema.json is out of sync")
    args = parser.parse_args(argv)
    policy_schema = json.loads(POLICY_SCHEMA.read_text(encoding="utf-8"))
    current_text = VALUES_SCHEMA.read_text(encoding="utf-8")
    expected_text = render(embedded(json.loads(current_text), policy_schema))
    if current_text == expected_text:
        print(f"{VALUES_SCHEMA.relative_to(REPO_ROOT)} is in sync with "
              f"{POLICY_SCHEMA.relative_to(REPO_ROOT)}")
        return 0
    if args.check:
        script = Path(__file__).relative_to(REPO_ROOT)
        print(f"{VALUES_SCHEMA.relative_to(REPO_ROOT)} is out of sync with "
              f"{POLICY_SCHEMA.relative_to(REPO_ROOT)}: run {script}", file=sys.stderr)
        return 1
    VALUES_SCHEMA.write_text(expected_text, encoding="utf-8")
    print(f"updated {VALUES_SCHEMA.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
