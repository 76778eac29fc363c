"""RecordBatch: JSON pages split into records' own text, decoded only on demand."""

from __future__ import annotations

import io
from pathlib import Path

import orjson
import pytest

from coupa_connector.activities.query._batch import RecordBatch, fresh_indexes
from coupa_connector.catalog import load_catalog
from coupa_connector.client._wire import DecodeError
from coupa_connector.operations.files._output import BackgroundSync, RecordWriter

RECORDS = [
    {"id": 3, "status": "approved", "note": 'line\nbreak "quoted" [x]', "lines": [{"id": 9}]},
    {"id": 7, "status": "draft", "total": "10.50", "name": "Caf\u00e9 \u2603"},
    {"id": 8, "status": None, "supplier": {"id": 1, "name": "Acme, Inc."}},
]


def _lines(batch: RecordBatch) -> list[bytes]:
    return [bytes(line) for line in batch.json_lines()]


def test_a_json_page_gives_ids_lines_and_records_that_agree() -> None:
    body = orjson.dumps(RECORDS)
    batch = RecordBatch.from_json(body)
    assert batch is not None
    assert batch.ids == [3, 7, 8]
    assert len(batch) == 3
    assert [orjson.loads(line) for line in _lines(batch)] == RECORDS
    assert batch.records == RECORDS
    assert list(batch) == RECORDS


def test_a_pretty_printed_page_still_gives_one_line_per_record() -> None:
    body = orjson.dumps(RECORDS, option=orjson.OPT_INDENT_2).replace(b"\n", b"\r\n")
    batch = RecordBatch.from_json(body)
    assert batch is not None
    lines = _lines(batch)
    assert all(b"\n" not in line and b"\r" not in line for line in lines)
    assert [orjson.loads(line) for line in lines] == RECORDS
    # the escaped line break inside a string survives as data
    assert orjson.loads(lines[0])["note"] == RECORDS[0]["note"]


def test_records_without_an_id_get_none() -> None:
    batch = RecordBatch.from_json(b'[{"name": "a"}, {"id": "12"}]')
    assert batch is not None
    assert batch.ids == [None, "12"]


@pytest.mark.parametrize(
    "body",
    [b'[{"id": 1}, 2]', b'{"id": 1}', b'["a"]', b"[[1]]"],
    ids=["a-number", "one-object", "strings", "lists"],
)
def test_a_body_that_is_not_a_list_of_objects_is_left_to_the_full_decoder(body: bytes) -> None:
    assert RecordBatch.from_json(body) is None


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'[{"id": 1}', "not valid JSON"),
        (b'[{"id": 1, "a": "\\q"}]', "not valid JSON"),
        (b'[{"id": 1}] trailing', "not valid JSON"),
        (b'[{"id": 1, "a": NaN}]', "not valid JSON"),
        (b'[{"id": 1, "a": "\xff"}]', "not UTF-8"),
    ],
    ids=["truncated", "bad-escape", "trailing", "nan", "latin1"],
)
def test_a_malformed_body_is_an_error_not_a_short_page(body: bytes, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason):
        RecordBatch.from_json(body)


def test_pick_and_head_keep_ids_lines_and_records_together() -> None:
    batch = RecordBatch.from_json(orjson.dumps(RECORDS))
    assert batch is not None
    picked = batch.pick([2, 0])
    assert picked.ids == [8, 3]
    assert picked.records == [RECORDS[2], RECORDS[0]]
    assert [orjson.loads(line) for line in _lines(picked)] == [RECORDS[2], RECORDS[0]]
    assert batch.pick([0, 1, 2]) is batch
    assert batch.head(5) is batch
    assert batch.head(1).records == RECORDS[:1]
    assert batch.head(0).ids == []
    decoded = RecordBatch.of(RECORDS)
    assert decoded.pick([1]).records == [RECORDS[1]]
    assert [orjson.loads(line) for line in _lines(decoded.head(2))] == RECORDS[:2]


def test_fresh_indexes_skip_ids_already_seen_but_never_records_without_one() -> None:
    seen: set[object] = {7}
    assert fresh_indexes([3, 7, None, 3, None, 9], seen) == [0, 2, 4, 5]
    assert seen == {3, 7, 9}


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv"])
def test_the_writer_gives_the_same_file_from_a_split_or_a_decoded_batch(
    tmp_path: Path, fmt: str
) -> None:
    invoice = load_catalog().get("invoices")
    outputs = []
    for name, batch in (
        ("split", RecordBatch.from_json(orjson.dumps(RECORDS, option=orjson.OPT_INDENT_2))),
        ("decoded", RecordBatch.of(RECORDS)),
    ):
        assert batch is not None
        writer = RecordWriter(tmp_path / f"{name}.{fmt}", fmt, invoice)
        assert writer.write_batch(batch) == 3
        writer.commit()
        outputs.append((tmp_path / f"{name}.{fmt}").read_bytes())
    if fmt == "csv":
        assert outputs[0] == outputs[1]
    elif fmt == "json":
        assert orjson.loads(outputs[0]) == orjson.loads(outputs[1]) == RECORDS
    else:
        for out in outputs:
            assert [orjson.loads(line) for line in out.splitlines()] == RECORDS


def test_the_writer_flushes_each_batch_to_standard_output() -> None:
    invoice = load_catalog().get("invoices")
    received = io.BytesIO()
    # A large buffer: the lines reach the reader before the commit only if the page is flushed.
    stream = io.BufferedWriter(received, buffer_size=1 << 20)  # type: ignore[arg-type]
    writer = RecordWriter("-", "jsonl", invoice, stdout=stream)
    batch = RecordBatch.from_json(orjson.dumps(RECORDS))
    assert batch is not None
    writer.write_batch(batch)
    assert len(received.getvalue().splitlines()) == 3
    writer.commit()


def _file_writer(target: Path) -> tuple[RecordWriter, BackgroundSync]:
    writer = RecordWriter(target, "jsonl", load_catalog().get("invoices"))
    assert writer._syncer is not None
    return writer, writer._syncer


def test_a_large_output_is_synced_along_the_way_and_commits_whole(tmp_path: Path) -> None:
    target = tmp_path / "big.jsonl"
    writer, syncer = _file_writer(target)
    syncer._every = 4096  # a sync every few records instead of every few MB
    record = {"id": 0, "text": "x" * 1000}
    for n in range(1, 41):
        writer.write([{**record, "id": n}])
        syncer.wait()  # each sync finishes before the next write, so every threshold syncs
    assert syncer._synced_to >= 36_000
    assert not target.exists()  # nothing visible before the commit
    writer.commit()
    assert [orjson.loads(line)["id"] for line in target.read_bytes().splitlines()] == list(
        range(1, 41)
    )


def test_a_failed_background_sync_fails_the_commit(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    writer, syncer = _file_writer(target)
    syncer._error = OSError(28, "No space left on device")
    with pytest.raises(OSError, match="No space left"):
        writer.commit()
    assert not target.exists()
