"""The layers of ../shared/ARCHITECTURE.md and no import cycle, read off the import graph.

Every ``import`` and ``from ... import`` in ``src/coupa_connector`` counts: module level,
deferred inside functions, and under ``TYPE_CHECKING`` alike (the source is parsed, nothing
is imported). ``from package import name`` is an edge to ``package.name`` when that is a
module, else to the package.

One change to the drawing: ``catalog/`` sits below ``client/``, not above it. The wire codec
decodes Coupa's XML by the catalog's field types and the requester finds an answer's object
by its path, while the catalog (facts about Coupa, as data) needs nothing of HTTP; the
sandbox sharing ``catalog/`` says the same.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

import coupa_connector

ROOT = Path(coupa_connector.__file__).parent
PACKAGE = "coupa_connector"

# Lowest first; each area imports only areas of lower layers (and itself).
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors",),
    ("_bridge", "_records", "_csv_formulas"),  # helpers that know nothing of Coupa
    ("catalog",),
    ("client",),
    ("activities",),
    ("_connection",),
    ("operations",),
    ("__init__",),  # the public API: coupa_connector's own names
    ("integrations", "console"),
    ("cli", "examples"),
    ("__main__",),  # python -m coupa_connector: the command line
)

# The sandbox is a server beside the client side: it shares the facts about Coupa and the
# errors, nothing else; only what starts it (the runner's embedded sandbox, the console,
# the command line) imports it.
SANDBOX = "sandbox"
SANDBOX_MAY_IMPORT = frozenset({"catalog", "errors"})
SANDBOX_IMPORTED_BY = frozenset({"operations", "console", "cli"})

# No import cycle is tolerated: the test fails when any appears.
KNOWN_CYCLES: frozenset[frozenset[str]] = frozenset()

LEVEL = {area: level for level, areas in enumerate(LAYERS) for area in areas}


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _resolve(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str, path: Path) -> Iterable[str]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE:
                    target = _resolve(alias.name)
                    if target:
                        yield target
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*up, base] if base else up)
            if base.split(".")[0] != PACKAGE:
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                target = sub if sub in MODULES else _resolve(base)
                if target:
                    yield target


def _graph() -> dict[str, set[str]]:
    return {
        module: {t for t in _imports(module, path) if t != module}
        for module, path in MODULES.items()
    }


GRAPH = _graph()


def _short(module: str) -> str:
    return module.removeprefix(PACKAGE + ".") if module != PACKAGE else "__init__"


def _area(module: str) -> str:
    return _short(module).split(".")[0]


def violations(edges: Iterable[tuple[str, str]]) -> list[str]:
    """Each import that runs against the layers, as ``a -> b: why``."""
    found: list[str] = []
    for source, target in edges:
        a, b = _area(source), _area(target)
        if a == b:
            continue
        edge = f"{_short(source)} -> {_short(target)}"
        if a == SANDBOX:
            if b not in SANDBOX_MAY_IMPORT:
                found.append(f"{edge}: the sandbox imports only {sorted(SANDBOX_MAY_IMPORT)}")
            continue
        if b == SANDBOX:
            if a not in SANDBOX_IMPORTED_BY:
                found.append(f"{edge}: only {sorted(SANDBOX_IMPORTED_BY)} start the sandbox")
            continue
        if a not in LEVEL or b not in LEVEL:
            found.append(f"{edge}: {a if a not in LEVEL else b} has no place in LAYERS")
        elif LEVEL[b] >= LEVEL[a]:
            found.append(f"{edge}: {a} may import only layers below it")
    return found


def cycles(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """The strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: set[frozenset[str]] = set()
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group: set[str] = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                out.add(frozenset(_short(m) for m in group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_graph_sees_deferred_and_type_checking_imports() -> None:
    # Guards the guard: a walker that missed imports would pass everything.
    assert "coupa_connector.activities.query" in GRAPH["coupa_connector._connection"]
    # deferred (inside a function) and TYPE_CHECKING-only imports are edges too
    assert "coupa_connector._connection" in GRAPH["coupa_connector.operations.endpoints.coupa"]
    assert "coupa_connector.client._requester" in GRAPH["coupa_connector.client._check"]


def test_the_checker_refuses_imports_against_the_layers() -> None:
    assert violations([("coupa_connector.client._requester", "coupa_connector.activities")])
    assert violations([("coupa_connector.sandbox._app", "coupa_connector.client._wire")])
    assert violations([("coupa_connector.activities.query", "coupa_connector.sandbox")])
    assert violations([("coupa_connector.integrations.dlt", "coupa_connector.console")])
    assert not violations([("coupa_connector.cli._main", "coupa_connector.operations")])


def test_no_import_runs_against_the_layers() -> None:
    edges = [(a, b) for a, targets in GRAPH.items() for b in targets]
    assert violations(edges) == []


@pytest.mark.parametrize("above", ["activities", "operations", "cli", "_connection"])
def test_the_client_imports_nothing_above_it(above: str) -> None:
    offending = sorted(
        f"{_short(a)} -> {_short(b)}"
        for a, targets in GRAPH.items()
        if _area(a) == "client"
        for b in targets
        if _area(b) == above
    )
    assert offending == []


def test_no_import_cycle_but_the_known_ones() -> None:
    found = cycles(GRAPH)
    new = found - KNOWN_CYCLES
    gone = KNOWN_CYCLES - found
    assert not new, f"new import cycles: {[sorted(c) for c in new]}"
    assert not gone, f"cycles broken (take them off KNOWN_CYCLES): {[sorted(c) for c in gone]}"


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"coupa_connector.a": {"coupa_connector.b"}, "coupa_connector.b": {"coupa_connector.a"}}
    assert cycles(graph) == {frozenset({"a", "b"})}
