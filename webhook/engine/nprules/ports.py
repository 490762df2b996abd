"""Rules on ports: every port open (NP008, NP009), wide ranges (NP010), named ports (NP011),
protocols outside the allowed list (NP015)."""

from __future__ import annotations

from webhook.engine.normalize import NormalisedNetworkPolicy
from webhook.engine.nprules.shared import Finding, finding
from webhook.policy.model import Policy, RuleConfig


def all_ports(view: NormalisedNetworkPolicy, config: RuleConfig,
              policy: Policy) -> list[Finding]:
    """NP008: a rule with no ``ports`` opens every port and protocol."""
    return [finding(rule.path,
                     f'{rule.path} has no "ports", so every port is open. List the ports.',
                     f'{rule.path} has no "ports": every port is open')
            for rule in view.rules if rule.ports is None]


def all_ports_of_protocol(view: NormalisedNetworkPolicy, config: RuleConfig,
                          policy: Policy) -> list[Finding]:
    """NP009: a port entry names a protocol but no port."""
    return [finding(port.path,
                     f'{port.path} has protocol {port.protocol} but no "port", so every '
                     f'{port.protocol} port is open. Add "port" (and "endPort" for a range).',
                     f'{port.path} has no "port": every {port.protocol} port is open')
            for port in view.ports if port.port is None]


def wide_port_range(view: NormalisedNetworkPolicy, config: RuleConfig,
                    policy: Policy) -> list[Finding]:
    """NP010: ``endPort - port + 1`` exceeds the configured maximum."""
    findings = []
    for port in view.ports:
        if not isinstance(port.port, int) or port.end_port is None:
            continue
        width = port.end_port - port.port + 1
        if width <= config.max_range:
            continue
        path = f"{port.path}.endPort"
        findings.append(finding(
            path,
            f"{path} opens ports {port.port}-{port.end_port}, a range of {width} ports, wider "
            f"than the {config.max_range} this cluster allows (maxRange of NP010). Narrow the "
            "range to the ports in use.",
            f"{path}: {width} ports ({port.port}-{port.end_port}), more than {config.max_range}"))
    return findings


def named_port(view: NormalisedNetworkPolicy, config: RuleConfig,
               policy: Policy) -> list[Finding]:
    """NP011: a port given by name cannot be checked before the pods run."""
    findings = []
    for port in view.ports:
        if not isinstance(port.port, str):
            continue
        path = f"{port.path}.port"
        findings.append(finding(
            path,
            f'{path} is the named port "{port.port}", which each selected pod maps to its own '
            "number, so the open port cannot be checked before the pods run. Use the port "
            "number.",
            f'{path} is the named port "{port.port}": use the number'))
    return findings


def protocol_not_allowed(view: NormalisedNetworkPolicy, config: RuleConfig,
                         policy: Policy) -> list[Finding]:
    """NP015: a port uses a protocol outside the configured list."""
    allowed = ", ".join(config.allowed_protocols) or "none"
    findings = []
    for port in view.ports:
        if port.protocol in config.allowed_protocols:
            continue
        path = f"{port.path}.protocol"
        findings.append(finding(
            path,
            f"{path} is {port.protocol}, a protocol this cluster does not allow (allowed: "
            f"{allowed}). Use one of the allowed protocols.",
            f"{path} is {port.protocol}, not one of {allowed}"))
    return findings
