"""One record writer for every file the connector writes: query output, operation targets,
results and rejects files give the same bytes for the same records."""

from __future__ import annotations

import io
import os
import stat
import threading
from pathlib import Path

import pytest

from coupa_connector.catalog import load_catalog
from coupa_connector.client._wire import record_xml
from coupa_connector.operations import RecordFileError, open_writer, read_records
from coupa_connector.operations.files._output import RecordWriter

RECORDS = [
    {"id": 1, "invoice-number": "A-1", "invoice-lines": [{"line-num": 1, "price": "2.50"}]},
    {"id": 2, "invoice-number": "A-2", "exported": True, "supplier": {"name": "Acme & Co"}},
]


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv", "xml"])
def test_query_output_and_operation_files_are_the_same_bytes(tmp_path: Path, fmt: str) -> None:
    invoices = load_catalog().get("invoices")
    queried = RecordWriter(tmp_path / f"query.{fmt}", fmt, invoices, load_catalog())
    queried.write(RECORDS)
    queried.commit()
    with open_writer(
        tmp_path / f"op.{fmt}", element=invoices.element, list_element=invoices.list_element
    ) as writer:
        for record in RECORDS:
            writer.write(record)
    assert (tmp_path / f"op.{fmt}").read_bytes() == (tmp_path / f"query.{fmt}").read_bytes()
    first, _second = read_records(tmp_path / f"op.{fmt}")
    assert first["id"] in (1, "1")


def test_xml_records_are_the_wire_codecs_elements(tmp_path: Path) -> None:
    invoices = load_catalog().get("invoices")
    path = tmp_path / "out.xml"
    with open_writer(path, element=invoices.element, list_element=invoices.list_element) as w:
        w.write(RECORDS[0])
    body = record_xml(RECORDS[0], invoices.element, invoices, load_catalog())
    assert path.read_text().splitlines()[2] == body


def test_a_field_name_that_is_no_xml_name_is_refused(tmp_path: Path) -> None:
    writer = open_writer(tmp_path / "out.xml")
    with pytest.raises(RecordFileError, match="not a valid XML element name"):
        writer.write({"ok": {"bad name": 1}})
    writer.abort()


def test_an_operation_file_target_that_is_a_fifo_stays_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    with open_writer(fifo) as writer:
        writer.write({"id": 1})
        assert writer.partial == "-"  # nothing to resume, nothing for a run to remove
    reader.join(timeout=10)
    assert received == [b'{"id":1}\n']
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_a_resumed_csv_keeps_the_columns_of_the_rows_before_the_checkpoint(
    tmp_path: Path,
) -> None:
    path = tmp_path / "out.csv"
    writer = RecordWriter(path)
    writer.write({"a": "1", "b": "2"})
    size = writer.checkpoint()
    writer.detach()
    resumed = RecordWriter(path, partial=writer.partial, resume_from=size)
    resumed.write({"c": "3"})
    resumed.commit()
    assert path.read_text().splitlines() == ["a,b,c", "1,2,", ",,3"]


def test_csv_to_a_stream_under_known_columns_goes_out_row_by_row() -> None:
    received = io.BytesIO()
    stream = io.BufferedWriter(received, buffer_size=1 << 20)  # type: ignore[arg-type]
    writer = RecordWriter("-", "csv", stdout=stream, columns=["id", "supplier.name"])
    writer.write({"id": 1, "supplier": {"name": "=Acme"}, "other": "x"})
    assert received.getvalue().decode().splitlines() == ["id,supplier.name", "1,'=Acme"]
    writer.write([{"id": 2}])
    writer.commit()
    assert received.getvalue().decode().splitlines()[-1] == "2,"
    assert not stream.closed  # the stream stays its owner's
