"""Large extracts in several processes: disjoint id ranges, one spool file each, merged in order.

One process decodes JSON and writes records at about one core's worth of pages per second;
with several cores, the id range is split and each worker process fetches its share with its
own connection, so decoding runs in parallel. How it stays exactly-once and within budget:

* The parent probes the smallest and largest matching ids, then cuts the span into disjoint
  ``(after, upper]`` ranges (``split_ids``); each worker keyset-pages a contiguous run of them.
  Every id falls in exactly one range, and the last range is open-ended, so a record inserted
  during the run is still delivered at most once.
* Workers spool JSON Lines to temporary files beside the output. The parent appends the spools
  to its ordinary writer in range (id) order only after every worker succeeded, then commits
  the output atomically; one failed range fails the whole extract with its position, and no
  partial output is committed.
* The connection's concurrency and client-side rate limit are budgets for the whole extract:
  they are split between the workers, so the sum of requests in flight and of requests per
  second stays what the connection allows.
* Workers receive the connection settings through the process pipe (the secret never touches
  the disk) and are started with the ``spawn`` method, which is safe while the parent holds
  threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import logging.handlers
import multiprocessing
import os
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from coupa_connector.activities.query import fetch_batch
from coupa_connector.activities.query._batch import RecordBatch, fresh_indexes
from coupa_connector.activities.query._paging import PAGE_SIZE, KeysetPager, Params, split_ids
from coupa_connector.client._redact import ROOT_LOGGER
from coupa_connector.errors import QueryError
from coupa_connector.operations.files._output import RecordWriter

if TYPE_CHECKING:
    from multiprocessing import Queue
    from multiprocessing.sharedctypes import Synchronized
    from multiprocessing.synchronize import Event

    from coupa_connector._connection import AsyncConnection
    from coupa_connector.activities.query import QuerySpec
    from coupa_connector.client._config import ConnectionConfig

# Progress is polled this often while the workers run.
POLL_SECONDS = 0.25


@dataclass(frozen=True)
class PartitionJob:
    """One worker's share of an extract.

    Attributes:
        config: Connection settings with this worker's share of concurrency and rate limit.
        resource: API path of the object (``/api/invoices``).
        object_name: Catalog name of the object.
        params: The query's parameters, without id bounds, order or limit.
        bounds: Disjoint ``(after, upper)`` id ranges, fetched concurrently.
        first_index: Global number of the first range (for error positions).
        spool: File the records are written to, as JSON Lines.
        keep_ids: Return the written ids (for marking them exported afterwards).
    """

    config: ConnectionConfig
    resource: str
    object_name: str
    params: tuple[tuple[str, str], ...]
    bounds: tuple[tuple[int | None, int | None], ...]
    first_index: int
    spool: str
    keep_ids: bool = False


@dataclass
class PartitionResult:
    """What one worker fetched and wrote; ``read == written + duplicates``.

    ``size`` is the spool's length in bytes, checked before the merge.
    """

    read: int = 0
    written: int = 0
    duplicates: int = 0
    pages: int = 0
    size: int = 0
    ids: list[int] = field(default_factory=list)


class _Stopped(Exception):
    """A worker stopped because another one failed."""


_stop: Event | None = None
_records: Synchronized[int] | None = None
_pages: Synchronized[int] | None = None


def _init_worker(
    stop: Event,
    records: Synchronized[int],
    pages: Synchronized[int],
    log_queue: Queue[logging.LogRecord],
    log_level: int,
) -> None:
    global _stop, _records, _pages
    _stop, _records, _pages = stop, records, pages
    # A spawned worker starts with no logging set up: its records (already redacted by the
    # loggers' filters here) go to the parent, which logs them as its own.
    root = logging.getLogger(ROOT_LOGGER)
    root.setLevel(log_level)
    root.addHandler(logging.handlers.QueueHandler(log_queue))
    root.propagate = False


class _LogInParent(logging.Handler):
    """Hands a worker's log record to the parent's logger of the same name."""

    def emit(self, record: logging.LogRecord) -> None:
        logger = logging.getLogger(record.name)
        if logger.isEnabledFor(record.levelno):
            logger.handle(record)


def run_job(job: PartitionJob) -> PartitionResult:
    """Fetch a worker's id ranges into its spool file (runs in the worker process).

    Raises:
        CoupaError: A page failed after the connection's retries (with its position).
    """
    return asyncio.run(_run_job(job))


async def _run_job(job: PartitionJob) -> PartitionResult:
    from coupa_connector._connection import AsyncConnection

    result = PartitionResult()
    seen: set[int] = set()
    async with AsyncConnection(job.config) as conn:

        async def fetch(params: Params) -> RecordBatch:
            return await fetch_batch(conn, job.resource, job.object_name, params)

        async def no_probe() -> int | None:
            return None  # the parent planned the ranges already

        pager = KeysetPager(fetch, list(job.params), no_probe, len(job.bounds), None, PAGE_SIZE)
        with open(job.spool, "wb") as out:
            async for page in pager.ranges(job.bounds, job.first_index):
                if _stop is not None and _stop.is_set():
                    raise _Stopped
                result.pages += 1
                result.read += len(page.batch)
                keep = fresh_indexes(page.batch.ids, seen)
                result.duplicates += len(page.batch) - len(keep)
                fresh = page.batch.pick(keep)
                if job.keep_ids:
                    result.ids.extend(int(key) for key in fresh.ids)  # the pager checked them
                for line in fresh.json_lines():
                    out.write(line)
                    out.write(b"\n")
                    result.size += len(line) + 1
                result.written += len(fresh)
                _count(len(page.batch))
    return result


def _count(records: int) -> None:
    if _records is not None and _pages is not None:
        with _records.get_lock():
            _records.value += records
        with _pages.get_lock():
            _pages.value += 1


def share(total: int, parts: int) -> list[int]:
    """Split ``total`` into ``parts`` near-equal positive shares (larger ones first)."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def plan_jobs(
    config: ConnectionConfig,
    spec: QuerySpec,
    lowest: int,
    highest: int,
    processes: int,
    concurrency: int,
    spool_dir: Path,
    spool_name: str,
    keep_ids: bool,
) -> list[PartitionJob]:
    """Cut the ids from ``lowest`` to ``highest`` into ranges and deal them to workers.

    Each worker gets a contiguous run of ranges (so spools concatenate in id order), its
    share of ``concurrency`` as the most requests it has in flight, and the same share of the
    rate limit.
    """
    ranges = split_ids(lowest - 1, highest, concurrency, PAGE_SIZE)
    workers = min(processes, len(ranges))
    counts = share(len(ranges), workers)
    in_flight = share(concurrency, workers)
    rate = None if config.rate_limit is None else config.rate_limit / workers
    burst = max(1, config.burst // workers)
    jobs: list[PartitionJob] = []
    start = 0
    for number, (count, width) in enumerate(zip(counts, in_flight, strict=True)):
        fd, spool = tempfile.mkstemp(
            prefix=f".{spool_name}.part{number}.", suffix=".tmp", dir=spool_dir
        )
        os.close(fd)
        jobs.append(
            PartitionJob(
                config=replace(config, concurrency=width, rate_limit=rate, burst=burst),
                resource=spec.resource,
                object_name=spec.obj.name,
                params=tuple(spec.params()),
                bounds=tuple(ranges[start : start + count]),
                first_index=start,
                spool=spool,
                keep_ids=keep_ids,
            )
        )
        start += count
    return jobs


async def id_span(conn: AsyncConnection, spec: QuerySpec) -> tuple[int, int] | None:
    """The smallest and largest matching ids (None when nothing matches)."""
    base = [(k, v) for k, v in spec.params() if k not in ("fields", "return_object")]
    ends: list[int] = []
    for direction in ("asc", "desc"):
        params = [
            *base,
            ("order_by", "id"),
            ("dir", direction),
            ("limit", "1"),
            ("return_object", "limited"),
        ]
        rows = await conn.request("GET", spec.resource, params=params, object_name=spec.obj)
        if not rows or isinstance(rows, dict) or rows[0].get("id") is None:
            return None
        ends.append(int(rows[0]["id"]))
    return ends[0], ends[1]


def check_processes(spec: QuerySpec, processes: int, concurrency: int) -> None:
    """Refuse what a multi-process extract cannot do exactly once.

    Raises:
        QueryError: Offset paging, a record limit, or more processes than requests in flight.
    """
    if processes < 1:
        raise QueryError(f"processes must be at least 1, not {processes}.")
    if spec.paging != "keyset" or spec.descending:
        raise QueryError(
            "processes > 1 splits the query by ascending id ranges, which needs keyset paging "
            "in id order; drop order_by, dir=desc (or paging='offset'), or use processes=1."
        )
    if spec.limit is not None:
        raise QueryError(
            "processes > 1 cannot honour limit (the first N records by id are one range); "
            "drop limit or use processes=1."
        )
    if processes > concurrency:
        raise QueryError(
            f"processes ({processes}) cannot exceed concurrency ({concurrency}): the "
            "requests in flight are shared between the processes."
        )


async def extract_in_processes(
    conn: AsyncConnection,
    spec: QuerySpec,
    writer: RecordWriter,
    *,
    processes: int,
    concurrency: int,
    keep_ids: bool,
    on_progress: Callable[[int, int], None] | None = None,
) -> tuple[PartitionResult, list[int]]:
    """Fetch a keyset query in worker processes and append the records to ``writer``.

    Args:
        conn: The parent's open connection (probes the id span; its settings go to workers).
        spec: A validated keyset query (incremental bounds already fixed in it).
        writer: The output, committed by the caller after this returns.
        processes: Worker processes.
        concurrency: Requests in flight across all workers.
        keep_ids: Collect the written ids (for marking exported).
        on_progress: Called with (records read, pages) while the workers run.

    Returns:
        The summed counts, and the written ids in output order when ``keep_ids``.

    Raises:
        CoupaError: A worker's page failed; nothing was appended to ``writer``.
    """
    check_processes(spec, processes, concurrency)
    total = PartitionResult()
    jobs: list[PartitionJob] = []
    # The workers start now, so their start-up overlaps the probes.
    workers = _Workers(processes)
    try:
        span = await id_span(conn, spec)
        if span is None:
            total.pages = 1  # the answer that said nothing matches
            return total, []
        if writer.file is not None:
            spool_dir, spool_name = writer.file.parent, writer.file.name
        else:
            spool_dir, spool_name = Path(tempfile.gettempdir()), "coupa-query"
        jobs = plan_jobs(
            conn.config,
            spec,
            span[0],
            span[1],
            processes,
            concurrency,
            spool_dir,
            spool_name,
            keep_ids,
        )
        results = await workers.run(jobs, on_progress)
        ids: list[int] = []
        for job, part in zip(jobs, results, strict=True):
            with open(job.spool, "rb") as spool:
                size = os.fstat(spool.fileno()).st_size
                if size != part.size:
                    raise QueryError(
                        f"The spool of partitions {job.first_index}.. holds {size} bytes, not "
                        f"the {part.size} its worker wrote; stopping before committing."
                    )
                writer.write_spool(spool, part.written)
            total.read += part.read
            total.written += part.written
            total.duplicates += part.duplicates
            total.pages += part.pages
            ids.extend(part.ids)
        return total, ids
    finally:
        await workers.close()
        for job in jobs:
            with contextlib.suppress(OSError):
                os.unlink(job.spool)


def warm_up() -> None:
    """Import the connection stack and load the catalog (runs in a starting worker)."""
    from coupa_connector import _connection
    from coupa_connector.catalog import load_catalog

    del _connection
    load_catalog()


class _Workers:
    """A pool of spawned worker processes with a shared stop flag and progress counters."""

    def __init__(self, processes: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.stop = context.Event()
        self.records = context.Value("q", 0)
        self.pages = context.Value("q", 0)
        log_queue: Queue[logging.LogRecord] = context.Queue()
        self.log_listener = logging.handlers.QueueListener(log_queue, _LogInParent())
        self.log_listener.start()
        self.executor = ProcessPoolExecutor(
            max_workers=processes,
            mp_context=context,
            initializer=_init_worker,
            initargs=(
                self.stop,
                self.records,
                self.pages,
                log_queue,
                logging.getLogger(ROOT_LOGGER).getEffectiveLevel(),
            ),
        )
        for _ in range(processes):
            self.executor.submit(warm_up)

    async def run(
        self, jobs: Sequence[PartitionJob], on_progress: Callable[[int, int], None] | None
    ) -> list[PartitionResult]:
        """Run the jobs, one per worker; return their results in job order.

        Raises:
            CoupaError: The first real failure (a page that failed after retries).
            QueryError: A worker process died.
        """
        futures = [self.executor.submit(run_job, job) for job in jobs]
        waiting = {asyncio.wrap_future(f) for f in futures}
        while waiting:
            done, waiting = await asyncio.wait(
                waiting, timeout=POLL_SECONDS, return_when=asyncio.FIRST_EXCEPTION
            )
            if on_progress is not None:
                on_progress(self.records.value, self.pages.value)
            if any(not d.cancelled() and d.exception() is not None for d in done):
                break
        self.stop.set()  # the others stop at their next page
        for wrapped in waiting:
            wrapped.cancel()  # the process futures themselves are inspected below
        failure = _first_failure(futures)
        if isinstance(failure, BrokenProcessPool):
            raise QueryError(
                "A query worker process ended abruptly; nothing was written. A script that "
                'extracts with processes > 1 must start from an `if __name__ == "__main__":` '
                "block, because worker processes import the main module."
            ) from failure
        if failure is not None:
            raise failure
        return [f.result() for f in futures]

    async def close(self) -> None:
        """Stop the workers and wait until every process has ended."""
        self.stop.set()
        await asyncio.get_running_loop().run_in_executor(
            None, lambda: self.executor.shutdown(wait=True, cancel_futures=True)
        )
        self.log_listener.stop()  # after the workers: their last records are logged too


def _first_failure(futures: Sequence[Future[PartitionResult]]) -> BaseException | None:
    """The failure to report: a real one (in partition order) over a worker's stop."""
    failures = [
        exc
        for f in futures
        if f.done() and not f.cancelled() and (exc := f.exception()) is not None
    ]
    real = [exc for exc in failures if not isinstance(exc, _Stopped)]
    if real:
        return real[0]
    return failures[0] if failures else None


__all__ = [
    "PartitionJob",
    "PartitionResult",
    "check_processes",
    "extract_in_processes",
    "id_span",
    "plan_jobs",
    "run_job",
    "share",
]
