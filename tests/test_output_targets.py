"""Where query output goes: files replaced atomically, everything else written in place."""

from __future__ import annotations

import asyncio
import os
import stat
import threading
from pathlib import Path

import pytest

from _client_fakes import FakeCoupa, config, invoices
from coupa_connector import AsyncConnection
from coupa_connector.catalog import load_catalog
from coupa_connector.errors import ConfigurationError, QueryError
from coupa_connector.operations._state import write_state
from coupa_connector.operations.extract._extract import extract
from coupa_connector.operations.files._output import RecordWriter

INVOICE = load_catalog().get("invoices")


def _write(target: Path, records: list[dict[str, int]]) -> None:
    writer = RecordWriter(target, "jsonl", INVOICE)
    writer.write(records)
    writer.commit()


def test_a_fifo_receives_the_records_and_stays_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    _write(fifo, [{"id": 1}, {"id": 2}])
    reader.join(timeout=10)
    assert received == [b'{"id":1}\n{"id":2}\n']
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


def test_a_symlink_keeps_pointing_at_the_replaced_file(tmp_path: Path) -> None:
    real = tmp_path / "data" / "out.jsonl"
    real.parent.mkdir()
    real.write_text("old\n")
    link = tmp_path / "latest.jsonl"
    link.symlink_to(real)
    _write(link, [{"id": 7}])
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert real.read_text() == '{"id":7}\n'


def test_a_replaced_file_keeps_its_mode_and_a_new_one_gets_the_umask(tmp_path: Path) -> None:
    shared = tmp_path / "shared.jsonl"
    shared.write_text("old\n")
    shared.chmod(0o644)
    _write(shared, [{"id": 1}])
    assert stat.S_IMODE(shared.stat().st_mode) == 0o644
    old = os.umask(0o027)
    try:
        fresh = tmp_path / "fresh.jsonl"
        _write(fresh, [{"id": 1}])
        state = tmp_path / "state.json"
        write_state(state, "invoices", "2024-01-01T00:00:00+00:00")
    finally:
        os.umask(old)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o640
    assert stat.S_IMODE(state.stat().st_mode) == 0o640


def test_unusable_targets_are_clear_errors_before_anything_is_fetched(tmp_path: Path) -> None:
    fake = FakeCoupa(records=invoices(3))

    async def run(target: Path) -> None:
        async with AsyncConnection(config(), transport=fake.transport()) as conn:
            await extract(conn, "invoices", target)

    with pytest.raises(ConfigurationError, match="is a directory"):
        asyncio.run(run(tmp_path))
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("x")
    with pytest.raises(ConfigurationError, match="Cannot write"):
        asyncio.run(run(blocked / "out.jsonl"))
    assert fake.api_calls() == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file-not-dir"]


def test_an_incremental_run_refuses_a_limit_before_any_request(tmp_path: Path) -> None:
    fake = FakeCoupa(records=invoices(3))

    async def run() -> None:
        async with AsyncConnection(config(), transport=fake.transport()) as conn:
            await extract(conn, "invoices", tmp_path / "o.jsonl", state=tmp_path / "s", limit=2)

    with pytest.raises(QueryError, match="incremental run cannot take a limit"):
        asyncio.run(run())
    assert fake.api_calls() == []
    assert list(tmp_path.iterdir()) == []
