"""The Update activity, and Upsert: write changes to existing Coupa records.

A record names its target by ``id``, or by a natural key given for the run (``number`` for
suppliers, ``invoice-number,supplier.number`` for invoices, ``login`` for users). Keys are
looked up in batches (one ``<field>[in]=a,b,c`` query per chunk of records) and cached; a key
that matches no record or several is a per-record failure that says so. Updates are partial
(only the fields given change) and nested lines follow Coupa's rules: a line without ``id``
is added, a line with ``id`` is updated, a line with ``_delete: true`` is removed.

Upsert creates the record when its key matches nothing and updates it when the key matches
one. Records sharing a key are written one after the other, so a key new to Coupa that
appears twice in the input is created once and then updated.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from coupa_connector.activities.write._keys import KeySpec
from coupa_connector.activities.write._pipeline import Item, Job
from coupa_connector.activities.write._results import WriteOutcome, WriteResult
from coupa_connector.activities.write._send import (
    Requester,
    SendContext,
    WriteOptions,
    make_options,
    run_writes,
    send_create,
    send_put,
)
from coupa_connector.activities.write._target import Target, Targets, guarded, prepare_targeted
from coupa_connector.activities.write._validate import (
    catalog_of,
    problems_result,
    writable_object,
)
from coupa_connector.activities.write.create import Records
from coupa_connector.catalog import ObjectDef, ValidationMode
from coupa_connector.errors import ConfigurationError

__all__ = ["update", "upsert"]


def put_body(body: Mapping[str, Any]) -> dict[str, Any]:
    """The body of a PUT: the record without its ``id`` (which goes in the path)."""
    return {k: v for k, v in body.items() if k != "id"}


def _matches_failure(obj: ObjectDef, item: Item, target: Target, ids: Sequence[int]) -> WriteResult:
    if not ids:
        message = f"no {obj.name} record matches {target.describe()}"
    else:
        shown = ", ".join(map(str, ids[:10])) + (", ..." if len(ids) > 10 else "")
        message = f"{len(ids)} {obj.name} records match {target.describe()} (ids {shown})"
    return WriteResult(
        position=item.position,
        outcome=WriteOutcome.FAILED,
        messages=(message,),
        record=item.record,
    )


def _keyed_run(
    obj: str | ObjectDef,
    conn: Requester,
    records: Records,
    *,
    upsert: bool,
    key: str | Sequence[str] | None,
    options: WriteOptions,
) -> AsyncIterator[WriteResult]:
    target_obj = writable_object(obj, "update")
    if upsert:
        writable_object(target_obj, "create")
    spec = KeySpec.parse(target_obj, key) if key else None
    if upsert and (spec is None or spec.is_id):
        natural = [",".join(k) for k in target_obj.lookup_keys if tuple(k) != ("id",)]
        hint = f" such as {' or '.join(repr(k) for k in natural[:3])}" if natural else ""
        raise ConfigurationError(
            f"Upsert of {target_obj.name} needs a natural key{hint}: an id cannot be created."
        )
    ctx = SendContext(conn, target_obj, options, random.Random())
    targets = Targets(ctx, spec)
    # With a key for the run, records are checked against that key instead of the catalog's.
    skip_identity = spec is not None and not spec.is_id
    resource = target_obj.resource
    catalog = catalog_of(conn)

    async def put(item: Item, rid: int) -> WriteResult:
        path = f"{resource}/{rid}"
        return await send_put(ctx, item, path, body=put_body(item.body), rid=rid, record_path=path)

    def update_job(item: Item, target: Target) -> Job:
        async def work() -> WriteResult:
            ids = await targets.ids(target)
            if len(ids) != 1:
                return _matches_failure(target_obj, item, target, ids)
            return await put(item, ids[0])

        return Job(item, lambda: guarded(item, work), target.lock_key)

    def upsert_job(item: Item, target: Target) -> Job:
        async def work() -> WriteResult:
            # Under the key's lock: an earlier record with the same key may just have
            # created it, and the cache knows.
            ids = await targets.ids(target)
            if len(ids) > 1:
                return _matches_failure(target_obj, item, target, ids)
            if len(ids) == 1:
                return await put(item, ids[0])
            rejected = problems_result(
                target_obj,
                item,
                "create",
                skip_identity=skip_identity,
                validation=options.validation,
                catalog=catalog,
            )
            if rejected is not None:
                return rejected
            result = await send_create(ctx, item, item.body, targets.recovery(target, ids))
            if result.outcome is WriteOutcome.CREATED and result.id is not None:
                targets.remember(target, result.id)
            return result

        return Job(item, lambda: guarded(item, work), target.lock_key)

    async def prepare(items: list[Item]) -> list[Job | WriteResult]:
        return await prepare_targeted(
            targets,
            items,
            upsert_job if upsert else update_job,
            dry_run=options.dry_run,
            check=lambda item: problems_result(
                target_obj,
                item,
                "update",
                skip_identity=skip_identity,
                validation=options.validation,
                catalog=catalog,
            ),
        )

    return run_writes(conn, records, prepare, options)


def update(
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
    """Update existing records of one object in Coupa.

    Args:
        conn: The connection (``AsyncConnection``).
        obj: The object, by any catalog name.
        records: The changes, sync or async; each a mapping with the fields to change plus
            ``id`` or the key's fields.
        key: How records name their target when they carry no ``id``: field paths such as
            ``number`` or ``invoice-number,supplier.number``. A record with an ``id`` is
            always updated by it.
        concurrency: Records sent at once; the connection's setting by default.
        dry_run: Validate only; nothing is sent.
        validation: ``lenient`` (default: errors refuse a record, warnings are reported),
            ``strict`` (warnings refuse it too) or ``off`` (sent unchecked).
        options: Further knobs (``WriteOptions``).

    Returns:
        An async iterator of one ``WriteResult`` per record, in completion order.

    Raises:
        UnknownObjectError: No such object.
        ConfigurationError: The object cannot be updated, or the key is malformed.
        UnknownFieldError: The key names a field the object does not have.
    """
    opts = make_options(options, concurrency=concurrency, dry_run=dry_run, validation=validation)
    return _keyed_run(obj, conn, records, upsert=False, key=key, options=opts)


def upsert(
    conn: Requester,
    obj: str | ObjectDef,
    records: Records,
    *,
    key: str | Sequence[str],
    concurrency: int | None = None,
    dry_run: bool | None = None,
    validation: ValidationMode | None = None,
    options: WriteOptions | None = None,
) -> AsyncIterator[WriteResult]:
    """Create or update records of one object, matched by a natural key.

    A key matching no record creates it, a key matching one record updates that record, a
    key matching several is a failure naming their ids.

    Args:
        conn: The connection (``AsyncConnection``).
        obj: The object, by any catalog name.
        records: The records, sync or async.
        key: The natural key (``number``, ``login``, ``invoice-number,supplier.number``).
        concurrency: Records sent at once; the connection's setting by default.
        dry_run: Validate only (as an update: whether each record would be created is only
            known by asking Coupa); nothing is sent.
        validation: ``lenient`` (default: errors refuse a record, warnings are reported),
            ``strict`` (warnings refuse it too) or ``off`` (sent unchecked).
        options: Further knobs (``WriteOptions``).

    Returns:
        An async iterator of one ``WriteResult`` per record, in completion order.

    Raises:
        UnknownObjectError: No such object.
        ConfigurationError: The object cannot be both created and updated, or the key is
            missing, ``id`` or malformed.
        UnknownFieldError: The key names a field the object does not have.
    """
    opts = make_options(options, concurrency=concurrency, dry_run=dry_run, validation=validation)
    return _keyed_run(obj, conn, records, upsert=True, key=key, options=opts)
