"""Imports inside ``solver/`` point one way: no module reaches itself through its imports."""

from __future__ import annotations

import ast
from pathlib import Path

import solver

PACKAGE = Path(solver.__file__).parent


def _imports() -> dict[str, set[str]]:
    """Each module of the package and the modules of the package it imports (anywhere in the
    file, lazy imports inside functions included)."""
    graph: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.glob("*.py")):
        name = "solver" if path.stem == "__init__" else f"solver.{path.stem}"
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
                # ``from solver import sisr`` imports the module solver.sisr
                found.update(f"{node.module}.{a.name}" for a in node.names)
        graph[name] = {m for m in found if m.startswith("solver.") and m != name}
    for name, targets in graph.items():
        graph[name] = {t for t in targets if t in graph}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


def test_the_solver_modules_import_one_way() -> None:
    graph = _imports()
    assert {"solver.entry", "solver.model", "solver.ortools_search"} <= set(graph)
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_a_cycle_is_found() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
