"""Coupa CSV flat files: exports read back into the records they were written from, an
import file for each object Coupa takes, the split at Coupa's limits, extra columns, and bad
records rejected with the field and the reason."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from _write_support import find, invoice, invoice_refs, supplier, tag
from coupa_connector.catalog import load_csv_formats
from coupa_connector.errors import RecordFileError
from coupa_connector.operations.files._files import BadRecord
from coupa_connector.operations.files.coupa_csv import (
    CsvReject,
    read_coupa_csv,
    write_coupa_csv,
)
from coupa_connector.sandbox import Sandbox

NAME = re.compile(r"^[a-z_]+_\d{8}_\d{6}Z\.csv$")


def clock(start: datetime = datetime(2024, 12, 9, 23, 46, 8, tzinfo=UTC)) -> Any:
    """A clock that stands still: names must still come out distinct."""
    return lambda: start


def canon(value: Any) -> Any:
    """A record as a CSV file can hold it: no empty values, scalars as their text."""
    if isinstance(value, dict):
        out = {k: canon(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        return [canon(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return None
    return str(value)


def rows_of(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


# --------------------------------------------------------------------------- exports


def test_invoices_exported_from_the_sandbox_read_back_into_the_same_records(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    invoices = find(sandbox, "invoices")
    assert len(invoices) >= 50
    assert any(inv.get("invoice-lines") for inv in invoices)
    paths = write_coupa_csv("invoices", invoices, tmp_path, direction="export", clock=clock())
    back = [r for p in paths for r in read_coupa_csv("invoices", p)]
    assert len(back) == len(invoices)
    for sent, read in zip(invoices, back, strict=True):
        assert canon(read) == canon(sent), sent["id"]
        # What the catalog types comes back typed, as the API sends it.
        assert read["id"] == sent["id"]
        assert read.get("line-level-taxation") == sent.get("line-level-taxation")
        assert read["supplier"]["id"] == sent["supplier"]["id"]
        for line_read, line_sent in zip(
            read.get("invoice-lines", []), sent.get("invoice-lines", []), strict=True
        ):
            assert line_read["id"] == line_sent["id"]
    # The workbook's columns, the record type in the first cell, Coupa's header layout.
    rows = rows_of(paths[0])
    fmt = load_csv_formats().get("invoices", "export")
    header = [c.name for c in fmt.top.file_columns()]
    assert rows[0][: len(header)] == ["Header", *header[1:]]
    assert rows[1][0] == "Line" and rows[2][0] == "Line Split"
    assert {r[0] for r in rows[len(fmt.record_types) :]} <= {"Header", "Line", "Line Split"}


def test_numbers_are_written_as_coupa_reads_them(tmp_path: Path) -> None:
    from decimal import Decimal

    rate = {
        "from-currency": {"code": "USD"},
        "to-currency": {"code": "JPY"},
        "rate-date": "2024-12-09T00:00:00+00:00",
    }
    records = [{**rate, "rate": 1e-07}, {**rate, "rate": Decimal("1.5E+2")}, {**rate, "rate": 2}]
    (path,) = write_coupa_csv("exchange_rates", records, tmp_path, clock=clock())
    assert [r["rate"] for r in read_coupa_csv("exchange_rates", path, direction="import")] == [
        "0.0000001",
        "150",
        "2",
    ]
    rejects: list[CsvReject] = []
    bad = {**rate, "rate": float("nan")}
    write_coupa_csv("exchange_rates", [bad], tmp_path / "nan", on_reject=rejects.append)
    assert rejects[-1].messages == ("rate: nan is not a finite number. [type]",)
    # Unvalidated, the file still refuses a value it cannot hold.
    write_coupa_csv(
        "exchange_rates", [bad], tmp_path / "nan", on_reject=rejects.append, validate=False
    )
    assert "rate is nan, not a number Coupa takes" in rejects[-1].reason


def test_the_files_are_coupas_rfc_4180(tmp_path: Path) -> None:
    records = [supplier(f'Acme "North", {n}', f"N-{n}", notes="two\nlines") for n in range(3)]
    (path,) = write_coupa_csv("suppliers", records, tmp_path, clock=clock())
    data = path.read_bytes()
    assert path.name == "suppliers_20241209_234608Z.csv"
    assert not data.startswith(b"\xef\xbb\xbf")
    assert data.count(b"\r\n") == 4  # header and three rows; the notes keep their own "\n"
    assert b'"two\nlines"' in data
    first = data.split(b"\r\n", 1)[0].decode()
    assert first.startswith('"ID","Name*","Supplier Number"')
    assert all(cell.startswith('"') and cell.endswith('"') for cell in first.split(","))
    assert '"Acme ""North"", 0"' in data.decode()
    assert [r["name"] for r in read_coupa_csv("suppliers", path, direction="import")] == [
        r["name"] for r in records
    ]


# --------------------------------------------------------------------------- imports


def _import_records(sb: Sandbox) -> dict[str, dict[str, Any]]:
    t = tag()
    refs = {k: v for k, v in invoice_refs(sb).items() if k != "supplier_id"}
    return {
        "suppliers": supplier(f"Flat {t}", f"F-{t}"),
        "users": {
            "login": f"flat{t}",
            "email": f"flat{t}@example.com",
            "firstname": "Flat",
            "lastname": "File",
        },
        "accounts": {
            "name": f"Flat {t}",
            "active": True,
            "account-type": {"name": "US COA"},
            "segment-1": "10",
            "code": f"10-{t}",
        },
        "exchange_rates": {
            "from-currency": {"code": "USD"},
            "to-currency": {"code": "EUR"},
            "rate": "0.9123",
            "rate-date": "2024-12-09T00:00:00+00:00",
        },
        "invoices": invoice(refs, f"FLAT-{t}", lines=2),
        "lookup_values": {"name": f"Flat {t}", "lookup": {"name": "Cost Centers"}},
        "items": {"name": f"Flat {t}", "description": "Toner", "uom": {"code": "EA"}},
        "budget_lines": {"period": {"name": "FY2024"}, "amount": "1000.00"},
    }


@pytest.mark.parametrize("object_name", load_csv_formats().objects("import"))
def test_an_import_file_for_each_object(sandbox: Sandbox, tmp_path: Path, object_name: str) -> None:
    record = _import_records(sandbox)[object_name]
    rejects: list[CsvReject] = []
    (path,) = write_coupa_csv(
        object_name, [record], tmp_path, clock=clock(), on_reject=rejects.append
    )
    assert rejects == []
    fmt = load_csv_formats().get(object_name, "import")
    assert path.name.startswith(fmt.file_prefix + "_") and NAME.match(path.name)
    rows = rows_of(path)
    for number, rt in enumerate(fmt.record_types):
        names = [c.name for c in rt.file_columns()]
        if fmt.multi:
            names[0] = rt.marker or ""
        # The workbook's columns in its order (record type first), then any extra ones.
        assert rows[number][: len(names)] == names == fmt.header_cells(rt)
    (back,) = read_coupa_csv(object_name, path, direction="import")
    assert canon(back) == canon(record)


# --------------------------------------------------------------------------- the split


def test_twelve_thousand_rows_make_three_correctly_named_files(tmp_path: Path) -> None:
    records = (supplier(f"S{n}", f"N{n}") for n in range(12_000))
    paths = write_coupa_csv("suppliers", records, tmp_path, clock=clock())
    assert [p.name for p in paths] == [
        "suppliers_20241209_234608Z.csv",
        "suppliers_20241209_234609Z.csv",
        "suppliers_20241209_234610Z.csv",
    ]
    counts = [len(rows_of(p)) - 1 for p in paths]
    assert counts == [5000, 5000, 2000]
    names = [r["name"] for p in paths for r in read_coupa_csv("suppliers", p, direction="import")]
    assert names == [f"S{n}" for n in range(12_000)]


def test_a_split_keeps_each_record_with_its_lines(sandbox: Sandbox, tmp_path: Path) -> None:
    refs = {k: v for k, v in invoice_refs(sandbox).items() if k != "supplier_id"}
    invoices = [invoice(refs, f"SPLIT-{n}", lines=3) for n in range(7)]  # 4 rows each
    paths = write_coupa_csv("invoices", invoices, tmp_path, clock=clock(), max_rows=10)
    assert len(paths) == 4  # two invoices (8 rows) a file, the last one alone
    for path in paths:
        data_rows = rows_of(path)[len(load_csv_formats().get("invoices", "import").record_types) :]
        assert len(data_rows) <= 10 and data_rows[0][0] == "Invoice"
    back = [r for p in paths for r in read_coupa_csv("invoices", p, direction="import")]
    assert [len(r["invoice-lines"]) for r in back] == [3] * 7


def test_files_stay_under_the_byte_limit(tmp_path: Path) -> None:
    records = [
        supplier(f"S{n}", f"N{n}", **({"x-note": "x" * n} if n % 3 else {})) for n in range(300)
    ]
    limit = 20_000
    paths = write_coupa_csv("suppliers", records, tmp_path, clock=clock(), max_bytes=limit)
    assert len(paths) > 3
    assert all(p.stat().st_size <= limit for p in paths)
    # The writer counts exactly: each file but the last is full to within one more row.
    widest = max(len(line) for p in paths for line in p.read_bytes().split(b"\r\n")[1:])
    assert all(p.stat().st_size > limit - widest - 2 for p in paths[:-1])
    back = [r for p in paths for r in read_coupa_csv("suppliers", p, direction="import")]
    assert canon(back) == canon(records)


# --------------------------------------------------------------------------- extra columns


def test_extra_columns_are_kept_both_ways(tmp_path: Path) -> None:
    record = supplier("Extra", "E-1", **{"x-erp-key": "ERP-7", "custom-fields": {"region": "EU"}})
    (path,) = write_coupa_csv("suppliers", [record], tmp_path, clock=clock())
    header = rows_of(path)[0]
    assert header[-2:] == ["x-erp-key", "custom-fields.region"]
    (back,) = read_coupa_csv("suppliers", path, direction="import")
    assert back["x-erp-key"] == "ERP-7" and back["custom-fields"] == {"region": "EU"}

    # More extra columns than the workbook lists: the header row still reads as one.
    many = {"name": "Many", "lookup": {"name": "Cost Centers"}}
    many.update({f"x-{n}": str(n) for n in range(30)})
    (path,) = write_coupa_csv("lookup_values", [many], tmp_path / "many", clock=clock())
    assert list(read_coupa_csv("lookup_values", path, direction="import")) == [many]

    # A file from elsewhere, with a column the workbook does not list.
    hand = tmp_path / "hand.csv"
    hand.write_text('"Name*","Supplier Number","ERP Vendor"\r\n"H","H-1","V-9"\r\n', "utf-8")
    assert list(read_coupa_csv("suppliers", hand, direction="import")) == [
        {"name": "H", "number": "H-1", "ERP Vendor": "V-9"}
    ]


# --------------------------------------------------------------------------- bad records


def test_invalid_records_are_rejected_with_the_field_and_reason(tmp_path: Path) -> None:
    good = supplier("Good", "G-1")
    no_name = {"number": "G-2", "po-method": "email", "status": "active"}
    nested = {**supplier("Nested", "G-3"), "display-name": {"first": "x"}}
    rejects: list[CsvReject] = []
    (path,) = write_coupa_csv(
        "suppliers", [good, no_name, nested], tmp_path, clock=clock(), on_reject=rejects.append
    )
    assert (rejects[0].position, rejects[0].field) == (1, "name")
    assert "required" in rejects[0].reason
    # Every error, named as record writes name them: the field, the reason, the rule.
    assert rejects[0].messages == ("name is required to create suppliers. [required]",)
    assert rejects[1].position == 2 and rejects[1].reason
    assert [r["name"] for r in read_coupa_csv("suppliers", path, direction="import")] == ["Good"]

    # Without a place for rejects, the call fails and leaves no file behind.
    out = tmp_path / "strict"
    with pytest.raises(RecordFileError, match="record 1: name"):
        write_coupa_csv("suppliers", [good, no_name], out, clock=clock(), max_rows=1)
    assert list(out.glob("*.csv")) == []


def _export_file(tmp_path: Path, body: str) -> Path:
    fmt = load_csv_formats().get("invoices", "export")
    heads = []
    for rt in fmt.record_types:
        names = [c.name for c in rt.file_columns()]
        heads.append(",".join(f'"{n}"' for n in [rt.marker, *names[1:]]))
    path = tmp_path / "invoices_20241209_234608Z.csv"
    path.write_text("\r\n".join(heads) + "\r\n" + body, encoding="utf-8")
    return path


def test_bad_rows_reject_their_whole_record_and_reading_goes_on(tmp_path: Path) -> None:
    # Header columns: type, id, ...; line columns: type, invoice-id, invoice-line-id, ...
    body = "\r\n".join(
        [
            '"Line","1","10"',  # a line before any header
            '"Header","1"',
            '"Line","1","11"',
            '"Header","2"',
            '"Line","1","12"',  # says invoice 1, follows invoice 2
            '"Header","3"',
            '"Bogus","3"',
            '"Header","4"',
            '"Line","4","13"',
        ]
    )
    bad: list[BadRecord] = []
    records = list(read_coupa_csv("invoices", _export_file(tmp_path, body), on_bad=bad.append))
    assert [r["id"] for r in records] == [1, 4]
    assert records[0]["invoice-lines"] == [{"id": 11}]
    reasons = [(b.position, b.line, b.reason) for b in bad]
    assert "'Line' row with no 'Header' row before it" in reasons[0][2]
    assert (
        reasons[1][:2] == (2, 12) and "invoice-id is '1' but the row belongs to 2" in reasons[1][2]
    )
    assert reasons[2][:2] == (3, 14) and "unknown record type 'Bogus'" in reasons[2][2]
    assert bad[1].raw == '"Header","2"\r\n"Line","1","12"'  # the whole record, to fix and feed

    with pytest.raises(RecordFileError, match="no 'Header' row before it"):
        list(read_coupa_csv("invoices", _export_file(tmp_path, body)))


def test_a_file_without_its_header_row_is_refused_not_misread(tmp_path: Path) -> None:
    headless = tmp_path / "suppliers.csv"
    headless.write_text('"","Acme","N-1"\r\n"","Bolt","N-2"\r\n', encoding="utf-8")
    with pytest.raises(RecordFileError, match="names none of the columns of Coupa's suppliers"):
        list(read_coupa_csv("suppliers", headless, direction="import"))
    # In a file of several types, a data row before its type's header row is not taken for
    # that header: its record is rejected and the header that follows still reads.
    fmt = load_csv_formats().get("invoices", "export")
    line = fmt.record_type("line")
    names = [c.name for c in line.file_columns()][1:]
    body = '"Header","1"\r\n"Line","1","10"\r\n'
    path = _export_file(tmp_path, body)
    text = (
        path.read_bytes()
        .decode("utf-8")
        .replace(",".join(f'"{n}"' for n in ["Line", *names]) + "\r\n", "")
    )
    path.write_text(text + '"Line",' + ",".join(f'"{n}"' for n in names) + '\r\n"Header","2"\r\n')
    bad: list[BadRecord] = []
    records = list(read_coupa_csv("invoices", path, on_bad=bad.append))
    assert [r["id"] for r in records] == [2]
    assert "a 'Line' row before its header row" in bad[0].reason


def test_strict_validation_rejects_warnings_too(tmp_path: Path) -> None:
    record = supplier("Strict", "S-1", **{"no-such-field": "x"})
    assert write_coupa_csv("suppliers", [record], tmp_path / "lenient", clock=clock())
    rejects: list[CsvReject] = []
    paths = write_coupa_csv(
        "suppliers",
        [record],
        tmp_path / "strict",
        clock=clock(),
        validation="strict",
        on_reject=rejects.append,
    )
    assert paths == [] and "no-such-field" in rejects[0].messages[0]


def test_undecodable_nul_and_broken_rows_are_rejected_and_reading_goes_on(
    tmp_path: Path,
) -> None:
    path = tmp_path / "suppliers.csv"
    path.write_bytes(
        b'"Name*","Supplier Number"\r\n'
        b'"Good 1","G-1"\r\n'
        b'"M\xfcller","G-2"\r\n'  # latin-1, not UTF-8
        b'"Nul\x00l","G-3"\r\n'
        b'"Good 2","G-4"\r\n'
        b'"Open quote,"G-5"\r\n'
    )
    bad: list[BadRecord] = []
    records = list(read_coupa_csv("suppliers", path, direction="import", on_bad=bad.append))
    assert [r["number"] for r in records] == ["G-1", "G-4"]
    assert [(b.position, b.line) for b in bad] == [(1, 3), (2, 4), (4, 6)]
    assert "not UTF-8" in bad[0].reason and "0xFC" in bad[0].reason
    assert "column 'Name*' holds a NUL character" in bad[1].reason
    assert "bad CSV row" in bad[2].reason
