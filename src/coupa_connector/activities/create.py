"""The Create activity: POST records to Coupa, each accounted for, none twice.

Records are validated against the catalog first: a rejected record never reaches Coupa and
the rest of the input goes on. Accepted records are sent concurrently, within the
connection's rate limit and retry policy. When the answer to a create is lost (a timeout, a
dropped connection, a 5xx that may have followed the commit), the record is looked up by its
natural key before anything is sent again, so Coupa never gets the same record twice.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from typing import Any

from coupa_connector.activities._writes_keys import KeySpec
from coupa_connector.activities._writes_model import WriteOutcome, WriteResult
from coupa_connector.activities._writes_pipeline import Item, Job
from coupa_connector.activities._writes_send import (
    Requester,
    SendContext,
    WriteOptions,
    make_options,
    run_writes,
    send_create,
)
from coupa_connector.activities._writes_target import Targets, first_key, natural_keys
from coupa_connector.activities._writes_validate import problems_result, writable_object
from coupa_connector.catalog import ObjectDef

__all__ = ["Records", "create"]

Records = Iterable[Any] | AsyncIterable[Any]
"""Records to write: mappings with Coupa's field names, from a sync or an async source."""


def recovery_keys(obj: ObjectDef, key: KeySpec | None) -> list[KeySpec]:
    """The keys a created record may be found by: the run's key, else the object's natural
    keys from the catalog."""
    if key is not None and not key.is_id:
        return [key]
    return natural_keys(obj)


def create(
    conn: Requester,
    obj: str | ObjectDef,
    records: Records,
    *,
    key: str | Sequence[str] | None = None,
    concurrency: int | None = None,
    dry_run: bool | None = None,
    options: WriteOptions | None = None,
) -> AsyncIterator[WriteResult]:
    """Create records of one object in Coupa.

    Args:
        conn: The connection (``AsyncConnection``).
        obj: The object (``suppliers``, ``invoices``, ...), by any catalog name.
        records: The records, sync or async; each a mapping with Coupa's field names
            (nested references and lines as nested mappings and lists).
        key: The natural key that identifies a record if a create's answer is lost
            (``number``; ``invoice-number,supplier.number``); by default the object's
            natural keys from the catalog.
        concurrency: Records sent at once; the connection's setting by default.
        dry_run: Validate only; nothing is sent.
        options: Further knobs (``WriteOptions``).

    Returns:
        An async iterator of one ``WriteResult`` per record, in completion order.

    Raises:
        UnknownObjectError: No such object.
        ConfigurationError: The object cannot be created, or the key is malformed.
        UnknownFieldError: The key names a field the object does not have.
    """
    target_obj = writable_object(obj, "create")
    spec = KeySpec.parse(target_obj, key) if key else None
    opts = make_options(options, concurrency=concurrency, dry_run=dry_run)
    ctx = SendContext(conn, target_obj, opts, random.Random())
    targets = Targets(ctx, spec)
    keys = recovery_keys(target_obj, spec)

    async def prepare(items: list[Item]) -> list[Job | WriteResult]:
        prepared: list[Job | WriteResult] = []
        for item in items:
            rejected = problems_result(target_obj, item, "create")
            if rejected is not None:
                prepared.append(rejected)
            elif opts.dry_run:
                prepared.append(WriteResult(item.position, WriteOutcome.VALID, record=item.record))
            else:
                prepared.append(_create_job(ctx, targets, keys, item))
        return prepared

    return run_writes(conn, records, prepare, opts)


def _create_job(ctx: SendContext, targets: Targets, keys: Sequence[KeySpec], item: Item) -> Job:
    target = first_key(keys, item.body)

    async def recover() -> tuple[int, ...] | None:
        if target is None:
            return None
        return await targets.ids(target, fresh=True)

    async def run() -> WriteResult:
        result = await send_create(ctx, item, item.body, recover)
        if result.outcome is WriteOutcome.CREATED and result.id is not None and target is not None:
            targets.remember(target, result.id)
        return result

    return Job(item=item, run=run, lock_key=target.lock_key if target else None)
