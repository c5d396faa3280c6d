"""The project's imports point one way and go round in no circle.

Every module of ``dispatch``, ``solver``, ``api`` and ``benchmarks`` is read with :mod:`ast`
(never imported), and each ``import`` anywhere in it (at the top, inside functions, under
``TYPE_CHECKING``) becomes an edge to the project module it names: ``from x import y`` points
at ``x.y`` when that is a module and at ``x`` otherwise, relative imports are resolved against
the importing package. Importing a module does not count as importing its parent packages.

Two checks on that graph:

- no cycles; each one found is reported as its path (``a -> b -> a``);
- layers import one way only (``api -> dispatch -> solver``; ``benchmarks`` may use all):
  ``solver`` imports nothing of ``dispatch``, ``api`` or ``benchmarks``, ``dispatch`` nothing of
  ``api`` or ``benchmarks``, ``api`` nothing of ``solver`` or ``benchmarks``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("dispatch", "solver", "api", "benchmarks")

#: What each layer must not import.
FORBIDDEN: Mapping[str, frozenset[str]] = {
    "solver": frozenset({"dispatch", "api", "benchmarks"}),
    "dispatch": frozenset({"api", "benchmarks"}),
    "api": frozenset({"solver", "benchmarks"}),
    "benchmarks": frozenset(),
}

Graph = dict[str, set[str]]


def module_name(path: Path, root: Path = ROOT) -> str:
    """A module's dotted name: ``pkg/sub/__init__.py`` -> ``pkg.sub``, ``pkg/m.py`` -> ``pkg.m``."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules(root: Path = ROOT, packages: Iterable[str] = PACKAGES) -> dict[str, Path]:
    """Every module of ``packages`` under ``root`` by dotted name."""
    out: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            out[module_name(path, root)] = path
    return out


def _targets(node: ast.AST, module: str, is_package: bool, known: Iterable[str]) -> set[str]:
    """The project modules one import statement names."""
    names = set(known)
    out: set[str] = set()
    if isinstance(node, ast.Import):
        for alias in node.names:
            name = alias.name
            # `import a.b.c` imports a.b.c; fall back to the longest known prefix.
            while name and name not in names:
                name = name.rpartition(".")[0]
            if name:
                out.add(name)
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            package = module if is_package else module.rpartition(".")[0]
            for _ in range(node.level - 1):
                package = package.rpartition(".")[0]
            base = f"{package}.{node.module}" if node.module else package
        else:
            base = node.module or ""
        for alias in node.names:
            sub = f"{base}.{alias.name}"
            if sub in names:
                out.add(sub)
            else:
                name = base
                while name and name not in names:
                    name = name.rpartition(".")[0]
                if name:
                    out.add(name)
    return out


def import_graph(modules: Mapping[str, Path]) -> Graph:
    """Edges from each module to the project modules it imports anywhere in its source."""
    graph: Graph = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        edges: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                edges |= _targets(node, name, is_package, modules)
        edges.discard(name)
        graph[name] = edges
    return graph


def without(graph: Graph, edges: Iterable[tuple[str, str]]) -> Graph:
    """A copy of ``graph`` without ``edges``."""
    drop = set(edges)
    return {a: {b for b in targets if (a, b) not in drop} for a, targets in graph.items()}


def find_cycles(graph: Graph) -> list[list[str]]:
    """The cycles of ``graph``, each as a path that starts and ends at the same module.

    The strongly connected components of more than one module (Tarjan) hold every cycle; for
    each module of such a component, the shortest cycle through it is reported (once, starting
    at its first module in sorted order)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0

    def connect(v: str) -> None:
        nonlocal counter
        # Iterative depth-first search: (node, iterator over its successors).
        work = [(v, iter(sorted(graph.get(v, ()))))]
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        while work:
            node, successors = work[-1]
            advanced = False
            for w in successors:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                    advanced = True
                    break
                if w in on_stack:
                    low[node] = min(low[node], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    cycles: set[tuple[str, ...]] = set()
    for component in components:
        for start in component:
            cycle = _cycle_through(graph, component, start)[:-1]
            first = cycle.index(min(cycle))
            rotated = (*cycle[first:], *cycle[:first])
            cycles.add((*rotated, rotated[0]))
    return [list(c) for c in sorted(cycles)]


def _cycle_through(graph: Graph, component: list[str], start: str) -> list[str]:
    """The shortest path from ``start`` back to itself inside its component."""
    inside = set(component)
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for a in frontier:
            for b in sorted(graph.get(a, ())):
                if b not in inside:
                    continue
                if b == start:
                    path = [a]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [start, *reversed(path[:-1]), start] if a != start else [start, start]
                if b not in previous:
                    previous[b] = a
                    following.append(b)
        frontier = following
    raise AssertionError(f"no cycle through {start}")  # pragma: no cover


def layer_violations(graph: Graph) -> list[str]:
    """Edges that point against the layers, as ``a -> b``."""
    out: list[str] = []
    for a, targets in sorted(graph.items()):
        banned = FORBIDDEN.get(a.partition(".")[0], frozenset())
        out += [f"{a} -> {b}" for b in sorted(targets) if b.partition(".")[0] in banned]
    return out


def _project_graph() -> Graph:
    return import_graph(project_modules())


def test_no_import_cycles() -> None:
    cycles = find_cycles(_project_graph())
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_layers_import_one_way() -> None:
    wrong = layer_violations(_project_graph())
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


# -- the checks themselves, on tiny packages written for the test


def _write(root: Path, files: Mapping[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_a_new_cycle_is_found_with_its_path(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from pkg import b\n",
            "pkg/b.py": "def f():\n    from .c import g\n",
            "pkg/c.py": "import pkg.a\n",
            "pkg/d.py": "from pkg.a import something\n",
        },
    )
    graph = import_graph(project_modules(tmp_path, ["pkg"]))
    assert graph["pkg.a"] == {"pkg.b"}  # `from pkg import b`: the submodule
    assert graph["pkg.b"] == {"pkg.c"}  # relative, inside a function
    assert graph["pkg.d"] == {"pkg.a"}  # `from pkg.a import name`: the module
    assert find_cycles(graph) == [["pkg.a", "pkg.b", "pkg.c", "pkg.a"]]
    assert find_cycles(without(graph, {("pkg.c", "pkg.a")})) == []


def test_cycles_found_on_a_synthetic_graph() -> None:
    graph: Graph = {
        "x": {"y"},
        "y": {"z", "w"},
        "z": {"x"},
        "w": set(),
        "p": {"q"},
        "q": {"p"},
        "r": {"r2"},
        "r2": set(),
    }
    assert find_cycles(graph) == [["p", "q", "p"], ["x", "y", "z", "x"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []
    # Two cycles sharing a module (the shape of routing <-> search, routing <-> sync): both.
    shared: Graph = {"routing": {"search", "sync"}, "search": {"routing"}, "sync": {"routing"}}
    assert find_cycles(shared) == [
        ["routing", "search", "routing"],
        ["routing", "sync", "routing"],
    ]
    assert find_cycles(without(shared, {("search", "routing"), ("sync", "routing")})) == []


def test_relative_and_package_imports(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "top/__init__.py": "from top.inner import thing\n",
            "top/inner/__init__.py": "from .leaf import thing\nfrom .. import other\n",
            "top/inner/leaf.py": "thing = 1\n",
            "top/other.py": "import top.inner.leaf as leaf\n",
        },
    )
    graph = import_graph(project_modules(tmp_path, ["top"]))
    assert graph == {
        "top": {"top.inner"},
        "top.inner": {"top.inner.leaf", "top.other"},
        "top.inner.leaf": set(),
        "top.other": {"top.inner.leaf"},
    }


def test_layer_violations_are_named() -> None:
    graph: Graph = {
        "solver.routing": {"dispatch.model", "solver.problem"},
        "dispatch.daily": {"solver", "dispatch.model"},
        "api.app": {"dispatch.model", "solver.problem", "benchmarks.run"},
        "benchmarks.run": {"api.app", "solver", "dispatch.model"},
    }
    assert layer_violations(graph) == [
        "api.app -> benchmarks.run",
        "api.app -> solver.problem",
        "solver.routing -> dispatch.model",
    ]
