"""Sets of allowed connections: port ranges per protocol (SCTP, TCP, UDP).

A ``Conns`` is a tuple of three range tuples, in the output order SCTP, TCP, UDP; each range is
an inclusive ``(low, high)`` pair, sorted, disjoint and not adjacent (canonical, so equal sets
compare equal and hash alike). Union and intersection are cached: the analysis combines the
same few sets millions of times.
"""

from __future__ import annotations

import functools

PROTOCOLS = ("SCTP", "TCP", "UDP")
MIN_PORT = 1
MAX_PORT = 65535

Ranges = tuple[tuple[int, int], ...]
Conns = tuple[Ranges, Ranges, Ranges]

FULL: Ranges = ((MIN_PORT, MAX_PORT),)
NO_CONNS: Conns = ((), (), ())
ALL_CONNS: Conns = (FULL, FULL, FULL)
ALL_TEXT = "All Connections"
NONE_TEXT = "No Connections"


def _normalise(ranges: list[tuple[int, int]]) -> Ranges:
    out: list[tuple[int, int]] = []
    for low, high in sorted(ranges):
        if out and low <= out[-1][1] + 1:
            if high > out[-1][1]:
                out[-1] = (out[-1][0], high)
        else:
            out.append((low, high))
    return tuple(out)


def protocol_conns(protocol: str, low: int = MIN_PORT, high: int = MAX_PORT) -> Conns:
    """The set with ports ``low..high`` of one protocol; empty for an unknown protocol."""
    if protocol not in PROTOCOLS or low > high:
        return NO_CONNS
    parts: list[Ranges] = [(), (), ()]
    parts[PROTOCOLS.index(protocol)] = ((max(low, MIN_PORT), min(high, MAX_PORT)),)
    return (parts[0], parts[1], parts[2])


@functools.lru_cache(maxsize=65536)
def union(a: Conns, b: Conns) -> Conns:
    """Every connection in ``a`` or ``b``."""
    if a == b or b == NO_CONNS:
        return a
    if a == NO_CONNS:
        return b
    return (_normalise([*a[0], *b[0]]), _normalise([*a[1], *b[1]]),
            _normalise([*a[2], *b[2]]))


def _intersect_ranges(a: Ranges, b: Ranges) -> Ranges:
    out: list[tuple[int, int]] = []
    i = j = 0
    while i < len(a) and j < len(b):
        low = max(a[i][0], b[j][0])
        high = min(a[i][1], b[j][1])
        if low <= high:
            out.append((low, high))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


@functools.lru_cache(maxsize=65536)
def intersection(a: Conns, b: Conns) -> Conns:
    """Every connection in both ``a`` and ``b``."""
    if a == b or b == ALL_CONNS:
        return a
    if a == ALL_CONNS:
        return b
    return (_intersect_ranges(a[0], b[0]), _intersect_ranges(a[1], b[1]),
            _intersect_ranges(a[2], b[2]))


def union_all(sets: list[Conns]) -> Conns:
    """The union of several sets (NO_CONNS for none)."""
    result = NO_CONNS
    for conns in sets:
        result = union(result, conns)
    return result


@functools.lru_cache(maxsize=16384)
def conns_text(conns: Conns) -> str:
    """``All Connections``, ``No Connections`` or ``SCTP 1-65535,TCP 80,8080-8090``."""
    if conns == ALL_CONNS:
        return ALL_TEXT
    if conns == NO_CONNS:
        return NONE_TEXT
    parts = []
    for protocol, ranges in zip(PROTOCOLS, conns, strict=True):
        if ranges:
            ports = ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in ranges)
            parts.append(f"{protocol} {ports}")
    return ",".join(parts)


def parse_conns(text: str) -> Conns:
    """The inverse of ``conns_text`` (``TCP 80,8080-8090,UDP 53``); raises ValueError."""
    text = text.strip()
    if text == ALL_TEXT:
        return ALL_CONNS
    if text == NONE_TEXT:
        return NO_CONNS
    result = NO_CONNS
    protocol = None
    for token in text.split(","):
        token = token.strip()
        head, _, rest = token.partition(" ")
        if head in PROTOCOLS:
            protocol, token = head, rest.strip()
        if protocol is None or not token:
            raise ValueError(f"cannot read connections {text!r}")
        low, _, high = token.partition("-")
        result = union(result, protocol_conns(protocol, int(low), int(high or low)))
    return result


@functools.lru_cache(maxsize=16384)
def as_json(conns: Conns) -> dict[str, list[list[int]]]:
    """``{"TCP": [[80, 80]], "UDP": [], "SCTP": []}``: inclusive ranges per protocol.

    Cached: callers must not change the result (the JSON writer only reads it)."""
    return {protocol: [[lo, hi] for lo, hi in conns[PROTOCOLS.index(protocol)]]
            for protocol in ("TCP", "UDP", "SCTP")}
