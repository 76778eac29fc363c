"""The write pipeline: input in chunks, a preparation step per chunk, bounded concurrent sends.

One producer reads the input a chunk at a time and prepares it (validation, key lookups:
one batched query per chunk instead of one per record). Records that cannot go out become
results at once; the rest become jobs for a fixed pool of workers, which is what bounds the
requests in flight. Queues between the stages are bounded too, so memory stays flat whatever
the input's size, and results come back as they complete.

A fatal error (bad credentials, a missing scope) stops the reading; jobs already read are
answered as failed ("not sent") so the counts still add up, and the error is raised once
every read record has its result.

A consumer that stops early (``break``, ``aclose()``) stops the reading and the sending of
anything new, but the sends already in flight are finished, not cut off: a create cut off
mid-request may still land, and nobody would know its id. Closing waits for them; the results
of records that were sent and that the consumer no longer takes are logged
(``coupa_connector.writes``, WARNING: position, outcome, id). A cancelled run (Ctrl-C) is cut
off at once instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from coupa_connector._records import RAW_KEY, without_rejects_keys
from coupa_connector.activities.write._results import WriteOutcome, WriteResult
from coupa_connector.errors import CoupaError

__all__ = [
    "FatalWriteError",
    "Item",
    "Job",
    "KeyLocks",
    "UnreadableRecord",
    "input_chunks",
    "make_item",
    "run_pipeline",
]

log = logging.getLogger("coupa_connector.writes")


@dataclass(frozen=True, slots=True)
class UnreadableRecord:
    """An input entry a reader could not turn into a record; it becomes a rejected result.

    Attributes:
        reason: Why it could not be read.
        raw: The input text as found.
        line: 1-based line where it starts, when known.
    """

    reason: str
    raw: str = ""
    line: int | None = None


@dataclass(slots=True)
class Item:
    """One input record on its way through the pipeline.

    Attributes:
        position: 1-based position in the input.
        record: The record as given (kept for results and rejects files).
        body: The record to work with: a plain dict without the rejects file's ``_errors``
            (after validation, without the read-only fields it dropped).
        warnings: What validation reported without refusing the record; the pipeline puts
            them on the record's result, whatever its outcome.
    """

    position: int
    record: Mapping[str, Any]
    body: dict[str, Any]
    warnings: tuple[str, ...] = ()


@dataclass(slots=True)
class Job:
    """A prepared record, ready to send.

    Attributes:
        item: The record.
        run: Sends it and returns its result; raises ``FatalWriteError`` to stop the run.
        lock_key: Records sharing a lock key are sent one after the other (the same natural
            key in one upsert must not create twice).
    """

    item: Item
    run: Callable[[], Awaitable[WriteResult]]
    lock_key: Any = None


class FatalWriteError(Exception):
    """Raised by a job or a preparation when the whole run must stop.

    It carries the results of the records it was handling, so none goes unaccounted.
    """

    def __init__(self, error: CoupaError, *results: WriteResult) -> None:
        super().__init__(str(error))
        self.error = error
        self.results = results


Prepare = Callable[[list[Item]], Awaitable[list[Job | WriteResult]]]


class KeyLocks:
    """One lock per key, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[Any, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: Any) -> AsyncIterator[None]:
        """Hold the key's lock (no-op for a None key)."""
        if key is None:
            yield
            return
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


def rejected_unreadable(position: int, entry: UnreadableRecord) -> WriteResult:
    """The result for an input entry that could not be read as a record."""
    where = f"line {entry.line}: " if entry.line is not None else ""
    return WriteResult(
        position=position,
        outcome=WriteOutcome.REJECTED,
        messages=(f"{where}{entry.reason}",),
        record={RAW_KEY: entry.raw} if entry.raw else None,
    )


def make_item(position: int, entry: Any) -> Item | WriteResult:
    """Wrap one input entry, or reject it at once when it is not a record."""
    if isinstance(entry, UnreadableRecord):
        return rejected_unreadable(position, entry)
    if not isinstance(entry, Mapping):
        return WriteResult(
            position=position,
            outcome=WriteOutcome.REJECTED,
            messages=(
                f"a record must be a mapping of field names to values, not {type(entry).__name__}",
            ),
        )
    body = without_rejects_keys(entry)
    return Item(position=position, record=entry, body=body)


@dataclass(slots=True)
class _State:
    fatal: CoupaError | None = None
    crash: BaseException | None = None
    input_error: BaseException | None = None
    stopped: bool = False
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


async def input_chunks(
    source: Iterable[Any] | AsyncIterable[Any], size: int
) -> AsyncIterator[tuple[list[Any], BaseException | None]]:
    """Chunks of the input; a reading error comes with the records read before it."""
    if isinstance(source, AsyncIterable):
        chunk: list[Any] = []
        try:
            async for entry in source:
                chunk.append(entry)
                if len(chunk) >= size:
                    yield chunk, None
                    chunk = []
        except Exception as exc:  # the reader's error is re-raised after the chunk is done
            yield chunk, exc
            return
        if chunk:
            yield chunk, None
        return
    iterator = iter(source)

    def take() -> tuple[list[Any], BaseException | None, bool]:
        got: list[Any] = []
        try:
            for _ in range(size):
                got.append(next(iterator))
        except StopIteration:
            return got, None, True
        except Exception as exc:
            return got, exc, True
        return got, None, False

    while True:
        # A file or a pipe may block; reading in a thread keeps the sends in flight moving.
        got, error, done = await asyncio.to_thread(take)
        if got or error is not None:
            yield got, error
        if done:
            return


async def run_pipeline(
    source: Iterable[Any] | AsyncIterable[Any],
    prepare: Prepare,
    *,
    concurrency: int,
    batch_size: int = 50,
) -> AsyncIterator[WriteResult]:
    """Run records through ``prepare`` and the jobs it returns; yield results as they come.

    Args:
        source: Records (mappings), ``UnreadableRecord`` entries, sync or async.
        prepare: Turns a chunk of items into results (rejected now) and jobs (to send).
        concurrency: Jobs sent at once.
        batch_size: Records per chunk handed to ``prepare``.

    Yields:
        One result per input entry, in completion order.

    Raises:
        CoupaError: A fatal error stopped the run (after every read record has its result),
            or the input could not be read further.
    """
    workers = max(1, concurrency)
    jobs: asyncio.Queue[Job | None] = asyncio.Queue(maxsize=workers * 2)
    out: asyncio.Queue[WriteResult | None] = asyncio.Queue(maxsize=max(64, batch_size * 2))
    state = _State()
    locks = KeyLocks()
    # Validation warnings of records prepared and not yet answered, by position: each goes
    # on its record's result, however the record ends.
    warned: dict[int, tuple[str, ...]] = {}

    def stop_note() -> str:
        cause = state.fatal if state.fatal is not None else state.crash
        return f"not sent: the run stopped after an earlier error: {cause}"

    def internal_failure(item: Item, exc: BaseException) -> WriteResult:
        return WriteResult(
            position=item.position,
            outcome=WriteOutcome.FAILED,
            record=item.record,
            messages=(f"not written: internal error {exc!r}",),
        )

    async def produce() -> None:
        # No ``finally`` here: a cancelled producer must not block on full queues.
        position = 0
        try:
            async for chunk, error in input_chunks(source, batch_size):
                items: list[Item] = []
                for entry in chunk:
                    position += 1
                    made = make_item(position, entry)
                    if isinstance(made, WriteResult):
                        await out.put(made)
                    elif state.stopped:
                        await out.put(
                            WriteResult(
                                position=made.position,
                                outcome=WriteOutcome.FAILED,
                                record=made.record,
                                messages=(stop_note(),),
                            )
                        )
                    else:
                        items.append(made)
                if items:
                    try:
                        prepared = await prepare(items)
                    except FatalWriteError:
                        warned.update((i.position, i.warnings) for i in items if i.warnings)
                        raise
                    except Exception as exc:  # a defect: account for the chunk, then stop
                        state.crash, state.stopped = exc, True
                        prepared = [internal_failure(item, exc) for item in items]
                    warned.update((i.position, i.warnings) for i in items if i.warnings)
                    for entry in prepared:
                        if isinstance(entry, WriteResult):
                            await out.put(entry)
                        else:
                            await jobs.put(entry)
                if error is not None:
                    state.input_error = error
                    break
                if state.stopped:
                    break
        except FatalWriteError as fatal:
            state.fatal, state.stopped = fatal.error, True
            for result in fatal.results:
                await out.put(result)
        except Exception as exc:  # a defect outside any record: stop, raise at the end
            state.crash, state.stopped = exc, True
        for _ in range(workers):
            await jobs.put(None)
        await out.put(None)

    async def work() -> None:
        while (job := await jobs.get()) is not None:
            if state.stopped:
                await out.put(
                    WriteResult(
                        position=job.item.position,
                        outcome=WriteOutcome.FAILED,
                        record=job.item.record,
                        messages=(stop_note(),),
                    )
                )
                continue
            try:
                async with locks.hold(job.lock_key):
                    results: tuple[WriteResult, ...] = (await job.run(),)
            except FatalWriteError as fatal:
                if state.fatal is None:
                    state.fatal = fatal.error
                state.stopped = True
                results = fatal.results
            except Exception as exc:  # a defect: account for the record, then stop
                if state.crash is None:
                    state.crash = exc
                state.stopped = True
                results = (internal_failure(job.item, exc),)
            for result in results:
                await out.put(result)
        await out.put(None)

    async def drain(finished: int) -> None:
        """After the consumer closed: read nothing more, start nothing new, finish what is
        in flight, and log the result of every record sent that nobody will take."""
        state.stopped = True
        producer, pool = state.tasks[0], state.tasks[1:]
        producer.cancel()
        await asyncio.gather(producer, return_exceptions=True)
        for _ in range(jobs.qsize()):
            jobs.get_nowait()  # never started: nothing of them reached Coupa
        for _ in pool:
            jobs.put_nowait(None)
        # Each worker ends with one None; the producer did too unless it was cut off.
        expected = len(pool) + (0 if producer.cancelled() else 1) - finished
        late: list[WriteResult] = []
        while expected > 0:
            result = await out.get()
            if result is None:
                expected -= 1
            elif result.attempts > 0:  # it was sent: Coupa may hold what it did
                late.append(result)
        for result in sorted(late, key=lambda r: r.position):
            log.warning(
                "record %d finished after the results were closed: %s%s",
                result.position,
                result.outcome.value,
                f" (Coupa id {result.id})" if result.id is not None else "",
            )

    state.tasks = [asyncio.create_task(produce())]
    state.tasks += [asyncio.create_task(work()) for _ in range(workers)]
    finished = 0
    closed = False
    try:
        while finished < len(state.tasks):
            result = await out.get()
            if result is None:
                finished += 1
                continue
            notes = warned.pop(result.position, ())
            if notes and not result.warnings:
                result = dataclasses.replace(result, warnings=notes)
            try:
                yield result
            except GeneratorExit:
                closed = True
                raise
    finally:
        try:
            if closed:
                await drain(finished)
        finally:
            for task in state.tasks:
                if not task.done():
                    task.cancel()
            await asyncio.gather(*state.tasks, return_exceptions=True)
    if state.fatal is not None:
        raise state.fatal
    if state.crash is not None:
        raise state.crash
    if state.input_error is not None:
        raise state.input_error
