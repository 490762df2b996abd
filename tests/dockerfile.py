"""The Dockerfile read as instructions (no Docker engine needed): shared by the Dockerfile tests
and the installed-package tier, which builds and installs the package the way the image does."""

from __future__ import annotations

import shlex
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = REPO_ROOT / "Dockerfile"

Instruction = tuple[str, str]


def instructions() -> list[Instruction]:
    """(INSTRUCTION, arguments) in order, with continuation lines joined and comments dropped."""
    logical: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    result = []
    for line in logical:
        keyword, _, rest = line.partition(" ")
        result.append((keyword.upper(), rest.strip()))
    return result


def stages() -> list[list[Instruction]]:
    split: list[list[Instruction]] = []
    for keyword, rest in instructions():
        if keyword == "FROM":
            split.append([])
        if split:
            split[-1].append((keyword, rest))
    return split


def final_stage() -> list[Instruction]:
    return stages()[-1]


def args_of(stage: list[Instruction], keyword: str) -> list[str]:
    return [rest for key, rest in stage if key == keyword]


def build_inputs() -> list[str]:
    """What the builder stage copies from the checkout to build the wheel (repo-relative)."""
    sources: list[str] = []
    for copy in args_of(stages()[0], "COPY"):
        if "--from" in copy:
            continue
        *from_checkout, _ = shlex.split(copy)
        sources += [source.rstrip("/") for source in from_checkout]
    return sources


def pip_commands(stage: list[Instruction], verb: str) -> list[list[str]]:
    """Each ``pip VERB ...`` command of the stage's RUN lines, as argument lists (no ``pip``)."""
    commands = []
    for run in args_of(stage, "RUN"):
        for command in run.split("&&"):
            words = shlex.split(command)
            while words and words[0].startswith("--mount"):
                words = words[1:]
            if words[:2] == ["pip", verb]:
                commands.append(words[1:])
    return commands


def requirements_of(pip_arguments: list[str]) -> list[str]:
    """The positional arguments (what is installed or built) of a pip command line."""
    takes_value = {"--wheel-dir", "-w", "--find-links", "-f", "--index-url", "-i",
                   "--constraint", "-c", "--requirement", "-r", "--target", "-t"}
    result: list[str] = []
    skip = False
    for word in pip_arguments[1:]:
        if skip:
            skip = False
        elif word in takes_value:
            skip = True
        elif not word.startswith("-"):
            result.append(word)
    return result
