"""Hostile operation files: alias bombs, deep nesting, unknown tags and bad bytes end in a
clear error with the line, quickly and in little memory."""

from __future__ import annotations

import textwrap
import time
import tracemalloc
from pathlib import Path

import pytest

from _hostile_support import coupa
from coupa_connector.operations import OperationFileError, load_operation_file
from coupa_connector.operations.opfile._yaml import MAX_YAML_DEPTH, MAX_YAML_VALUES, load_yaml


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """``levels`` levels of ``width`` aliases each: width**levels values once expanded."""
    lines = [f"a0: &a0 [{', '.join(['x'] * width)}]"]
    for level in range(1, levels):
        lines.append(f"a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * width)}]")
    return "\n".join(lines) + "\noperations: {}\n"


def problems(text: str | bytes) -> list[tuple[int | None, str]]:
    with pytest.raises(OperationFileError) as info:
        load_yaml(text, "ops.yaml")
    return [(p.line, p.message) for p in info.value.problems]


def test_alias_bomb_stops_at_the_value_bound_quickly_and_small() -> None:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        [(line, message)] = problems(alias_bomb())
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The 6th level is the first whose expansion (9**6 values) passes the bound.
    assert line == 6
    assert f"more than {MAX_YAML_VALUES:,} values" in message
    assert time.perf_counter() - started < 10
    assert peak < 50 * 1024 * 1024


def test_coupa_validate_on_the_alias_bomb_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "bomb.yaml").write_text(alias_bomb())
    started = time.perf_counter()
    done = coupa("validate", "bomb.yaml", cwd=tmp_path, timeout=60)
    assert done.returncode == 2
    assert "bomb.yaml:6:" in done.stderr + done.stdout
    assert time.perf_counter() - started < 60


def test_an_alias_is_built_once_and_shared() -> None:
    doc = load_yaml("a: &x {k: v, n: [1, 2]}\nb: *x\nc: {<<: *x, extra: 1}\n", "ops.yaml")
    assert doc["a"] is doc["b"]
    assert doc["c"] == {"k": "v", "n": [1, 2], "extra": 1}


def test_aliases_within_the_bound_load() -> None:
    doc = load_yaml(alias_bomb(levels=4, width=9), "ops.yaml")  # 6,561 values expanded
    assert len(doc["a3"]) == 9 and doc["a3"][0][0][0][0] == "x"


@pytest.mark.parametrize(
    "text",
    [
        "operations: " + "[" * 10_000 + "]" * 10_000 + "\n",
        "operations: " + "{a: " * 10_000 + "1" + "}" * 10_000 + "\n",
        "operations:\n" + "".join(" " * (i + 1) + f"k{i}:\n" for i in range(200)) + "  x: 1\n",
    ],
    ids=["flow-lists", "flow-mappings", "block-mappings"],
)
def test_deep_nesting_is_an_error_with_the_line(text: str) -> None:
    [(line, message)] = problems(text)
    assert line is not None
    assert f"more than {MAX_YAML_DEPTH} levels deep" in message


def test_aliases_count_toward_the_depth() -> None:
    text = "a0: &a0 [x]\n" + "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, 60))
    [(line, message)] = problems(text)
    # Levels: the document's mapping, then a48's list holding a47's down to a0's "x": 51
    # levels, on line 49.
    assert line == MAX_YAML_DEPTH - 1
    assert "levels deep" in message


def test_an_alias_inside_its_own_node_is_an_error() -> None:
    assert problems("a: &a [1, *a]\n") == [(1, "an alias used inside the node it names")]


@pytest.mark.parametrize(
    ("text", "line", "tag"),
    [
        ("operations:\n  x: !!python/object:os.system {}\n", 2, "!!python/object:os.system"),
        ("operations:\n  x: !!python/object/apply:os.system [ls]\n", 2, "!!python/object/apply"),
        ("operations:\n  x: !custom foo\n", 2, "!custom"),
        ("operations:\n  x:\n    - !!set {a, b}\n", 3, "!!set"),
        ("operations: !!omap [a: 1]\n", 1, "!!omap"),
        ("operations:\n  x: !!binary aGVsbG8=\n", 2, "!!binary"),
    ],
)
def test_unknown_tags_are_an_error_with_the_line(text: str, line: int, tag: str) -> None:
    [(found_line, message)] = problems(text)
    assert found_line == line
    assert message.startswith(f"unknown tag {tag}")


def test_plain_tags_still_load() -> None:
    doc = load_yaml("a: !!str 12\nb: !!int '7'\nc: 2024-01-02\nd: ~\n", "ops.yaml")
    assert doc == {"a": "12", "b": 7, "c": __import__("datetime").date(2024, 1, 2), "d": None}


def test_bytes_that_are_not_utf8_name_the_line_and_offset(tmp_path: Path) -> None:
    path = tmp_path / "ops.yaml"
    path.write_bytes(b"operations:\n  x: 'caf\xe9'\n")
    with pytest.raises(OperationFileError) as info:
        load_operation_file(path)
    [problem] = info.value.problems
    assert problem.line == 2
    assert "not UTF-8: byte 0xE9 at byte offset 21" in problem.message


def test_utf16_operation_file_is_named_as_such() -> None:
    [(line, message)] = problems("operations: {}\n".encode("utf-16"))
    assert line == 1
    assert "UTF-16" in message and "not UTF-8" in message


def test_a_nul_character_is_an_error_with_its_line() -> None:
    assert problems("operations:\n  x: 'a\x00'\n") == [
        (2, "character #x0000 is not allowed in YAML")
    ]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"operations:\n  x: !!python/object:os.system {}\n", "unknown tag"),
        (("operations: " + "[" * 5000 + "]" * 5000 + "\n").encode(), "levels deep"),
        (b"operations:\n  x: '\xff'\n", "not UTF-8"),
    ],
    ids=["tag", "deep", "not-utf8"],
)
def test_coupa_validate_and_run_report_them_without_a_traceback(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    (tmp_path / "ops.yaml").write_bytes(content)
    for command in (["validate"], ["run", "--log-db", str(tmp_path / "log.db")]):
        done = coupa(*command, "ops.yaml", cwd=tmp_path)
        assert done.returncode == 2
        output = done.stderr + done.stdout
        assert "ops.yaml:" in output and reason in output


def test_an_ordinary_operation_file_still_validates(tmp_path: Path) -> None:
    path = tmp_path / "ops.yaml"
    path.write_text(
        textwrap.dedent(
            """
            operations:
              copy:
                source: {type: &kind file, path: in.csv}
                target: {type: *kind, path: out.jsonl}
            """
        )
    )
    opfile = load_operation_file(path)
    assert opfile.operations["copy"].source.options["path"] == "in.csv"
    assert opfile.operations["copy"].target.type == "file"
