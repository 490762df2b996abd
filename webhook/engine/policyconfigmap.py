"""CM001: the policy ConfigMap (found by name or label) must hold a valid policy document, so a
broken policy is refused before the webhook would have to keep its last good one."""

from __future__ import annotations

from collections.abc import Callable

from webhook.admission.decision import Violation
from webhook.engine.defaultdeny import INVALID_POLICY, JSONObject, labels_of, name_of

POLICY_CONFIGMAP_NAME = "netpol-guard-policy"
POLICY_CONFIGMAP_LABEL = "netpol-guard.io/policy"
POLICY_CONFIGMAP_KEY = "policy.yaml"

# Loads a policy document; raises an exception with ``.problems`` when it is invalid.
PolicyLoader = Callable[[str, str], object]


def is_policy_configmap(configmap: JSONObject | None,
                        name: str = POLICY_CONFIGMAP_NAME) -> bool:
    """True for the ConfigMap that holds netpol-guard's policy (by name or by label)."""
    if not isinstance(configmap, dict):
        return False
    return name_of(configmap) == name or labels_of(configmap).get(POLICY_CONFIGMAP_LABEL) == "true"


def policy_configmap_violations(configmap: JSONObject, subject: str,
                                load: PolicyLoader) -> list[Violation]:
    """CM001 when ``data["policy.yaml"]`` is missing or fails ``load`` (schema, YAML).

    ``load(text, source)`` raises an exception carrying ``.problems`` (each with ``path``,
    ``line``, ``message``) for an invalid document.
    """
    rule_id, rule_name = INVALID_POLICY
    data = configmap.get("data")
    text = data.get(POLICY_CONFIGMAP_KEY) if isinstance(data, dict) else None
    path = f"data.{POLICY_CONFIGMAP_KEY}"
    if not isinstance(text, str):
        return [Violation(
            rule_id, rule_name, path,
            f"{path} is missing: the policy ConfigMap must hold the policy document under the "
            f"key {POLICY_CONFIGMAP_KEY}. Create it with --from-file={POLICY_CONFIGMAP_KEY}=FILE.")]
    try:
        load(text, subject)
    except Exception as error:
        problems = getattr(error, "problems", None)
        if not problems:
            raise  # not a verdict on the document: a bug, answered as an engine error
        details = [_describe_problem(problem) for problem in problems]
        listed = "\n  ".join(f"* {detail}" for detail in details)
        return [Violation(
            rule_id, rule_name, path,
            f"{path} is not a valid netpol-guard policy ({len(details)} "
            f"problem{'s' if len(details) != 1 else ''}); the webhook would keep its last good "
            f"policy. Fix the document (check it with `netpol-guard policy validate FILE`):"
            f"\n  {listed}")]
    return []


def _describe_problem(problem: object) -> str:
    path = getattr(problem, "path", "") or "(document)"
    line = getattr(problem, "line", None)
    message = getattr(problem, "message", "") or str(problem)
    where = f"{path} (line {line})" if line else str(path)
    return f"{where}: {message}"
