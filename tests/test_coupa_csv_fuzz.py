"""Fuzzed Coupa CSV flat files through the ``coupa-csv`` file source: whatever the bytes, the
only outcomes are records, rejected records and the project's own clear errors, every
record is counted once in order, and memory stays bounded."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from coupa_connector.catalog import load_csv_formats
from test_fuzz_readers import bounded, mutated, source_items

FUZZ = settings(
    max_examples=80,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
FORMAT = load_csv_formats().get("invoices", "export")
MARKERS = [rt.marker or "" for rt in FORMAT.record_types]
_cells = st.text(max_size=8) | st.sampled_from(["1", "2", "10", "true", "", "Header", "Line"])


@st.composite
def invoice_files(draw: st.DrawFn) -> bytes:
    out = io.StringIO()
    rows = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    for rt in FORMAT.record_types:
        if draw(st.integers(0, 4)):  # now and then a type's header row is missing
            names = [c.name for c in rt.file_columns()][1:6]
            rows.writerow([rt.marker, *names])
    for _ in range(draw(st.integers(0, 12))):
        marker = draw(st.sampled_from([*MARKERS, "Bogus", ""]))
        rows.writerow([marker, *draw(st.lists(_cells, max_size=7))])
    return out.getvalue().encode()


@pytest.fixture
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-coupa-csv")


@FUZZ
@given(data=mutated(invoice_files()))
@example(data=b'"Header","id"\r\n"Line","invoice-id"\r\n"Line","1"\r\n"Header","\xff"\r\n')
@example(data=b'"Header","id"\r\n"Header","1\x00"\r\n"Header","2')
def test_fuzzed_invoice_exports_read_or_reject_every_record(data: bytes, folder: Path) -> None:
    path = folder / "invoices.csv"
    path.write_bytes(data)
    items = bounded(lambda: source_items(path, format="coupa-csv", object="invoices"))
    assert all(isinstance(i.record, dict) for i in items)


_texts = st.text(max_size=10) | st.sampled_from(
    ['a "q", b', "two\nlines", "cr\r", "\ud800", "n\x00"]
)
_suppliers = st.fixed_dictionaries(
    {"name": _texts, "number": _texts},
    optional={
        "display-name": _texts,
        "tax-id": _texts,
        "x-extra": _texts,
        "custom-fields": st.dictionaries(st.sampled_from(["region", "tier"]), _texts),
        "payment-term": st.fixed_dictionaries({"code": _texts}),
    },
)


def canon(value: Any) -> Any:
    if isinstance(value, dict):
        out = {k: canon(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, "", {})}
    return value


@FUZZ
@given(records=st.lists(_suppliers, max_size=6))
@example(records=[{"name": " ", "number": ""}, {"name": "", "number": "", "x-extra": ""}])
def test_fuzzed_records_are_written_and_read_back_or_rejected(
    records: list[dict[str, Any]], folder: Path
) -> None:
    from coupa_connector.operations.files.coupa_csv import (
        CsvReject,
        read_coupa_csv,
        write_coupa_csv,
    )

    out = folder / "suppliers"
    for old in out.glob("*"):
        old.unlink()
    rejects: list[CsvReject] = []
    paths = write_coupa_csv(
        "suppliers", records, out, validate=False, on_reject=rejects.append, max_rows=2
    )
    back = [r for p in paths for r in read_coupa_csv("suppliers", p, direction="import")]
    refused = {r.position for r in rejects}
    kept = [canon(r) for n, r in enumerate(records) if n not in refused]
    assert back == kept
    for reject in rejects:
        if canon(reject.record):
            assert reject.field
            assert any(c in _texts_of(reject.record) for c in ("\ud800", "\x00"))
        else:
            assert "holds no value" in reject.reason


def _texts_of(value: Any) -> str:
    """Every text of a record, keys and values, run together."""
    if isinstance(value, dict):
        return "".join(k + _texts_of(v) for k, v in value.items())
    return value if isinstance(value, str) else ""
