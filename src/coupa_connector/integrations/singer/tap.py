"""``tap-coupa``: a Singer tap with one stream per readable catalog object.

    tap-coupa --config config.json --discover > catalog.json
    tap-coupa --config config.json --catalog catalog.json --state state.json

Streams are incremental on ``updated-at`` with Singer state bookmarks (objects without it
are read in full). Each sync reads up to the second it started (Coupa's timestamps have
whole seconds), so a record changed during the sync is read by the next one. Records come
through the library's ``Connection``; only the catalog's selected properties are asked of
Coupa (``fields=``). ``--about``, ``--discover``, ``--catalog``, ``--state`` and ``--test``
behave as the Singer SDK defines them.
"""

from __future__ import annotations

import atexit
import datetime as dt
import functools
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from singer_sdk import Stream, Tap
from singer_sdk import typing as th

from coupa_connector import Catalog, Connection, ConnectionConfig, ObjectDef, load_catalog
from coupa_connector.integrations._objects import (
    UPDATED_AT,
    is_incremental,
    projection,
    readable_object,
    readable_objects,
)
from coupa_connector.integrations.singer._config import CONNECTION_SETTINGS, connection_config
from coupa_connector.integrations.singer._schema import decimal_paths, object_schema

__all__ = ["CoupaStream", "TapCoupa", "cli"]


def _number(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return Decimal(value)
        except InvalidOperation:
            return value
    return value


class CoupaStream(Stream):
    """The records of one Coupa object."""

    primary_keys = ("id",)
    # Records arrive in id order (keyset paging), not by updated-at: the bookmark is the
    # highest updated-at seen, written when the stream finishes.
    is_sorted = False

    def __init__(self, tap: TapCoupa, obj: ObjectDef, catalog: Catalog) -> None:
        self.coupa_object = obj
        self._decimals, self._line_decimals = decimal_paths(catalog, obj)
        super().__init__(tap, schema=object_schema(catalog, obj), name=obj.name)
        self.replication_key = UPDATED_AT if is_incremental(obj) else None

    def selected_paths(self) -> list[str] | None:
        """The selected properties as ``fields=`` paths; None when every one is selected."""
        mask = self.mask
        chosen = [
            name for name in self.schema["properties"] if mask.get(("properties", name), True)
        ]
        return projection(self.coupa_object, chosen)

    def get_records(self, context: Mapping[str, Any] | None) -> Iterable[dict[str, Any]]:
        tap = self._tap
        assert isinstance(tap, TapCoupa)
        since = self.get_starting_timestamp(context) if self.replication_key else None
        until = tap.sync_started if self.replication_key else None
        where = (tap.config.get("where") or {}).get(self.name)
        records = tap.connection.query(
            self.coupa_object.name,
            where=where,
            fields=self.selected_paths(),
            since=since,
            until=until,
        )
        for record in records:
            yield self._typed(record)

    def _typed(self, record: dict[str, Any]) -> dict[str, Any]:
        """Coupa's decimal strings as exact numbers (the schema says number)."""
        for name in self._decimals:
            if name in record:
                record[name] = _number(record[name])
        for collection, names in self._line_decimals.items():
            for line in record.get(collection) or ():
                if isinstance(line, dict):
                    for name in names:
                        if name in line:
                            line[name] = _number(line[name])
        return record


class TapCoupa(Tap):
    """Coupa's Core API as Singer streams, one per readable object of the catalog."""

    name = "tap-coupa"
    config_jsonschema = th.PropertiesList(
        *CONNECTION_SETTINGS,
        th.Property(
            "objects",
            th.ArrayType(th.StringType),
            description="Objects to offer as streams (catalog names); all readable ones when "
            "omitted.",
        ),
        th.Property(
            "start_date",
            th.DateTimeType,
            description="Where an incremental stream without a bookmark starts.",
        ),
        th.Property(
            "where",
            th.ObjectType(additional_properties=th.StringType),
            description="Conditions per stream, as `coupa query --where` takes them "
            '({"invoices": "status=approved"}).',
        ),
    ).to_dict()

    @functools.cached_property
    def sync_started(self) -> dt.datetime:
        """The upper bound of this sync's windows: the start of the second it began."""
        return dt.datetime.now(dt.UTC).replace(microsecond=0)

    @functools.cached_property
    def coupa_config(self) -> ConnectionConfig:
        return connection_config(self.config)

    @functools.cached_property
    def connection(self) -> Connection:
        """One connection for every stream: one rate limit for the whole tap. The SDK's
        sync has no end hook to override, so it closes when the process exits."""
        conn = Connection(self.coupa_config)
        atexit.register(conn.close)
        return conn

    def discover_streams(self) -> list[Stream]:
        catalog = load_catalog()
        names = self.config.get("objects")
        objects = (
            [readable_object(catalog, n) for n in names] if names else readable_objects(catalog)
        )
        return [CoupaStream(self, obj, catalog) for obj in objects]


cli = TapCoupa.cli
