"""The Create activity: POST records to Coupa, each accounted for, none twice.

Records are validated against the catalog first: a rejected record never reaches Coupa and
the rest of the input goes on. Accepted records are sent concurrently, within the
connection's rate limit and retry policy. When the answer to a create is lost (a timeout, a
dropped connection, a 5xx that may have followed the commit), the record is looked up by its
unique natural key before anything is sent again, so Coupa never gets the same record twice;
only a record that did not exist before the send is taken for the one it made.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from typing import Any

from coupa_connector.activities.write._keys import KeySpec
from coupa_connector.activities.write._pipeline import FatalWriteError, Item, Job
from coupa_connector.activities.write._results import WriteOutcome, WriteResult
from coupa_connector.activities.write._send import (
    Requester,
    Resolution,
    SendContext,
    WriteOptions,
    failed_result,
    make_options,
    resolution,
    run_writes,
    send_create,
)
from coupa_connector.activities.write._target import (
    Target,
    Targets,
    first_key,
    guarded,
    natural_keys,
)
from coupa_connector.activities.write._validate import (
    catalog_of,
    problems_result,
    writable_object,
)
from coupa_connector.catalog import ObjectDef, ValidationMode
from coupa_connector.errors import CoupaError

__all__ = ["Records", "create"]

Records = Iterable[Any] | AsyncIterable[Any]
"""Records to write: mappings with Coupa's field names, from a sync or an async source."""


def recovery_keys(obj: ObjectDef, key: KeySpec | None) -> list[KeySpec]:
    """The keys a created record may be found by: the run's key, else those of the object's
    natural keys the catalog marks unique (a name two addresses may share cannot tell the
    record a create made from another)."""
    if key is not None and not key.is_id:
        return [key]
    return [spec for spec in natural_keys(obj) if spec.is_unique]


def create(
    conn: Requester,
    obj: str | ObjectDef,
    records: Records,
    *,
    key: str | Sequence[str] | None = None,
    concurrency: int | None = None,
    dry_run: bool | None = None,
    validation: ValidationMode | None = None,
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
            natural keys the catalog marks unique.
        concurrency: Records sent at once; the connection's setting by default.
        dry_run: Validate only; nothing is sent.
        validation: ``lenient`` (default: errors refuse a record, warnings are reported on
            its result and read-only fields are left out), ``strict`` (warnings refuse it
            too) or ``off`` (sent unchecked).
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
    opts = make_options(options, concurrency=concurrency, dry_run=dry_run, validation=validation)
    catalog = catalog_of(conn)
    ctx = SendContext(conn, target_obj, opts, random.Random())
    targets = Targets(ctx, spec)
    keys = recovery_keys(target_obj, spec)

    async def prepare(items: list[Item]) -> list[Job | WriteResult]:
        prepared: list[WriteResult] = []
        keyed: list[tuple[Item, Target | None]] = []
        for item in items:
            rejected = problems_result(
                target_obj, item, "create", validation=opts.validation, catalog=catalog
            )
            if rejected is not None:
                prepared.append(rejected)
            elif opts.dry_run:
                prepared.append(WriteResult(item.position, WriteOutcome.VALID, record=item.record))
            else:
                keyed.append((item, first_key(keys, item.body)))
        try:
            # One query per chunk tells what each key names before anything is sent.
            await targets.resolve([t for _, t in keyed if t is not None])
        except CoupaError as error:
            if resolution(error) is Resolution.FATAL:
                failed = [
                    failed_result(item, error, prefix="looking the record up by its key failed: ")
                    for item, _ in keyed
                ]
                raise FatalWriteError(error, *prepared, *failed) from None
            # Each job asks again for its own key, and fails alone if that fails too.
        return [*prepared, *(_create_job(ctx, targets, item, target) for item, target in keyed)]

    return run_writes(conn, records, prepare, opts)


def _create_job(ctx: SendContext, targets: Targets, item: Item, target: Target | None) -> Job:
    if target is None:
        return Job(item=item, run=lambda: send_create(ctx, item, item.body, None))

    async def work() -> WriteResult:
        # What the key names before the send (cached from the chunk's lookup, or updated by
        # an earlier record of this run under the same lock) is not what the send makes.
        before = await targets.ids(target)
        result = await send_create(ctx, item, item.body, targets.recovery(target, before))
        if result.outcome is WriteOutcome.CREATED and result.id is not None:
            targets.remember(target, result.id)
        return result

    return Job(item=item, run=lambda: guarded(item, work), lock_key=target.lock_key)
