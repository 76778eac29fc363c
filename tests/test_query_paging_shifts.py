"""Offset pages while the result set changes, without a server: re-aligned or stopped, never a
silent gap; and keyset paging newest first.

The fake holds the result set as an ordered list of ids and serves ``offset``/``limit``
windows of it as it is at each request; a hook changes it between requests, as another
process writing to Coupa would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from coupa_connector.activities.query._batch import RecordBatch
from coupa_connector.activities.query._paging import KeysetPager, OffsetPager, Params
from coupa_connector.errors import PagingError

Change = Callable[[int, list[int]], None]


def offset_fetch(ids: list[int], change: Change | None = None) -> Any:
    """Serve windows of ``ids``; ``change(n, ids)`` runs before the n-th request (0-based)."""
    served = 0

    async def fetch(params: Params) -> RecordBatch:
        nonlocal served
        if change is not None:
            change(served, ids)
        served += 1
        q = dict(params)
        offset, limit = int(q["offset"]), int(q["limit"])
        batch = RecordBatch.from_json(
            orjson.dumps([{"id": i} for i in ids[offset : offset + limit]])
        )
        assert batch is not None
        return batch

    return fetch


def run(pager: Any) -> list[int]:
    async def go() -> list[int]:
        return [r["id"] for page in [p async for p in pager] for r in page.records]

    return asyncio.run(go())


def remove_delivered(count: int, at: int) -> Change:
    """Before request ``at``, remove ``count`` records the reader already has (the front)."""

    def change(n: int, ids: list[int]) -> None:
        if n == at:
            del ids[:count]

    return change


def insert_front(count: int, at: int, first_new: int = 10_000) -> Change:
    def change(n: int, ids: list[int]) -> None:
        if n == at:
            ids[:0] = range(first_new, first_new + count)

    return change


@pytest.mark.parametrize("concurrency", [1, 4])
@pytest.mark.parametrize(
    "change",
    [remove_delivered(1, 1), remove_delivered(4, 2), insert_front(1, 1), insert_front(44, 3)],
    ids=["1-removed", "4-removed", "1-inserted", "44-inserted"],
)
def test_a_small_shift_is_realigned_and_every_record_comes_once(
    change: Change, concurrency: int
) -> None:
    original = list(range(1, 301))
    pager = OffsetPager(offset_fetch(list(original), change), [], concurrency)
    got = run(pager)
    assert got == original  # in order, none missing, none twice
    assert pager.realigned >= 1


def test_records_leaving_ahead_of_the_reader_are_simply_not_delivered() -> None:
    ids = list(range(1, 201))

    def change(n: int, current: list[int]) -> None:
        if n == 2:
            for gone in (150, 151, 152, 153, 154, 155, 156):  # not read yet: no shift
                current.remove(gone)

    got = run(OffsetPager(offset_fetch(ids, change), []))
    assert got == [i for i in range(1, 201) if not 150 <= i <= 156]


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (remove_delivered(5, 1), "holds none of the last 5 records delivered"),
        (remove_delivered(30, 2), "holds none of the last 5 records delivered"),
        (insert_front(45, 1), "holds no record after the last one delivered"),
        (insert_front(60, 1), "holds none of the last 5 records delivered"),
    ],
    ids=["5-removed", "30-removed", "45-inserted", "60-inserted"],
)
def test_a_larger_shift_stops_the_query_with_a_clear_error(change: Change, why: str) -> None:
    delivered: list[int] = []

    async def go() -> None:
        async for page in OffsetPager(offset_fetch(list(range(1, 301)), change), []):
            delivered.extend(r["id"] for r in page.records)

    with pytest.raises(PagingError, match=why) as caught:
        asyncio.run(go())
    message = str(caught.value)
    assert "The result set changed while paging by offset" in message
    assert f"stopped after {len(delivered)} records" in message
    assert "Order by id" in message
    assert caught.value.retryable
    assert delivered == list(range(1, len(delivered) + 1))  # what came is a clean prefix


def test_a_record_seen_twice_stops_the_query() -> None:
    """A record re-sorted from before the reader to after it is a sign that others can move
    the other way unseen."""

    def change(n: int, ids: list[int]) -> None:
        if n == 1:
            ids.remove(3)
            ids.insert(120, 3)

    with pytest.raises(PagingError, match="holds record 3, which an earlier page had"):
        run(OffsetPager(offset_fetch(list(range(1, 301)), change), []))


def test_shared_records_out_of_order_stop_the_query() -> None:
    def change(n: int, ids: list[int]) -> None:
        if n == 1:
            ids[46], ids[48] = ids[48], ids[46]  # two of the shared records swap places

    with pytest.raises(PagingError, match="out of order"):
        run(OffsetPager(offset_fetch(list(range(1, 301)), change), []))


def test_a_server_that_ignores_offset_is_caught() -> None:
    async def fetch(params: Params) -> RecordBatch:
        return RecordBatch.of([{"id": i} for i in range(1, 51)])

    with pytest.raises(PagingError, match="no record after the last one delivered"):
        run(OffsetPager(fetch, []))


def test_records_without_ids_cannot_be_joined() -> None:
    async def fetch(params: Params) -> RecordBatch:
        return RecordBatch.of([{"name": "x"}])

    with pytest.raises(Exception, match="has no id; offset paging checks the pages join"):
        run(OffsetPager(fetch, []))


def test_a_limit_is_honoured_across_a_shift() -> None:
    ids = list(range(1, 301))
    got = run(OffsetPager(offset_fetch(ids, insert_front(3, 1)), [], 3, max_records=120))
    assert got == list(range(1, 121))


def test_the_overlap_must_leave_a_stride() -> None:
    with pytest.raises(ValueError, match="overlap"):
        OffsetPager(offset_fetch([]), [], overlap=50)


# --------------------------------------------------------------------------- keyset, newest first


def keyset_fetch(ids: list[int], calls: list[Params]) -> Any:
    async def fetch(params: Params) -> RecordBatch:
        calls.append(params)
        q = dict(params)
        rows = sorted(ids, reverse=q.get("dir") == "desc")
        if "id[lt]" in q:
            rows = [i for i in rows if i < int(q["id[lt]"])]
        if "id[gt]" in q:
            rows = [i for i in rows if i > int(q["id[gt]"])]
        return RecordBatch.of([{"id": i} for i in rows[: int(q["limit"])]])

    return fetch


async def _no_probe() -> int | None:
    raise AssertionError("a descending run needs no probe")


@pytest.mark.parametrize("n", [0, 1, 50, 51, 237])
def test_keyset_newest_first_is_in_order_and_exactly_once(n: int) -> None:
    ids = [i * 7 for i in range(1, n + 1)]
    calls: list[Params] = []
    # Several pages in flight are asked for, but newest first needs the last id of each page.
    pager = KeysetPager(keyset_fetch(ids, calls), [], _no_probe, concurrency=4, descending=True)
    assert run(pager) == sorted(ids, reverse=True)
    assert all(("dir", "desc") in c and ("order_by", "id") in c for c in calls)
    assert [dict(c).get("id[lt]") for c in calls[1:]] == [
        str(sorted(ids, reverse=True)[50 * k - 1]) for k in range(1, len(calls))
    ]


def test_keyset_newest_first_refuses_ids_that_go_up() -> None:
    async def fetch(params: Params) -> RecordBatch:
        return RecordBatch.of([{"id": 3}, {"id": 5}])

    with pytest.raises(PagingError, match="ignored order_by=id"):
        run(KeysetPager(fetch, [], _no_probe, descending=True))
