"""Record files: readers and writers for CSV, JSONL, JSON and Coupa XML."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from coupa_connector.operations import (
    BadRecord,
    RecordFileError,
    RecordWriter,
    expand_path,
    guess_format,
    open_writer,
    read_records,
)

INVOICE = {
    "id": 7,
    "invoice-number": "INV-1",
    "supplier": {"id": 3, "name": "Acme, Inc."},
    "exported": False,
    "invoice-lines": [
        {"line-num": 1, "price": "10.50", "description": 'Toner "XL"'},
        {"line-num": 2, "price": "3.00", "description": "Paper\nA4"},
    ],
}


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("fmt", ["jsonl", "json"])
def test_json_formats_round_trip_nested_records(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"out.{fmt}"
    with open_writer(path) as writer:
        writer.write(INVOICE)
        writer.write({"id": 8, "amount": Decimal("1.20"), "at": datetime(2026, 1, 2, 3, 4, 5)})
    records = list(read_records(path))
    assert records[0] == INVOICE
    assert records[1] == {"id": 8, "amount": "1.20", "at": "2026-01-02T03:04:05"}
    assert writer.count == 2


def test_csv_round_trip_flattens_and_unflattens(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    with open_writer(path) as writer:
        writer.write(INVOICE)
        writer.write({"id": 9, "invoice-number": "INV-2"})
    header = path.read_text().splitlines()[0].split(",")
    assert header[:3] == ["id", "invoice-number", "supplier.id"]
    assert "invoice-lines[1].description" in header
    first, second = list(read_records(path))
    # CSV has no types: values come back as text, empty cells are absent.
    assert first["supplier"] == {"id": "3", "name": "Acme, Inc."}
    assert first["invoice-lines"][1] == {
        "line-num": "2",
        "price": "3.00",
        "description": "Paper\nA4",
    }
    assert second == {"id": "9", "invoice-number": "INV-2"}


def test_csv_reader_reports_bad_rows_and_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("\ufeffnumber,name\nS-1,Acme\nS-2,Too,Many\n\nS-3,Globex\n", encoding="utf-8")
    bad: list[BadRecord] = []
    records = list(read_records(path, on_bad=bad.append))
    assert records == [{"number": "S-1", "name": "Acme"}, {"number": "S-3", "name": "Globex"}]
    assert len(bad) == 1
    assert bad[0].position == 1 and bad[0].line == 3
    assert "3 cells but 2 header columns" in bad[0].reason
    assert bad[0].raw == "S-2,Too,Many"
    with pytest.raises(RecordFileError, match=r"in\.csv:3: 3 cells"):
        list(read_records(path))


def test_csv_value_under_a_column_without_a_name_is_rejected_not_dropped(
    tmp_path: Path,
) -> None:
    path = tmp_path / "blank.csv"
    path.write_text("name,,number,\nA,,S-1,\nB,lost?,S-2,\n")
    bad: list[BadRecord] = []
    assert list(read_records(path, on_bad=bad.append)) == [{"name": "A", "number": "S-1"}]
    (one,) = bad
    assert one.line == 3 and one.raw == "B,lost?,S-2,"
    assert one.reason == "a value in column 2, which has no name"


def test_csv_quote_left_open_is_one_rejected_row_with_its_text(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text('name,number\nQ0,Q-0\nQ1,"Q-1\nQ2,Q-2\nQ3,Q-3\n')
    bad: list[BadRecord] = []
    assert list(read_records(path, on_bad=bad.append)) == [{"name": "Q0", "number": "Q-0"}]
    (one,) = bad
    assert one.position == 1 and one.line == 3
    assert one.raw == 'Q1,"Q-1\nQ2,Q-2\nQ3,Q-3'
    assert "unexpected end of data" in one.reason and "lines 3 to 5" in one.reason


def test_csv_unparseable_row_keeps_its_text_and_reading_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text('name,number\nA,"S-1"x\nB,S-2\n')
    bad: list[BadRecord] = []
    assert list(read_records(path, on_bad=bad.append)) == [{"name": "B", "number": "S-2"}]
    assert [(b.position, b.line, b.raw) for b in bad] == [(0, 2, 'A,"S-1"x')]


def test_csv_cells_larger_than_128_kb_are_read(tmp_path: Path) -> None:
    text = "x" * 300_000
    path = tmp_path / "big.csv"
    path.write_text(f'name,description\nBig,"{text}"\n')
    assert list(read_records(path)) == [{"name": "Big", "description": text}]


def test_csv_duplicate_header_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("a,b,a\n1,2,3\n")
    with pytest.raises(RecordFileError, match="duplicate columns: a"):
        list(read_records(path))


def test_jsonl_bad_line_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"a": 1}\n\n{"a": \n[1, 2]\n{"a": 4}\n')
    bad: list[BadRecord] = []
    assert list(read_records(path, on_bad=bad.append)) == [{"a": 1}, {"a": 4}]
    assert [(b.line, b.position) for b in bad] == [(3, 1), (4, 2)]
    assert "JSON object" in bad[1].reason
    with pytest.raises(RecordFileError, match=r"in\.jsonl:3: bad JSON"):
        list(read_records(path))


def test_json_array_streams_across_chunk_boundaries(tmp_path: Path) -> None:
    records = [{"id": i, "text": "x" * 500, "nested": {"list": [i, i + 1]}} for i in range(400)]
    path = tmp_path / "big.json"
    path.write_text(json.dumps(records, indent=1))
    assert path.stat().st_size > 3 * 64 * 1024
    assert list(read_records(path)) == records


def test_json_single_object_and_errors(tmp_path: Path) -> None:
    one = tmp_path / "one.json"
    one.write_text('{"id": 1}')
    assert list(read_records(one)) == [{"id": 1}]
    scalars = tmp_path / "scalars.json"
    scalars.write_text("[1, 2]")
    with pytest.raises(RecordFileError, match="must be objects"):
        list(read_records(scalars))
    broken = tmp_path / "broken.json"
    broken.write_text('[{"id": 1},\n {"id": }]')
    with pytest.raises(RecordFileError, match=r"broken\.json:2: bad JSON"):
        list(read_records(broken))


COUPA_XML = """<?xml version="1.0" encoding="UTF-8"?>
<invoice-headers type="array">
  <invoice-header>
    <id type="integer">12</id>
    <invoice-number>INV-12</invoice-number>
    <exported type="boolean">false</exported>
    <comments nil="true"/>
    <total type="decimal">10.50</total>
    <supplier><id type="integer">3</id><name>Acme &amp; Co</name></supplier>
    <invoice-lines type="array">
      <invoice-line><line-num type="integer">1</line-num></invoice-line>
    </invoice-lines>
    <attachments type="array"/>
  </invoice-header>
  <invoice-header><id type="integer">13</id></invoice-header>
</invoice-headers>
"""


def test_coupa_xml_list_is_read_with_types(tmp_path: Path) -> None:
    path = tmp_path / "in.xml"
    path.write_text(COUPA_XML)
    first, second = list(read_records(path))
    assert first == {
        "id": 12,
        "invoice-number": "INV-12",
        "exported": False,
        "comments": None,
        "total": "10.50",
        "supplier": {"id": 3, "name": "Acme & Co"},
        "invoice-lines": [{"line-num": 1}],
        "attachments": [],
    }
    assert second == {"id": 13}


def test_xml_single_record_root_and_entity_refusal(tmp_path: Path) -> None:
    single = tmp_path / "one.xml"
    single.write_text("<supplier><id type='integer'>5</id><name>X</name></supplier>")
    assert list(read_records(single)) == [{"id": 5, "name": "X"}]
    bomb = tmp_path / "bomb.xml"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x><y>&a;</y></x>')
    with pytest.raises(RecordFileError, match="entity declarations are not allowed"):
        list(read_records(bomb))
    broken = tmp_path / "broken.xml"
    broken.write_text("<a>\n<b></a>")
    with pytest.raises(RecordFileError, match=r"broken\.xml:2: bad XML"):
        list(read_records(broken))


def test_xml_collection_with_one_item_and_no_array_type_is_a_list(tmp_path: Path) -> None:
    # As in Coupa's Purchase Orders API sample: the catalog says order-lines holds
    # order-line elements, so one of them is a list of one.
    path = tmp_path / "po.xml"
    path.write_text(
        "<order-header><id>5</id><order-lines><order-line><id>9</id><_delete>true</_delete>"
        "</order-line></order-lines><ship-to-address><name>HQ</name></ship-to-address>"
        "</order-header>"
    )
    assert list(read_records(path)) == [
        {
            "id": "5",
            "order-lines": [{"id": "9", "_delete": "true"}],
            "ship-to-address": {"name": "HQ"},
        }
    ]


@pytest.mark.parametrize("text", ["", "\n", '<?xml version="1.0" encoding="UTF-8"?>\n'])
def test_empty_xml_file_holds_no_records(tmp_path: Path, text: str) -> None:
    path = tmp_path / "empty.xml"
    path.write_text(text)
    assert list(read_records(path)) == []
    path.write_text(text + "<invoice-headers>")  # started, never finished: still broken
    with pytest.raises(RecordFileError, match="bad XML"):
        list(read_records(path))


def test_xml_writer_round_trips_through_the_reader(tmp_path: Path) -> None:
    path = tmp_path / "out.xml"
    with open_writer(path, element="invoice-header", list_element="invoice-headers") as writer:
        writer.write(INVOICE)
        writer.write({"id": 8, "comments": None})
    text = path.read_text()
    assert '<invoice-headers type="array">' in text
    assert "<invoice-line>" in text  # the collection's children use the catalog's element
    first, second = list(read_records(path))
    assert first == INVOICE
    assert second == {"id": 8, "comments": None}


def test_writer_is_atomic_and_cleans_up_after_an_error(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_text('{"old": true}\n')
    with pytest.raises(RuntimeError), open_writer(path) as writer:
        writer.write({"new": 1})
        raise RuntimeError("boom")
    assert path.read_text() == '{"old": true}\n'
    assert _files(tmp_path) == ["out.jsonl"]
    with open_writer(path) as writer:
        writer.write({"new": 1})
        assert path.read_text() == '{"old": true}\n'  # nothing visible before commit
    assert list(read_records(path)) == [{"new": 1}]
    assert _files(tmp_path) == ["out.jsonl"]


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "json", "xml"])
def test_writer_resumes_from_a_checkpoint_without_duplicates(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"out.{fmt}"
    writer = RecordWriter(path)
    writer.write({"id": 1})
    writer.write({"id": 2})
    size = writer.checkpoint()
    writer.write({"id": 3})  # after the checkpoint: lost with the "kill"
    writer.detach()
    assert not path.exists()
    resumed = RecordWriter(path, partial=writer.partial, resume_from=size)
    resumed.write({"id": 3})
    resumed.write({"id": 4})
    resumed.commit()
    ids = [int(r["id"]) for r in read_records(path)]
    assert ids == [1, 2, 3, 4]
    assert _files(tmp_path) == [f"out.{fmt}"]


def test_empty_outputs_are_valid_files(tmp_path: Path) -> None:
    for fmt in ("csv", "jsonl", "json", "xml"):
        path = tmp_path / f"empty.{fmt}"
        open_writer(path).commit()
        assert list(read_records(path)) == []


def test_expand_path_and_guess_format() -> None:
    when = datetime(2026, 3, 4, 5, 6, 7)
    assert (
        expand_path("out/inv-{timestamp:%Y%m%d-%H%M%S}.csv", now=when)
        == "out/inv-20260304-050607.csv"
    )
    assert expand_path("{date}/{operation}.jsonl", now=when, operation="x") == "2026-03-04/x.jsonl"
    with pytest.raises(Exception, match=r"unknown placeholder \{nope\}"):
        expand_path("{nope}.csv")
    assert guess_format("a.NDJSON") == "jsonl"
    assert guess_format("a.txt", "CSV") == "csv"
    with pytest.raises(RecordFileError, match="cannot tell the format"):
        guess_format("a.txt")
    with pytest.raises(RecordFileError, match="unknown format 'parquet'"):
        guess_format("a.csv", "parquet")


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RecordFileError, match="no such file"):
        list(read_records(tmp_path / "nope.csv"))


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv", "xml"])
def test_output_files_get_the_usual_mode_or_keep_the_replaced_files(
    tmp_path: Path, fmt: str
) -> None:
    import os
    import stat

    from coupa_connector.catalog import load_catalog
    from coupa_connector.operations.files._output import RecordWriter as QueryWriter

    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    old = os.umask(0o027)
    try:
        new = tmp_path / f"new.{fmt}"
        with open_writer(new) as writer:
            writer.write({"id": 1})
        queried = tmp_path / f"query.{fmt}"
        query_writer = QueryWriter(queried, fmt, load_catalog().get("invoices"))
        query_writer.write([{"id": 1}])
        query_writer.commit()
        assert mode(new) == mode(queried) == 0o640  # 0666 less the umask, not 0600
        new.chmod(0o604)
        with open_writer(new) as writer:
            writer.write({"id": 2})
        assert mode(new) == 0o604
    finally:
        os.umask(old)
