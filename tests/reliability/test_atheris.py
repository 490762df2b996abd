"""A short, bounded atheris (libFuzzer) run of each target in tests/reliability/atheris_targets.py.

atheris is in the test extras where a wheel exists (x86_64, Python < 3.13); elsewhere the test
is skipped. Each target runs in its own process, seeded with real inputs, and must
finish its runs without an escaped exception.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ADMISSION_FIXTURES, REPO, load_review
from tests.reliability import figures

pytestmark = pytest.mark.skipif(importlib.util.find_spec("atheris") is None,
                                reason="atheris is not installed (pip install atheris)")

RUNS = 20_000


def seed(target: str, corpus: Path) -> None:
    """Real inputs to start from: captured reviews, policy documents."""
    corpus.mkdir()
    if target == "review":
        for path in ADMISSION_FIXTURES.glob("*.json"):
            shutil.copy(path, corpus / path.name)
    elif target == "policy":
        shutil.copy(REPO / "webhook" / "policy" / "default-policy.yaml", corpus / "default.yaml")
        for name in ("configmap-create-netpol-guard-policy",
                     "configmap-update-replace-netpol-guard-policy"):
            text = load_review(name)["request"]["object"]["data"]["policy.yaml"]
            (corpus / f"{name}.yaml").write_text(text)
    else:
        spec = load_review("networkpolicy-update-ratcheted-noncanonical-cidrs")["request"][
            "object"]["spec"]
        (corpus / "spec.json").write_text("0.0.0.0/00\0*a*\0" + json.dumps(spec))


@pytest.mark.parametrize("target", ["review", "policy", "normalize"])
def test_atheris_finds_no_escaping_exception(target: str, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    seed(target, corpus)
    result = subprocess.run(
        [sys.executable, "-m", "tests.reliability.atheris_targets", target, f"-runs={RUNS}",
         "-max_len=65536", "-max_total_time=30", "-timeout=5", str(corpus)],
        cwd=REPO, capture_output=True, text=True, timeout=120)

    output = result.stdout + result.stderr
    done = re.search(r"Done (\d+) runs in (\d+) second", output)
    assert result.returncode == 0, output[-4000:]
    assert done is not None, output[-2000:]
    figures.INPUTS_FUZZED[f"atheris {target}"] += int(done.group(1))
    print(f"\natheris {target}: {done.group(1)} runs in {done.group(2)} s")
