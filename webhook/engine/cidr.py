"""CIDRs as they can have reached etcd: ``parse_cidr`` sees through leading zeros, ``/00``, host
bits, uncompressed IPv6 and IPv4-mapped IPv6 (``::ffff:0.0.0.0/96`` is IPv4 /0)."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_IPV4_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
# Longer CIDR texts are parsed without being cached: leading zeros are unbounded in what older
# API servers accepted, and the cache should not hold large strings.
_CACHED_CIDR_CHARS = 64


def parse_cidr(text: object) -> IPNetwork | None:
    """Parse a CIDR as the API server (in any version since 1.33) may have stored it.

    Accepts every spelling an older or ratcheted API server let through: leading zeros in IPv4
    octets (decimal, as Go's legacy parser read them: ``010.0.0.0/8`` is 10.0.0.0/8) and in the
    prefix (``/00``), host bits (``10.1.2.3/8`` is 10.0.0.0/8), uncompressed IPv6, and
    IPv4-mapped IPv6, which becomes the IPv4 network it maps (``::ffff:0.0.0.0/96`` is
    0.0.0.0/0, ``::ffff:10.0.0.0/104`` is 10.0.0.0/8). Returns None for anything else
    (including non-strings); never raises.
    """
    if not isinstance(text, str):
        return None
    return _parse_cidr(text) if len(text) <= _CACHED_CIDR_CHARS else _parse_cidr_text(text)


def _parse_cidr_text(text: str) -> IPNetwork | None:
    address, slash, prefix_text = text.partition("/")
    prefix = _decimal(prefix_text) if slash else None
    if prefix is None:
        return None
    if ":" not in address:
        value = _parse_ipv4(address)
        if value is None or prefix > 32:
            return None
        return ipaddress.IPv4Network((value, prefix), strict=False)
    ipv6 = _parse_ipv6(address)
    if ipv6 is None or prefix > 128:
        return None
    network = ipaddress.IPv6Network((ipv6, prefix), strict=False)
    if prefix >= 96 and network.subnet_of(_IPV4_MAPPED):
        return ipaddress.IPv4Network((int(network.network_address) & 0xFFFFFFFF, prefix - 96))
    return network


_parse_cidr = functools.lru_cache(maxsize=8192)(_parse_cidr_text)


def _decimal(text: str) -> int | None:
    """A decimal number, leading zeros allowed (Go's legacy parser took any number of them)."""
    # str.isdigit alone accepts "²" and other Unicode digits; int() would accept "+8" and " 8".
    if not text or not text.isascii() or not text.isdigit():
        return None
    significant = text.lstrip("0")
    # Every valid octet or prefix has at most three digits; refuse before int() does work.
    return int(significant or "0") if len(significant) <= 3 else None


def _parse_ipv4(text: str) -> int | None:
    parts = text.split(".")
    if len(parts) != 4:
        return None
    value = 0
    for part in parts:
        octet = _decimal(part)
        if octet is None or octet > 255:
            return None
        value = value << 8 | octet
    return value


def _parse_ipv6(text: str) -> int | None:
    if "%" in text:  # a zone is never part of a CIDR
        return None
    head, _, tail = text.rpartition(":")
    ipv4_tail = None
    if "." in tail:
        # An embedded IPv4 tail may carry leading zeros, which ipaddress refuses.
        ipv4_tail = _parse_ipv4(tail)
        if ipv4_tail is None:
            return None
        text = head
    groups = text.split(":")
    for index, group in enumerate(groups):
        if len(group) > 4:
            # Go's legacy parser read a group's hex digits until the value passed 0xFFFF, so
            # "00000" was 0; ipaddress allows four digits at most.
            significant = group.lstrip("0")
            if len(significant) > 4:
                return None
            groups[index] = significant or "0"
    text = ":".join(groups)
    if ipv4_tail is not None:
        text = f"{text}:{ipaddress.IPv4Address(ipv4_tail)}"
    try:
        return int(ipaddress.IPv6Address(text))
    except ValueError:
        return None


def parse_networks(texts: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Parse a configuration list of CIDRs or plain addresses; unparseable ones are dropped.

    A plain address (``169.254.169.254``, ``fd00:ec2::254``) is its single-address network.
    The result is cached per list: rules call this on every request with the same parameters.
    """
    return _parse_networks(tuple(text for text in texts if isinstance(text, str)))


@functools.lru_cache(maxsize=256)
def _parse_networks(texts: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    networks: list[IPNetwork] = []
    for text in texts:
        if "/" not in text:
            text = f"{text}/{128 if ':' in text else 32}"
        network = parse_cidr(text)
        if network is not None:
            networks.append(network)
    return tuple(networks)


