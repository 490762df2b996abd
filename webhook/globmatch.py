"""Glob matching for names in the policy (namespaces, users, groups).

The policy never takes regular expressions: a config author's pattern must not be able to make
the matcher backtrack on hostile input. This matcher supports ``*`` (any run of characters) and
``?`` (one character) and runs in O(len(pattern) * len(text)) at worst, with no recursion.
"""

from __future__ import annotations

from collections.abc import Iterable


def glob_match(pattern: str, text: str) -> bool:
    """True when ``text`` matches ``pattern`` (``*`` and ``?``; everything else is literal)."""
    if "*" not in pattern and "?" not in pattern:
        return pattern == text
    p = t = 0
    star_p = -1
    star_t = 0
    while t < len(text):
        if p < len(pattern) and (pattern[p] == "?" or pattern[p] == text[t]):
            p += 1
            t += 1
        elif p < len(pattern) and pattern[p] == "*":
            star_p, star_t = p, t
            p += 1
        elif star_p != -1:
            # Let the last star absorb one more character; earlier stars never need revisiting.
            p = star_p + 1
            star_t += 1
            t = star_t
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)


def matches_any(patterns: Iterable[str], text: str) -> bool:
    """True when ``text`` matches at least one of ``patterns``."""
    for pattern in patterns:  # a loop, not any(generator): this runs on every review
        if glob_match(pattern, text):
            return True
    return False
