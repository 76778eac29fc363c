"""The Coupa CSV formats data against Coupa's formats workbooks: the shipped file is what the
generator builds, and every column name and required flag is the workbook's, checked cell by
cell from the row each column says it came from."""

from __future__ import annotations

import functools
import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

from _shared_docs import COUPA_DOCS, REPO, needs_shared
from coupa_connector.catalog import load_csv_formats

CSV_FORMATS = COUPA_DOCS / "csv-formats"
pytestmark = needs_shared(CSV_FORMATS)

# The words the workbooks use in a required cell, as a person reads them.
REQUIRED_WORDS = {"1": True, "yes": True, "true": True, "y": True}
REQUIRED_HEADERS = ("req'd", "required", "req/unique", "required/unique", "req'd/unique")


@pytest.fixture(scope="module")
def generator() -> Any:
    """tools/build_csv_formats.py, imported as a module."""
    sys.path.insert(0, str(REPO / "tools"))
    try:
        spec = importlib.util.spec_from_file_location(
            "build_csv_formats", REPO / "tools/build_csv_formats.py"
        )
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules["build_csv_formats"] = module  # its dataclasses look it up
        spec.loader.exec_module(module)
        # The workbooks are read once for the module's tests (a few seconds each time).
        module.read_workbook = functools.cache(module.read_workbook)
        yield module
    finally:
        sys.path.remove(str(REPO / "tools"))
        sys.modules.pop("build_csv_formats", None)


@pytest.fixture(scope="module")
def sheets(generator: Any) -> dict[str, dict[str, dict[int, dict[str, str]]]]:
    """Each workbook's sheets as {row number: {column letters: text}}."""
    out: dict[str, dict[str, dict[int, dict[str, str]]]] = {}
    for direction, name in generator.WORKBOOKS.items():
        book = generator.read_workbook(CSV_FORMATS / name)
        out[direction] = {sheet: dict(rows) for sheet, rows in book.items()}
    return out


def test_shipped_formats_are_what_the_generator_builds(generator: Any) -> None:
    shipped = (REPO / "src/coupa_connector/catalog/csv_formats.json").read_text(encoding="utf-8")
    built = generator.render(generator.build(CSV_FORMATS, generator.DEFAULT_CATALOG))
    assert built == shipped, "run tools/build_csv_formats.py"


def _letter_of(row: dict[str, str], words: tuple[str, ...]) -> str:
    found = [letter for letter, text in row.items() if text.strip().lower() in words]
    assert len(found) == 1, (row, words)
    return found[0]


def test_every_column_name_and_required_flag_matches_the_workbook(
    sheets: dict[str, dict[str, dict[int, dict[str, str]]]],
) -> None:
    checked = 0
    for fmt in load_csv_formats():
        rows = sheets[fmt.direction][fmt.sheet]
        header_rows = sorted(
            n
            for n, cells in rows.items()
            if {"column name", "column", "field name"} & {t.strip().lower() for t in cells.values()}
        )
        for rt in fmt.record_types:
            header = rows[rt.header_row]
            name_at = _letter_of(header, ("column name", "column", "field name"))
            required_at = _letter_of(header, REQUIRED_HEADERS)
            # The table's rows: up to the next table's header, less its title row.
            later = [n for n in header_rows if n > rt.header_row]
            end = later[0] - 1 if later else max(rows) + 1
            in_table = [
                n
                for n in sorted(rows)
                if rt.header_row < n < end and rows[n].get(name_at) and len(rows[n]) > 1
            ]
            assert [c.row for c in rt.columns] == in_table, (fmt.object, rt.name)
            for column in rt.columns:
                cells = rows[column.row]
                assert column.name == cells[name_at].strip(), (fmt.sheet, column.row)
                written = cells.get(required_at, "").strip().lower().partition("/")[0]
                assert column.required == REQUIRED_WORDS.get(written, False), (
                    fmt.sheet,
                    column.row,
                    column.name,
                    written,
                )
                checked += 1
    assert checked > 1500


def test_every_listed_object_has_its_format() -> None:
    formats = load_csv_formats()
    assert formats.objects("export") == sorted(
        ["invoices", "purchase_orders", "requisitions", "receipts", "expense_reports"]
    )
    assert formats.objects("import") == sorted(
        [
            "suppliers",
            "users",
            "accounts",
            "exchange_rates",
            "invoices",
            "lookup_values",
            "items",
            "budget_lines",
        ]
    )
    invoices = formats.get("invoices", "export")
    assert [rt.marker for rt in invoices.record_types][:5] == [
        "Header",
        "Line",
        "Line Split",
        "Charge",
        "Charge Split",
    ]
    line = invoices.record_type("line")
    assert (line.parent, line.collection, line.object) == (
        "header",
        "invoice-lines",
        "invoice-line",
    )
    # The invoice import lists its record-type column 38th; files put it first.
    header = formats.get("invoices", "import").top
    assert header.columns[0].name != "Invoice"
    assert header.file_columns()[0].name == "Invoice" and header.file_columns()[0].marker


def test_starred_required_cells_are_kept_and_read_as_conditional() -> None:
    suppliers = load_csv_formats().get("suppliers", "import").top
    number = next(c for c in suppliers.columns if c.name == "Supplier Number")
    assert (number.required, number.required_text, number.field) == (False, "TRUE*", "number")
    name = next(c for c in suppliers.columns if c.name == "Name*")
    assert name.required and name.field == "name"


def test_an_unknown_format_names_the_known_ones() -> None:
    from coupa_connector.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="import formats are: accounts, budget_lines"):
        load_csv_formats().get("contracts", "import")


def test_the_generator_refuses_a_table_it_was_not_told_about(
    generator: Any, tmp_path: Path
) -> None:
    spec = generator.FORMATS[0]
    from dataclasses import replace

    fewer = replace(spec, skipped={})
    book = generator.read_workbook(CSV_FORMATS / generator.WORKBOOKS["export"])
    catalog = generator.Fields(
        __import__("json").loads(generator.DEFAULT_CATALOG.read_text(encoding="utf-8"))
    )
    with pytest.raises(generator.BuildError, match="Failed Tolerance Columns"):
        generator.build_format(fewer, book, catalog)
