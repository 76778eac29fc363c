"""Paginators with invariants: every matching record exactly once, or a clear failure.

Two strategies, both always sending ``limit``:

* ``OffsetPager``: offsets from 0, each page overlapping the one before by a few records;
  the end is a short page (or Coupa's empty answer). The overlap shows whether the result
  set shifted between two pages: a small shift is re-aligned on the last record delivered,
  a larger one (or a record seen twice) stops the query with a ``PagingError``. With
  ``concurrency > 1`` it fetches a sliding window of offsets ahead and yields pages in
  order; pages after the first short one are discarded.
* ``KeysetPager``: ``order_by=id&dir=asc&id[gt]=<last id seen>`` (or ``dir=desc&id[lt]=``,
  newest first). Records inserted, updated or leaving the filter during the run cannot shift
  a page, because a page is addressed by the last id seen, not by a position. Concurrency
  splits the id range into partitions (``id[gt]=a&id[lt_or_eq]=b``, ascending only); each id
  falls in exactly one partition and each partition advances strictly, so every record is
  delivered at most once, and every record that matches throughout the run at least once.

A page that still fails after the connection's retries raises, with its position in the
message: never a silent gap.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from coupa_connector.activities.query._batch import RecordBatch
from coupa_connector.catalog import PAGE_LIMIT
from coupa_connector.errors import (
    AuthenticationError,
    CoupaError,
    PagingError,
    PermissionDeniedError,
    QueryError,
)

PAGE_SIZE = PAGE_LIMIT  # Coupa's maximum and default

log = logging.getLogger("coupa_connector.query")

Params = list[tuple[str, str]]
Fetch = Callable[[Params], Awaitable[RecordBatch]]


@dataclass(frozen=True, slots=True)
class Page:
    """One page of records with where it came from.

    Attributes:
        batch: The records, in the server's order (see ``RecordBatch``).
        number: 0-based page number in delivery order.
        params: The query parameters that fetched it.
        offset: The page's offset (offset paging), else None.
        after_id: The id the page started after (keyset paging), else None.
        partition: The keyset partition it belongs to (0 when not partitioned).
    """

    batch: RecordBatch
    number: int
    params: tuple[tuple[str, str], ...]
    offset: int | None = None
    after_id: int | None = None
    partition: int = 0

    def __len__(self) -> int:
        return len(self.batch)

    @property
    def records(self) -> list[dict[str, Any]]:
        """The records as dicts (decoded on first use)."""
        return self.batch.records


def _position(exc: CoupaError, where: str, delivered: int) -> CoupaError:
    # A refused token or scope is about the credentials, not about a page: said as it is.
    if isinstance(exc, AuthenticationError | PermissionDeniedError) and delivered == 0:
        return exc
    done = f"after {delivered} records were delivered" if delivered else "before any record"
    exc.message = (
        f"{exc.message} -- {where} failed {done}; the query stopped there (no page was skipped)."
    )
    return exc


def _record_id(value: Any, where: str, why: str = "keyset paging needs it") -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise QueryError(f"A record at {where} has no id; {why}.")
    try:
        return int(value)
    except ValueError:
        raise QueryError(f"A record at {where} has a non-integer id {value!r}.") from None


OVERLAP = 5  # records each offset page reads again from the page before it


@dataclass
class OffsetPager:
    """Offset paging (``offset`` + ``limit``), sequential or with a sliding window.

    Pages overlap: after the first, each page starts ``overlap`` records before the end of
    the previous one (offsets 0, 45, 90, ... with 50 a page), and must contain the last
    records delivered. Where it finds them tells whether the result set shifted in between
    (records inserted or removed ahead of the page): the page's records after the last one
    delivered are exactly what follows it now, so a shift of up to ``overlap - 1`` records
    up or ``page_size - overlap - 1`` down (4 and 44 by default) is re-aligned without a gap
    or a repeat. A page that holds none of them (a larger shift), holds them out of order, or
    holds an id delivered before (a record moved across the pages) stops the query with a
    ``PagingError``: never a silent gap.

    Args:
        fetch: Gets one page for the given parameters.
        params: The query's own parameters (filters, fields, order).
        concurrency: Pages in flight at once.
        max_records: Stop after this many records.
        page_size: ``limit`` sent with every request (at most 50).
        overlap: Records each page shares with the previous one (1 to ``page_size - 1``).

    Attributes:
        realigned: Pages whose overlap showed a shift that was re-aligned.
    """

    fetch: Fetch
    params: Params
    concurrency: int = 1
    max_records: int | None = None
    page_size: int = PAGE_SIZE
    overlap: int = OVERLAP
    delivered: int = 0
    pages: int = 0
    finished: bool = False
    realigned: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.overlap < self.page_size:
            raise ValueError(f"overlap must be between 1 and {self.page_size - 1}")

    def _page_params(self, offset: int) -> Params:
        limit = self.page_size
        if offset == 0 and self.max_records is not None:
            limit = min(limit, self.max_records)  # the first page shares nothing
        return [*self.params, ("limit", str(limit)), ("offset", str(offset))]

    def _needed(self, offset: int, window: int) -> bool:
        # Without a shift, the page at ``offset`` brings the records from offset + overlap.
        if self.max_records is None or window == 0:
            return True
        return offset == 0 or offset + self.overlap < self.max_records

    async def __aiter__(self) -> AsyncIterator[Page]:
        window: deque[tuple[int, Params, asyncio.Task[RecordBatch]]] = deque()
        stride = self.page_size - self.overlap
        next_offset = 0
        tail: deque[int] = deque(maxlen=self.overlap)  # the last ids delivered, in order
        seen: set[int] = set()
        try:
            while not self.finished:
                while len(window) < self.concurrency and self._needed(next_offset, len(window)):
                    params = self._page_params(next_offset)
                    window.append((next_offset, params, asyncio.ensure_future(self.fetch(params))))
                    next_offset += stride
                offset, params, task = window.popleft()
                try:
                    records = await task
                except CoupaError as exc:
                    raise _position(exc, f"the page at offset {offset}", self.delivered) from None
                limit = int(dict(params)["limit"])
                if len(records) > limit:
                    raise PagingError(
                        f"The server sent {len(records)} records for limit={limit} at offset "
                        f"{offset}; paging would lose or repeat records, so the query stopped."
                    )
                where = f"offset {offset}"
                ids = [
                    _record_id(i, where, "offset paging checks the pages join") for i in records.ids
                ]
                start = self._join(ids, tail, offset) if tail else 0
                fresh = ids[start:]
                for record_id in fresh:
                    if record_id in seen:
                        raise self._shifted(
                            offset, f"it holds record {record_id}, which an earlier page had"
                        )
                    seen.add(record_id)
                if len(records) == limit and not fresh:
                    raise self._shifted(offset, "it holds no record after the last one delivered")
                batch = records.pick(range(start, len(records))) if start else records
                if self.max_records is not None:
                    batch = batch.head(self.max_records - self.delivered)
                    fresh = fresh[: len(batch)]
                self.delivered += len(batch)
                tail.extend(fresh)
                if len(records) < limit or (
                    self.max_records is not None and self.delivered >= self.max_records
                ):
                    self.finished = True
                if batch or self.pages == 0:
                    yield Page(batch, self.pages, tuple(params), offset=offset)
                    self.pages += 1
        finally:
            for _, _, task in window:
                task.cancel()
            for _, _, task in window:
                with contextlib.suppress(BaseException):
                    await task

    def _join(self, ids: list[int], tail: deque[int], offset: int) -> int:
        """Where the page's new records start: after the last delivered record it holds.

        Raises:
            PagingError: The page holds none of the last records delivered, or holds them
                out of their order.
        """
        at = {record_id: index for index, record_id in enumerate(ids)}
        found = [(at[record_id], k) for k, record_id in enumerate(tail) if record_id in at]
        if not found:
            raise self._shifted(offset, f"it holds none of the last {len(tail)} records delivered")
        indexes = [index for index, _ in found]
        if indexes != list(range(indexes[0], indexes[0] + len(indexes))):
            raise self._shifted(
                offset, "the records it shares with the page before are out of order"
            )
        last_index, last_k = found[-1]
        if last_index != last_k or len(found) != len(tail):
            self.realigned += 1
            log.info(
                "the result set shifted by %+d records before offset %d (%d of the %d records "
                "shared with the page before are still there); continuing after the last "
                "record delivered",
                last_index - last_k,
                offset,
                len(found),
                len(tail),
            )
        return last_index + 1

    def _shifted(self, offset: int, why: str) -> PagingError:
        order = dict(self.params).get("order_by", "id")
        return PagingError(
            f"The result set changed while paging by offset (order_by={order}): the page at "
            f"offset {offset} does not continue the one before ({why}). Records inserted, "
            "removed or re-sorted ahead of it could be skipped, so the query stopped after "
            f"{self.delivered} records instead. Order by id (no order_by, or order_by=id with "
            "dir asc or desc), which pages by key and cannot shift, or run it again while the "
            "data is not changing.",
            retryable=True,
        )


def split_ids(
    start: int, top: int | None, count: int, page_size: int = PAGE_SIZE
) -> list[tuple[int | None, int | None]]:
    """Split the ids after ``start`` into at most ``count`` disjoint ``(after, upper)`` ranges.

    Args:
        start: The last id already covered (ranges start after it).
        top: The largest id known to match (None when unknown).
        count: Most ranges wanted; fewer when the span holds under a page per range.
        page_size: Records per page, the smallest span worth a range of its own.

    Returns:
        Ranges in id order; each id after ``start`` falls in exactly one. The last is
        open-ended, so records inserted during the run are delivered if they match, and
        still only once.
    """
    if top is None or top <= start:
        return [(start, None)]
    count = max(1, min(count, (top - start) // page_size or 1))
    step = (top - start) / count
    edges = [start + round(step * i) for i in range(count)] + [top]
    return [(edges[i], edges[i + 1] if i < count - 1 else None) for i in range(count)]


def keyset_params(
    params: Params, after: int | None, upper: int | None, limit: int, descending: bool = False
) -> Params:
    """Parameters of one keyset page: id order, ``id[gt]`` and ``id[lt_or_eq]`` bounds.

    Descending, the page asks for ids below ``after`` (``id[lt]``), newest first.
    """
    if descending:
        out = [*params, ("order_by", "id"), ("dir", "desc"), ("limit", str(limit))]
        if after is not None:
            out.append(("id[lt]", str(after)))
        return out
    out = [*params, ("order_by", "id"), ("dir", "asc"), ("limit", str(limit))]
    if after is not None:
        out.append(("id[gt]", str(after)))
    if upper is not None:
        out.append(("id[lt_or_eq]", str(upper)))
    return out


@dataclass
class KeysetPager:
    """Keyset paging on ``id``, optionally split into concurrent id-range partitions.

    Args:
        fetch: Gets one page for the given parameters.
        params: The query's own parameters (filters, fields) without ordering or id bounds.
        probe_max_id: Returns the largest matching id (None when nothing matches).
        concurrency: Partitions fetched at once.
        max_records: Stop after this many records (forces one partition, in id order).
        page_size: ``limit`` sent with every request.
        descending: Newest first (``dir=desc``, ``id[lt]``), in one partition so the
            output keeps that order.
    """

    fetch: Fetch
    params: Params
    probe_max_id: Callable[[], Awaitable[int | None]]
    concurrency: int = 1
    max_records: int | None = None
    page_size: int = PAGE_SIZE
    descending: bool = False
    delivered: int = 0
    pages: int = 0
    partitions: list[tuple[int | None, int | None]] = field(default_factory=list)

    async def _partition(
        self, index: int, after: int | None, upper: int | None
    ) -> AsyncGenerator[tuple[Params, int | None, RecordBatch], None]:
        last = after
        while True:
            limit = self.page_size
            if self.max_records is not None:
                limit = max(1, min(limit, self.max_records - self.delivered))
            params = keyset_params(self.params, last, upper, limit, self.descending)
            if last is None:
                where = f"the first page of partition {index}"
            else:
                where = f"the page at id {'<' if self.descending else '>'} {last}"
                where += f" (partition {index})"
            try:
                records = await self.fetch(params)
            except CoupaError as exc:
                raise _position(exc, where, self.delivered) from None
            if len(records) > self.page_size:
                raise PagingError(
                    f"The server sent {len(records)} records for limit={self.page_size}."
                )
            ids = [_record_id(r, where) for r in records.ids]
            floor = last if last is not None else None
            for current in ids:
                behind = floor is not None and (
                    current >= floor if self.descending else current <= floor
                )
                if behind or (upper is not None and current > upper):
                    raise PagingError(
                        f"The server ignored order_by=id or the id bounds (id {current} at "
                        f"{where}); stopping rather than risk repeats or gaps."
                    )
                floor = current
            yield params, last, records
            if len(records) < limit:
                return
            last = ids[-1]

    async def __aiter__(self) -> AsyncIterator[Page]:
        if self.concurrency == 1 or self.max_records is not None or self.descending:
            self.partitions = [(None, None)]
            async for params, after, records in self._partition(0, None, None):
                page = self._take(records, params, after, 0)
                if page is not None:
                    yield page
                if self.max_records is not None and self.delivered >= self.max_records:
                    return
            return
        # The first page tells whether partitioning is worth a probe at all.
        first_iter = self._partition(0, None, None)
        try:
            params, after, records = await anext(first_iter)
        finally:
            await first_iter.aclose()
        page = self._take(records, params, after, 0)
        if page is not None:
            yield page
        if len(records) < self.page_size:
            return
        start = _record_id(records.ids[-1], "the first page")
        top = await self.probe_max_id()
        bounds = self._split(start, top)
        self.partitions = bounds
        async for page in self._run_partitions(bounds):
            yield page

    def _split(self, start: int, top: int | None) -> list[tuple[int | None, int | None]]:
        return split_ids(start, top, self.concurrency, self.page_size)

    def _take(
        self, records: RecordBatch, params: Params, after: int | None, partition: int
    ) -> Page | None:
        if self.max_records is not None:
            records = records.head(self.max_records - self.delivered)
        if not records and self.pages > 0:
            return None
        self.delivered += len(records)
        page = Page(records, self.pages, tuple(params), after_id=after, partition=partition)
        self.pages += 1
        return page

    async def ranges(
        self, bounds: Sequence[tuple[int | None, int | None]], first_index: int = 0
    ) -> AsyncIterator[Page]:
        """Fetch given id ranges concurrently (one task per range), pages as they come.

        Args:
            bounds: Disjoint ``(after, upper)`` id ranges, as from ``split_ids``.
            first_index: Number of the first range, so failures name the global partition.

        Yields:
            Pages of every range, interleaved.
        """
        self.partitions = list(bounds)
        async for page in self._run_partitions(bounds, first_index):
            yield page

    async def _run_partitions(
        self, bounds: Sequence[tuple[int | None, int | None]], first_index: int = 0
    ) -> AsyncIterator[Page]:
        # A bounded queue keeps memory flat: workers wait while the consumer writes.
        queue: asyncio.Queue[tuple[int, Params, int | None, RecordBatch] | None] = asyncio.Queue(
            maxsize=max(2, len(bounds))
        )
        failures: list[BaseException] = []

        async def worker(index: int, after: int | None, upper: int | None) -> None:
            try:
                async for params, last, records in self._partition(index, after, upper):
                    await queue.put((index, params, last, records))
            except asyncio.CancelledError:
                raise
            except BaseException as exc:  # handed to the consumer, which re-raises it
                failures.append(exc)
            await queue.put(None)  # not reached when cancelled, so it never blocks a cancel

        tasks = [
            asyncio.ensure_future(worker(first_index + i, a, u)) for i, (a, u) in enumerate(bounds)
        ]
        running = len(tasks)
        try:
            while running:
                item = await queue.get()
                if item is None:
                    running -= 1
                    if failures:
                        raise failures[0]
                    continue
                index, params, last, records = item
                page = self._take(records, params, last, index)
                if page is not None:
                    yield page
            if failures:
                raise failures[0]
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(BaseException):
                    await task
