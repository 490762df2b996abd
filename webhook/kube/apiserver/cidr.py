"""CIDRs: Go's sloppy ParseCIDR, netip's strict one, and the API server's errors and warnings
(v1.36's StrictIPCIDRValidation)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from webhook.kube.apiserver.errors import FieldError, go_quote, invalid

_Net = ipaddress.IPv4Network | ipaddress.IPv6Network


def _dtoi(text: str) -> tuple[int, int] | None:
    """Go's dtoi: leading decimal digits as (value, length), None when there are none."""
    length = 0
    value = 0
    while length < len(text) and "0" <= text[length] <= "9":
        value = value * 10 + ord(text[length]) - 48
        if value >= 0xFFFFFF:
            return None
        length += 1
    return (value, length) if length else None


def _parse_ipv4_sloppy(text: str) -> ipaddress.IPv4Address | None:
    octets = []
    rest = text
    for index in range(4):
        if not rest:
            return None
        if index > 0:
            if rest[0] != ".":
                return None
            rest = rest[1:]
        parsed = _dtoi(rest)
        if parsed is None or parsed[0] > 0xFF:
            return None
        octets.append(parsed[0])
        rest = rest[parsed[1]:]
    if rest:
        return None
    return ipaddress.IPv4Address(bytes(octets))


def _parse_ipv6_sloppy(text: str) -> ipaddress.IPv6Address | None:
    if not text or "%" in text or not all(c in "0123456789abcdefABCDEF:." for c in text):
        return None
    if "." in text:
        head, _, tail = text.rpartition(":")
        v4 = _parse_ipv4_sloppy(tail)
        if v4 is None or not head:
            return None
        text = f"{head}:{v4}"
    try:
        return ipaddress.IPv6Address(text)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Cidr:
    """A CIDR as Go's net.ParseCIDR (sloppy: leading zeros allowed) reads it."""

    address: ipaddress.IPv4Address | ipaddress.IPv6Address
    network: _Net  # masked
    strict_ok: bool  # netip.ParsePrefix would accept the spelling (no leading zeros)


def parse_cidr_sloppy(value: str) -> Cidr | None:
    """Go's net.ParseCIDR (leading zeros allowed), None when it fails."""
    addr_text, slash, prefix_text = value.partition("/")
    if not slash:
        return None
    address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = _parse_ipv4_sloppy(addr_text)
    if address is None:
        address = _parse_ipv6_sloppy(addr_text)
    parsed = _dtoi(prefix_text)
    if address is None or parsed is None or parsed[1] != len(prefix_text):
        return None
    prefix = parsed[0]
    if prefix > address.max_prefixlen:
        return None
    network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    strict_ok = _strict_spelling(addr_text, prefix_text)
    return Cidr(address=address, network=network, strict_ok=strict_ok)


def _strict_spelling(addr_text: str, prefix_text: str) -> bool:
    """netip.ParsePrefix's extra demands: no leading zeros in IPv4 octets or the prefix."""
    if len(prefix_text) > 1 and prefix_text[0] == "0":
        return False
    v4_part = addr_text.rpartition(":")[2] if ":" in addr_text else addr_text
    if "." in v4_part:
        return all(len(o) == 1 or o[0] != "0" for o in v4_part.split("."))
    return True


def _is_4in6(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None


def cidr_errors(path: str, value: str, strict: bool) -> list[FieldError]:
    """validation.IsValidCIDRForLegacyField: strict (v1.36 create) or legacy (ratcheted)."""
    cidr = parse_cidr_sloppy(value)
    if cidr is None:
        return [invalid(path, value,
                         "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)")]
    if not strict:
        return []
    if not cidr.strict_ok:
        return [invalid(path, value, "must not have leading 0s in IP or prefix length")]
    if _is_4in6(cidr.address):
        return [invalid(path, value, "must not have an IPv4-mapped IPv6 address")]
    if cidr.address != cidr.network.network_address:
        return [invalid(path, value, "must not have bits set beyond the prefix length")]
    return []


def _canonical(cidr: Cidr) -> str:
    network = cidr.network
    if isinstance(network, ipaddress.IPv6Network) and _is_4in6(network.network_address) \
            and network.prefixlen >= 96:
        # An IPv4-mapped CIDR means the IPv4 network it maps: suggest that spelling.
        mapped = network.network_address.ipv4_mapped
        return f"{mapped}/{network.prefixlen - 96}"
    return f"{network.network_address}/{network.prefixlen}"


def cidr_warnings(path: str, value: str) -> list[str]:
    """validation.GetWarningsForCIDR, for values that passed validation."""
    cidr = parse_cidr_sloppy(value)
    if cidr is None:
        return []
    if not cidr.strict_ok or _is_4in6(cidr.address):
        return [f"{path}: non-standard CIDR value {go_quote(value)} will be considered invalid "
                f"in a future Kubernetes release: use {go_quote(_canonical(cidr))}"]
    if cidr.address != cidr.network.network_address:
        single = f"{cidr.address}/{cidr.address.max_prefixlen}"
        return [f"{path}: CIDR value {go_quote(value)} is ambiguous in this context (should be "
                f"{go_quote(_canonical(cidr))} or {go_quote(single)}?)"]
    if isinstance(cidr.address, ipaddress.IPv6Address) and value != _canonical(cidr):
        return [f"{path}: IPv6 CIDR value {go_quote(value)} should be in RFC 5952 canonical "
                f"format ({go_quote(_canonical(cidr))})"]
    return []


def strict_subset(cidr: Cidr, except_cidr: Cidr) -> bool:
    """Go's ``cidr.Contains(except.IP) && cidrLen < exceptLen`` (families must agree)."""
    if cidr.network.version != except_cidr.network.version:
        return False
    return (except_cidr.network.network_address in cidr.network
            and cidr.network.prefixlen < except_cidr.network.prefixlen)
