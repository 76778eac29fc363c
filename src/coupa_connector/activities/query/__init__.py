"""The Query activity: every matching record of one object, exactly once, streamed.

``query_pages`` validates the query against the catalog before any request, then pages
through the results with the strategy that keeps the exactly-once promise (keyset paging on
``id`` unless another order is asked for; see ``_paging``). ``AsyncConnection.query`` and
``Connection.query`` are thin doors onto it; the options travel as one ``QueryOptions``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Unpack

import orjson

from coupa_connector.activities.query._batch import RecordBatch
from coupa_connector.activities.query._filters import (
    Filter,
    RawCondition,
    _unknown_field,
    build_filters,
    fields_param,
    validate,
)
from coupa_connector.activities.query._options import QueryKeywords, QueryOptions
from coupa_connector.activities.query._paging import (
    PAGE_SIZE,
    KeysetPager,
    OffsetPager,
    Page,
    Params,
)
from coupa_connector.catalog import DELETED_LINES_SHOWN, Catalog, ObjectDef, wire_name
from coupa_connector.client._wire import DecodeError
from coupa_connector.errors import QueryError

if TYPE_CHECKING:
    from coupa_connector.client._requester import AsyncRequester
    from coupa_connector.client._transport import RawResponse

__all__ = [
    "Page",
    "QueryKeywords",
    "QueryOptions",
    "QuerySpec",
    "build_query",
    "log_warnings",
    "query_pages",
]

log = logging.getLogger("coupa_connector.query")

RETURN_OBJECTS = ("limited", "shallow")
UPDATED_AT = "updated-at"


@dataclass(frozen=True)
class QuerySpec:
    """A validated query: what to send, and how to page.

    Attributes:
        obj: The queried object.
        filters: Validated conditions.
        fields: Coupa's ``fields`` JSON array, when a projection was asked for.
        return_object: ``limited`` or ``shallow``, when asked for.
        order_by: Sort field (wire name), when asked for.
        dir: ``asc`` or ``desc``, when asked for.
        limit: Most records to return (None: all).
        raw_params: Parameters passed through as given.
        paging: ``offset`` or ``keyset`` (by id, descending when ``dir`` is ``desc``).
        warnings: What was sent unchecked: fields the catalog (and the instance's overlay)
            does not know, in ``where`` or ``fields``. Logged when the query runs.
    """

    obj: ObjectDef
    filters: tuple[Filter, ...] = ()
    fields: tuple[Any, ...] | None = None
    return_object: str | None = None
    order_by: str | None = None
    dir: str | None = None
    limit: int | None = None
    raw_params: tuple[tuple[str, str], ...] = ()
    paging: Literal["offset", "keyset"] = "keyset"
    warnings: tuple[str, ...] = ()

    @property
    def descending(self) -> bool:
        """Keyset paging newest first (``dir=desc``)."""
        return self.paging == "keyset" and self.dir == "desc"

    @property
    def resource(self) -> str:
        assert self.obj.resource is not None
        return self.obj.resource

    def params(self) -> Params:
        """The query parameters (without ``limit``/``offset``/id bounds, added per page)."""
        out: Params = [f.param() for f in self.filters]
        if self.fields is not None:
            out.append(("fields", orjson.dumps(list(self.fields)).decode()))
        if self.return_object:
            out.append(("return_object", self.return_object))
        if self.paging == "offset" and (self.order_by or self.dir):
            # A direction alone is the default order (id) turned round: say so.
            out.append(("order_by", (self.order_by or "id").replace("-", "_")))
            if self.dir:
                out.append(("dir", self.dir))
        out.extend(self.raw_params)
        return out


def _raw_pairs(
    params: Mapping[str, Any] | Sequence[tuple[str, Any]] | None,
) -> tuple[tuple[str, str], ...]:
    if not params:
        return ()
    items = params.items() if isinstance(params, Mapping) else params
    out: list[tuple[str, str]] = []
    for key, value in items:
        if key in ("limit", "offset"):
            raise QueryError(
                f"Parameter {key!r} is managed by the pager; use limit= for a maximum."
            )
        out.append((str(key), str(value).lower() if isinstance(value, bool) else str(value)))
    return tuple(out)


def _timestamp(value: str | dt.datetime | dt.date, what: str) -> str:
    if isinstance(value, dt.datetime):
        stamp = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return stamp.isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise QueryError(f"{what} {value!r} is not an ISO 8601 date or datetime.") from None
    return value


def build_query(
    catalog: Catalog,
    obj: str | ObjectDef,
    options: QueryOptions | None = None,
    /,
    **keywords: Unpack[QueryKeywords],
) -> QuerySpec:
    """Validate a query against the catalog, before anything is sent.

    Args:
        catalog: Object definitions.
        obj: The object to query (any of its names).
        options: The query's options (see ``QueryOptions``); ``concurrency`` is the
            fetch's, not the query's, and is not looked at here. ``strict`` refuses fields
            the catalog (and the instance's overlay) does not know in ``where`` and
            ``fields``; by default they are sent as given, with a warning
            (``QuerySpec.warnings``), since instances carry their own fields.
        **keywords: Options on top of ``options``, by name. Paging: ``keyset`` (by id,
            either direction; exactly-once under concurrent changes), ``offset``, or
            ``auto`` (keyset unless another order is asked for); see ``_paging``.

    Raises:
        QueryError: Anything Coupa would refuse or the pager could not do safely.
        UnknownObjectError: No such object.
    """
    o = QueryOptions.of(options, **keywords)
    where, fields, return_object, order_by = o.where, o.fields, o.return_object, o.order_by
    dir, limit, params, paging = o.dir, o.limit, o.params, o.paging
    since, until, show_deleted_lines, strict = o.since, o.until, o.show_deleted_lines, o.strict
    target = obj if isinstance(obj, ObjectDef) else catalog.get(obj)
    if not target.resource:
        raise QueryError(f"{target.name} has no API resource of its own; query its parent object.")
    if ":" in target.resource:
        raise QueryError(
            f"{target.name} is listed per parent record ({target.resource}); query the parent "
            "object, whose records carry it, or send that path for one parent with "
            "Connection.request."
        )
    if target.actions and not target.can_query:
        raise QueryError(f"Coupa offers no query (index) for {target.name}.")
    notes: list[str] = []
    filters = build_filters(where, target, catalog, strict=strict, notes=notes)
    for bound, op, what in ((since, "gt_or_eq", "since"), (until, "lt", "until")):
        if bound is not None:
            stamp = _timestamp(bound, what)
            filters.append(
                validate(RawCondition((UPDATED_AT,), op, stamp, f"{what}={stamp}"), target, catalog)
            )
    if return_object is not None and return_object not in RETURN_OBJECTS:
        raise QueryError(
            f"return_object must be one of {', '.join(RETURN_OBJECTS)}, not {return_object!r}."
        )
    if dir is not None and dir not in ("asc", "desc"):
        raise QueryError(f"dir must be 'asc' or 'desc', not {dir!r}.")
    if limit is not None and limit < 1:
        raise QueryError(f"limit must be at least 1, not {limit}.")
    order = wire_name(order_by) if order_by else None
    if order is not None and order != "id" and order not in target.fields:
        raise _unknown_field(target, order, f"order_by={order_by}", catalog)
    raw = _raw_pairs(params)
    if show_deleted_lines:
        if target.name not in DELETED_LINES_SHOWN:
            shown = ", ".join(sorted(DELETED_LINES_SHOWN))
            raise QueryError(
                f"show_deleted_lines is a parameter of {shown} queries, not of {target.name}."
            )
        raw = (*(p for p in raw if p[0] != "show_deleted_lines"), ("show_deleted_lines", "true"))
    id_bounded = (
        any(f.path == ("id",) and f.op != "eq" for f in filters)
        or any(k.replace("-", "_").startswith("id[") for k, _ in raw)
        or any(k in ("order_by", "dir") for k, _ in raw)
    )
    # Ids never change, so an id order is served by key in either direction.
    keyset_ok = order in (None, "id") and not id_bounded
    if paging == "keyset" and not keyset_ok:
        raise QueryError(
            "Keyset paging orders by id and sets the id bounds itself; drop order_by (or make "
            "it id) and id range filters, or use paging='offset'."
        )
    mode: Literal["offset", "keyset"] = "keyset" if paging != "offset" and keyset_ok else "offset"
    projection: tuple[Any, ...] | None = None
    if fields:
        wanted = list(fields)
        if not any(wire_name(f) == "id" for f in wanted):
            # Keyset paging advances by id; offset paging checks by id that pages join up.
            wanted.insert(0, "id")
        projection = tuple(fields_param(wanted, target, catalog, strict=strict, notes=notes))
    return QuerySpec(
        obj=target,
        filters=tuple(filters),
        fields=projection,
        return_object=return_object,
        order_by=order,
        dir=dir,
        limit=limit,
        raw_params=raw,
        paging=mode,
        warnings=tuple(dict.fromkeys(notes)),
    )


def log_warnings(spec: QuerySpec) -> None:
    """Log what a query sends unchecked (once per run, before its first request)."""
    for note in spec.warnings:
        log.warning("%s", note)


async def fetch_batch(
    conn: AsyncRequester, resource: str, obj: ObjectDef | str, params: Params
) -> RecordBatch:
    """Get one page of a query as a ``RecordBatch`` (JSON pages are split, not decoded).

    Raises:
        DecodeError: Coupa answered with something other than a list (an empty body, null,
            one object).
        APIError | TransportError: The request failed after retries, or the body is invalid.
    """
    response = await conn.send("GET", resource, params=params, object_name=obj)
    try:
        return _page_batch(conn, resource, obj, response)
    except DecodeError as exc:
        exc.method, exc.path = exc.method or "GET", exc.path or resource  # which request
        raise


def _page_batch(
    conn: AsyncRequester, resource: str, obj: ObjectDef | str, response: RawResponse
) -> RecordBatch:
    content = response.content
    # The first byte is almost always the bracket; strip (a copy of the body) only if not.
    if "xml" not in response.content_type.lower() and (
        content[:1] == b"[" or content.lstrip()[:1] == b"["
    ):
        batch = RecordBatch.from_json(content)
        if batch is not None:
            return batch
    data = conn.decode(response, obj, resource)
    if not isinstance(data, list):
        # Only a list ends or continues a query (Coupa's "no results" included, which the
        # connection turns into []): an empty body, null or one object is a broken answer,
        # and taking it for the end would silently drop the rest of the records.
        if not content.strip():
            what = "an empty body"
        elif isinstance(data, dict):
            what = "one object"
        else:
            what = "null" if data is None else f"a {type(data).__name__}"
        raise DecodeError(
            f"Coupa answered a query on {resource} with {what} (HTTP {response.status}), "
            "not a list of records."
        )
    return RecordBatch.of(data)


async def query_pages(
    conn: AsyncRequester,
    obj: str | ObjectDef,
    options: QueryOptions | None = None,
    /,
    *,
    spec: QuerySpec | None = None,
    **keywords: Unpack[QueryKeywords],
) -> AsyncIterator[Page]:
    """Run a query and yield its pages.

    Args:
        conn: An open connection.
        obj: The object to query.
        options: The query's options (see ``QueryOptions``); ``concurrency`` is the pages
            (or keyset partitions) fetched at once, the connection's setting when omitted.
            Offset pages arrive in order; keyset partitions interleave.
        spec: The query already built from them (``build_query``), to skip building it again.
        **keywords: Options on top of ``options``, by name.

    Yields:
        Pages in delivery order; the records of all pages are every matching record, once.

    Raises:
        QueryError: Invalid query (before any request) or a broken paging invariant.
        APIError | TransportError: A page failed after retries (the message says which).
    """
    chosen = QueryOptions.of(options, **keywords)
    if spec is None:
        spec = build_query(conn.catalog, obj, chosen)
        log_warnings(spec)
    concurrency = chosen.concurrency
    width = max(1, concurrency or conn.config.concurrency)
    base = spec.params()

    async def fetch(params: Params) -> RecordBatch:
        return await fetch_batch(conn, spec.resource, spec.obj, params)

    async def probe_max_id() -> int | None:
        params = [(k, v) for k, v in base if k not in ("fields", "return_object")]
        params += [
            ("order_by", "id"),
            ("dir", "desc"),
            ("limit", "1"),
            ("return_object", "limited"),
        ]
        ids = (await fetch(params)).ids
        return int(ids[0]) if ids and ids[0] is not None else None

    pager: OffsetPager | KeysetPager
    if spec.paging == "keyset":
        pager = KeysetPager(
            fetch, base, probe_max_id, width, spec.limit, PAGE_SIZE, descending=spec.descending
        )
    else:
        pager = OffsetPager(fetch, base, width, spec.limit, PAGE_SIZE)
    async for page in pager:
        yield page
