"""A dlt source for Coupa: one merge resource per object, incremental on ``updated-at``.

    import dlt
    from coupa_connector.integrations.dlt import coupa_source

    pipeline = dlt.pipeline("coupa_to_duckdb", destination="duckdb", dataset_name="coupa")
    pipeline.run(coupa_source(objects=["invoices", "suppliers"]))

Every resource is built from the catalog: ``primary_key="id"``, ``write_disposition="merge"``,
the column types as hints (decimals with precision, timestamps, booleans), and the object's
line collections as dlt child tables (``invoices__invoice_lines``). Records come through the
library's ``Connection``: keyset paging by id, the connection's rate limit and retries.

Incremental loading uses ``dlt.sources.incremental`` on ``updated-at``. Each run fixes an
upper bound when it starts (the start of the current second, as Coupa's timestamps have whole
seconds), so a record changed while the run reads is read by the next run rather than
half-seen by this one; ``lag`` (seconds) re-reads that much before the last run's high-water
mark for updates that become visible late; and ``allow_external_schedulers=True`` lets an
orchestrator's data interval (Airflow's, say) set the window instead.

Credentials, in order: ``connection=`` (a ``ConnectionConfig``), ``profile=`` (a profile of
the config file), dlt's config and secrets (``[sources.coupa]`` with ``url``, ``client_id``,
``client_secret``, ``scopes``), then the ``COUPA_*`` environment variables. The secret is a
``SecretStr`` from there on: no log line, error or repr shows it.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import dlt
from dlt.common.typing import TSecretStrValue
from dlt.extract.incremental.context import get_interval_context
from dlt.extract.resource import DltResource

from coupa_connector import Connection, ConnectionConfig, ObjectDef, SecretStr, load_catalog
from coupa_connector.integrations._objects import (
    UPDATED_AT,
    is_incremental,
    projection,
    readable_object,
)
from coupa_connector.integrations.dlt._hints import nested_columns, root_columns

__all__ = ["coupa_resource", "coupa_source"]

# Nested records deeper than this are stored as JSON: an invoice's supplier's address is
# flattened into columns, a line's account into its line table, deeper parts into JSON.
MAX_TABLE_NESTING = 2


def _config(
    connection: ConnectionConfig | None,
    profile: str | None,
    url: str | None,
    client_id: str | None,
    client_secret: str | None,
    scopes: str | Sequence[str] | None,
) -> ConnectionConfig:
    if connection is not None:
        return connection
    if profile:
        return ConnectionConfig.from_profile(profile)
    if url:
        return ConnectionConfig(
            url=url,
            client_id=client_id,
            client_secret=SecretStr(client_secret) if client_secret else None,
            scopes=tuple(scopes.split() if isinstance(scopes, str) else scopes or ()),
        )
    return ConnectionConfig.from_env()


class _SharedConnection:
    """One ``Connection`` for every resource of a source, so that they share one rate
    limit; opened by the first resource that reads and closed when the last one ends."""

    def __init__(self, config: ConnectionConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._users = 0
        self._conn: Connection | None = None

    def acquire(self) -> Connection:
        with self._lock:
            if self._conn is None:
                self._conn = Connection(self.config)
            self._users += 1
            return self._conn

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0 and self._conn is not None:
                self._conn.close()
                self._conn = None


def _parse_stamp(value: Any) -> Any:
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value


def _external_schedulers() -> bool | None:
    """True when an orchestrator's interval is active (Airflow's ``data_interval_start`` and
    ``_end``, or ``DLT_INTERVAL_START``/``_END``): the window is then exactly that interval.

    dlt 1.31 fails a resource whose ``allow_external_schedulers=True`` finds no interval,
    so outside an orchestrator this leaves the choice to dlt's runtime (None).
    """
    context = get_interval_context()
    return True if context is not None and context.interval is not None else None


def _run_start() -> dt.datetime:
    # Coupa's timestamps have whole seconds: a window ending at the start of this second
    # leaves whatever changes during it to the next run.
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _pages(
    shared: _SharedConnection,
    obj: ObjectDef,
    where: Any,
    fields: list[str] | None,
    since: Any,
    until: Any,
) -> Iterator[list[dict[str, Any]]]:
    conn = shared.acquire()
    try:
        pages = conn.query_pages(obj.name, where=where, fields=fields, since=since, until=until)
        for page in pages:
            records = page.records
            if records and is_incremental(obj):
                # The cursor compares as a moment, not as text: offsets may differ.
                for record in records:
                    record[UPDATED_AT] = _parse_stamp(record.get(UPDATED_AT))
            yield records
    finally:
        shared.release()


def coupa_resource(
    obj: str | ObjectDef,
    *,
    shared: _SharedConnection | ConnectionConfig,
    where: Any = None,
    fields: Sequence[str] | None = None,
    initial_value: str | dt.datetime | None = None,
    lag: float | None = None,
) -> DltResource:
    """One Coupa object as a dlt resource (what ``coupa_source`` yields per object).

    Args:
        obj: The object (any of its catalog names); it must be readable on its own.
        shared: The connection settings, or a connection shared with other resources.
        where: Conditions, as ``Connection.query`` takes them (``"status=approved"``).
        fields: The columns to load, as dotted paths (``["invoice-number",
            "invoice-lines.price"]``); only they are asked of Coupa (``fields=``), with
            ``id`` and ``updated-at`` always added. None loads whole records.
        initial_value: Where the first incremental run starts (ISO 8601); from the
            beginning when omitted.
        lag: Seconds to re-read before the last run's high-water mark.

    Raises:
        UnknownObjectError: No such object.
        ValueError: The object cannot be read on its own.
    """
    catalog = load_catalog()
    target = obj if isinstance(obj, ObjectDef) else readable_object(catalog, obj)
    connection = shared if isinstance(shared, _SharedConnection) else _SharedConnection(shared)
    projected = projection(target, fields)
    hints: dict[str, Any] = {
        "name": target.name,
        "primary_key": "id",
        "write_disposition": "merge",
        "columns": root_columns(target, projected),
        "nested_hints": nested_columns(target, catalog, projected),
    }

    if is_incremental(target):
        cursor: Any = dlt.sources.incremental[dt.datetime](
            UPDATED_AT,
            initial_value=_parse_stamp(initial_value),
            lag=lag,
            allow_external_schedulers=_external_schedulers(),
        )

        def incremental_records(
            updated_at: Any = cursor,
        ) -> Iterator[list[dict[str, Any]]]:
            since = updated_at.start_value
            until = updated_at.end_value or _run_start()
            yield from _pages(connection, target, where, projected, since, until)

        return dlt.resource(incremental_records, **hints)

    def all_records() -> Iterator[list[dict[str, Any]]]:
        yield from _pages(connection, target, where, projected, None, None)

    return dlt.resource(all_records, **hints)


@dlt.source(name="coupa", section="coupa", max_table_nesting=MAX_TABLE_NESTING)
def coupa_source(
    objects: Sequence[str] | Mapping[str, Mapping[str, Any]] = ("invoices",),
    connection: ConnectionConfig | None = None,
    where: Any = None,
    fields: Sequence[str] | None = None,
    initial_value: str | None = None,
    lag: float | None = None,
    profile: str | None = None,
    url: str | None = None,
    client_id: str | None = None,
    client_secret: TSecretStrValue | None = None,
    scopes: str | None = None,
) -> Iterator[DltResource]:
    """Coupa objects as dlt resources, one per object, sharing one connection.

    Args:
        objects: Object names (``["invoices", "suppliers"]``), or a mapping of names to
            per-object options (``{"invoices": {"where": "status=approved", "fields":
            [...]}}``; the keys are those of ``coupa_resource``).
        connection: Connection settings; see the module's docstring for the other sources.
        where: Conditions for every object without its own.
        fields: Columns to load for every object without its own (None: whole records).
        initial_value: Start of the first incremental run (ISO 8601).
        lag: Seconds to re-read before the last high-water mark (late updates).
        profile: A profile of the config file (``~/.config/coupa-connector/config.toml``).
        url: Instance URL (dlt config ``sources.coupa.url``).
        client_id: OAuth client id (``sources.coupa.client_id``).
        client_secret: OAuth client secret (secrets ``sources.coupa.client_secret``).
        scopes: OAuth scopes, space separated (``sources.coupa.scopes``).
    """
    config = _config(connection, profile, url, client_id, client_secret, scopes)
    shared = _SharedConnection(config)
    options = objects if isinstance(objects, Mapping) else {name: {} for name in objects}
    for name, own in options.items():
        settings = {"where": where, "fields": fields, "initial_value": initial_value, "lag": lag}
        settings.update(own)
        yield coupa_resource(name, shared=shared, **settings)
