"""Coupa endpoints: the query source and the create/update/upsert/action targets.

The runner is synchronous (files, SQL and JMESPath are); Coupa's client is async. A
``CoupaBridge`` holds the ``AsyncConnection`` on the one loop-thread bridge (``_bridge``),
and the endpoints hand it coroutines: one connection, one rate-limit budget and one token for
the whole run, whatever number of operations it chains.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Coroutine, Iterator, Mapping, Sequence
from dataclasses import replace as dc_replace
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

from coupa_connector._records import ERRORS_KEY
from coupa_connector.catalog import ObjectDef, load_catalog
from coupa_connector.errors import CatalogError, ConfigurationError, CoupaError
from coupa_connector.operations._deletes import (
    DeleteDetector,
    IdSet,
    current_ids,
    operation_ids_path,
)
from coupa_connector.operations._functions import TransformValueError, parse_when
from coupa_connector.operations._projection import mapping_projection
from coupa_connector.operations._transform import Item, Transformed, TransformSpec
from coupa_connector.operations.endpoints._results import batch_outcomes
from coupa_connector.operations.endpoints.base import (
    EndpointContext,
    EndpointType,
    FatalBatch,
    Outcome,
    SourceBase,
    Target,
    TargetBase,
    debug_json,
)
from coupa_connector.operations.opfile._yaml import LList, LMap
from coupa_connector.operations.opfile.model import EndpointSpec, validation_mode
from coupa_connector.operations.opfile.problems import (
    Checker,
    check_field_path,
    check_source_fields,
)

if TYPE_CHECKING:
    from coupa_connector._connection import AsyncConnection
    from coupa_connector.client import ConnectionConfig

__all__ = ["ENDPOINTS", "CoupaBridge", "CoupaQuerySource", "CoupaWriteTarget"]

T = TypeVar("T")

log = logging.getLogger("coupa_connector.operations")

# How a create or upsert target sends: a request per record, or Coupa CSV flat files.
VIA_API = "api"
VIA_FILES = "flat-file"
_ID_KEY = "id:"  # the key of a queried record with an id: "id:" and the id
_DELETED_KEY = "deleted:"  # the key of a tombstone: "deleted:" and the vanished id


class CoupaBridge:
    """An ``AsyncConnection`` on the one loop-thread bridge, usable from synchronous code.

    Args:
        config: The connection's settings.
    """

    def __init__(self, config: ConnectionConfig) -> None:
        from coupa_connector._connection import Connection

        self.config = config
        self._sync = Connection(config)
        self.conn: AsyncConnection = self._sync.async_connection

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the connection's loop and wait for its result."""
        return self._sync.run(coro)

    def iterate(self, source: AsyncIterator[T]) -> Iterator[T]:
        """An async iterator, consumed from synchronous code."""
        return self._sync.iterate(source)

    def lookup(self, obj: str, key_field: str, key: str, return_field: str) -> Any:
        """The ``return_field`` of the first record whose ``key_field`` equals ``key``."""

        async def first() -> Any:
            async for record in self.conn.query(obj, where={key_field: key}, limit=1):
                value: Any = record
                for part in return_field.split("."):
                    value = value.get(part) if isinstance(value, Mapping) else None
                return value
            return None

        return self.call(first())

    def mark_exported(self, obj: ObjectDef, ids: Sequence[int]) -> dict[int, str | None]:
        """``PUT /api/<resource>/<id>?exported=true`` for each id; id -> error text or None."""

        async def one(rid: int) -> tuple[int, str | None]:
            try:
                await self.conn.request(
                    "PUT",
                    f"{obj.resource}/{rid}",
                    params={"exported": "true"},
                    object_name=obj.name,
                )
            except CoupaError as exc:
                return rid, str(exc)
            return rid, None

        async def all_of() -> dict[int, str | None]:
            return dict(await asyncio.gather(*(one(r) for r in ids)))

        return self.call(all_of())

    def close(self) -> None:
        """Close the connection and stop the loop thread."""
        self._sync.close()


class CoupaQuerySource(SourceBase):
    """Records of a Coupa query; with ``incremental``, only what changed since the last run.

    The incremental window is fixed when the run starts (``field[gt_or_eq]=watermark`` and
    ``field[lt]=run start``), and the next run starts where this one ended, so a record is
    delivered once however often it changes while a run is going on.
    """

    def __init__(
        self,
        spec: EndpointSpec,
        bridge: CoupaBridge,
        transform: TransformSpec | None = None,
        deletes: DeleteDetector | None = None,
    ) -> None:
        o = spec.options
        catalog = bridge.conn.catalog  # with the instance's overlay, when there is one
        self.obj: ObjectDef = catalog.get(str(o["object"]))
        self.show_deleted_lines = bool(o.get("show_deleted_lines", False))
        self.deletes = deletes
        self.where = o.get("where")
        self.fields = o.get("fields")
        self.order_by = o.get("order_by")
        self.dir = o.get("dir")
        self.limit = o.get("limit")
        self.return_object = o.get("return_object")
        incremental = o.get("incremental")
        # ``incremental: true`` tracks updated-at, the field every Coupa object changes.
        self.incremental: str | None = (
            "updated-at" if incremental is True else (str(incremental) if incremental else None)
        )
        since = o.get("since")
        # YAML reads an unquoted 2024-01-01T00:00:00Z as a datetime: back to ISO 8601.
        self.since: str | None = (
            None
            if since is None
            else since.isoformat()
            if hasattr(since, "isoformat")
            else str(since)
        )
        self.marks_exported = bool(o.get("mark_exported", False))
        # Raw Coupa parameters, sent as given (the file's check refused anything else).
        self.raw_params: dict[str, str] = {
            str(k): _param_text(v) for k, v in (o.get("params") or {}).items()
        }
        if (
            self.fields is None
            and self.return_object is None
            and transform is not None
            and o.get("projection", True)
        ):
            # Ask Coupa only for what the mapping reads; None keeps whole records.
            self.fields = mapping_projection(
                transform, self.obj, catalog, also=[self.incremental] if self.incremental else []
            )
        self.bridge = bridge
        self.window: dict[str, str] = {}

    def describe(self) -> str:
        return f"Coupa {self.obj.name}"

    def set_window(self, watermark: str | None, run_start: str) -> dict[str, str]:
        """Fix the incremental window for this run; returns it (for the checkpoint)."""
        if self.incremental:
            start = watermark or self.since
            self.window = {f"{self.incremental}[lt]": run_start}
            if start:
                self.window[f"{self.incremental}[gt_or_eq]"] = start
        return self.window

    def restore_window(self, window: Mapping[str, str]) -> dict[str, str]:
        self.window = dict(window)
        return self.window

    def next_watermark(self) -> str | None:
        return self.window.get(f"{self.incremental}[lt]") if self.incremental else None

    def mark(self, ids: Sequence[int]) -> dict[int, str | None]:
        return self.bridge.mark_exported(self.obj, ids)

    def id_of_key(self, key: str) -> int | None:
        return id_of_key(key)

    def keep_delivered(self, ids: Sequence[int]) -> None:
        if self.deletes is not None:
            self.deletes.commit(ids)

    def _params(self) -> dict[str, str]:
        params = {**self.raw_params, **self.window}
        if self.marks_exported and "exported" not in (_text_of(self.where) + " ".join(params)):
            params["exported"] = "false"
        return params

    def items(self, done: set[str]) -> Iterator[Item]:
        options: dict[str, Any] = {"params": self._params()}
        for name in ("where", "fields", "order_by", "dir", "limit", "return_object"):
            value = getattr(self, name)
            if value is not None:
                options[name] = value
        if self.show_deleted_lines:
            # Checked against the object when the file was loaded (build_query).
            options["params"]["show_deleted_lines"] = "true"
        # With no order_by the query pages by id (keyset), so records that leave an
        # exported=false query as they are marked cannot make a page skip others.
        position = 0
        for page in self.bridge.iterate(self.bridge.conn.query_pages(self.obj, **options)):
            if log.isEnabledFor(logging.DEBUG):
                log.debug(
                    "%s page %d (%s): %d records: %s",
                    self.obj.name,
                    page.number,
                    "&".join(f"{k}={v}" for k, v in page.params),
                    len(page.records),
                    debug_json(page.records),
                )
            for record in page.records:
                record.pop(ERRORS_KEY, None)
                key = record_key(record.get("id"), position)
                if key not in done:
                    yield Item(position, record, key)
                position += 1
        if self.deletes is not None:
            yield from self._tombstones(done, position)

    def _tombstones(self, done: set[str], position: int) -> Iterator[Item]:
        """After the records: a tombstone for each id delivered before that the query's
        conditions no longer match (the window aside: an unchanged record is not gone)."""
        assert self.deletes is not None
        from coupa_connector.activities.query import build_query

        population = build_query(self.bridge.conn.catalog, self.obj, where=self.where)
        now = self.bridge.call(current_ids(self.bridge.conn, population))
        for stone in self.deletes.tombstones(now):
            key = f"{_DELETED_KEY}{stone['id']}"
            if key not in done:
                yield Item(position, stone, key)
            position += 1


def _param_text(value: Any) -> str:
    """A parameter value from YAML as Coupa reads it: true/false, ISO dates, plain text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def record_key(record_id: Any, position: int) -> str:
    """A queried record's key in the operation log: its Coupa id, else its position."""
    return f"{_ID_KEY}{record_id}" if record_id is not None else str(position)


def id_of_key(key: str) -> int | None:
    """The Coupa id in a key made by ``record_key`` (None for a position): a target that
    recovers only keys must still let the run mark those records exported."""
    if not key.startswith(_ID_KEY):
        return None
    digits = key[len(_ID_KEY) :]
    return int(digits) if digits.isdigit() else None


def _text_of(where: Any) -> str:
    if isinstance(where, Mapping):
        return " ".join(str(k) for k in where)
    if isinstance(where, list | tuple):
        return " ".join(str(w) for w in where)
    return str(where or "")


class CoupaWriteTarget(TargetBase):
    """Create, update, upsert or run an action on Coupa records, a batch at a time."""

    durable_per_batch = True
    validates_in_dry_run = True  # validation runs; nothing is sent
    logs_records = True

    def __init__(self, spec: EndpointSpec, bridge: CoupaBridge, *, dry_run: bool = False) -> None:
        self.kind = spec.type.split(".", 1)[1]
        o = spec.options
        self.obj = load_catalog().get(str(o["object"]))
        self.key = o.get("key")
        self.action = o.get("action")
        self.id_field = str(o.get("id_field", "id"))
        self.bridge = bridge
        self.dry_run = dry_run
        self.validation = validation_mode(o.get("validate"))
        self.maybe_sent: set[str] = set()

    def describe(self) -> str:
        return f"Coupa {self.obj.name} ({self.kind})"

    def set_maybe_sent(self, keys: set[str]) -> None:
        """Keys of records a killed run may have created without logging it.

        A resumed create sends those as an upsert on the object's natural key, so a record
        that did land is found and not created twice.
        """
        self.maybe_sent = set(keys)

    def _natural_key(self) -> str | None:
        for key in self.obj.lookup_keys:
            if key != ("id",):
                return ",".join(key)
        return None

    def write(self, batch: Sequence[Transformed], batch_no: int) -> list[Outcome]:
        records = [dict(t.record or {}) for t in batch]
        results: list[Any] = []
        error: CoupaError | None = None
        natural = self._natural_key() if self.kind == "create" else None
        redo = [i for i, t in enumerate(batch) if t.items[0].key in self.maybe_sent]
        try:
            if redo and natural:
                fresh = [i for i in range(len(batch)) if i not in set(redo)]
                self.bridge.call(self._collect_some(records, fresh, "create", None, results))
                self.bridge.call(self._collect_some(records, redo, "upsert", natural, results))
            else:
                self.bridge.call(self._collect(records, results))
        except CoupaError as exc:
            error = exc
        except Exception as exc:
            # The write pipeline wraps a fatal error with the results it had (all counted).
            inner = getattr(exc, "error", None)
            if not isinstance(inner, CoupaError):
                raise
            error = inner
        final = batch_outcomes(results, len(records), error)
        if error is not None:
            raise FatalBatch(error, final)
        return final

    def _how(self) -> dict[str, Any]:
        """The write activities' options of this target: dry run and validation."""
        return {"dry_run": self.dry_run, "validation": self.validation}

    async def _collect_some(
        self,
        records: list[dict[str, Any]],
        indexes: list[int],
        kind: str,
        key: str | None,
        into: list[Any],
    ) -> None:
        """Write some of a batch; results keep their positions in the whole batch."""
        if not indexes:
            return
        from coupa_connector.activities.write.create import create
        from coupa_connector.activities.write.update import upsert

        part = [records[i] for i in indexes]
        conn = self.bridge.conn
        if kind == "upsert" and key:
            stream = upsert(conn, self.obj, part, key=key, **self._how())
        else:
            stream = create(conn, self.obj, part, key=self.key, **self._how())
        async for result in stream:
            into.append(dc_replace(result, position=indexes[result.position - 1] + 1))

    async def _collect(self, records: list[dict[str, Any]], into: list[Any]) -> None:
        conn = self.bridge.conn
        stream: AsyncIterator[Any]
        if self.kind == "create":
            from coupa_connector.activities.write.create import create

            stream = create(conn, self.obj, records, key=self.key, **self._how())
        elif self.kind == "update":
            from coupa_connector.activities.write.update import update

            stream = update(conn, self.obj, records, key=self.key, **self._how())
        elif self.kind == "upsert":
            from coupa_connector.activities.write.update import upsert

            if not self.key:
                raise ConfigurationError(f"coupa.upsert of {self.obj.name} needs key:")
            stream = upsert(conn, self.obj, records, key=self.key, **self._how())
        else:
            from coupa_connector.activities.write.actions import action as run_action

            ids = [r.get(self.id_field) for r in records]
            stream = run_action(conn, self.obj, str(self.action), ids, dry_run=self.dry_run)
        async for result in stream:
            into.append(result)

    # recover: a create whose answer was lost is found by its natural key by the write
    # layer itself (``recovered``), so nothing is created twice; nothing to add here.

    def commit(self) -> list[str]:
        return [self.describe()]


def _check(check: Checker, where: str, role: str, spec: EndpointSpec, node: LMap) -> None:
    o = spec.options
    obj = check.object(o.get("object"), node.line_of("object"))
    if obj is None:
        return
    if spec.type == "coupa.query":
        if not obj.can_query:
            check.problem(node.line_of("object"), f"{where}: {obj.name} cannot be queried")
        _check_incremental(check, where, obj, o, node)
        if o.get("mark_exported") and not obj.has_field("exported"):
            check.problem(
                node.line_of("mark_exported"), f"{where}: {obj.name} has no exported flag to mark"
            )
        fields = o.get("fields")
        if fields is not None and not isinstance(fields, list):
            check.problem(node.line_of("fields"), f"{where}: fields must be a list")
        if not isinstance(o.get("projection", True), bool):
            check.problem(node.line_of("projection"), f"{where}: projection must be true or false")
        _check_deletes(check, where, o, node)
        _check_query(check, where, obj, o, node)
        return
    if "validate" in o:
        try:
            validation_mode(o["validate"])
        except ConfigurationError as exc:
            check.problem(node.line_of("validate"), f"{where}: {exc}")
    if spec.type in ("coupa.create", "coupa.upsert"):
        _check_via(check, where, spec, node)
    if spec.type == "coupa.load_file":
        from coupa_connector.operations.endpoints.coupa_files import check_file_options

        check_file_options(check, where, spec, node)
    if spec.type == "coupa.create" and not obj.can_create:
        check.problem(node.line_of("object"), f"{where}: Coupa cannot create {obj.name}")
    if spec.type in ("coupa.update", "coupa.upsert") and not obj.can_update:
        check.problem(node.line_of("object"), f"{where}: Coupa cannot update {obj.name}")
    if spec.type in ("coupa.update", "coupa.upsert") and o.get("key") is not None:
        keys = [o["key"]] if isinstance(o["key"], str) else o["key"]
        for key in keys if isinstance(keys, list) else []:
            if not obj.has_field(str(key)):
                check.problem(
                    node.line_of("key"), f"{where}: {obj.name} has no field {key!r} to match on"
                )
    if (
        spec.type == "coupa.action"
        and isinstance(o.get("action"), str)
        and obj.action(o["action"]) is None
    ):
        names = ", ".join(
            a.name for a in obj.actions if a.name not in ("index", "show", "create", "update")
        )
        check.problem(
            node.line_of("action"),
            f"{where}: {obj.name} has no action {o['action']!r}; actions: {names}",
        )


def _check_via(check: Checker, where: str, spec: EndpointSpec, node: LMap) -> None:
    """``via: api`` (one request per record, the default) or ``via: flat-file``."""
    from coupa_connector.operations.endpoints.coupa_files import FILE_OPTIONS, check_file_options

    via = spec.options.get("via", VIA_API)
    if via not in (VIA_API, VIA_FILES):
        check.problem(node.line_of("via"), f"{where}: via must be {VIA_API} or {VIA_FILES}")
        return
    if via == VIA_FILES:
        check_file_options(check, where, spec, node)
        return
    for name in sorted(FILE_OPTIONS & set(spec.options)):
        check.problem(node.line_of(name), f"{where}: {name} applies only with via: {VIA_FILES}")


def _check_deletes(check: Checker, where: str, o: Mapping[str, Any], node: LMap) -> None:
    """``detect_deletes``: true, or ``{state: PATH}``; not with what would fake deletes."""
    option = o.get("detect_deletes")
    line = node.line_of("detect_deletes")
    if option is None or option is False:
        return
    state = option.get("state") if isinstance(option, Mapping) else None
    if option is not True and not (
        isinstance(option, Mapping) and set(option) <= {"state"} and isinstance(state, str)
    ):
        check.problem(line, f"{where}: detect_deletes must be true or {{state: PATH}}")
    if o.get("mark_exported"):
        check.problem(
            line,
            f"{where}: detect_deletes cannot go with mark_exported: records marked exported "
            "leave the exported=false query and would all look deleted",
        )
    if o.get("limit") is not None:
        check.problem(line, f"{where}: detect_deletes needs every matching id: drop the limit")


def _check_incremental(
    check: Checker, where: str, obj: ObjectDef, o: Mapping[str, Any], node: LMap
) -> None:
    """The tracked field must be a timestamp (the window is run start times), ``since`` one."""
    tracked = o.get("incremental")
    if tracked and tracked is not True:
        try:
            kind = obj.field(str(tracked)).kind
        except CatalogError as exc:
            check.problem(node.line_of("incremental"), f"{where}: incremental: {exc}")
        else:
            if kind != "datetime":
                check.problem(
                    node.line_of("incremental"),
                    f"{where}: incremental: {obj.name}.{tracked} is a {kind}, not a datetime; "
                    "track a timestamp such as updated-at (or give true)",
                )
    since = o.get("since")
    if since is None:
        return
    if not tracked:
        check.problem(node.line_of("since"), f"{where}: since: applies only with incremental:")
    # YAML reads an unquoted timestamp as a date or datetime already.
    if not isinstance(since, date):
        try:
            parse_when(since if isinstance(since, str) else repr(since))
        except TransformValueError as exc:
            check.problem(node.line_of("since"), f"{where}: since: {exc}")


def _check_query(
    check: Checker, where: str, obj: ObjectDef, o: Mapping[str, Any], node: LMap
) -> None:
    """Check the query as the query activity will, so a bad filter fails before the run.

    Each option (and each condition of ``where``) is checked alone, so every problem is
    reported at its own line at once; then all together, for what only their mix can break.
    """
    from coupa_connector.activities.query import build_query

    def problem_of(**args: Any) -> str | None:
        try:
            # Strict: a file is checked before it runs, and a field the catalog (and the
            # instance's overlay) does not know is more often a typo than a custom field;
            # ``params:`` sends a parameter as given.
            build_query(check.catalog, obj, strict=True, **args)
        except CoupaError as exc:
            return str(exc)
        return None

    raw = o.get("params")
    params_ok = isinstance(raw, Mapping) and not any(
        isinstance(v, Mapping | list) or v is None for v in raw.values()
    )
    if raw is not None and not params_ok:
        check.problem(
            node.line_of("params"),
            f"{where}: params must map Coupa parameter names to values "
            "(e.g. supplier[name][starts_with]: Ac)",
        )
    names: tuple[str, ...] = _QUERY_PARAMS
    if params_ok:
        names = (*names, "params")
    if not isinstance(o.get("fields", []), list):
        names = tuple(n for n in names if n != "fields")  # reported already
    limit = o.get("limit")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool)):
        check.problem(node.line_of("limit"), f"{where}: limit must be a whole number")
        return
    found = False
    for name in names:
        if name not in o:
            continue
        value = o[name]
        parts: list[tuple[Any, int]] = [(value, node.line_of(name))]
        if name == "where" and isinstance(value, LList):
            parts = [(item, value.line_of(i)) for i, item in enumerate(value)]
        elif name == "where" and isinstance(value, LMap):
            parts = [({k: v}, value.line_of(k)) for k, v in value.items()]
        for part, line in parts:
            message = problem_of(**{name: part})
            if message is not None:
                check.problem(line, f"{where}: {message}")
                found = True
    if not found:
        message = problem_of(**{k: o[k] for k in names if k in o})
        if message is not None:
            check.problem(node.line_of("object"), f"{where}: {message}")


def _check_mapping(
    check: Checker, op: str, spec: EndpointSpec, transform: TransformSpec, node: LMap
) -> None:
    if isinstance(spec.options.get("object"), str):
        _check_target_fields(check, op, spec.options["object"], transform, node)


def _check_target_fields(
    check: Checker, op: str, obj_name: str, spec: TransformSpec, node: LMap
) -> None:
    try:
        obj = check.catalog.get(obj_name)
    except CatalogError:
        return  # reported with the target
    mapping_node = node.get("mapping")
    for key, _expr in spec.mapping:
        line = mapping_node.line_of(key) if isinstance(mapping_node, LMap) else node.line
        check_field_path(check, op, obj, key, line)
    if spec.lines_field:
        lines = node["lines"]
        try:
            lines_def = obj.field(spec.lines_field)
        except CatalogError as exc:
            check.problem(lines.line_of("field"), f"{op}: transform.lines.field: {exc}")
            return
        if lines_def.kind != "collection" or not lines_def.ref:
            check.problem(
                lines.line_of("field"),
                f"{op}: {obj.name}.{spec.lines_field} is not a list of lines",
            )
            return
        try:
            line_obj = check.catalog.get(lines_def.ref)
        except CatalogError:
            return
        lmap = lines.get("mapping")
        for key, _expr in spec.lines_mapping:
            line = lmap.line_of(key) if isinstance(lmap, LMap) else lines.line
            check_field_path(check, op, line_obj, key, line)


def _check_reads(
    check: Checker, op: str, spec: EndpointSpec, transform: TransformSpec, node: LMap
) -> None:
    if isinstance(spec.options.get("object"), str):
        check_source_fields(check, op, spec.options["object"], transform, node)


def _query_source(spec: EndpointSpec, ctx: EndpointContext) -> CoupaQuerySource:
    option = spec.options.get("detect_deletes")
    deletes = None
    if option:
        obj = str(spec.options["object"])
        path = operation_ids_path(option, ctx.base_dir, ctx.operation, obj, ctx.scope)
        stamp = ctx.now.astimezone().replace(microsecond=0).isoformat()
        deletes = DeleteDetector(IdSet(path, load_catalog().get(obj).name), stamp)
    return CoupaQuerySource(spec, ctx.connection(), ctx.transform, deletes)


def _write_target(spec: EndpointSpec, ctx: EndpointContext) -> Target:
    if spec.options.get("via") == VIA_FILES:
        return _file_target(spec, ctx)
    return CoupaWriteTarget(spec, ctx.connection(), dry_run=ctx.dry_run)


def _file_target(spec: EndpointSpec, ctx: EndpointContext) -> Target:
    # Imported when used: an operation that sends records one by one needs none of it.
    from coupa_connector.operations.endpoints.coupa_files import file_target

    return file_target(spec, ctx)


# The options that are the query's own (checked as the query activity reads them).
_QUERY_PARAMS: tuple[str, ...] = (
    "where",
    "fields",
    "order_by",
    "dir",
    "limit",
    "return_object",
    "show_deleted_lines",
)
_QUERY_OPTIONS = frozenset(
    {
        *_QUERY_PARAMS,
        "object",
        "incremental",
        "since",
        "mark_exported",
        "params",
        "projection",
        "detect_deletes",
    }
)


# ``via`` and the options of writes through flat files (coupa_files.FILE_OPTIONS).
_VIA_OPTIONS = frozenset({"via", "files_dir", "poll"})


def _coupa(
    name: str, required: tuple[str, ...], options: frozenset[str], *, source: bool = False
) -> EndpointType:
    role = "source" if source else "target"
    return EndpointType(
        name,
        (role,),
        {role: required},
        options,
        source=_query_source if source else None,
        target=None if source else _write_target,
        check=_check,
        check_mapping=None if source else _check_mapping,
        check_source_mapping=_check_reads if source else None,
        uses_coupa=True,
    )


ENDPOINTS = {
    "coupa.query": _coupa("coupa.query", ("object",), _QUERY_OPTIONS, source=True),
    "coupa.create": _coupa(
        "coupa.create", ("object",), frozenset({"object", "validate", *_VIA_OPTIONS})
    ),
    "coupa.update": _coupa("coupa.update", ("object",), frozenset({"object", "key", "validate"})),
    "coupa.upsert": _coupa(
        "coupa.upsert", ("object",), frozenset({"object", "key", "validate", *_VIA_OPTIONS})
    ),
    "coupa.load_file": EndpointType(
        "coupa.load_file",
        ("target",),
        {"target": ("object",)},
        frozenset({"object", "key", "validate", "files_dir", "poll"}),
        target=_file_target,
        check=_check,
        check_mapping=_check_mapping,
        uses_coupa=True,
    ),
    "coupa.action": _coupa(
        "coupa.action", ("object", "action"), frozenset({"object", "action", "id_field"})
    ),
}
