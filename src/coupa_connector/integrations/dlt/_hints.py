"""dlt column hints from the catalog: every column's type is declared, none inferred.

Coupa's JSON carries decimals as strings (``"567.07"``) and timestamps as ISO 8601 text; left
to itself dlt would store the first as text. The catalog knows each field's kind, so each
column gets its dlt type here, on the root table and on the nested line tables, and dlt's
normalizer turns the strings into decimals and timestamps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from coupa_connector import Catalog, FieldDef, ObjectDef
from coupa_connector.integrations._objects import ID, split_paths

# Wide enough for Coupa's amounts, quantities and exchange rates (DuckDB's and
# PostgreSQL's numeric both hold 38 digits); ten places keep exchange rates exact.
DECIMAL_PRECISION = 38
DECIMAL_SCALE = 10

_TYPES: dict[str, dict[str, Any]] = {
    "string": {"data_type": "text"},
    "text": {"data_type": "text"},
    "integer": {"data_type": "bigint"},
    "decimal": {
        "data_type": "decimal",
        "precision": DECIMAL_PRECISION,
        "scale": DECIMAL_SCALE,
    },
    "float": {"data_type": "double"},
    "boolean": {"data_type": "bool"},
    "datetime": {"data_type": "timestamp", "timezone": True},
    "date": {"data_type": "date"},
}

# dlt's separator between a column and the fields of a nested record flattened into it.
_NESTED = "__"

Columns = dict[str, dict[str, Any]]


def _scalar(fdef: FieldDef) -> dict[str, Any] | None:
    hint = _TYPES.get(fdef.kind)
    return None if hint is None else {"name": fdef.name, **hint}


def _object_columns(obj: ObjectDef, selected: Mapping[str, list[str]] | None) -> Columns:
    """Hints for the columns of one table holding ``obj``'s records: its scalar fields, and
    the id of each reference (flattened by dlt into ``<reference>__id``)."""
    columns: Columns = {}
    for name, fdef in obj.fields.items():
        if not fdef.readable or (selected is not None and name not in selected):
            continue
        hint = _scalar(fdef)
        if hint is not None:
            columns[name] = hint
        elif fdef.kind == "reference" and (
            selected is None or not selected[name] or "id" in selected[name]
        ):
            ref_id = f"{name}{_NESTED}{ID}"
            columns[ref_id] = {"name": ref_id, "data_type": "bigint"}
    return columns


def root_columns(obj: ObjectDef, fields: Sequence[str] | None) -> Columns:
    """Column hints of ``obj``'s root table (``fields``: the selected paths, None for all).

    ``id`` is the primary key. With delete detection the resource adds the tombstone
    columns (``_deletes.DELETE_COLUMNS``: ``hard_delete`` on ``_deleted``).
    """
    selected = split_paths(fields) if fields is not None else None
    columns = _object_columns(obj, selected)
    columns[ID] = {"name": ID, "data_type": "bigint", "nullable": False, "primary_key": True}
    return columns


def nested_columns(
    obj: ObjectDef, catalog: Catalog, fields: Sequence[str] | None
) -> dict[str, dict[str, Any]]:
    """``nested_hints`` for the child tables dlt makes of ``obj``'s line collections
    (``invoice-lines`` becomes ``invoices__invoice_lines``), typed from the line object."""
    selected = split_paths(fields) if fields is not None else None
    hints: dict[str, dict[str, Any]] = {}
    for name, fdef in obj.fields.items():
        if fdef.kind != "collection" or not fdef.readable or not fdef.ref:
            continue
        if selected is not None and name not in selected:
            continue
        if fdef.ref not in catalog:
            continue
        line = catalog.get(fdef.ref)
        if line.resource is not None:
            continue  # records of another resource, embedded: not lines of this one
        sub = selected[name] if selected is not None else []
        columns = _object_columns(line, split_paths(sub) if sub else None)
        if columns:
            hints[name] = {"columns": columns}
    return hints
