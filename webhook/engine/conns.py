"""Sets of allowed connections: per protocol, sorted disjoint inclusive port ranges.

Written the way the connectivity fixtures write them: ``All Connections``, or protocols in the
order SCTP, TCP, UDP, each with its ports and ranges (``SCTP 1-65535,TCP 80,8080-8090``).
"""

from __future__ import annotations

from dataclasses import dataclass

PROTOCOLS = ("SCTP", "TCP", "UDP")
Ranges = tuple[tuple[int, int], ...]
_FULL: Ranges = ((1, 65535),)


def _merge(ranges: list[tuple[int, int]]) -> Ranges:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


def _intersect(a: Ranges, b: Ranges) -> Ranges:
    out: list[tuple[int, int]] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start <= end:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def _subtract(a: Ranges, b: Ranges) -> Ranges:
    out: list[tuple[int, int]] = []
    for start, end in a:
        for low, high in b:
            if high < start or low > end:
                continue
            if low > start:
                out.append((start, low - 1))
            start = high + 1
            if start > end:
                break
        if start <= end:
            out.append((start, end))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class ConnSet:
    """Allowed ports per protocol (SCTP, TCP, UDP), each a tuple of inclusive ranges."""

    sctp: Ranges = ()
    tcp: Ranges = ()
    udp: Ranges = ()

    def _parts(self) -> tuple[Ranges, Ranges, Ranges]:
        return (self.sctp, self.tcp, self.udp)

    @property
    def all(self) -> bool:
        return self._parts() == (_FULL, _FULL, _FULL)

    def __bool__(self) -> bool:
        return bool(self.sctp or self.tcp or self.udp)

    def __or__(self, other: ConnSet) -> ConnSet:
        if not other or other == self:
            return self
        if not self:
            return other
        return ConnSet(*(_merge([*a, *b]) for a, b in zip(self._parts(), other._parts(),
                                                          strict=True)))

    def __and__(self, other: ConnSet) -> ConnSet:
        # Most intersections meet everything, nothing or the same set: no ranges to walk.
        if other is ALL or other == self:
            return self
        if self is ALL:
            return other
        if not self or not other:
            return NONE
        return ConnSet(*(_intersect(a, b) for a, b in zip(self._parts(), other._parts(),
                                                          strict=True)))

    def __sub__(self, other: ConnSet) -> ConnSet:
        return ConnSet(*(_subtract(a, b) for a, b in zip(self._parts(), other._parts(),
                                                         strict=True)))

    def text(self) -> str:
        """``All Connections``, ``TCP 5432``, ``SCTP 1-65535,TCP 80,8080-8090``, or
        ``No Connections``."""
        if self.all:
            return "All Connections"
        if not self:
            return "No Connections"
        parts = []
        for protocol, ranges in zip(PROTOCOLS, self._parts(), strict=True):
            if ranges:
                ports = ",".join(f"{s}" if s == e else f"{s}-{e}" for s, e in ranges)
                parts.append(f"{protocol} {ports}")
        return ",".join(parts)


NONE = ConnSet()
ALL = ConnSet(_FULL, _FULL, _FULL)


def port_range_conns(protocol: str, start: int, end: int) -> ConnSet:
    """The ports ``start``-``end`` of one protocol (an unknown protocol: nothing)."""
    if protocol not in PROTOCOLS or start > end:
        return NONE
    ranges = ((max(1, start), min(65535, end)),)
    return ConnSet(*(ranges if name == protocol else () for name in PROTOCOLS))
