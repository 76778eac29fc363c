"""flatten/unflatten (shared with writes and operations) and the query output files."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from coupa_connector._records import column_sort_key, flatten, unflatten
from coupa_connector.catalog import load_catalog
from coupa_connector.client._wire import decode_xml
from coupa_connector.operations.files._output import RecordWriter

RECORD: dict[str, Any] = {
    "id": 12,
    "invoice-number": "INV-12",
    "exported": False,
    "gross-total": "10.50",
    "comments": None,
    "supplier": {"id": 3, "name": "Acme, Inc."},
    "invoice-lines": [
        {"line-num": 1, "price": "1.00", "account": {"code": "A-1"}},
        {"line-num": 2, "price": "2.00", "account": {"code": "A-2"}},
    ],
    "custom-fields": {"cf-x": "y"},
    "attachments": [],
}


def test_flatten_uses_dotted_columns_and_indexes() -> None:
    assert flatten(RECORD) == {
        "id": "12",
        "invoice-number": "INV-12",
        "exported": "false",
        "gross-total": "10.50",
        "comments": "",
        "supplier.id": "3",
        "supplier.name": "Acme, Inc.",
        "invoice-lines[0].line-num": "1",
        "invoice-lines[0].price": "1.00",
        "invoice-lines[0].account.code": "A-1",
        "invoice-lines[1].line-num": "2",
        "invoice-lines[1].price": "2.00",
        "invoice-lines[1].account.code": "A-2",
        "custom-fields.cf-x": "y",
    }


def _as_text(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _as_text(v) for k, v in value.items() if v != []}
    if isinstance(value, list):
        return [_as_text(v) for v in value]
    return flatten({"v": value})["v"]


def test_round_trip() -> None:
    assert unflatten(flatten(RECORD)) == _as_text(RECORD)
    back = unflatten(flatten(RECORD), empty_as_none=True)
    assert back["comments"] is None and back["invoice-lines"][1]["account"] == {"code": "A-2"}


def test_unflatten_any_column_order_and_sparse_indexes() -> None:
    row = {"lines[10].a": "x", "lines[2].a": "y", "supplier.name": "S", "id": "1"}
    assert unflatten(row) == {
        "lines": [{"a": "y"}, {"a": "x"}],
        "supplier": {"name": "S"},
        "id": "1",
    }
    assert sorted(row, key=column_sort_key)[:2] == ["id", "lines[2].a"]


@pytest.mark.parametrize(
    "row", [{"a": "1", "a.b": "2"}, {"a[0]": "1", "a.b": "2"}, {"[0]": "x"}, {"a..b": "1"}]
)
def test_unflatten_refuses_conflicting_or_malformed_columns(row: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="column"):
        unflatten(row)


def test_unflatten_an_object_some_rows_lack() -> None:
    # A CSV of records with and without an object holds both its column and its children's.
    columns = {"id": "1", "contract": "", "contract.id": "", "contract.name": ""}
    assert unflatten(columns, empty_as_none=True) == {"id": "1", "contract": None}
    assert unflatten(columns) == {"id": "1", "contract": ""}
    filled = {"id": "2", "contract": "", "contract.id": "7", "contract.name": ""}
    assert unflatten(filled, empty_as_none=True) == {
        "id": "2",
        "contract": {"id": "7", "name": None},
    }
    lines = {"lines[0].po": "", "lines[0].po.id": "3", "lines[1].po": "", "lines[1].po.id": ""}
    assert unflatten(lines, empty_as_none=True) == {"lines": [{"po": {"id": "3"}}, {"po": None}]}


def write(tmp_path: Path, fmt: str, records: list[dict[str, Any]]) -> Path:
    obj = load_catalog().get("invoices")
    target = tmp_path / f"out.{fmt}"
    writer = RecordWriter(target, fmt, obj, load_catalog())
    writer.write(records[:1])
    writer.write(records[1:])
    writer.commit()
    return target


def test_each_output_format(tmp_path: Path) -> None:
    second = {**RECORD, "id": 13, "invoice-lines": RECORD["invoice-lines"] * 2}
    records = [RECORD, second]
    lines = write(tmp_path, "jsonl", records).read_text().splitlines()
    assert [json.loads(line) for line in lines] == records
    assert json.loads(write(tmp_path, "json", records).read_text()) == records
    rows = list(csv.DictReader(io.StringIO(write(tmp_path, "csv", records).read_text())))
    assert [unflatten(r, empty_as_none=True)["id"] for r in rows] == ["12", "13"]
    assert (
        rows[1]["invoice-lines[3].account.code"] == "A-2"
        and rows[0]["invoice-lines[3].account.code"] == ""
    )
    assert rows[0]["supplier.name"] == "Acme, Inc."
    catalog = load_catalog()
    xml = write(tmp_path, "xml", records).read_bytes()
    assert decode_xml(xml, catalog.get("invoices"), catalog) == records
    assert json.loads(write(tmp_path, "json", []).read_text()) == []


def test_abort_keeps_the_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "keep.jsonl"
    target.write_text("previous\n")
    writer = RecordWriter(target, "jsonl", load_catalog().get("invoices"))
    writer.write([RECORD])
    writer.abort()
    assert target.read_text() == "previous\n"
    assert list(tmp_path.iterdir()) == [target]
