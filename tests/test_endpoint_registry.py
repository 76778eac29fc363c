"""Endpoint types are a registry: a new type is one module and one entry, and the runner
moves its records, checks its options and names it in its scope without knowing it."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import _memory_endpoint
from coupa_connector.operations import (
    REGISTRY,
    OperationFileError,
    load_operation_file,
    read_records,
    run_operations,
)


@pytest.fixture
def memory_type() -> Iterator[None]:
    REGISTRY.register("memory", "_memory_endpoint")
    _memory_endpoint.RECEIVED.clear()
    try:
        yield
    finally:
        REGISTRY.unregister("memory")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ops.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_a_registered_type_is_a_source_and_a_target_of_a_run(
    memory_type: None, tmp_path: Path
) -> None:
    ops = _write(
        tmp_path,
        f"""
        operations:
          into_file:
            source: {{type: memory, records: [{{n: 1}}, {{n: 2}}]}}
            transform: {{mapping: {{number: n}}}}
            target: {{type: file, path: "{tmp_path}/out.jsonl"}}
            on_success: back
          back:
            source: {{type: file, path: "{tmp_path}/out.jsonl"}}
            target: {{type: memory}}
        """,
    )
    results = run_operations(ops, log_db=tmp_path / "log.sqlite")
    assert [(r.operation, r.status, r.counts.written) for r in results] == [
        ("into_file", "success", 2),
        ("back", "success", 2),
    ]
    assert list(read_records(tmp_path / "out.jsonl")) == [{"number": 1}, {"number": 2}]
    assert _memory_endpoint.RECEIVED == [{"number": 1}, {"number": 2}]
    assert results[1].outputs == ["memory"]


def test_a_registered_type_checks_its_own_options_and_roles(
    memory_type: None, tmp_path: Path
) -> None:
    ops = _write(
        tmp_path,
        """
        operations:
          bad:
            source: {type: memory, records: 3, colour: red}
            target: {type: memory}
        """,
    )
    with pytest.raises(OperationFileError) as caught:
        load_operation_file(ops)
    text = str(caught.value)
    assert "records must be a list" in text
    assert "has no option 'colour'" in text
    assert "memory" in REGISTRY.for_role("source") and "memory" in REGISTRY.for_role("target")


def test_an_unknown_type_lists_the_registered_ones_for_its_role(tmp_path: Path) -> None:
    ops = _write(
        tmp_path,
        """
        operations:
          bad:
            source: {type: ftp, path: x}
            target: {type: coupa.query, object: invoices}
        """,
    )
    with pytest.raises(OperationFileError) as caught:
        load_operation_file(ops)
    text = str(caught.value)
    assert "use one of coupa.query, file, sql" in text
    assert "coupa.query cannot be a target" in text


def test_the_runner_asks_endpoints_for_capabilities_never_for_their_type() -> None:
    import ast
    import inspect

    from coupa_connector.operations import _runner
    from coupa_connector.operations.endpoints import coupa, file, sql

    tree = ast.parse(inspect.getsource(_runner))
    names = {str(n.value) for n in ast.walk(tree) if isinstance(n, ast.Constant)}
    assert not names & set(REGISTRY), "the runner names an endpoint type"
    classes = {
        name
        for module in (coupa, file, sql)
        for name, value in vars(module).items()
        if isinstance(value, type) and value.__module__ == module.__name__
    }
    checked = {
        ast.unparse(arg)
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and ast.unparse(n.func) == "isinstance"
        for arg in n.args[1:]
    }
    assert not {c for c in checked for cls in classes if cls in c}, checked
    compared = [
        ast.unparse(n)
        for n in ast.walk(tree)
        if isinstance(n, ast.Compare) and ".type" in ast.unparse(n.left)
    ]
    assert compared == []
