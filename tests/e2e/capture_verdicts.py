"""Capture verdict-corpus records from the real API server (no webhook registered).

    python -m tests.e2e.capture_verdicts CASES.jsonl >> tests/fixtures/apiserver-verdicts.jsonl

Each input line is ``{"id", "description", "manifest", "flags"?}``. The manifest is written to
``ID.yaml`` and sent with ``kubectl create -f ID.yaml --dry-run=server -o json -n verdicts``
plus its extra flags (e.g. ``--validate=warn``), against a fresh control plane started as the
e2e tier starts it. The record holds what kubectl printed: ``accepted`` (exit 0), the defaulted
object, the ``Warning:`` lines, and the error (for a 422 the API server's Status message, as
kubectl prints it after its ``error when creating`` prefix; otherwise kubectl's whole line).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from tests.e2e.binaries import find_binaries
from tests.e2e.controlplane import ControlPlane, clean_environment
from tests.e2e.webhook import Kubectl

BASE_FLAGS = ["--dry-run=server", "-o", "json", "-n", "verdicts"]


def capture(kubectl: Kubectl, workdir: Path, case: dict[str, Any]) -> dict[str, Any]:
    name = f"{case['id']}.yaml"
    (workdir / name).write_text(yaml.safe_dump(case["manifest"], allow_unicode=True),
                                encoding="utf-8")
    flags = BASE_FLAGS + list(case.get("flags", []))
    result = kubectl("create", "-f", name, *flags, cwd=workdir)
    warnings = [line.removeprefix("Warning: ") for line in result.stderr.splitlines()
                if line.startswith("Warning: ")]
    error_lines = [line for line in result.stderr.splitlines()
                   if not line.startswith("Warning: ")]
    error = "\n".join(error_lines) or None
    prefix = f'Error from server (Invalid): error when creating "{name}": '
    if error and error.startswith(prefix):
        error = error[len(prefix):]
    return {"id": case["id"], "description": case["description"], "manifest": case["manifest"],
            "flags": flags, "accepted": result.returncode == 0,
            "error": None if result.returncode == 0 else error, "warnings": warnings,
            "defaulted": json.loads(result.stdout) if result.returncode == 0 else None}


def main(argv: list[str]) -> int:
    cases = [json.loads(line) for line in Path(argv[1]).read_text(encoding="utf-8").splitlines()
             if line.strip()]
    binaries = find_binaries()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        plane = ControlPlane(binaries, workdir / "plane")
        plane.start()
        try:
            kubectl = Kubectl(binaries.kubectl, plane.kubeconfig, clean_environment())
            kubectl.ok("create", "namespace", "verdicts")
            for case in cases:
                print(json.dumps(capture(kubectl, workdir, case), ensure_ascii=False))
        finally:
            plane.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
