"""Addresses outside the cluster: the IPv4 (and IPv6) space cut into atoms.

Every ipBlock's CIDR and excepts cut the address space at their first address and one past
their last; the pieces between cuts are atoms, and no policy tells two addresses of one atom
apart. IPv6 is analysed only when some ipBlock is IPv6 (otherwise the output keeps to the IPv4
space, as the reference analyzer does; see docs/connectivity.md).
"""

from __future__ import annotations

import bisect
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from webhook.engine.cidr import IPNetwork

IPV4_END = (1 << 32) - 1
IPV6_END = (1 << 128) - 1


@dataclass(frozen=True, slots=True)
class Atom:
    """An inclusive address range of one family (4 or 6)."""

    version: int
    start: int
    end: int


def _family_end(version: int) -> int:
    return IPV4_END if version == 4 else IPV6_END


class AddressSpace:
    """The atoms induced by a set of networks; atom i is ``atoms[i]``."""

    def __init__(self, networks: Iterable[IPNetwork]) -> None:
        cuts: dict[int, set[int]] = {4: {0}, 6: {0}}
        for network in networks:
            start = int(network.network_address)
            end = int(network.broadcast_address)
            cuts[network.version].add(start)
            if end < _family_end(network.version):
                cuts[network.version].add(end + 1)
        versions = [4, 6] if len(cuts[6]) > 1 else [4]
        self.atoms: list[Atom] = []
        self._starts: dict[int, list[int]] = {}
        self._offset: dict[int, int] = {}
        for version in versions:
            starts = sorted(cuts[version])
            self._starts[version] = starts
            self._offset[version] = len(self.atoms)
            bounds = [*starts[1:], _family_end(version) + 1]
            self.atoms.extend(Atom(version, s, e - 1) for s, e in zip(starts, bounds,
                                                                      strict=True))

    def has_cuts(self, networks: Iterable[IPNetwork]) -> bool:
        """True when every network starts and ends on atom boundaries of this space."""
        for network in networks:
            starts = self._starts.get(network.version)
            if starts is None:
                return False
            end = int(network.broadcast_address) + 1
            for point in (int(network.network_address), end):
                if point <= _family_end(network.version):
                    index = bisect.bisect_left(starts, point)
                    if index == len(starts) or starts[index] != point:
                        return False
        return True

    def covering(self, network: IPNetwork) -> range:
        """The indices of the atoms inside ``network`` (empty for an unanalysed family)."""
        starts = self._starts.get(network.version)
        if starts is None:
            return range(0)
        offset = self._offset[network.version]
        first = bisect.bisect_left(starts, int(network.network_address))
        last = bisect.bisect_right(starts, int(network.broadcast_address))
        return range(offset + first, offset + last)

    def block(self, network: IPNetwork | None, excepts: Iterable[IPNetwork]) -> frozenset[int]:
        """The atoms of an ipBlock: its CIDR minus its excepts."""
        if network is None:
            return frozenset()
        inside = set(self.covering(network))
        for excluded in excepts:
            inside.difference_update(self.covering(excluded))
        return frozenset(inside)


def address_text(version: int, value: int) -> str:
    """The address as text (``10.0.0.0``, ``fd00::``)."""
    if version == 4:
        return str(ipaddress.IPv4Address(value))
    return str(ipaddress.IPv6Address(value))


def range_cidrs(version: int, start: int, end: int) -> list[str]:
    """The fewest CIDRs covering exactly ``start..end``."""
    if version == 4:
        first4, last4 = ipaddress.IPv4Address(start), ipaddress.IPv4Address(end)
        return [str(n) for n in ipaddress.summarize_address_range(first4, last4)]
    first6, last6 = ipaddress.IPv6Address(start), ipaddress.IPv6Address(end)
    return [str(n) for n in ipaddress.summarize_address_range(first6, last6)]
