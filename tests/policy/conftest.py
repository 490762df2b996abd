"""Shared helpers for the policy tests: fixture documents and a kubelet-style atomic writer."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "admission"
CONFIGMAP_FIXTURES = ("configmap-create-netpol-guard-policy.json",
                      "configmap-update-replace-netpol-guard-policy.json")

VALID = "apiVersion: netpol-guard.io/v1\nkind: Policy\n"


def fixture_configmap(name: str) -> dict[str, object]:
    """``request.object`` of an admission fixture (a ConfigMap holding a policy)."""
    review = json.loads((FIXTURES / name).read_text())
    obj: dict[str, object] = review["request"]["object"]
    return obj


def fixture_policy_text(name: str) -> str:
    data = fixture_configmap(name)["data"]
    assert isinstance(data, dict)
    text: str = data["policy.yaml"]
    return text


class ConfigMapVolume:
    """A directory laid out like a mounted ConfigMap, updated the way kubelet does it.

    ``policy.yaml`` → ``..data/policy.yaml``; ``..data`` → ``..<version>/``. A new version is a
    new directory, then ``..data`` is swapped by renaming a fresh symlink over it, then the old
    directory is removed (kubelet's AtomicWriter).
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = root / "policy.yaml"
        self.version = 0

    def publish(self, text: str | bytes) -> None:
        self.version += 1
        target = self.root / f"..2026_11_26_05_00_00.{self.version:06d}"
        target.mkdir()
        data = text.encode() if isinstance(text, str) else text
        (target / "policy.yaml").write_bytes(data)
        old = os.readlink(self.root / "..data") if (self.root / "..data").is_symlink() else None
        tmp = self.root / "..data_tmp"
        os.symlink(target.name, tmp)
        os.replace(tmp, self.root / "..data")
        if not self.path.is_symlink():
            os.symlink("..data/policy.yaml", self.path)
        if old is not None:
            shutil.rmtree(self.root / old)


@pytest.fixture
def volume(tmp_path: Path) -> ConfigMapVolume:
    return ConfigMapVolume(tmp_path)
