"""Sending one record: what each error means for it, and never creating it twice.

This module is the one loop that resends a write. Each attempt goes through the connection
with ``retry=False`` (rate limit, auth and one re-mint after a 401 still apply), and what a
failure means for the record is the ``Resolution`` column of the retry decision table
(``client._retry``):

    FAIL      Coupa refused this record (400, 404, ...): a per-record failure with Coupa's
              messages; the run goes on.
    FATAL     no record can succeed (401, 403, refused connection, DNS, TLS, bad settings):
              stop reading, raise at the end.
    RESEND    the request provably did not land (429, 503, connect errors): send it again
              after the wait Coupa asks for, or a backoff.
    UNKNOWN   it may have landed (timeout, dropped connection, 500/502/504): an update is
              simply sent again (a PUT is idempotent unless it adds lines, see
              ``_lines``); a create is first looked up by its
              unique natural key (only a record that did not exist before the send counts)
              and sent again only when Coupa does not have it.

The resends of one record spend one ``Budget``: at most ``max_attempts`` sends after errors,
``RetryPolicy.max_throttled`` more after throttling, all within ``RetryPolicy.total_time``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypedDict

from coupa_connector.activities.write._lines import (
    Landed,
    LineIds,
    added_lines,
    adds_lines,
    landed,
    line_ids,
)
from coupa_connector.activities.write._pipeline import FatalWriteError, Item, Prepare, run_pipeline
from coupa_connector.activities.write._results import WriteOutcome, WriteResult
from coupa_connector.catalog import VALIDATIONS, ObjectDef, ValidationMode
from coupa_connector.client import RetryPolicy
from coupa_connector.client._retry import (
    Backoff,
    Budget,
    Resolution,
    is_throttle,
    outcome_of,
    resolution,
)
from coupa_connector.errors import (
    ConfigurationError,
    CoupaError,
    NotFoundError,
    RateLimitError,
    ValidationError,
)

# Record contents may be personal data: log positions, objects and outcomes, never values.
log = logging.getLogger("coupa_connector.writes")

__all__ = [
    "RecordWriteKeywords",
    "Recover",
    "Requester",
    "Resolution",
    "SendContext",
    "WriteKeywords",
    "WriteOptions",
    "default_concurrency",
    "failed_result",
    "make_options",
    "resolution",
    "run_writes",
    "send_create",
    "send_put",
]


class Requester(Protocol):
    """What the write activities need of a connection: one request at a time."""

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        object_name: str | None = None,
        retry: bool = True,
    ) -> Any:
        """Send one request; return the decoded answer or raise a ``CoupaError``.

        ``retry=False`` sends it once whatever happens (a write that must not repeat)."""
        ...


@dataclass(frozen=True, slots=True)
class WriteOptions:
    """Knobs of a write run.

    Attributes:
        concurrency: Records sent at once; None uses the connection's ``concurrency``.
        batch_size: Records read and prepared together (one key lookup query per batch).
        dry_run: Validate only; nothing is sent (no lookups either).
        max_attempts: Sends of one record's request after errors (the connection does not
            resend a write itself) before the record is given up as failed; throttling
            (429) has the connection's ``RetryPolicy.max_throttled`` on top.
        retry_delay: First backoff ceiling in seconds between those sends; it doubles each
            time (full jitter picks below it).
        retry_delay_cap: Largest such ceiling.
        return_object: Coupa's ``return_object`` for writes; ``limited`` (ids only) keeps
            answers small. None asks for the full record.
        validation: How records are checked before they are sent: ``lenient`` (errors
            refuse a record, warnings are reported on its result and it is sent, read-only
            fields left out), ``strict`` (warnings refuse it too) or ``off`` (sent as given).
    """

    concurrency: int | None = None
    batch_size: int = 50
    dry_run: bool = False
    max_attempts: int = 4
    retry_delay: float = 0.5
    retry_delay_cap: float = 10.0
    return_object: str | None = "limited"
    validation: ValidationMode = "lenient"

    def __post_init__(self) -> None:
        if self.validation not in VALIDATIONS:
            raise ConfigurationError(
                f"validation must be one of {', '.join(VALIDATIONS)}, not {self.validation!r}."
            )
        if self.concurrency is not None and self.concurrency < 1:
            raise ConfigurationError(f"concurrency must be at least 1, not {self.concurrency}.")
        if self.batch_size < 1:
            raise ConfigurationError(f"batch_size must be at least 1, not {self.batch_size}.")
        if self.max_attempts < 1:
            raise ConfigurationError(f"max_attempts must be at least 1, not {self.max_attempts}.")


class WriteKeywords(TypedDict, total=False):
    """The keyword arguments every write activity takes besides its key (``create``,
    ``update``, ``upsert``, ``action``), for the connections' typed doors onto them."""

    concurrency: int | None
    dry_run: bool | None
    options: WriteOptions | None


class RecordWriteKeywords(WriteKeywords, total=False):
    """``WriteKeywords`` plus the check of the records a create, update or upsert sends
    (``lenient``, ``strict`` or ``off``; see ``WriteOptions.validation``)."""

    validation: ValidationMode | None


def make_options(
    options: WriteOptions | None,
    *,
    concurrency: int | None,
    dry_run: bool | None,
    validation: ValidationMode | None = None,
) -> WriteOptions:
    """``options`` with the common keyword arguments applied on top."""
    base = options or WriteOptions()
    changes: dict[str, Any] = {}
    if validation is not None:
        changes["validation"] = validation
    if concurrency is not None:
        changes["concurrency"] = concurrency
    if dry_run is not None:
        changes["dry_run"] = dry_run
    return dataclasses.replace(base, **changes) if changes else base


def default_concurrency(conn: Requester) -> int:
    """The connection's own concurrency setting, or 8 for a bare requester."""
    config = getattr(conn, "config", None)
    value = getattr(config, "concurrency", None)
    return value if isinstance(value, int) and value > 0 else 8


def run_writes(
    conn: Requester,
    source: Iterable[Any] | AsyncIterable[Any],
    prepare: Prepare,
    options: WriteOptions,
) -> AsyncIterator[WriteResult]:
    """Run a write activity's pipeline with the run's concurrency and batch size.

    Args:
        conn: The connection; its ``concurrency`` applies when ``options`` sets none.
        source: The records (or targets), sync or async.
        prepare: Turns a chunk of items into results (rejected now) and jobs (to send).
        options: The run's knobs.

    Returns:
        An async iterator of one ``WriteResult`` per input entry, in completion order.
    """
    return run_pipeline(
        source,
        prepare,
        concurrency=options.concurrency or default_concurrency(conn),
        batch_size=options.batch_size,
    )


@dataclass(slots=True)
class SendContext:
    """Everything a send needs besides the record."""

    conn: Requester
    obj: ObjectDef
    options: WriteOptions
    rng: random.Random = field(default_factory=random.Random)

    @property
    def write_params(self) -> dict[str, str]:
        """Query parameters sent with every create and update."""
        ro = self.options.return_object
        return {"return_object": ro} if ro else {}

    @property
    def policy(self) -> RetryPolicy:
        """The retry budget of one record: the connection's policy (throttling, total time,
        ``Retry-After`` bound) with the run's attempts and backoff."""
        config = getattr(self.conn, "config", None)
        base = getattr(config, "retry", None)
        if not isinstance(base, RetryPolicy):
            base = RetryPolicy()
        return dataclasses.replace(
            base,
            max_retries=self.options.max_attempts - 1,
            backoff_base=self.options.retry_delay,
            backoff_cap=self.options.retry_delay_cap,
        )

    def budget(self) -> Budget:
        """A fresh budget for one record's sends."""
        return Budget(self.policy, Backoff(self.policy, self.rng))


def next_wait(budget: Budget, error: CoupaError) -> float | None:
    """The wait before sending again after ``error``, or None when the budget is spent."""
    retry_after = getattr(error, "retry_after", None)
    if not isinstance(retry_after, int | float) or retry_after < 0:
        retry_after = None
    outcome = outcome_of(error)
    throttled = outcome is not None and is_throttle(outcome, retry_after)
    if isinstance(error, RateLimitError):
        throttled = True
    return budget.next_delay(throttled=throttled, retry_after=retry_after)


def error_messages(error: CoupaError) -> tuple[str, ...]:
    """Coupa's own messages when it gave any, else our description of the error."""
    return error.messages or (str(error),)


def failed_result(
    item: Item, error: CoupaError, *, rid: int | None = None, attempts: int = 0, prefix: str = ""
) -> WriteResult:
    """A failed result carrying Coupa's messages (or the error's description)."""
    messages = tuple(prefix + m for m in error_messages(error))
    return WriteResult(
        position=item.position,
        outcome=WriteOutcome.FAILED,
        id=rid,
        messages=messages,
        record=item.record,
        status=error.status,
        attempts=attempts,
    )


def _id_of(data: Any) -> int | None:
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    if not isinstance(data, Mapping):
        return None
    value = data.get("id")
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


Recover = Callable[[], Awaitable[tuple[int, ...]]]
"""Looks the record up by its unique natural key: the ids of matching records that did not
exist before the create was sent (so an older record with the same key is never taken)."""


async def send_create(
    ctx: SendContext, item: Item, body: Mapping[str, Any], recover: Recover | None
) -> WriteResult:
    """POST one record, recovering from a lost answer without making a duplicate.

    Args:
        ctx: The run's send context.
        item: The record.
        body: What to send.
        recover: Finds the record this create made; None when the record has no unique
            natural key, and a lost answer then fails it instead of risking a duplicate.

    Raises:
        FatalWriteError: The error means no record can be written (credentials, scope).
    """
    assert ctx.obj.resource is not None
    budget = ctx.budget()
    attempt = 0
    lost: CoupaError | None = None  # the first answer lost, once one was
    while True:
        attempt += 1
        try:
            data = await ctx.conn.request(
                "POST",
                ctx.obj.resource,
                params=ctx.write_params,
                body=dict(body),
                object_name=ctx.obj.name,
                retry=False,
            )
        except CoupaError as error:
            res = resolution(error)
            if res is Resolution.FATAL:
                raise FatalWriteError(error, failed_result(item, error, attempts=attempt)) from None
            if res is Resolution.FAIL:
                if lost is not None and isinstance(error, ValidationError):
                    # "Already taken" after a lost answer may be about our own first send.
                    return await _refused_after_loss(item, recover, lost, error, attempt)
                return failed_result(item, error, attempts=attempt)
            wait = next_wait(budget, error)
            if res is Resolution.UNKNOWN:
                lost = lost or error
                log.info(
                    "create of %s record %d: the answer was lost (%s); looking it up by its "
                    "natural key before anything is sent again",
                    ctx.obj.name,
                    item.position,
                    error.message,
                )
                # Give a slow server the time to finish what it may be doing, then ask.
                await asyncio.sleep(wait if wait is not None else budget.lookup_pause())
                found = await _recover(item, recover, error, attempt)
                if isinstance(found, WriteResult):
                    log.info(
                        "create of %s record %d: %s after the lost answer",
                        ctx.obj.name,
                        item.position,
                        "found in Coupa" if found.recovered else found.outcome.value,
                    )
                    return found
            if wait is None or not ctx.policy.retry_writes:
                return _gave_up(ctx, item, error, attempt)
            if res is Resolution.RESEND:
                await asyncio.sleep(wait)
            continue
        rid = _id_of(data)
        notes: tuple[str, ...] = ()
        if rid is None:
            ids = await _safe_recover(recover)
            if ids is not None and len(ids) == 1:
                rid = ids[0]
            else:
                notes = ("created, but Coupa's answer carried no id",)
        return WriteResult(
            position=item.position,
            outcome=WriteOutcome.CREATED,
            id=rid,
            messages=notes,
            record=item.record,
            attempts=attempt,
        )


def _gave_up(
    ctx: SendContext, item: Item, error: CoupaError, attempt: int, *, rid: int | None = None
) -> WriteResult:
    """The record's failure once its budget is spent."""
    log.warning("%s record %d: gave up after %d sends", ctx.obj.name, item.position, attempt)
    return failed_result(
        item, error, rid=rid, attempts=attempt, prefix=f"gave up after {attempt} sends: "
    )


async def _safe_recover(recover: Recover | None) -> tuple[int, ...] | None:
    if recover is None:
        return None
    try:
        return await recover()
    except CoupaError:
        return None


async def _refused_after_loss(
    item: Item, recover: Recover | None, lost: CoupaError, refused: CoupaError, attempt: int
) -> WriteResult:
    """A send refused (400) after an earlier answer was lost: the record made by the earlier
    send when Coupa now shows one, else the refusal, saying Coupa should be checked."""
    found = await _recover(item, recover, lost, attempt)
    if isinstance(found, WriteResult) and found.recovered:
        return found
    return failed_result(item, refused, attempts=attempt) if found is None else found


async def _recover(
    item: Item, recover: Recover | None, error: CoupaError, attempt: int
) -> WriteResult | None:
    """After a lost answer: the record's result if Coupa has it (or we cannot tell), None to
    send it again."""
    lost = f"the answer to the create was lost ({error.message})"
    if recover is None:
        return _lost_failure(
            item,
            error,
            attempt,
            f"{lost}; the record has no unique natural key to look it up by, so it was not "
            "sent again, to avoid a duplicate: check Coupa before feeding it again",
        )
    try:
        ids = await recover()
    except CoupaError as lookup_error:
        if resolution(lookup_error) is Resolution.FATAL:
            raise FatalWriteError(
                lookup_error, failed_result(item, lookup_error, attempts=attempt)
            ) from None
        return _lost_failure(
            item,
            error,
            attempt,
            f"{lost}, and looking it up failed too ({lookup_error}); not sent again, "
            "to avoid a duplicate: check Coupa before feeding it again",
        )
    if len(ids) == 1:
        return WriteResult(
            position=item.position,
            outcome=WriteOutcome.CREATED,
            id=ids[0],
            messages=(f"{lost}; found in Coupa by its natural key, so not sent again",),
            record=item.record,
            attempts=attempt,
            recovered=True,
        )
    if len(ids) > 1:
        return _lost_failure(
            item,
            error,
            attempt,
            f"{lost}; its natural key now matches several new records "
            f"(ids {', '.join(map(str, ids))}), so it was not sent again: check Coupa",
        )
    return None


def _lost_failure(item: Item, error: CoupaError, attempt: int, message: str) -> WriteResult:
    """A create given up after its answer was lost, with the status of the lost answer."""
    return WriteResult(
        position=item.position,
        outcome=WriteOutcome.FAILED,
        messages=(message,),
        record=item.record,
        status=error.status,
        attempts=attempt,
    )


async def send_put(
    ctx: SendContext,
    item: Item,
    path: str,
    *,
    body: Mapping[str, Any] | None,
    params: Mapping[str, str] | None = None,
    rid: int,
    outcome: WriteOutcome = WriteOutcome.UPDATED,
    record_path: str | None = None,
) -> WriteResult:
    """PUT one record (an update or an action); sent again on doubt when that is harmless.

    A body that adds collection items (a line without ``id``) is not idempotent: it goes out
    once per decision (every write is sent with the connection's retries off), and a lost
    answer is settled by re-reading the record at ``record_path`` (see ``_lines``); without
    one it fails.

    Raises:
        FatalWriteError: The error means no record can be written (credentials, scope).
    """
    once = body is not None and adds_lines(body)
    added = added_lines(body) if once and body is not None else None
    before: LineIds | None = None
    if added is not None and record_path is not None:
        before = await _read_lines(ctx, item, rid, record_path, list(added))
    budget = ctx.budget()
    attempt = 0
    while True:
        attempt += 1
        try:
            await ctx.conn.request(
                "PUT",
                path,
                params=dict(params) if params is not None else ctx.write_params,
                body=dict(body) if body is not None else None,
                object_name=ctx.obj.name,
                retry=False,
            )
        except CoupaError as error:
            res = resolution(error)
            if res is Resolution.FATAL:
                raise FatalWriteError(
                    error, failed_result(item, error, rid=rid, attempts=attempt)
                ) from None
            if isinstance(error, NotFoundError):
                return WriteResult(
                    position=item.position,
                    outcome=WriteOutcome.FAILED,
                    id=rid,
                    messages=(f"{ctx.obj.name} has no record with id {rid}", *error.messages),
                    record=item.record,
                    status=error.status,
                    attempts=attempt,
                )
            if res is Resolution.FAIL:
                return failed_result(item, error, rid=rid, attempts=attempt)
            wait = next_wait(budget, error)
            if once and res is Resolution.UNKNOWN:
                await asyncio.sleep(wait if wait is not None else budget.lookup_pause())
                settled = await _settle_lost_put(ctx, item, rid, record_path, before, added, error)
                if settled is not None:
                    return dataclasses.replace(settled, attempts=attempt)
                if wait is not None:
                    continue  # it did not land, and the wait is over: send it again
            if wait is None:
                return _gave_up(ctx, item, error, attempt, rid=rid)
            await asyncio.sleep(wait)
            continue
        return WriteResult(
            position=item.position,
            outcome=outcome,
            id=rid,
            record=item.record,
            attempts=attempt,
        )


async def _read_lines(
    ctx: SendContext, item: Item, rid: int, path: str, collections: list[str]
) -> LineIds | None:
    """The record's line ids, or None when they cannot be read (a lost answer then fails).

    Raises:
        FatalWriteError: The read failed in a way no record can get past.
    """
    try:
        return await line_ids(
            lambda params: ctx.conn.request("GET", path, params=params, object_name=ctx.obj.name),
            collections,
        )
    except CoupaError as error:
        if resolution(error) is Resolution.FATAL:
            raise FatalWriteError(error, failed_result(item, error, rid=rid)) from None
        return None


async def _settle_lost_put(
    ctx: SendContext,
    item: Item,
    rid: int,
    record_path: str | None,
    before: LineIds | None,
    added: Mapping[str, int] | None,
    error: CoupaError,
) -> WriteResult | None:
    """After a lost answer to a PUT that adds lines: its result when the re-read settles
    it (landed, or cannot tell), None when it did not land and may be sent again."""
    lost = f"the answer to the update was lost ({error.message})"
    after = None
    if record_path is not None and before is not None and added is not None:
        after = await _read_lines(ctx, item, rid, record_path, list(added))
    if before is not None and after is not None and added is not None:
        verdict = landed(before, after, added)
        if verdict is Landed.NO:
            return None
        if verdict is Landed.YES:
            return WriteResult(
                position=item.position,
                outcome=WriteOutcome.UPDATED,
                id=rid,
                messages=(
                    f"{lost}; the record read again shows the lines added, so not sent again",
                ),
                record=item.record,
                recovered=True,
            )
    return WriteResult(
        position=item.position,
        outcome=WriteOutcome.FAILED,
        id=rid,
        messages=(
            f"{lost}; it adds lines, so sending it again could add them twice, and reading "
            "the record again could not tell whether they were added: not sent again, "
            "check Coupa before feeding it again",
        ),
        record=item.record,
        status=error.status,
    )
