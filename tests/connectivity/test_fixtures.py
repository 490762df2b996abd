"""Agreement with an independent analyzer: every case and every diff of the shared fixtures.

Compared by meaning, not by text: both sides' external ranges are cut into common atoms (at every
range start and one past every range end of either side), then the sets of (source, destination,
connections) must be equal. The comparator below is written apart from the analysis' own diff
code, so a bug there cannot hide a disagreement here.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest

from webhook.cli.connectivity_input import read_objects
from webhook.connectivity import analyse
from webhook.connectivity.diff import diff, diff_line
from webhook.connectivity.ports import parse_conns

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "connectivity"
CASES = sorted(p.name for p in (FIXTURES / "cases").iterdir() if p.is_dir())
DIFFS = sorted(p.name for p in (FIXTURES / "diff").glob("*.txt"))
LINE = re.compile(r"^(\S+) => (\S+) : (.+)$")
EXTERNAL = re.compile(r"^(.+)-(.+)\[External\]$")
DIFF_LINE = re.compile(r"^diff-type: (\w+), source: (\S+), destination: (\S+), "
                       r"ref1: (.+?), ref2: (.+?)(?:, workloads-diff-info: (.+))?$")

Triple = tuple[str, str, object]


def _range(node: str) -> tuple[int, int, int] | None:
    found = EXTERNAL.match(node)
    if not found:
        return None
    start = ipaddress.ip_address(found.group(1))
    return start.version, int(start), int(ipaddress.ip_address(found.group(2)))


def _cut_points(nodes: set[str]) -> dict[int, list[int]]:
    points: dict[int, set[int]] = {}
    for node in nodes:
        parsed = _range(node)
        if parsed:
            points.setdefault(parsed[0], set()).update((parsed[1], parsed[2] + 1))
    return {v: sorted(p) for v, p in points.items()}


def _atoms(node: str, cuts: dict[int, list[int]]) -> list[str]:
    parsed = _range(node)
    if parsed is None:
        return [node]
    version, start, end = parsed
    points = cuts[version]
    return [f"v{version}:{a}-{b - 1}" for a, b in zip(points, points[1:], strict=False)
            if a >= start and b - 1 <= end]


def by_meaning(lines: list[str], cuts: dict[int, list[int]]) -> set[Triple]:
    """(src, dst, conns) with external ranges cut into atoms, conns parsed."""
    triples: set[Triple] = set()
    for line in lines:
        found = LINE.match(line)
        assert found, f"unreadable line: {line!r}"
        src, dst, conns = found.groups()
        for a in _atoms(src, cuts):
            for b in _atoms(dst, cuts):
                triples.add((a, b, parse_conns(conns)))
    return triples


def _endpoints(lines: list[str]) -> set[str]:
    return {part for line in lines if (m := LINE.match(line)) for part in m.groups()[:2]}


def assert_same_meaning(got: list[str], expected: list[str]) -> None:
    cuts = _cut_points(_endpoints(got) | _endpoints(expected))
    ours, theirs = by_meaning(got, cuts), by_meaning(expected, cuts)
    missing, extra = sorted(map(str, theirs - ours)), sorted(map(str, ours - theirs))
    assert not missing and not extra, (
        f"{len(missing)} expected connection(s) missing, {len(extra)} unexpected\n"
        + "\n".join([*(f"- {m}" for m in missing[:20]), *(f"+ {e}" for e in extra[:20])]))


def _analyse(case: str) -> list[str]:
    objects, _ = read_objects([str(FIXTURES / "cases" / case)])
    return analyse(objects).lines()


@pytest.mark.parametrize("case", CASES)
def test_case_agrees_with_the_reference_by_meaning(case: str) -> None:
    expected = (FIXTURES / "cases" / f"{case}.connlist.txt").read_text().splitlines()
    assert_same_meaning(_analyse(case), expected)


def test_every_case_is_run() -> None:
    assert len(CASES) == 21
    assert len(DIFFS) == 5


def _diff_cuts(lines: list[str]) -> dict[int, list[int]]:
    return _cut_points({n for line in lines if (m := DIFF_LINE.match(line))
                        for n in m.groups()[1:3]})


def _diff_meaning(lines: list[str], cuts: dict[int, list[int]]
                  ) -> set[tuple[str, str, str, object, object, str]]:
    out = set()
    for line in lines:
        found = DIFF_LINE.match(line)
        assert found, f"unreadable diff line: {line!r}"
        kind, src, dst, ref1, ref2, info = found.groups()
        for a in _atoms(src, cuts):
            for b in _atoms(dst, cuts):
                out.add((kind, a, b, parse_conns(ref1), parse_conns(ref2), info or ""))
    return out


@pytest.mark.parametrize("name", DIFFS)
def test_diff_agrees_with_the_reference_by_meaning(name: str) -> None:
    found = re.match(r"diff_between_(.+)_and_(.+)\.txt$", name)
    assert found
    new_case, old_case = found.groups()
    old_objects, _ = read_objects([str(FIXTURES / "cases" / old_case)])
    new_objects, _ = read_objects([str(FIXTURES / "cases" / new_case)])
    got = [diff_line(e) for e in diff(analyse(old_objects), analyse(new_objects)).entries]
    lines = (FIXTURES / "diff" / name).read_text().splitlines()
    assert lines[0] == "Connectivity diff:"
    expected = lines[1:]
    # Cut both sides together: the diff's external ranges may be merged differently.
    cuts = _diff_cuts(got + expected)
    ours, theirs = _diff_meaning(got, cuts), _diff_meaning(expected, cuts)
    assert theirs and ours == theirs, (
        "\n".join([*(f"- {e}" for e in sorted(map(str, theirs - ours))[:20]),
                   *(f"+ {e}" for e in sorted(map(str, ours - theirs))[:20])]))


def test_comparator_accepts_ranges_merged_differently() -> None:
    merged = ["a/x[Pod] => 0.0.0.0-255.255.255.255[External] : TCP 80"]
    split = ["a/x[Pod] => 0.0.0.0-9.255.255.255[External] : TCP 80",
             "a/x[Pod] => 10.0.0.0-255.255.255.255[External] : TCP 80"]
    assert_same_meaning(merged, split)


@pytest.mark.parametrize("got", [
    ["a/x[Pod] => 0.0.0.0-9.255.255.255[External] : TCP 80"],  # a range missing
    ["a/x[Pod] => 0.0.0.0-255.255.255.255[External] : TCP 81"],  # another port
    ["a/x[Pod] => 0.0.0.0-255.255.255.255[External] : TCP 80",
     "a/y[Pod] => a/x[Pod] : All Connections"],  # an extra pair
])
def test_comparator_reports_a_difference(got: list[str]) -> None:
    expected = ["a/x[Pod] => 0.0.0.0-255.255.255.255[External] : TCP 80"]
    with pytest.raises(AssertionError, match="missing|unexpected"):
        assert_same_meaning(got, expected)
