"""The figures the reliability suite reports: counted by the tests, printed at the end.

Every test that fuzzes, injects a fault, sends load or has a policy document refused adds to
these counters; ``conftest.pytest_terminal_summary`` prints them after the run (``make
faults``). They are plain counters in the pytest process: the suite runs in one process.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.reliability.loadgen import Tally

INPUTS_FUZZED: Counter[str] = Counter()
FAULTS_INJECTED: Counter[str] = Counter()
REQUESTS_UNDER_FAULTS: Counter[str] = Counter()
FAILED_BY_CAUSE: Counter[str] = Counter()
POLICY_DOCUMENTS_REFUSED: Counter[str] = Counter()
ADMITTED_BUT_DENIED: Counter[str] = Counter()

SECTIONS: tuple[tuple[str, Counter[str]], ...] = (
    ("inputs fuzzed", INPUTS_FUZZED),
    ("faults injected", FAULTS_INJECTED),
    ("requests sent under faults", REQUESTS_UNDER_FAULTS),
    ("requests failed, by fault and cause", FAILED_BY_CAUSE),
    ("policy documents refused", POLICY_DOCUMENTS_REFUSED),
    ("admitted although the policy denies", ADMITTED_BUT_DENIED),
)


def report_lines() -> list[str]:
    """The figures as text lines: one total per section, then its parts."""
    lines = []
    for title, counter in SECTIONS:
        lines.append(f"{title}: {sum(counter.values())}")
        lines.extend(f"    {key}: {value}" for key, value in sorted(counter.items()))
    return lines


def record_fault(fault: str, tally: Tally, detail: str = "") -> None:
    """Add one fault and the load sent under it to the figures, and print them."""
    FAULTS_INJECTED[fault] += 1
    REQUESTS_UNDER_FAULTS[fault] += tally.sent
    for cause, count in tally.by_cause().items():
        FAILED_BY_CAUSE[f"{fault}: {cause}"] += count
    if tally.admitted_but_denied:
        ADMITTED_BUT_DENIED[fault] += tally.admitted_but_denied
    print(f"\n{fault}: {tally.summary()}{detail}")
    for failure in tally.failures[:10]:
        print(f"    {failure.cause} on client port {failure.local_port}: {failure.detail[:160]}")
