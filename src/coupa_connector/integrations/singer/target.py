"""``target-coupa``: Singer records written to Coupa with the library's create/update/upsert.

    tap-coupa --config from.json | target-coupa --config to.json

A stream maps to an object (``objects: {stream: {object, mode, key}}``; by default the stream
name is the object and the mode ``upsert`` on the object's first natural key). Records are
written in batches through ``Connection.upsert`` (or ``create``/``update``): validated against
the catalog first, a create whose answer was lost looked up by its natural key before it is
ever sent again, so no record is made twice. Fields Coupa does not take (``id``, stamps,
derived totals) are left out, and unless ``same_instance`` is set the ids of referenced
records too, so references resolve by their natural keys in the target instance.

Every record ends written, rejected or failed (read = written + rejected + failed); rejected
and failed ones go to ``<rejects_dir>/<stream>.rejects.jsonl`` with the reasons in
``_errors``, and each batch logs its counts.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from singer_sdk import Target
from singer_sdk import typing as th
from singer_sdk.sinks import BatchSink

from coupa_connector import (
    Catalog,
    Connection,
    ConnectionConfig,
    ObjectDef,
    UnknownObjectError,
    WriteSummary,
    load_catalog,
)
from coupa_connector.errors import ConfigurationError
from coupa_connector.integrations._objects import ID, wire
from coupa_connector.integrations.singer._config import CONNECTION_SETTINGS, connection_config

__all__ = ["CoupaSink", "TargetCoupa", "cli"]

ERRORS_KEY = "_errors"
SINGER_PREFIX = "_sdc_"
MODES = ("create", "update", "upsert")

log = logging.getLogger("coupa_connector.integrations.singer")


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class _Shape:
    """What of a record Coupa takes for one object: writable fields, key fields, and
    references by natural key."""

    def __init__(self, catalog: Catalog, obj: ObjectDef, key: Sequence[str], keep_ids: bool):
        self.catalog = catalog
        self.obj = obj
        self.key_heads = {k.split(".", 1)[0] for k in key}
        self.keep_ids = keep_ids

    def record(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        return self._object(self.obj, raw, top=True)

    def _object(self, obj: ObjectDef, raw: Mapping[str, Any], top: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in raw.items():
            if name.startswith(SINGER_PREFIX):
                continue
            field = obj.fields.get(wire(name))
            if field is None:
                out[name] = value  # validation names what the object does not have
                continue
            keyed = top and field.name in self.key_heads
            if field.name == ID and not (keyed or self.keep_ids):
                continue
            if not field.writable and not keyed:
                continue
            if value is None:
                continue  # Coupa's null is "not set": nothing to send
            if field.kind == "reference" and isinstance(value, Mapping):
                value = self._reference(field.ref, value)
            elif field.kind == "collection" and isinstance(value, list):
                line = self._line(field.ref)
                if line is not None:
                    value = [
                        self._object(line, v, False) if isinstance(v, Mapping) else v for v in value
                    ]
            out[field.name] = _plain(value)
        return out

    def _line(self, ref: str | None) -> ObjectDef | None:
        if not ref or ref not in self.catalog:
            return None
        line = self.catalog.get(ref)
        return line if line.resource is None else None

    def _reference(self, ref: str | None, value: Mapping[str, Any]) -> Any:
        """A reference by its natural key (and id only within the same instance)."""
        target = self.catalog.get(ref) if ref and ref in self.catalog else None
        if target is None:
            return dict(value)
        keys = {name for key in target.lookup_keys for name in key}
        kept: dict[str, Any] = {}
        for name, sub in value.items():
            if name == ID and not self.keep_ids:
                continue
            if name in keys and sub is not None:
                field = target.fields.get(name)
                if field is not None and field.kind == "reference" and isinstance(sub, Mapping):
                    sub = self._reference(field.ref, sub)
                kept[name] = sub
        if self.keep_ids and value.get(ID) is not None:
            kept[ID] = value[ID]
        return kept or dict(value)


class CoupaSink(BatchSink):
    """Writes one stream's records to one Coupa object, a batch at a time."""

    def __init__(self, target: Target, *args: Any, **kwargs: Any) -> None:
        super().__init__(target, *args, **kwargs)
        assert isinstance(target, TargetCoupa)
        self.coupa_target = target

    @property
    def max_size(self) -> int:
        return int(self.config.get("batch_size") or 200)

    @functools.cached_property
    def _plan(self) -> tuple[ObjectDef | None, str, tuple[str, ...], str | None]:
        """Object, mode and key of this stream, or the reason it cannot be written."""
        own = (self.config.get("objects") or {}).get(self.stream_name) or {}
        catalog = load_catalog()
        name = str(own.get("object") or self.stream_name)
        mode = str(own.get("mode") or "upsert")
        try:
            obj = catalog.get(name)
        except UnknownObjectError as exc:
            return (
                None,
                mode,
                (),
                (
                    f"stream {self.stream_name} maps to no Coupa object ({exc}); map it with "
                    "objects: {stream: {object: ...}}"
                ),
            )
        if mode not in MODES:
            return obj, mode, (), f"mode {mode!r} is not one of {', '.join(MODES)}"
        raw_key = own.get("key")
        key = tuple(raw_key.split(",") if isinstance(raw_key, str) else raw_key or ())
        if not key and mode != "create":
            # The first natural key: ids of another instance name nothing here.
            natural = [tuple(k) for k in obj.lookup_keys if tuple(k) != (ID,)]
            if natural:
                key = natural[0]
            elif mode == "update":
                key = (ID,)
            else:
                return (
                    obj,
                    mode,
                    (),
                    f"{obj.name} has no natural key to upsert by; set objects: "
                    f"{{{self.stream_name}: {{key: ...}}}} or mode: create",
                )
        return obj, mode, key, None

    def process_batch(self, context: dict[str, Any]) -> None:
        records: list[dict[str, Any]] = context.get("records", [])
        if not records:
            return
        target = self.coupa_target
        obj, mode, key, problem = self._plan
        summary = WriteSummary()
        failures: list[tuple[Mapping[str, Any], Sequence[str]]] = []
        if obj is None or problem is not None:
            failures = [(r, [problem or "no object"]) for r in records]
            rejected, failed, written = len(records), 0, 0
        else:
            shape = _Shape(load_catalog(), obj, key, bool(self.config.get("same_instance")))
            shaped = [shape.record(r) for r in records]
            conn = target.connection
            try:
                if mode == "create":
                    results = conn.create(obj.name, shaped, key=key or None)
                elif mode == "update":
                    results = conn.update(obj.name, shaped, key=key)
                else:
                    results = conn.upsert(obj.name, shaped, key=key)
                for result in results:
                    summary.add(result)
                    if not result.ok:
                        failures.append((records[result.position - 1], result.messages))
            except ConfigurationError as exc:
                # The stream's settings cannot work (a key the object lacks, ...): nothing of
                # the batch was sent; every record is rejected with the reason.
                if summary.read:
                    raise
                failures = [(r, [str(exc)]) for r in records]
                rejected, failed, written = len(records), 0, 0
            else:
                rejected, failed = summary.rejected, summary.failed
                written = len(records) - rejected - failed
        if failures:
            self._write_rejects(failures)
        target.counts["read"] += len(records)
        target.counts["written"] += written
        target.counts["rejected"] += rejected
        target.counts["failed"] += failed
        log.info(
            "%s: %d read, %d written, %d rejected, %d failed",
            self.stream_name,
            len(records),
            written,
            rejected,
            failed,
        )

    def _write_rejects(self, failures: list[tuple[Mapping[str, Any], Sequence[str]]]) -> None:
        folder = Path(str(self.config.get("rejects_dir") or "."))
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.stream_name}.rejects.jsonl"
        with path.open("a", encoding="utf-8") as out:
            for record, messages in failures:
                row = {k: v for k, v in record.items() if not k.startswith(SINGER_PREFIX)}
                row[ERRORS_KEY] = "; ".join(messages)
                out.write(json.dumps(_plain(row), ensure_ascii=False, default=str) + "\n")


class TargetCoupa(Target):
    """Singer records into Coupa, through the library's writes."""

    name = "target-coupa"
    default_sink_class = CoupaSink
    config_jsonschema = th.PropertiesList(
        *CONNECTION_SETTINGS,
        th.Property(
            "objects",
            th.ObjectType(additional_properties=th.ObjectType(additional_properties=True)),
            description="Per stream: object (catalog name), mode (create, update, upsert) "
            "and key (natural key fields, e.g. number).",
        ),
        th.Property(
            "same_instance",
            th.BooleanType,
            description="Keep the ids of records and of their references (records read from "
            "the instance written to); off by default.",
        ),
        th.Property("batch_size", th.IntegerType, description="Records per batch (200)."),
        th.Property(
            "rejects_dir",
            th.StringType,
            description="Folder of the rejects files (<stream>.rejects.jsonl); default '.'.",
        ),
    ).to_dict()

    @functools.cached_property
    def counts(self) -> dict[str, int]:
        """Records read, written, rejected and failed over the run (read = the others)."""
        return {"read": 0, "written": 0, "rejected": 0, "failed": 0}

    @functools.cached_property
    def coupa_config(self) -> ConnectionConfig:
        return connection_config(self.config)

    @functools.cached_property
    def connection(self) -> Connection:
        return Connection(self.coupa_config)

    def process_endofpipe(self) -> None:
        try:
            super().process_endofpipe()
        finally:
            if "connection" in self.__dict__:
                self.connection.close()
            log.info(
                "target-coupa: %(read)d read, %(written)d written, %(rejected)d rejected, "
                "%(failed)d failed",
                self.counts,
            )


cli = TargetCoupa.cli
