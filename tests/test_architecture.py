"""The house rules of webhook/ (docs/architecture.md), checked on the source by its AST.

- the arrows: engine/, policy/ and connectivity/ never import serving/, cli/ or kube/;
  admission/ imports only itself and does no I/O; serving/ never imports the CLI nor its
  manifest reading and API-server emulation; the parts form no cycle;
- the sizes: no module over 400 lines, no function over 80;
- every module says what it is for in a docstring.

Imports inside functions count as much as those at the top: a lazy import is still an arrow.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "webhook"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80

# part -> the parts it must never import
FORBIDDEN_ARROWS: dict[str, frozenset[str]] = {
    "engine": frozenset({"serving", "cli", "kube"}),
    "policy": frozenset({"serving", "cli", "kube"}),
    "connectivity": frozenset({"serving", "cli", "kube"}),
    "admission": frozenset({"serving", "cli", "kube", "engine", "policy", "observe",
                            "connectivity", "yamlio"}),
    "observe": frozenset({"serving", "cli", "kube"}),
}
# serving/ answers reviews: the CLI's manifest files and API-server emulation are not its own.
FORBIDDEN_MODULES: dict[str, tuple[str, ...]] = {
    "serving": ("webhook.cli", "webhook.kube.manifests", "webhook.kube.apiserver"),
}
# admission/ does no I/O: no HTTP framework, network, process or cluster client.
IO_LIBRARIES = ("flask", "werkzeug", "gunicorn", "gevent", "kubernetes", "socket", "ssl",
                "http", "urllib", "requests", "subprocess", "threading")
NO_IO_PARTS = ("admission", "engine", "connectivity")


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def part_of(name: str) -> str | None:
    """``webhook.engine.normalize`` -> ``engine``; ``webhook.yamlio`` -> ``yamlio``."""
    pieces = name.split(".")
    return pieces[1] if len(pieces) > 1 and pieces[0] == "webhook" else None


def imported(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in the file, at any depth, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module_name(path) if path.name == "__init__.py" \
                    else module_name(path).rpartition(".")[0]
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from webhook import yamlio` imports the module webhook.yamlio
            found.extend((node.lineno, f"{base}.{alias.name}") if base in ("webhook",)
                         else (node.lineno, base) for alias in node.names)
    return found


MODULES = modules()
# webhook's parts: its subpackages and top-level modules (yamlio)
PARTS = frozenset(child.stem for child in PACKAGE.iterdir()
                  if (child / "__init__.py").exists()
                  or (child.suffix == ".py" and child.stem != "__init__"))
IDS = [str(path.relative_to(PACKAGE)) for path in MODULES]


@pytest.mark.parametrize("path", MODULES, ids=IDS)
def test_arrows_between_the_parts_run_one_way(path: Path) -> None:
    part = part_of(module_name(path))
    wrong = [f"line {line}: {name}" for line, name in imported(path)
             if part_of(name) in FORBIDDEN_ARROWS.get(part or "", frozenset())
             or name.startswith(FORBIDDEN_MODULES.get(part or "", ("\0",)))]
    assert not wrong, f"{part}/ must not import these: {wrong}"


@pytest.mark.parametrize("path", [p for p in MODULES
                                  if part_of(module_name(p)) in NO_IO_PARTS],
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_pure_parts_import_no_io(path: Path) -> None:
    wrong = [f"line {line}: {name}" for line, name in imported(path)
             if name.split(".")[0] in IO_LIBRARIES]
    assert not wrong, f"pure module imports I/O: {wrong}"


# Each part imports only parts after it here (docs/architecture.md), so the parts form no cycle.
LAYERS = ("cli", "serving", "kube", "connectivity", "engine", "policy", "observe", "yamlio",
          "admission")


def test_every_part_has_its_layer() -> None:
    assert set(LAYERS) == PARTS


@pytest.mark.parametrize("path", MODULES, ids=IDS)
def test_parts_import_only_the_layers_below(path: Path) -> None:
    part = part_of(module_name(path))
    if part not in LAYERS:
        return
    below = set(LAYERS[LAYERS.index(part) + 1:])
    wrong = [f"line {line}: {name}" for line, name in imported(path)
             if part_of(name) in PARTS and part_of(name) != part
             and part_of(name) not in below]
    assert not wrong, f"{part}/ imports a part above it: {wrong}"


def test_the_parts_form_no_cycle() -> None:
    arrows: dict[str, set[str]] = {}
    for path in MODULES:
        source = part_of(module_name(path))
        if source is None:
            continue
        for _, name in imported(path):
            target = part_of(name)
            if target in PARTS and target != source:
                arrows.setdefault(source, set()).add(target)

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in arrows.get(start, ()):
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    cycles = sorted(part for part in arrows if reaches(part, part, {part}))
    assert not cycles, f"these parts import each other in a circle: {cycles} ({arrows})"


@pytest.mark.parametrize("path", MODULES, ids=IDS)
def test_modules_and_functions_stay_small(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    lines = len(text.splitlines())
    assert lines <= MAX_MODULE_LINES, f"{lines} lines; split it along its seams"
    long = [f"{node.name} (line {node.lineno}): {node.end_lineno - node.lineno + 1} lines"
            for node in ast.walk(ast.parse(text))
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.end_lineno is not None
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"


@pytest.mark.parametrize("path", MODULES, ids=IDS)
def test_every_module_says_what_it_is_for(path: Path) -> None:
    assert ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))), \
        "add a module docstring: one or two lines on what this room is for"


def test_the_rules_catch_a_wrong_arrow(tmp_path: Path) -> None:
    """The checks above can fail: a lazy import from the engine into kube/ is seen."""
    bad = tmp_path / "bad.py"
    bad.write_text('"""x"""\n\ndef f():\n    from webhook.kube.cluster import make_cluster\n')
    assert (4, "webhook.kube.cluster") in imported(bad)
    assert part_of("webhook.kube.cluster") in FORBIDDEN_ARROWS["engine"]


def test_the_rule_map_names_every_rule_and_only_files_that_exist() -> None:
    """docs/architecture.md's map: one row per rule id, and every path in it exists."""
    from webhook.cli.report import APISERVER_INVALID, APISERVER_WARNING
    from webhook.engine.defaultdeny import DEFAULT_DENY_RULES
    from webhook.policy.model import RULES

    doc = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    table = doc[doc.index("## Where each rule is"):]
    rows = {line.split("|")[1].split()[0]: line for line in table.splitlines()
            if line.startswith("| ") and line.split("|")[1].split()[0][:2] in ("NP", "DD", "CM",
                                                                               "K8")}
    ids = {*RULES, *DEFAULT_DENY_RULES, APISERVER_INVALID[0], APISERVER_WARNING[0]}
    assert set(rows) == ids
    for rule_id, row in rows.items():
        for path in re.findall(r"`((?:webhook|tests)/[^`]+?\.py)`", row):
            assert (PACKAGE.parent / path).exists(), f"{rule_id}: {path} does not exist"
