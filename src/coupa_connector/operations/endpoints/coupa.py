"""Coupa endpoints: the query source and the create/update/upsert/action targets.

The runner is synchronous (files, SQL and JMESPath are); Coupa's client is async. A
``CoupaBridge`` runs one event loop in a background thread holding the ``AsyncConnection``,
and the endpoints hand it coroutines: one connection, one rate-limit budget and one token for
the whole run, whatever number of operations it chains.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator, Mapping, Sequence
from dataclasses import replace as dc_replace
from typing import TYPE_CHECKING, Any, TypeVar

import orjson

from coupa_connector.catalog import ObjectDef, load_catalog
from coupa_connector.errors import ConfigurationError, CoupaError
from coupa_connector.operations._projection import mapping_projection
from coupa_connector.operations._transform import Item, Transformed, TransformSpec
from coupa_connector.operations.endpoints._endpoints import ERRORS_KEY, Outcome
from coupa_connector.operations.opfile._opfile import EndpointSpec, validation_mode

if TYPE_CHECKING:
    from coupa_connector.client import AsyncConnection, ConnectionConfig

__all__ = ["CoupaBridge", "CoupaQuerySource", "CoupaWriteTarget"]

T = TypeVar("T")

log = logging.getLogger("coupa_connector.operations")

DEBUG_BODY_LIMIT = 4000
_ID_KEY = "id:"  # the key of a queried record with an id: "id:" and the id


def _cap(value: Any, limit: int | None = DEBUG_BODY_LIMIT) -> str:
    """Records as JSON for the debug log, secret fields masked (``password``, ...), cut at
    ``limit`` characters (None: whole)."""
    from coupa_connector.client._redact import mask_fields

    text = orjson.dumps(mask_fields(value), default=str).decode()
    if limit is not None and len(text) > limit:
        return f"{text[:limit]}... ({len(text)} characters)"
    return text


class CoupaBridge:
    """An ``AsyncConnection`` on its own event-loop thread, usable from synchronous code.

    Args:
        config: The connection's settings.
    """

    def __init__(self, config: ConnectionConfig) -> None:
        self.config = config
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="coupa-connection", daemon=True
        )
        self._thread.start()
        self.conn: AsyncConnection = self.call(self._connect())

    async def _connect(self) -> AsyncConnection:
        from coupa_connector.client import AsyncConnection

        return AsyncConnection(self.config)

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the connection's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def iterate(self, source: AsyncIterator[T]) -> Iterator[T]:
        """An async iterator, consumed from synchronous code."""
        try:
            while True:
                try:
                    yield self.call(_anext(source))
                except StopAsyncIteration:
                    return
        finally:
            closer = getattr(source, "aclose", None)
            if closer is not None:
                self.call(closer())

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
        try:
            self.call(self.conn.aclose())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()


async def _anext(source: AsyncIterator[T]) -> T:
    return await source.__anext__()


class CoupaQuerySource:
    """Records of a Coupa query; with ``incremental``, only what changed since the last run.

    The incremental window is fixed when the run starts (``field[gt_or_eq]=watermark`` and
    ``field[lt]=run start``), and the next run starts where this one ended, so a record is
    delivered once however often it changes while a run is going on.
    """

    def __init__(
        self, spec: EndpointSpec, bridge: CoupaBridge, transform: TransformSpec | None = None
    ) -> None:
        o = spec.options
        catalog = bridge.conn.catalog  # with the instance's overlay, when there is one
        self.obj = catalog.get(str(o["object"]))
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
        self.mark_exported = bool(o.get("mark_exported", False))
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

    def _params(self) -> dict[str, str]:
        params = {**self.raw_params, **self.window}
        if self.mark_exported and "exported" not in (_text_of(self.where) + " ".join(params)):
            params["exported"] = "false"
        return params

    def items(self, done: set[str]) -> Iterator[Item]:
        options: dict[str, Any] = {"params": self._params()}
        for name in ("where", "fields", "order_by", "dir", "limit", "return_object"):
            value = getattr(self, name)
            if value is not None:
                options[name] = value
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
                    _cap(page.records),
                )
            for record in page.records:
                record.pop(ERRORS_KEY, None)
                key = record_key(record.get("id"), position)
                if key not in done:
                    yield Item(position, record, key)
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


class CoupaWriteTarget:
    """Create, update, upsert or run an action on Coupa records, a batch at a time."""

    durable_per_batch = True

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

    def open(self, resume: Mapping[str, Any] | None) -> None:
        return None

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
        out: list[Outcome | None] = [None] * len(records)
        for r in results:
            index = r.position - 1
            if not 0 <= index < len(out):
                continue
            outcome = r.outcome.value
            if outcome in ("created", "updated", "actioned", "valid"):
                out[index] = Outcome("written", coupa_id=r.id, warnings=list(r.warnings))
            else:
                messages = list(r.messages) or [outcome]
                out[index] = Outcome(
                    "rejected" if outcome == "rejected" else "failed",
                    messages,
                    r.id,
                    list(r.warnings),
                )
        final = [
            o
            if o is not None
            else Outcome("failed", [f"not sent: {error}" if error else "no result"])
            for o in out
        ]
        if error is not None:
            raise _FatalBatch(error, final)
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

    def checkpoint(self) -> dict[str, Any]:
        return {}

    def recover(self, done: set[str]) -> dict[str, int | None]:
        # A create whose answer was lost is found by its natural key by the write layer
        # itself (``recovered``), so nothing is created twice; nothing to add here.
        return {}

    def commit(self) -> list[str]:
        return [self.describe()]

    def abort(self, keep_for_resume: bool) -> None:
        return None


class _FatalBatch(Exception):
    """A batch that ended the run: its outcomes are final, and ``error`` says why."""

    def __init__(self, error: CoupaError, outcomes: list[Outcome]) -> None:
        super().__init__(str(error))
        self.error = error
        self.outcomes = outcomes
