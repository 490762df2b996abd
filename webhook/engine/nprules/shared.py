"""What every NetworkPolicy rule shares: a ``Finding``, its short form's length, and the DNS
allowance (an egress rule with no ``to`` and only port 53) that several rules respect."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from webhook.engine.apidefaults import EGRESS
from webhook.engine.normalize import NormalisedNetworkPolicy, Rule
from webhook.policy.model import Policy, RuleConfig

SHORT_MAX_CHARS = 120
DNS_PORT = 53
DNS_PROTOCOLS = ("UDP", "TCP")


class Finding(NamedTuple):
    """One place where a rule fires, before the rule's id, name and action are attached."""

    path: str
    message: str
    short: str


RuleCheck = Callable[[NormalisedNetworkPolicy, RuleConfig, Policy], list[Finding]]


def finding(path: str, message: str, short: str) -> Finding:
    """A Finding, its short form cut to ``SHORT_MAX_CHARS``."""
    if len(short) > SHORT_MAX_CHARS:
        short = short[: SHORT_MAX_CHARS - 1] + "…"
    return Finding(path, message, short)


def dns_allowance_on(policy: Policy) -> bool:
    """True when NP002's ``allowDns`` lets egress rules to port 53 omit ``to``."""
    config = policy.rules.get("NP002")
    return config is not None and config.allow_dns


def is_dns_only(rule: Rule) -> bool:
    """Every port of the rule is 53 over UDP or TCP, with no range."""
    return bool(rule.ports) and all(
        port.port == DNS_PORT and port.end_port is None and port.protocol in DNS_PROTOCOLS
        for port in rule.ports or ())


def is_dns_allowance(rule: Rule, policy: Policy) -> bool:
    """The configured DNS allowance: an egress rule with no ``to`` and only port 53."""
    return (rule.direction == EGRESS and rule.peers is None and dns_allowance_on(policy)
            and is_dns_only(rule))
