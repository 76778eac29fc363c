"""Actions: Coupa's endpoints that move a record through its life (submit, void, approve...).

Any action the catalog lists for an object, acting on one record (``/api/<res>/:id/<action>``),
runs here on many records: bare ids, or records naming their target by ``id`` or a natural
key (looked up in batches, as for Update). Mark-exported is one of them: ``PUT
/api/<res>/:id?exported=true`` with no body.

An action Coupa refuses for the record's state (voiding a paid invoice) is a per-record
failure with Coupa's message; the rest go on.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

from coupa_connector.activities.write._keys import KeySpec
from coupa_connector.activities.write._pipeline import Item, Job, UnreadableRecord
from coupa_connector.activities.write._results import WriteOutcome, WriteResult
from coupa_connector.activities.write._send import (
    Requester,
    SendContext,
    WriteOptions,
    make_options,
    run_writes,
    send_put,
)
from coupa_connector.activities.write._target import (
    Target,
    Targets,
    guarded,
    parse_id,
    prepare_targeted,
)
from coupa_connector.catalog import ActionDef, ObjectDef, load_catalog
from coupa_connector.errors import ConfigurationError

__all__ = ["action", "action_names", "find_action"]

# Endpoints that are the object's plain REST verbs, not actions; they have their activities.
_STANDARD = frozenset({"index", "show", "create", "update", "delete", "destroy"})

# Query parameters an action always carries. Mark-exported is the update endpoint with
# ``exported=true``: Coupa's documented way, with no body needed.
_ACTION_PARAMS: dict[str, dict[str, str]] = {
    "mark_exported": {"exported": "true"},
    "mark_not_exported": {"exported": "false"},
}


def action_names(obj: ObjectDef) -> list[str]:
    """The actions of ``obj`` that act on one record and can run here, sorted."""
    return sorted(
        a.name
        for a in obj.actions
        if a.name not in _STANDARD and a.needs_id and a.verb.upper() in ("PUT", "PATCH")
    )


def find_action(obj: ObjectDef, name: str) -> ActionDef:
    """The catalog's action ``name`` of ``obj``, checked to act on one record.

    Raises:
        ConfigurationError: No such action, a standard verb, or one that does not act on a
            record by id; the message lists the actions that can run.
    """
    found = obj.action(name.replace("-", "_"))
    usable = action_names(obj)
    listing = ", ".join(usable) if usable else "none"
    if found is None or found.name in _STANDARD:
        hint = " (use create/update for those)" if found is not None else ""
        raise ConfigurationError(
            f"{obj.name} has no action {name!r}{hint}. Actions of {obj.name}: {listing}."
        )
    if not found.needs_id or found.verb.upper() not in ("PUT", "PATCH"):
        raise ConfigurationError(
            f"{obj.name} action {found.name!r} ({found.verb} {found.path}) does not act on "
            f"one existing record, so it cannot run here. Actions of {obj.name}: {listing}."
        )
    return found


def _split_path(action_def: ActionDef) -> tuple[str, dict[str, str]]:
    path, _, query = action_def.path.partition("?")
    params = dict(parse_qsl(query))
    params.update(_ACTION_PARAMS.get(action_def.name, {}))
    return path, params


def _as_record(entry: Any) -> Any:
    """Bare ids (``12``, ``"12"``) become ``{"id": 12}``; records, and entries a reader
    could not read, pass unchanged."""
    if isinstance(entry, Mapping | UnreadableRecord):
        return entry
    rid = parse_id(entry)
    if rid is not None:
        return {"id": rid}
    if isinstance(entry, str) and entry.strip() == "":
        return {}
    return {"id": entry}


async def _as_records_async(source: AsyncIterable[Any]) -> AsyncIterator[Any]:
    async for entry in source:
        yield _as_record(entry)


def action(
    conn: Requester,
    obj: str | ObjectDef,
    name: str,
    targets: Iterable[Any] | AsyncIterable[Any],
    *,
    key: str | Sequence[str] | None = None,
    params: Mapping[str, str] | None = None,
    concurrency: int | None = None,
    dry_run: bool | None = None,
    options: WriteOptions | None = None,
) -> AsyncIterator[WriteResult]:
    """Run one of an object's actions on many records.

    Args:
        conn: The connection (``AsyncConnection``).
        obj: The object, by any catalog name.
        name: The action (``submit``, ``void``, ``cancel``, ``approve``, ``mark_exported``).
        targets: Ids (ints or digit strings), or records naming their target by ``id`` or by
            ``key``; a record's other fields are sent as the action's body (a dispute's
            reason, say).
        key: Natural key for records without an id (as for ``update``).
        params: Query parameters sent with every call (``{"reason": "..."}``).
        concurrency: Calls at once; the connection's setting by default.
        dry_run: Check the targets only; nothing is sent.
        options: Further knobs (``WriteOptions``).

    Returns:
        An async iterator of one ``WriteResult`` (outcome ``actioned``) per target.

    Raises:
        UnknownObjectError: No such object.
        ConfigurationError: No such action for the object, or a malformed key.
    """
    target_obj = obj if isinstance(obj, ObjectDef) else load_catalog().get(obj)
    action_def = find_action(target_obj, name)
    path, fixed = _split_path(action_def)
    all_params = {**fixed, **(dict(params) if params else {})}
    spec = KeySpec.parse(target_obj, key) if key else None
    opts = make_options(options, concurrency=concurrency, dry_run=dry_run)
    ctx = SendContext(conn, target_obj, opts, random.Random())
    resolver = Targets(ctx, spec)
    drop = {p[0] for p in spec.paths} if spec is not None else set()

    def job(item: Item, target: Target) -> Job:
        async def run() -> WriteResult:
            ids = await resolver.ids(target)
            if len(ids) != 1:
                what = "no" if not ids else f"{len(ids)}"
                return WriteResult(
                    item.position,
                    WriteOutcome.FAILED,
                    messages=(f"{what} {target_obj.name} records match {target.describe()}",),
                    record=item.record,
                )
            body = {k: v for k, v in item.body.items() if k != "id" and k not in drop}
            return await send_put(
                ctx,
                item,
                path.replace(":id", str(ids[0])),
                body=body or None,
                params=all_params,
                rid=ids[0],
                outcome=WriteOutcome.ACTIONED,
            )

        return Job(item, lambda: guarded(item, run), target.lock_key or ("id", target.id))

    async def prepare(items: list[Item]) -> list[Job | WriteResult]:
        return await prepare_targeted(resolver, items, job, dry_run=opts.dry_run)

    source: Iterable[Any] | AsyncIterable[Any]
    if isinstance(targets, AsyncIterable):
        source = _as_records_async(targets)
    else:
        source = (_as_record(entry) for entry in targets)
    return run_writes(conn, source, prepare, opts)
