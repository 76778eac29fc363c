"""Coupa's CSV flat-file formats as data: ``csv_formats.json``, built from Coupa's formats
workbooks by ``tools/build_csv_formats.py`` (docs/flat-files.md describes both).

A format is one kind of file: the object it holds, its direction (``import`` into Coupa,
``export`` out of it), the prefix of its file names and its record types, each with the
value its rows carry in the first column and its columns in the workbook's order.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

import orjson

from coupa_connector.errors import ConfigurationError

__all__ = [
    "CSV_FORMATS_FILE",
    "CsvColumn",
    "CsvFormat",
    "CsvFormats",
    "CsvRecordType",
    "Direction",
    "load_csv_formats",
]

CSV_FORMATS_FILE = "csv_formats.json"

Direction = Literal["import", "export"]
DIRECTIONS: tuple[Direction, ...] = ("import", "export")


@dataclass(frozen=True)
class CsvColumn:
    """One column of a record type, as the workbook lists it.

    Attributes:
        name: The header text, exactly as the workbook spells it (``Name*``, ``supplier-id``).
        required: Whether the workbook marks it required.
        field: The record field it holds, dotted for a reference's field (``supplier.name``);
            None when no catalog field matches (records keep it under ``name``).
        parent_field: For a column that repeats the parent record's field (``invoice-id``
            on a line): that field of the parent.
        marker: Whether this is the record-type column (first in the file).
        row: The workbook row it came from.
    """

    name: str
    required: bool
    field: str | None = None
    parent_field: str | None = None
    marker: bool = False
    unique: bool = False
    type: str | None = None
    required_text: str | None = None
    row: int = 0

    @property
    def key(self) -> str:
        """Where the column's value lives in a record: its field, else its own name."""
        return self.field or self.name


@dataclass(frozen=True)
class CsvRecordType:
    """One kind of row of a file: a header, a line, a split, a tax line...

    Attributes:
        name: ``header``, ``line``, ``line-split``..., or ``record`` in a one-type file.
        title: The title of its table in the workbook.
        object: The catalog object its rows hold, where known.
        parent: The record type its rows belong to (None for the top one).
        collection: The field of the parent record that holds its rows as a list.
        marker: The first-column value of its rows (None in a one-type file).
        columns: Its columns in the workbook's order.
    """

    name: str
    title: str | None
    object: str | None
    parent: str | None
    collection: str | None
    marker: str | None
    marker_column: str | None
    columns: tuple[CsvColumn, ...]
    header_row: int = 0

    def file_columns(self) -> tuple[CsvColumn, ...]:
        """The columns in file order: the record-type column first (the workbooks list it
        anywhere in some tables; Coupa reads it from the first cell), then the others."""
        marker = tuple(c for c in self.columns if c.marker)
        return marker + tuple(c for c in self.columns if not c.marker)


@dataclass(frozen=True)
class CsvFormat:
    """One flat file kind: ``invoices`` exported, ``suppliers`` imported..."""

    object: str
    direction: Direction
    file_prefix: str
    sheet: str
    record_types: tuple[CsvRecordType, ...]
    skipped_tables: tuple[tuple[str, str], ...] = ()

    @property
    def multi(self) -> bool:
        """Whether rows of several record types share the file (marker in the first cell)."""
        return len(self.record_types) > 1

    @property
    def top(self) -> CsvRecordType:
        return self.record_types[0]

    def record_type(self, name: str) -> CsvRecordType:
        for rt in self.record_types:
            if rt.name == name:
                return rt
        raise KeyError(name)

    def by_marker(self) -> dict[str, CsvRecordType]:
        return {rt.marker: rt for rt in self.record_types if rt.marker is not None}

    def children(self, parent: str) -> tuple[CsvRecordType, ...]:
        return tuple(rt for rt in self.record_types if rt.parent == parent)

    def header_cells(self, rt: CsvRecordType) -> list[str]:
        """The header row of a record type as files have it: its columns' names in file
        order, the first cell holding the type's marker in a file of several types (an
        export's record-type column is named ``type`` in every table: the marker says
        which table a header row is)."""
        names = [c.name for c in rt.file_columns()]
        if self.multi and names:
            names[0] = rt.marker or names[0]
        return names


class CsvFormats:
    """Every shipped format, looked up by object and direction."""

    def __init__(self, formats: Mapping[tuple[str, str], CsvFormat], rules: Mapping[str, Any]):
        self._formats = dict(formats)
        self.rules = dict(rules)

    def __iter__(self) -> Iterator[CsvFormat]:
        return iter(self._formats.values())

    def objects(self, direction: Direction) -> list[str]:
        return sorted(o for o, d in self._formats if d == direction)

    def get(self, object_name: str, direction: Direction) -> CsvFormat:
        """The format of an object's files in one direction.

        Raises:
            ConfigurationError: Coupa has no such flat file (the known ones are listed).
        """
        key = object_name.strip().lower().replace("-", "_")
        found = self._formats.get((key, direction))
        if found is None:
            known = ", ".join(self.objects(direction))
            raise ConfigurationError(
                f"no Coupa CSV {direction} format for {object_name!r}; "
                f"the {direction} formats are: {known}"
            )
        return found


def _column(raw: Mapping[str, Any]) -> CsvColumn:
    return CsvColumn(
        name=str(raw["name"]),
        required=bool(raw["required"]),
        field=raw.get("field"),
        parent_field=raw.get("parent_field"),
        marker=bool(raw.get("marker", False)),
        unique=bool(raw.get("unique", False)),
        type=raw.get("type"),
        required_text=raw.get("required_text"),
        row=int(raw.get("row", 0)),
    )


def _record_type(raw: Mapping[str, Any]) -> CsvRecordType:
    return CsvRecordType(
        name=str(raw["name"]),
        title=raw.get("title"),
        object=raw.get("object"),
        parent=raw.get("parent"),
        collection=raw.get("collection"),
        marker=raw.get("marker"),
        marker_column=raw.get("marker_column"),
        columns=tuple(_column(c) for c in raw["columns"]),
        header_row=int(raw.get("header_row", 0)),
    )


@functools.cache
def load_csv_formats() -> CsvFormats:
    """The shipped formats (read once per process)."""
    raw = resources.files("coupa_connector.catalog").joinpath(CSV_FORMATS_FILE).read_bytes()
    data = orjson.loads(raw)
    formats: dict[tuple[str, str], CsvFormat] = {}
    for f in data["formats"]:
        fmt = CsvFormat(
            object=str(f["object"]),
            direction=f["direction"],
            file_prefix=str(f["file_prefix"]),
            sheet=str(f["sheet"]),
            record_types=tuple(_record_type(rt) for rt in f["record_types"]),
            skipped_tables=tuple((s["title"], s["reason"]) for s in f.get("skipped_tables", [])),
        )
        formats[(fmt.object, fmt.direction)] = fmt
    return CsvFormats(formats, data.get("rules", {}))
