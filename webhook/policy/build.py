"""The typed ``Policy`` of a document that passed validation: omitted keys get their defaults,
and the raw document is kept frozen."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

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
