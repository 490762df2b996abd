"""The Dockerfile, checked without a Docker engine: multi-stage slim build, numeric non-root
user, an entry point that is the package's console script, and paths that exist."""

from __future__ import annotations

import fnmatch
import json
import shlex
import tomllib
from pathlib import Path

import pytest

from tests.chart.rendering import REPO_ROOT, render_scenario
from tests.dockerfile import (
    args_of,
    build_inputs,
    final_stage,
    instructions,
    pip_commands,
    requirements_of,
    stages,
)
from tests.installed.conftest import DROPPED_AFTER_INSTALL, INSTALL_REQUIREMENT

DOCKERIGNORE = REPO_ROOT / ".dockerignore"


def test_multi_stage_build_on_slim_python() -> None:
    builder, runtime = stages()
    default_base = dict(arg.split("=", 1) for arg in args_of(instructions(), "ARG")
                        if "=" in arg)["PYTHON_IMAGE"]
    assert default_base == "python:3.11-slim"
    assert builder[0][1] == "${PYTHON_IMAGE} AS builder"
    assert runtime[0][1] == "${PYTHON_IMAGE}"
    assert any("pip wheel" in run for run in args_of(builder, "RUN"))
    [install] = [run for run in args_of(runtime, "RUN") if "pip install" in run]
    assert "--no-cache-dir" in install and "--no-index" in install
    assert "from=builder" in install  # wheels come from the builder, mounted not copied
    assert not any(word in run for run in args_of(runtime, "RUN")
                   for word in ("apt-get", "gcc", "build-essential"))


def test_the_image_installs_the_wheel_the_installed_tier_tests_the_same_way() -> None:
    # tests/installed builds its wheel from build_inputs() (the builder's COPY lines) and
    # installs it with no extra, then drops DROPPED_AFTER_INSTALL: the image must do the same.
    builder, runtime = stages()
    assert set(build_inputs()) == {"pyproject.toml", "README.md", "webhook"}
    [wheel] = pip_commands(builder, "wheel")
    assert requirements_of(wheel) == ["."]  # the package from those inputs, with its deps
    assert [arg for arg in wheel if arg.startswith("--no-deps")] == []
    [install] = pip_commands(runtime, "install")
    assert requirements_of(install) == [INSTALL_REQUIREMENT]  # by name: no extra, no [test]
    assert "--no-index" in install  # so only the builder's wheels: the one built above
    assert not any("[" in word for word in install)
    [uninstall] = pip_commands(runtime, "uninstall")
    assert set(DROPPED_AFTER_INSTALL) <= set(requirements_of(uninstall))


def test_runs_as_a_numeric_non_root_user() -> None:
    [user] = args_of(final_stage(), "USER")
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) > 0
    assert not gid or (gid.isdigit() and int(gid) > 0)
    chart_uid = render_scenario("default").one("Deployment")["spec"]["template"]["spec"][
        "securityContext"]["runAsUser"]
    assert int(uid) == chart_uid


def test_environment_suits_a_read_only_root_filesystem() -> None:
    env = " ".join(args_of(final_stage(), "ENV"))
    for setting in ("PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1", "TMPDIR=/tmp"):
        assert setting in env
    container = render_scenario("default").container()
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert "/tmp" in [mount["mountPath"] for mount in container["volumeMounts"]]


def test_entry_point_is_the_serve_console_script() -> None:
    [entrypoint] = args_of(final_stage(), "ENTRYPOINT")
    command = json.loads(entrypoint)
    assert command == ["netpol-guard", "serve"]
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    target = pyproject["project"]["scripts"][command[0]]
    module, _, function = target.partition(":")
    assert (REPO_ROOT / (module.replace(".", "/") + ".py")).exists(), target
    from webhook.cli import main as cli

    assert callable(getattr(cli, function))
    assert "serve" in cli.SUBCOMMANDS
    serve_module = cli.SUBCOMMANDS["serve"][0]
    assert (REPO_ROOT / (serve_module.replace(".", "/") + ".py")).exists(), serve_module


def test_default_command_matches_the_chart() -> None:
    [cmd] = args_of(final_stage(), "CMD")
    default_args = json.loads(cmd)
    chart_args = render_scenario("default").container()["args"]
    flags = dict(zip(default_args[::2], default_args[1::2], strict=True))
    chart_flags = dict(zip(chart_args[::2], chart_args[1::2], strict=True))
    for flag, value in flags.items():
        assert chart_flags[flag] == value, flag
    [exposed] = args_of(final_stage(), "EXPOSE")
    assert exposed == "8443" == flags["--bind"].rsplit(":", 1)[1]


def test_copied_paths_exist_and_are_not_docker_ignored() -> None:
    ignore = [line.strip() for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
              if line.strip() and not line.startswith("#")]

    def ignored(path: str) -> bool:
        verdict = False
        for pattern in ignore:
            negate = pattern.startswith("!")
            pattern = pattern.lstrip("!").rstrip("/")
            if fnmatch.fnmatch(path, pattern) or fnmatch.fnmatch(path, pattern + "/*"):
                verdict = not negate
        return verdict

    copies = [rest for key, rest in instructions() if key == "COPY" and "--from" not in rest]
    assert copies
    for copy in copies:
        *sources, _ = shlex.split(copy)
        for source in sources:
            assert (REPO_ROOT / source).exists(), source
            assert not ignored(source.rstrip("/")), f"{source} is excluded by .dockerignore"
    # What the package build needs at runtime: the policy files shipped as package data.
    for data in ("webhook/policy/default-policy.yaml", "webhook/policy/schema.json"):
        assert (REPO_ROOT / data).exists() and not ignored(data), data
    for junk in ("webhook/__pycache__/cli.cpython-311.pyc", ".venv/bin/python", "tests/x.py"):
        assert ignored(junk), junk


@pytest.mark.parametrize("path", ["/tls/tls.crt", "/tls/tls.key", "/etc/netpol-guard/policy.yaml"])
def test_paths_in_the_default_command_are_mounted_by_the_chart(path: str) -> None:
    mounts = [mount["mountPath"] for mount in render_scenario("default").container()[
        "volumeMounts"]]
    assert str(Path(path).parent) in mounts
