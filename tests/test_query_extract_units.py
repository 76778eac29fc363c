"""extract() without a server: de-duplication counts and the state file."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx2
import pytest

from _client_fakes import FakeCoupa, config, invoices
from coupa_connector import AsyncConnection
from coupa_connector.errors import ConfigurationError, QueryError
from coupa_connector.operations._state import read_state, write_state
from coupa_connector.operations.extract._extract import extract


@pytest.mark.parametrize("paging", ["auto", "offset"])
def test_a_record_inserted_ahead_of_a_descending_run_shifts_nothing(
    tmp_path: Path, paging: str
) -> None:
    """Newest first by key: the insert is above the first page and never seen. Newest first
    by offset: every later record moves down one place, and the pages' overlap re-aligns on
    the last record delivered. Either way every record comes once."""
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
                conn,
                "invoices",
                tmp_path / "out.jsonl",
                order_by="id",
                dir="desc",
                concurrency=1,
                paging=paging,
            )

    result = asyncio.run(go())
    ids = [json.loads(line)["id"] for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert result.read == result.written and result.duplicates == 0
    assert ids == list(range(120, 0, -1))


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
