"""Transformations: JMESPath mappings, helper functions, grouping rows into records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from coupa_connector.operations import Item, Transformer, TransformSpec, compile_expression


def spec(mapping: dict[str, Any], **kw: Any) -> TransformSpec:
    pairs = tuple((k, compile_expression(v)) for k, v in mapping.items())
    return TransformSpec(mapping=pairs, **kw)


def one(mapping: dict[str, Any], record: dict[str, Any], **kw: Any) -> Any:
    result = Transformer(spec(mapping), **kw).one(Item(0, record, "0"))
    return result.record if result.ok else result.errors


def test_hyphenated_names_dotted_targets_and_constants() -> None:
    record = {"invoice-number": "INV-1", "supplier": {"name": "Acme"}, "total": "5"}
    out = one(
        {
            "number": "invoice-number",
            "supplier.name": "supplier.name",
            "currency.code": "'USD'",
            "lines": 3,
            "flag": True,
            "literal": "`[1, 2]`",
            "text": "concat(invoice-number, '-', supplier.name)",
        },
        record,
    )
    assert out == {
        "number": "INV-1",
        "supplier": {"name": "Acme"},
        "currency": {"code": "USD"},
        "lines": 3,
        "flag": True,
        "literal": [1, 2],
        "text": "INV-1-Acme",
    }


def test_nulls_are_left_out_unless_kept() -> None:
    assert one({"a": "missing", "b": "'x'"}, {}) == {"b": "x"}
    kept = Transformer(spec({"a": "missing"}, keep_nulls=True)).one(Item(0, {}, "0"))
    assert kept.record == {"a": None}


def test_keep_starts_from_the_source_record_without_changing_it() -> None:
    t = Transformer(spec({"name": "upper(name)", "supplier.number": "'S-9'"}, keep=True))
    source = {"name": "acme", "id": 4, "supplier": {"name": "X"}}
    assert t.one(Item(0, source, "0")).record == {
        "name": "ACME",
        "id": 4,
        "supplier": {"name": "X", "number": "S-9"},
    }
    assert source == {"name": "acme", "id": 4, "supplier": {"name": "X"}}


@pytest.mark.parametrize(
    ("expr", "record", "expected"),
    [
        ("default(x, 'y')", {}, "y"),
        ("default(x, 'y')", {"x": ""}, "y"),
        ("default(x, 'y')", {"x": "z"}, "z"),
        ("coalesce(a, b, 'c')", {"b": "B"}, "B"),
        ("if(x == 'a', 'yes', 'no')", {"x": "a"}, "yes"),
        ("if(x, 'yes', 'no')", {"x": []}, "no"),
        ("format_date(d, '%d.%m.%Y')", {"d": "2026-05-01T10:00:00Z"}, "01.05.2026"),
        ("format_date(d, '%Y-%m-%d')", {"d": "2026-05-01"}, "2026-05-01"),
        ("parse_date(d, '%d/%m/%Y')", {"d": "02/01/2026"}, "2026-01-02"),
        ("parse_date(d, '%d/%m/%Y %H:%M')", {"d": "02/01/2026 13:05"}, "2026-01-02T13:05:00"),
        ("format_number(n, `2`)", {"n": "3.455"}, "3.46"),
        ("format_number(n, `0`)", {"n": 2.5}, "3"),
        ("to_decimal(n)", {"n": "1,234.50"}, "1234.50"),
        ("to_decimal(n)", {"n": 7}, "7"),
        ("to_integer(n)", {"n": "42.0"}, 42),
        ("join(', ', names)", {"names": ["a", "b"]}, "a, b"),
        ("upper(trim(s))", {"s": "  ab "}, "AB"),
        ("replace(s, '-', '')", {"s": "a-b-c"}, "abc"),
        ("split(s, ';')", {"s": "a;b"}, ["a", "b"]),
        ("substring(s, `1`, `2`)", {"s": "abcd"}, "bc"),
        ("length(invoice-lines)", {"invoice-lines": [1, 2, 3]}, 3),
        ("invoice-lines[].price", {"invoice-lines": [{"price": "1"}, {"price": "2"}]}, ["1", "2"]),
    ],
)
def test_helper_functions(expr: str, record: dict[str, Any], expected: Any) -> None:
    assert one({"out": expr}, record) == {"out": expected}


def test_if_evaluates_only_the_branch_it_picks() -> None:
    check = "if(contains(['active', 'inactive'], s), s, fail('status must be active or inactive'))"
    mapping = {"status": check}
    assert one(mapping, {"s": "active"}) == {"status": "active"}
    assert one(mapping, {"s": "enabled"}) == [("status", "status must be active or inactive")]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("`0`", "yes"),
        ("`0.0`", "yes"),
        ("qty", "yes"),
        ("'0'", "yes"),
        ("`false`", "no"),
        ("`null`", "no"),
        ("''", "no"),
        ("`[]`", "no"),
        ("`{}`", "no"),
        ("missing", "no"),
    ],
)
def test_if_uses_jmespath_truthiness(condition: str, expected: str) -> None:
    # 0 is true in JMESPath, though 0 == False in Python.
    assert one({"out": f"if({condition}, 'yes', 'no')"}, {"qty": 0}) == {"out": expected}


def test_if_function_and_interpreter_share_truthiness() -> None:
    from coupa_connector.operations._functions import TransformFunctions

    functions = TransformFunctions(Path.cwd())
    cases: list[tuple[Any, str]] = [
        (0, "yes"),
        (0.0, "yes"),
        ("x", "yes"),
        ([0], "yes"),
        ({"a": 0}, "yes"),
        (False, "no"),
        (None, "no"),
        ("", "no"),
        ([], "no"),
        ({}, "no"),
    ]
    for value, expected in cases:
        assert functions.call_function("if", [value, "yes", "no"]) == expected, value
        assert one({"out": "if(v, 'yes', 'no')"}, {"v": value}) == {"out": expected}, value


def test_errors_name_the_field_and_the_reason() -> None:
    errors = one(
        {
            "total": "format_number(total, `2`)",
            "date": "format_date(d, '%Y')",
            "count": "to_integer(n)",
            "ok": "'fine'",
            "typed": "upper(n)",
        },
        {"total": "abc", "d": "yesterday", "n": "2.5"},
    )
    assert errors == [
        ("total", "'abc' is not a number"),
        ("date", "'yesterday' is not an ISO 8601 date or datetime"),
        ("count", "'2.5' is not a whole number"),
    ]


def test_type_errors_from_jmespath_become_rejections() -> None:
    errors = one({"x": "upper(n)"}, {"n": 5})
    assert errors == [("x", "upper() got number 5, expected string or null")]


def test_bad_expressions_fail_at_compile_time() -> None:
    with pytest.raises(ValueError, match=r"unknown function nope\(\)"):
        compile_expression("nope(x)")
    with pytest.raises(ValueError, match="bad expression"):
        compile_expression("a[")
    with pytest.raises(ValueError, match="empty expression"):
        compile_expression("  ")


def test_lookup_csv_reads_the_file_once(tmp_path: Path) -> None:
    table = tmp_path / "cc.csv"
    table.write_text("dept,cost_center\nIT,CC-100\nHR,CC-200\n")
    t = Transformer(
        spec({"cc": "lookup_csv('cc.csv', 'dept', 'cost_center', dept)"}), base_dir=tmp_path
    )
    assert t.one(Item(0, {"dept": "IT"}, "0")).record == {"cc": "CC-100"}
    table.write_text("dept,cost_center\nIT,CHANGED\n")  # cached: not read again
    assert t.one(Item(1, {"dept": "IT"}, "1")).record == {"cc": "CC-100"}
    assert t.one(Item(2, {"dept": "XX"}, "2")).record == {}
    bad = Transformer(
        spec({"cc": "lookup_csv('cc.csv', 'nope', 'cost_center', dept)"}), base_dir=tmp_path
    )
    assert bad.one(Item(0, {"dept": "IT"}, "0")).errors == [
        ("cc", "lookup_csv: cc.csv has no column 'nope' (columns: dept, cost_center)")
    ]


def test_lookup_coupa_asks_once_per_key() -> None:
    calls: list[tuple[str, str, str, str]] = []

    def lookup(obj: str, field: str, key: str, ret: str) -> Any:
        calls.append((obj, field, key, ret))
        return {"SUP-1": 11}.get(key)

    t = Transformer(
        spec({"supplier.id": "lookup_coupa('suppliers', 'number', num, 'id')"}), coupa_lookup=lookup
    )
    for n, num in enumerate(["SUP-1", "SUP-1", "SUP-2"]):
        t.one(Item(n, {"num": num}, str(n)))
    assert calls == [
        ("suppliers", "number", "SUP-1", "id"),
        ("suppliers", "number", "SUP-2", "id"),
    ]
    no_conn = Transformer(spec({"x": "lookup_coupa('suppliers', 'number', num, 'id')"}))
    assert no_conn.one(Item(0, {"num": "A"}, "0")).errors == [
        ("x", "lookup_coupa needs a Coupa connection for this operation")
    ]


def grouped() -> Transformer:
    return Transformer(
        TransformSpec(
            mapping=(
                ("invoice-number", compile_expression("inv")),
                ("supplier.number", compile_expression("supplier")),
            ),
            group_by=(compile_expression("inv"),),
            lines_field="invoice-lines",
            lines_mapping=(
                ("line-num", compile_expression("to_integer(line)")),
                ("price", compile_expression("to_decimal(price)")),
            ),
        )
    )


def rows(*data: dict[str, Any]) -> list[Item]:
    return [Item(i, r, str(i)) for i, r in enumerate(data)]


def test_group_by_builds_records_with_lines() -> None:
    out = list(
        grouped().apply(
            rows(
                {"inv": "A", "supplier": "S1", "line": "1", "price": "10"},
                {"inv": "A", "supplier": "S1", "line": "2", "price": "5.5"},
                {"inv": "B", "supplier": "S2", "line": "1", "price": "1"},
            )
        )
    )
    assert [t.record for t in out] == [
        {
            "invoice-number": "A",
            "supplier": {"number": "S1"},
            "invoice-lines": [{"line-num": 1, "price": "10"}, {"line-num": 2, "price": "5.5"}],
        },
        {
            "invoice-number": "B",
            "supplier": {"number": "S2"},
            "invoice-lines": [{"line-num": 1, "price": "1"}],
        },
    ]
    assert [[i.position for i in t.items] for t in out] == [[0, 1], [2]]


def test_group_errors_name_the_line_and_scattered_rows_are_rejected() -> None:
    out = list(
        grouped().apply(
            rows(
                {"inv": "A", "line": "1", "price": "x"},
                {"inv": "B", "line": "1", "price": "1"},
                {"inv": "A", "line": "2", "price": "1"},
                {"line": "9", "price": "1"},
            )
        )
    )
    assert out[0].errors == [("invoice-lines[0].price", "'x' is not a number")]
    assert out[1].ok
    assert out[2].errors == [
        ("group_by", "rows for group A are not together; sort the input by the group key")
    ]
    assert out[3].errors == [("group_by", "the group key is empty")]
    assert sum(len(t.items) for t in out) == 4  # every row accounted for


def test_unreadable_items_are_rejected_not_transformed() -> None:
    bad = Item(3, {"_raw": "x,y"}, "3", problem="bad CSV row")
    assert Transformer(spec({"a": "a"})).one(bad).errors == [("record", "bad CSV row")]
    assert next(iter(grouped().apply([bad]))).errors == [("record", "bad CSV row")]
