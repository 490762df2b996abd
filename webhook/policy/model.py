"""Typed form of the policy document (``apiVersion: netpol-guard.io/v1, kind: Policy``).

The JSON Schema in ``schema.json`` is the single source of what a document may contain; the
loader validates a document against it and then builds these dataclasses, filling every
omitted field with the default written here (which the schema documents too).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from webhook.admission.decision import Action
from webhook.admission.request import UserInfo
from webhook.policy.globmatch import GlobSet

# Every rule id the engine knows, with its stable name and default action.
RULES: MappingProxyType[str, tuple[str, Action]] = MappingProxyType({
    "NP001": ("allow-all-sources", Action.DENY),
    "NP002": ("allow-all-destinations", Action.DENY),
    "NP003": ("cluster-wide-peer", Action.DENY),
    "NP004": ("mutable-namespace-label", Action.WARN),
    "NP005": ("world-cidr", Action.DENY),
    "NP006": ("broad-cidr", Action.WARN),
    "NP007": ("metadata-endpoint", Action.DENY),
    "NP008": ("all-ports", Action.DENY),
    "NP009": ("all-ports-of-protocol", Action.WARN),
    "NP010": ("wide-port-range", Action.WARN),
    "NP011": ("named-port", Action.WARN),
    "NP012": ("select-all-allow", Action.WARN),
    "NP013": ("ignored-rules", Action.DENY),
    "NP014": ("cluster-cidr-ipblock", Action.WARN),
    "NP015": ("protocol-not-allowed", Action.DENY),
    "NP016": ("and-or-confusion", Action.WARN),
    "NP017": ("cross-namespace-not-allowed", Action.OFF),
    "NP018": ("reach-delta", Action.WARN),
})

DEFAULT_EXEMPT_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease", "netpol-guard")
EXEMPT_LABEL = "netpol-guard.io/exempt"


@dataclass(frozen=True, slots=True)
class Principals:
    """Users, groups and service accounts, each an exact name or a glob.

    Service accounts are written ``namespace/name`` (``argocd/*`` for all of a namespace).
    """

    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    service_accounts: tuple[str, ...] = ()
    # The same, prepared for matching (this runs several times per review).
    _users: GlobSet = field(init=False, repr=False, compare=False)
    _groups: GlobSet = field(init=False, repr=False, compare=False)
    _service_accounts: GlobSet = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_users", GlobSet(self.users))
        object.__setattr__(self, "_groups", GlobSet(self.groups))
        object.__setattr__(self, "_service_accounts", GlobSet(self.service_accounts))

    def includes(self, user: UserInfo) -> bool:
        """True when the request's user is one of these principals."""
        if self._users.matches(user.username):
            return True
        if self._groups:
            for group in user.groups:
                if self._groups.matches(group):
                    return True
        if not self._service_accounts:
            return False
        account = user.service_account
        return account is not None and self._service_accounts.matches(account)

    def __bool__(self) -> bool:
        return bool(self.users or self.groups or self.service_accounts)


@dataclass(frozen=True, slots=True)
class Exemptions:
    """Namespaces (globs) and principals that a rule, or every rule, does not apply to."""

    namespaces: tuple[str, ...] = ()
    principals: Principals = field(default_factory=Principals)
    _namespaces: GlobSet = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_namespaces", GlobSet(self.namespaces))

    def covers(self, namespace: str, user: UserInfo) -> bool:
        """True when the namespace or the user is exempt."""
        return self._namespaces.matches(namespace) or self.principals.includes(user)

    def covers_namespace(self, namespace: str) -> bool:
        """True when the namespace is exempt by name."""
        return self._namespaces.matches(namespace)


@dataclass(frozen=True, slots=True)
class CrossNamespaceAllowance:
    """NP017: policies in ``namespaces`` (globs) may name peers in ``peers`` (globs)."""

    namespaces: tuple[str, ...]
    peers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RuleConfig:
    """Action, exemptions and parameters of one rule.

    Only the parameters that belong to the rule are meaningful; the others keep their defaults.
    """

    rule_id: str
    action: Action
    exemptions: Exemptions = field(default_factory=Exemptions)
    # NP002: allow egress with no `to` when its ports are only DNS (53/UDP, 53/TCP).
    allow_dns: bool = True
    # NP004: namespaceSelector keys accepted besides kubernetes.io/metadata.name.
    allowed_keys: tuple[str, ...] = ()
    # NP006: shortest acceptable prefixes.
    min_prefix_v4: int = 16
    min_prefix_v6: int = 48
    # NP007: addresses of cloud metadata services.
    endpoints: tuple[str, ...] = ("169.254.169.254", "fd00:ec2::254")
    # NP010: largest acceptable endPort - port + 1.
    max_range: int = 100
    # NP014: the cluster's pod and service CIDRs.
    pod_cidrs: tuple[str, ...] = ()
    service_cidrs: tuple[str, ...] = ()
    # NP015: protocols a port may use.
    allowed_protocols: tuple[str, ...] = ("TCP", "UDP", "SCTP")
    # NP017: which namespaces may reach which.
    allow: tuple[CrossNamespaceAllowance, ...] = ()
    # NP018: when a connectivity change is refused, and how long computing it may take.
    deny_exposure_to_all_namespaces: bool = False
    deny_exposure_to_outside: bool = False
    max_added_pairs: int | None = None
    time_budget_ms: int = 50

    @property
    def name(self) -> str:
        return RULES[self.rule_id][0]


@dataclass(frozen=True, slots=True)
class DefaultDenyConfig:
    """Section 3 of the design: which namespaces need a default-deny and how it is enforced."""

    # Directions each protected namespace must deny by default: "Ingress", "Egress".
    directions: tuple[str, ...] = ("Ingress",)
    # Namespace CREATE: "warn" (allowed, with the fix) or "deny" (only creators may create).
    on_create: str = "warn"
    creators: Principals = field(default_factory=Principals)
    # Pod and workload CREATE in a non-compliant namespace: deny | warn | audit | off.
    workloads: Action = Action.DENY
    # Namespace UPDATE of a non-compliant namespace: deny | warn | audit | off.
    namespace_updates: Action = Action.DENY
    # NetworkPolicy UPDATE/DELETE that removes the last default-deny: deny | warn | audit | off.
    last_deny: Action = Action.DENY
    # Namespaces (globs) that need no default-deny.
    exemptions: Exemptions = field(
        default_factory=lambda: Exemptions(namespaces=DEFAULT_EXEMPT_NAMESPACES))
    # Who may set or remove the exemption label netpol-guard.io/exempt.
    label_principals: Principals = field(default_factory=Principals)


@dataclass(frozen=True, slots=True)
class Policy:
    """A whole policy document, with every default filled in."""

    rules: MappingProxyType[str, RuleConfig]
    default_deny: DefaultDenyConfig = field(default_factory=DefaultDenyConfig)
    # Global exemptions from every NetworkPolicy rule and every default-deny check.
    exemptions: Exemptions = field(default_factory=Exemptions)
    # What state-dependent checks do when the Kubernetes API cannot be reached: deny | allow.
    cluster_unavailable: str = "deny"
    # Where the document came from and its content hash (for logs, metrics and readiness).
    source: str = "<default>"
    digest: str = ""
    raw: MappingProxyType[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def rule(self, rule_id: str) -> RuleConfig:
        """The configuration of one rule (every known id is present)."""
        return self.rules[rule_id]

    def action_for(self, rule_id: str, namespace: str, user: UserInfo) -> Action:
        """The rule's action for this namespace and user, after global and rule exemptions."""
        config = self.rules[rule_id]
        if config.action is Action.OFF:
            return Action.OFF
        if self.exemptions.covers(namespace, user) or config.exemptions.covers(namespace, user):
            return Action.OFF
        return config.action


def default_rules() -> MappingProxyType[str, RuleConfig]:
    """Every rule at its default action and parameters."""
    return MappingProxyType({rule_id: RuleConfig(rule_id=rule_id, action=action)
                             for rule_id, (_, action) in RULES.items()})
