"""The package's modules import each other without cycles where a cycle has been broken: gapbench.graphs (the
dataset kinds' registry, variant names, benchmark cards, the store) and gapbench.train. Imports are read from the
source with ``ast`` (module-level, function-level and TYPE_CHECKING imports alike), so a cycle hidden behind a
deferred import counts too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__")


def import_graph() -> dict[str, set[str]]:
    """Module -> the gapbench modules it imports anywhere in its source (``from pkg import mod`` counts mod)."""
    modules = {module_name(p): p for p in SRC.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                deps.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
                deps.add(base)
                deps.update(f"{base}.{a.name}" for a in node.names)
        graph[name] = {d for d in deps if d in modules and d != name}
    return graph


def cycles(graph: dict[str, set[str]], prefix: str) -> list[list[str]]:
    """The strongly connected components of more than one module among the modules under ``prefix`` (Tarjan)."""
    nodes = {m: {d for d in ds if d.startswith(prefix)} for m, ds in graph.items() if m.startswith(prefix)}
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(nodes[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_cycle():
    graph = {"p.a": {"p.b"}, "p.b": {"p.c"}, "p.c": {"p.a"}, "p.d": {"p.a"}, "q.x": {"q.x"}}
    assert cycles(graph, "p.") == [["p.a", "p.b", "p.c"]]


@pytest.mark.parametrize("package", ["gapbench.graphs.", "gapbench.train.", "gapbench.models.", "gapbench.tables."])
def test_no_import_cycle_inside(package):
    assert cycles(import_graph(), package) == []
