"""extract() without a server: de-duplication counts and the state file."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx2
import pytest

from _client_fakes import FakeCoupa, config, invoices
from coupa_connector.activities._extract import extract, read_state, write_state
from coupa_connector.client import AsyncConnection
from coupa_connector.errors import ConfigurationError, QueryError


def test_duplicates_from_shifting_offset_pages_are_dropped_and_counted(tmp_path: Path) -> None:
    fake = FakeCoupa(records=invoices(120))
    served = 0

    def shift_after_first_page(request: httpx2.Request) -> httpx2.Response | None:
        nonlocal served
        if request.url.path == "/api/invoices":
            served += 1
            if served == 2:  # a record is inserted ahead of the next offset
                fake.records.append({**invoices(121)[-1]})
        return None

    fake.script = [shift_after_first_page] * 10

    async def go() -> Any:
        async with AsyncConnection(config(), transport=fake.transport()) as conn:
            return await extract(
                conn, "invoices", tmp_path / "out.jsonl", order_by="id", dir="desc", concurrency=1
            )

    result = asyncio.run(go())
    ids = [json.loads(line)["id"] for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert result.read == result.written + result.duplicates
    assert result.duplicates == 1 and len(ids) == len(set(ids)) == result.written == 120


def test_incremental_and_mark_exported_refuse_offset_paging(tmp_path: Path) -> None:
    fake = FakeCoupa(records=invoices(3))

    async def go(**kw: Any) -> Any:
        async with AsyncConnection(config(), transport=fake.transport()) as conn:
            return await extract(conn, "invoices", tmp_path / "x.jsonl", **kw)

    with pytest.raises(QueryError, match="keyset"):
        asyncio.run(go(since="2024-01-01", order_by="invoice-number"))
    with pytest.raises(QueryError, match="keyset"):
        asyncio.run(go(mark_exported_flag=True, order_by="invoice-number"))
    assert not (tmp_path / "x.jsonl").exists()


def test_state_file_round_trip_and_checks(tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    assert read_state(state, "invoices") is None
    write_state(state, "invoices", "2024-05-01T00:00:00+00:00")
    assert read_state(state, "invoices") == "2024-05-01T00:00:00+00:00"
    with pytest.raises(ConfigurationError, match="belongs to 'invoices'"):
        read_state(state, "suppliers")
    state.write_text("{not json")
    with pytest.raises(ConfigurationError, match="not valid JSON"):
        read_state(state, "invoices")
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]
