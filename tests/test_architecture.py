"""The shape of the package: the import contracts of pyproject.toml hold, and no module of
eventix_cli imports itself back through others.

Each contract runs on its own (``lint-imports --contract``), so a failure names the rule it
breaks and lint-imports' report shows the import that breaks it.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp
import pytest

import eventix_cli
from tests.support.servers import REPO_ROOT

CONFIG = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
CONTRACTS = {contract["id"]: contract for contract in CONFIG["contracts"]}
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


@pytest.mark.parametrize("contract", CONTRACTS)
def test_import_contract_holds(contract: str) -> None:
    proc = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", "--contract", contract],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "1 kept, 0 broken" in proc.stdout, proc.stdout + proc.stderr
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_contracts_are_the_layers_rules() -> None:
    assert set(CONTRACTS) == {"layers", "libraries", "core", "acyclic"}
    assert not any("ignore_imports" in contract for contract in CONTRACTS.values())
    assert CONTRACTS["layers"]["layers"] == ["eventix_cli.cli", "eventix_cli.client", "eventix_cli.core"]
    assert {"eventix_cli.cli", "typer", "rich"} <= set(CONTRACTS["libraries"]["forbidden_modules"])


def test_core_is_forbidden_every_other_module_of_ours() -> None:
    """A module added beside core later is forbidden to core too, or this fails."""
    ours = {f"eventix_cli.{module.name}" for module in pkgutil.iter_modules(eventix_cli.__path__)}
    assert set(CONTRACTS["core"]["forbidden_modules"]) == ours - {"eventix_cli.core"}


def import_cycles(graph: grimp.ImportGraph, modules: set[str]) -> list[list[str]]:
    """The strongly connected groups of two or more modules (Tarjan): each holds a cycle."""
    index: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = lowlink[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module) & modules:
            if imported not in index:
                visit(imported)
                lowlink[module] = min(lowlink[module], lowlink[imported])
            elif imported in on_stack:
                lowlink[module] = min(lowlink[module], index[imported])
        if lowlink[module] == index[module]:
            group: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for module in sorted(modules):
        if module not in index:
            visit(module)
    return sorted(cycles)


def test_import_cycles_are_found() -> None:
    graph = grimp.ImportGraph()
    for importer, imported in [("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.c", "p.d")]:
        graph.add_import(importer=importer, imported=imported)
    assert import_cycles(graph, graph.modules) == [["p.a", "p.b", "p.c"]]


def test_no_import_cycles_between_modules() -> None:
    graph = grimp.build_graph("eventix_cli", cache_dir=None)  # imports in functions and TYPE_CHECKING count
    cycles = import_cycles(graph, graph.modules)
    assert cycles == [], "\n".join(" <-> ".join(cycle) for cycle in cycles)
