"""Glob matching for names in the policy (namespaces, users, groups).

The policy never takes regular expressions: a config author's pattern must not be able to make
the matcher backtrack on hostile input. This matcher supports ``*`` (any run of characters) and
``?`` (one character) and runs in O(len(pattern) * len(text)) at worst, with no recursion.
"""

from __future__ import annotations

from collections.abc import Iterable


def is_glob(pattern: str) -> bool:
    """True when the pattern has a wildcard (otherwise it matches only itself)."""
    return "*" in pattern or "?" in pattern


def glob_match(pattern: str, text: str) -> bool:
    """True when ``text`` matches ``pattern`` (``*`` and ``?``; everything else is literal)."""
    if not is_glob(pattern):
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


class GlobSet:
    """Patterns prepared for matching many texts: the exact names in a set, so that only the
    real globs are tried one by one (policies list mostly exact names; this runs several times
    per review)."""

    __slots__ = ("_exact", "_globs")

    def __init__(self, patterns: Iterable[str]) -> None:
        patterns = tuple(patterns)
        self._exact = frozenset(p for p in patterns if not is_glob(p))
        self._globs = tuple(p for p in patterns if is_glob(p))

    def matches(self, text: str) -> bool:
        """True when ``text`` matches at least one of the patterns."""
        return text in self._exact or (bool(self._globs) and matches_any(self._globs, text))

    def __bool__(self) -> bool:
        return bool(self._exact or self._globs)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, GlobSet) and other._exact == self._exact
                and other._globs == self._globs)

    def __hash__(self) -> int:
        return hash((self._exact, self._globs))

    def __repr__(self) -> str:
        return f"GlobSet({sorted(self._exact) + list(self._globs)!r})"
