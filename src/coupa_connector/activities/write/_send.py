"""Sending one record: what each error means for it, and never creating it twice.

The connection already retries what is safe (STYLE lesson 7): GET and PUT on any transient
failure, POST only when it provably did not land (connect errors, 429, 503). This module adds
the write-level decision on top, as a table from error to resolution:

    FAIL      Coupa refused this record (400, 404, ...): a per-record failure with Coupa's
              messages; the run goes on.
    FATAL     no record can succeed (401, 403, bad settings): stop reading, raise at the end.
    RESEND    the request provably did not land (429, 503): send it again after a pause.
    UNKNOWN   it may have landed (timeout, dropped connection, 500/502/504): an update is
              simply sent again (a PUT is idempotent unless it adds lines, see
              ``_lines``); a create is first looked up by its
              unique natural key (only a record that did not exist before the send counts)
              and sent again only when Coupa does not have it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import logging
import random
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

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
from coupa_connector.errors import (
    AuthenticationError,
    ConfigurationError,
    CoupaError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TransportError,
    ValidationError,
)

# Record contents may be personal data: log positions, objects and outcomes, never values.
log = logging.getLogger("coupa_connector.writes")

__all__ = [
    "Recover",
    "Requester",
    "Resolution",
    "SendContext",
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


class Resolution(enum.Enum):
    """What a failed write attempt means for its record."""

    FAIL = "fail"
    FATAL = "fatal"
    RESEND = "resend"
    UNKNOWN = "unknown"


# Most specific first; the first matching class decides.
_RESOLUTIONS: tuple[tuple[type[CoupaError], Resolution], ...] = (
    (AuthenticationError, Resolution.FATAL),
    (PermissionDeniedError, Resolution.FATAL),
    (ConfigurationError, Resolution.FATAL),
    (RateLimitError, Resolution.RESEND),
    (ValidationError, Resolution.FAIL),
    (NotFoundError, Resolution.FAIL),
    (TransportError, Resolution.UNKNOWN),
    (ServerError, Resolution.UNKNOWN),
    (CoupaError, Resolution.FAIL),
)

# Statuses that say the server did not act on the request at all.
_NOT_PROCESSED = frozenset({429, 503})

# Transport failures by kind (the connection's ``NetworkError.kind``): did the request
# possibly reach Coupa? Unknown kinds are treated as "maybe", the safe side for a create.
_TRANSPORT_KINDS: dict[str, Resolution] = {
    "connect": Resolution.RESEND,
    "connect_timeout": Resolution.RESEND,
    "pool_timeout": Resolution.RESEND,
    "tls": Resolution.FATAL,  # no record will get through a failing handshake
    "write": Resolution.UNKNOWN,
    "read_timeout": Resolution.UNKNOWN,
    "dropped": Resolution.UNKNOWN,
    "protocol": Resolution.UNKNOWN,
}


def resolution(error: CoupaError) -> Resolution:
    """The resolution of one failed attempt (see the module docstring)."""
    if error.status in _NOT_PROCESSED:
        return Resolution.RESEND
    if isinstance(error, TransportError):
        kind = getattr(error, "kind", None)
        return _TRANSPORT_KINDS.get(kind, Resolution.UNKNOWN) if kind else Resolution.UNKNOWN
    if isinstance(error, ServerError) and not error.retryable:
        return Resolution.FAIL
    for cls, res in _RESOLUTIONS:
        if isinstance(error, cls):
            return res
    return Resolution.FAIL


@dataclass(frozen=True, slots=True)
class WriteOptions:
    """Knobs of a write run.

    Attributes:
        concurrency: Records sent at once; None uses the connection's ``concurrency``.
        batch_size: Records read and prepared together (one key lookup query per batch).
        dry_run: Validate only; nothing is sent (no lookups either).
        max_attempts: Sends of one record's request, on top of the connection's own
            retries of each send, before the record is given up as failed.
        retry_delay: First pause in seconds between those sends; it doubles each time.
        retry_delay_cap: Longest such pause.
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

    async def pause(self, attempt: int, error: CoupaError | None = None) -> None:
        """Wait before sending again: the server's ``Retry-After`` or full-jitter backoff."""
        retry_after = getattr(error, "retry_after", None)
        if isinstance(retry_after, int | float) and retry_after >= 0:
            delay = min(float(retry_after), self.options.retry_delay_cap)
        else:
            ceiling = min(
                self.options.retry_delay_cap, self.options.retry_delay * 2 ** (attempt - 1)
            )
            delay = self.rng.uniform(0.0, ceiling)
        await asyncio.sleep(delay)


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
                await ctx.pause(attempt, error)
                found = await _recover(item, recover, error, attempt)
                if isinstance(found, WriteResult):
                    log.info(
                        "create of %s record %d: %s after the lost answer",
                        ctx.obj.name,
                        item.position,
                        "found in Coupa" if found.recovered else found.outcome.value,
                    )
                    return found
            if attempt >= ctx.options.max_attempts:
                log.warning(
                    "create of %s record %d: gave up after %d sends",
                    ctx.obj.name,
                    item.position,
                    attempt,
                )
                return failed_result(
                    item, error, attempts=attempt, prefix=f"gave up after {attempt} sends: "
                )
            if res is Resolution.RESEND:
                await ctx.pause(attempt, error)
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
    once per decision, with the connection's retries off, and a lost answer is settled by
    re-reading the record at ``record_path`` (see ``_lines``); without one it fails.

    Raises:
        FatalWriteError: The error means no record can be written (credentials, scope).
    """
    once = body is not None and adds_lines(body)
    added = added_lines(body) if once and body is not None else None
    before: LineIds | None = None
    if added is not None and record_path is not None:
        before = await _read_lines(ctx, item, rid, record_path, list(added))
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
                **({"retry": False} if once else {}),
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
            if once and res is Resolution.UNKNOWN:
                await ctx.pause(attempt, error)
                settled = await _settle_lost_put(ctx, item, rid, record_path, before, added, error)
                if settled is not None:
                    return dataclasses.replace(settled, attempts=attempt)
            if attempt >= ctx.options.max_attempts:
                return failed_result(
                    item,
                    error,
                    rid=rid,
                    attempts=attempt,
                    prefix=f"gave up after {attempt} sends: ",
                )
            await ctx.pause(attempt, error)
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
        return await line_ids(ctx, path, collections)
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
