"""The installed-package tier: the wheel a user gets, in a fresh virtual environment.

The wheel is built once per test session from exactly what the Dockerfile's builder stage
copies (``tests.dockerfile.build_inputs``), installed without any extra into a new virtual
environment (its dependencies from the package index, as ``pip install`` does for a user), and
every command runs from a working directory outside the checkout, with none of the checkout's
environment: nothing can be imported from the source tree or from the test extra.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.dockerfile import REPO_ROOT, build_inputs

# What the image installs (Dockerfile, runtime stage): the package by name, no extra.
INSTALL_REQUIREMENT = "netpol-guard"
# Dropped from the image after the install: nothing may need them at run time.
DROPPED_AFTER_INSTALL = ("setuptools", "wheel")


@dataclass(frozen=True)
class InstalledPackage:
    """A virtual environment holding the installed wheel, and a working directory outside the
    checkout to run it from."""

    venv: Path
    workdir: Path
    wheel: Path

    @property
    def env(self) -> dict[str, str]:
        environment = {key: value for key, value in os.environ.items()
                       if key not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME",
                                      "PROMETHEUS_MULTIPROC_DIR"}}
        environment["PATH"] = f"{self.venv / 'bin'}{os.pathsep}{environment.get('PATH', '')}"
        return environment

    def command(self, name: str) -> str:
        return str(self.venv / "bin" / name)

    def run(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` (a command of the virtual environment's bin/) in the working directory."""
        return subprocess.run([self.command(argv[0]), *argv[1:]], cwd=self.workdir,
                              env=self.env, capture_output=True, text=True, timeout=timeout,
                              check=False)


def _pip(python: Path | str, *args: str, cwd: Path) -> None:
    done = subprocess.run([str(python), "-m", "pip", "--disable-pip-version-check", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"pip {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")


def build_wheel(into: Path) -> Path:
    """The package's wheel, built from a copy of the Dockerfile's build inputs."""
    source = into / "src"
    source.mkdir(parents=True)
    for name in build_inputs():
        origin = REPO_ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, source / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(origin, source / name)
    wheels = into / "wheels"
    _pip(sys.executable, "wheel", "--no-deps", "--wheel-dir", str(wheels), str(source), cwd=into)
    [wheel] = wheels.glob("netpol_guard-*.whl")
    return wheel


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InstalledPackage]:
    root = tmp_path_factory.mktemp("installed")
    wheel = build_wheel(root / "build")
    venv = root / "venv"
    # The interpreter the venv is made from, not this test venv (python -m venv from a venv
    # makes one on the base interpreter anyway; spelt out for clarity).
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    # By file: the wheel just built, never a same-named distribution from the index.
    _pip(python, "install", str(wheel), cwd=root)
    _pip(python, "uninstall", "--yes", *DROPPED_AFTER_INSTALL, cwd=root)
    workdir = root / "work"
    workdir.mkdir()
    yield InstalledPackage(venv, workdir, wheel)
