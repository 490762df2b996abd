"""Findings of ``netpol-guard check`` and how they are shown: text, JSON and SARIF 2.1.0.

A finding is one rule that fired on one object, located by file and line. The JSON schema is
stable (``version`` 1): ``findings[{file, line, kind, namespace, name, rule, ruleName, action,
path, message}]`` and ``summary``. SARIF results carry ``physicalLocation.region.startLine`` so
code-scanning UIs annotate the line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

from webhook.admission.decision import Action
from webhook.engine.defaultdeny import DEFAULT_DENY_RULES
from webhook.policy.model import RULES

JSON_REPORT_VERSION = 1
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/netpol-guard/netpol-guard"

# Findings that come from the API server's own checks, before netpol-guard's rules.
APISERVER_INVALID = ("K8S001", "apiserver-invalid")
APISERVER_WARNING = ("K8S002", "apiserver-warning")

# One sentence per rule: what it catches and the fix (SARIF help, docs).
RULE_HELP: Mapping[str, str] = {
    "NP001": "An ingress rule has no `from`: it admits traffic from every pod and every "
             "address. List the peers that need access.",
    "NP002": "An egress rule has no `to`: pods may reach every destination. List the "
             "destinations (DNS-only rules may be allowed by configuration).",
    "NP003": "A peer's namespaceSelector selects every namespace: every pod in the cluster "
             "is allowed. Select the namespaces by kubernetes.io/metadata.name.",
    "NP004": "A namespaceSelector keys on a mutable label that namespace owners can set. "
             "Use the immutable kubernetes.io/metadata.name label.",
    "NP005": "An ipBlock is /0 (the whole Internet, in any spelling); `except` does not make "
             "it narrow. Allow the specific CIDRs needed.",
    "NP006": "An ipBlock prefix is shorter than the configured minimum. Narrow the CIDR.",
    "NP007": "An egress rule can reach the cloud metadata endpoint (169.254.169.254 or "
             "fd00:ec2::254). Exclude it with `except` or narrow the rule.",
    "NP008": "A rule has no `ports`: every port and protocol is open. List the ports.",
    "NP009": "A port entry has a protocol but no port: every port of that protocol is open. "
             "Name the port.",
    "NP010": "A port range (endPort - port + 1) is wider than the configured maximum. "
             "Narrow the range.",
    "NP011": "A port is given by name, which cannot be checked statically. Prefer the number.",
    "NP012": "The policy selects every pod in the namespace and allows traffic. Select the "
             "pods that need it.",
    "NP013": "ingress/egress rules are present but policyTypes omits that direction, so the "
             "API server ignores them. Add the direction to policyTypes or remove the rules.",
    "NP014": "An ipBlock overlaps the cluster's pod or service CIDRs. Use pod and namespace "
             "selectors for in-cluster peers.",
    "NP015": "A port uses a protocol outside the allowed list. Use an allowed protocol.",
    "NP016": "One from/to list holds a namespaceSelector-only peer and a podSelector-only "
             "peer (OR), where one peer with both (AND) was probably meant.",
    "NP017": "A peer reaches namespaces that this namespace is not allowed to reach.",
    "NP018": "The change lets workloads reach others they could not reach before (or cuts "
             "off some). Check that the new reach is meant.",
    "DD001": "A protected namespace has no effective default-deny NetworkPolicy; the webhook "
             "refuses its workloads and updates. Add a policy with podSelector {} that lists "
             "the direction in policyTypes and has no rules.",
    "DD002": "The change would remove a protected namespace's last default-deny. Create "
             "another default-deny first.",
    "DD003": "The exemption label netpol-guard.io/exempt was changed by a principal not "
             "allowed to.",
    "DD004": "Namespaces are created only by allowed principals (defaultDeny.onCreate: deny).",
    "DD005": "Cluster state was unavailable, so the default-deny could not be checked.",
    "CM001": "The netpol-guard policy ConfigMap holds an invalid policy document.",
    "K8S001": "The API server would reject this object (schema or validation error), so it "
              "can never be applied. Fix the field named in the message.",
    "K8S002": "The API server would accept this object with a warning (an unknown field it "
              "drops, or a CIDR in a non-standard spelling). Fix the field.",
}


def rule_catalogue() -> dict[str, str]:
    """Every rule id the check can report, with its name, in a stable order."""
    catalogue = {rule_id: name for rule_id, (name, _) in RULES.items()}
    catalogue.update(DEFAULT_DENY_RULES)
    catalogue.update(dict((APISERVER_INVALID, APISERVER_WARNING)))
    return catalogue


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule that fired on one object, where it fired."""

    file: str
    line: int
    kind: str
    namespace: str
    name: str
    rule: str
    rule_name: str
    action: Action
    path: str
    message: str

    def as_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "kind": self.kind,
                "namespace": self.namespace, "name": self.name, "rule": self.rule,
                "ruleName": self.rule_name, "action": str(self.action), "path": self.path,
                "message": self.message}


@dataclass(frozen=True, slots=True)
class CheckReport:
    """Everything one run of ``check`` found."""

    findings: tuple[Finding, ...]
    objects: int
    files: int

    def count(self, action: Action) -> int:
        return sum(1 for f in self.findings if f.action is action)

    def summary(self) -> dict[str, int]:
        return {"objects": self.objects, "files": self.files, "findings": len(self.findings),
                "deny": self.count(Action.DENY), "warn": self.count(Action.WARN),
                "audit": self.count(Action.AUDIT)}

    def exit_code(self, *, strict: bool = False) -> int:
        """0 clean, 1 when a deny-level finding (or, with ``strict``, a warn-level one) exists."""
        if self.count(Action.DENY) or (strict and self.count(Action.WARN)):
            return 1
        return 0


def sort_findings(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """By file, then line, then rule id (stable output for goldens and diffs)."""
    return tuple(sorted(findings, key=lambda f: (f.file, f.line, f.rule, f.path, f.message)))


def version() -> str:
    try:
        return metadata.version("netpol-guard")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0.0.0"


# --- colour ---


_COLOURS = {"deny": "31", "warn": "33", "audit": "36", "bold": "1", "dim": "2", "ok": "32"}


def use_colour(stream: TextIO, no_color: bool = False) -> bool:
    """Colour only on a terminal, and never with --no-color or NO_COLOR set."""
    if no_color or os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _paint(text: str, style: str, colour: bool) -> str:
    return f"\x1b[{_COLOURS[style]}m{text}\x1b[0m" if colour else text


# --- text ---


def render_text(report: CheckReport, *, colour: bool = False) -> str:
    """Findings grouped by file, then by object, each with its ``file:line``."""
    lines: list[str] = []
    current_file: str | None = None
    current_object: tuple[str, str, str] | None = None
    for finding in report.findings:
        if finding.file != current_file:
            if current_file is not None:
                lines.append("")
            lines.append(_paint(finding.file, "bold", colour))
            current_file = finding.file
            current_object = None
        obj = (finding.kind, finding.namespace, finding.name)
        if obj != current_object:
            lines.append(f"  {_subject(finding)}")
            current_object = obj
        action = str(finding.action)
        label = _paint(f"{action:<5}", action, colour)
        text = finding.message.replace("\n", "\n" + " " * 8)
        lines.append(f"    {finding.file}:{finding.line}: {label} {finding.rule} "
                     f"{finding.rule_name}: {text}")
    if lines:
        lines.append("")
    lines.append(_summary_line(report, colour))
    return "\n".join(lines) + "\n"


def _subject(finding: Finding) -> str:
    if finding.namespace and finding.kind != "Namespace":
        return f"{finding.kind} {finding.namespace}/{finding.name}"
    return f"{finding.kind} {finding.name}"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _summary_line(report: CheckReport, colour: bool) -> str:
    where = f"{_plural(report.objects, 'object')} in {_plural(report.files, 'file')}"
    if not report.findings:
        return _paint(f"No findings: {where} checked.", "ok", colour)
    counts = ", ".join(f"{report.count(a)} {a}" for a in (Action.DENY, Action.WARN, Action.AUDIT)
                       if report.count(a))
    return f"{_plural(len(report.findings), 'finding')} ({counts}): {where} checked."


# --- JSON ---


def render_json(report: CheckReport) -> str:
    """The stable JSON document (version 1)."""
    document = {"version": JSON_REPORT_VERSION,
                "findings": [f.as_json() for f in report.findings],
                "summary": report.summary()}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


# --- SARIF ---


_SARIF_LEVEL = {Action.DENY: "error", Action.WARN: "warning", Action.AUDIT: "note",
                Action.OFF: "none"}


def _default_level(rule_id: str) -> str:
    default = RULES.get(rule_id)
    if default is not None:
        return _SARIF_LEVEL[default[1]]
    return "warning" if rule_id == APISERVER_WARNING[0] else "error"


def sarif_rules() -> list[dict[str, Any]]:
    """``tool.driver.rules``: every rule with its name, description and help."""
    rules = []
    for rule_id, name in rule_catalogue().items():
        help_text = RULE_HELP.get(rule_id, name)
        rules.append({
            "id": rule_id,
            "name": name,
            "shortDescription": {"text": f"{rule_id} {name}"},
            "fullDescription": {"text": help_text},
            "help": {"text": help_text},
            "defaultConfiguration": {"level": _default_level(rule_id)},
        })
    return rules


def render_sarif(report: CheckReport) -> str:
    """A SARIF 2.1.0 log with one run."""
    rules = sarif_rules()
    index = {rule["id"]: position for position, rule in enumerate(rules)}
    results = []
    for finding in report.findings:
        result: dict[str, Any] = {
            "ruleId": finding.rule,
            "level": _SARIF_LEVEL[finding.action],
            "message": {"text": f"{_subject(finding)}: {finding.message}"},
            "locations": [{
                "physicalLocation": {
                    "artifactLocation": {"uri": _uri(finding.file)},
                    "region": {"startLine": finding.line},
                },
                "logicalLocations": [{"name": finding.path or finding.name,
                                      "fullyQualifiedName": _logical(finding),
                                      "kind": "object"}],
            }],
        }
        if finding.rule in index:
            result["ruleIndex"] = index[finding.rule]
        results.append(result)
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "netpol-guard", "version": version(),
                                "informationUri": INFORMATION_URI, "rules": rules}},
            "results": results,
        }],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def _uri(path: str) -> str:
    """A relative path as a relative URI reference; an absolute one as a file:// URI."""
    if path == "<stdin>":
        return "stdin"
    if os.path.isabs(path):
        return Path(path).as_uri()
    return quote(path.replace(os.sep, "/"))


def _logical(finding: Finding) -> str:
    subject = f"{finding.kind}/{finding.namespace}/{finding.name}" if finding.namespace \
        else f"{finding.kind}/{finding.name}"
    return f"{subject}:{finding.path}" if finding.path else subject


RENDERERS = {"json": render_json, "sarif": render_sarif}


def render(report: CheckReport, output: str, *, colour: bool = False) -> str:
    """Render ``report`` as ``text``, ``json`` or ``sarif``."""
    if output == "text":
        return render_text(report, colour=colour)
    return RENDERERS[output](report)
