"""The sandbox's imports: only the catalog and the errors of the project, and no circle
among its own modules (the store takes its seeder as a parameter)."""

from __future__ import annotations

import ast
from pathlib import Path

import coupa_connector.sandbox

PACKAGE = Path(coupa_connector.sandbox.__file__).resolve().parent
PREFIX = "coupa_connector."


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith(PREFIX)}


GRAPH = {_module(p): _imports(p) for p in PACKAGE.rglob("*.py")}


def test_the_sandbox_imports_only_the_catalog_and_the_errors() -> None:
    allowed = ("coupa_connector.sandbox", "coupa_connector.catalog", "coupa_connector.errors")
    wrong = {
        (module, name)
        for module, names in GRAPH.items()
        for name in names
        if not any(name == a or name.startswith(a + ".") for a in allowed)
    }
    assert not wrong


def test_no_import_circle_among_the_sandbox_modules() -> None:
    edges = {m: {n for n in names if n in GRAPH and n != m} for m, names in GRAPH.items()}
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for module in sorted(edges):
        if module not in state:
            cycle = visit(module)
            assert cycle is None, " -> ".join(cycle)


def test_the_store_does_not_know_the_seed() -> None:
    assert not any("seed" in name for name in GRAPH["coupa_connector.sandbox._store"])
    assert "coupa_connector.sandbox._store" in GRAPH["coupa_connector.sandbox.seed._base"]
