#!/usr/bin/env python3
"""Build ``src/coupa_connector/catalog/csv_formats.json`` from Coupa's CSV formats workbooks.

    python tools/build_csv_formats.py [--docs DIR] [--catalog PATH] [--output PATH] [--check]

The sources are Coupa's R35 workbooks in ``../shared/coupa-docs/csv-formats/``:
``R35_CSV_Import_Formats.xlsx`` (files into Coupa) and ``R35_CSV_Export_Formats.xlsx`` (files
out of Coupa). An ``.xlsx`` file is a zip of XML parts, read here with the standard library:
``xl/workbook.xml`` names the sheets, ``xl/_rels/workbook.xml.rels`` says which part holds
each, ``xl/sharedStrings.xml`` holds the text cells refer to by number.

How a sheet is read (docs/flat-files.md says the same for users):

- A sheet holds one table per record type. A table starts at its *header row*: the row with
  a ``Column Name`` (or ``Column``, ``Field Name``) cell and a ``Description`` cell. The
  sheets order their header cells six different ways, so every other column is found by its
  header too: required (``Req'd``, ``Required``, ``Req/Unique``, ``Required/Unique``...),
  unique, type, allowable values. A combined ``Req/Unique`` cell reads ``Yes/No``: required
  first.
- A row with a single cell just above a header row is the table's title (``Invoice Line
  Columns``); a single-cell row anywhere else is a note and not a column.
- Every other row with a name and at least a description or a required cell is a column,
  in the sheet's order.
- Required is the required cell: ``1``, ``Yes``, ``Y`` or ``True`` (any case) is required,
  ``0``, ``No``, ``N``, ``False`` or empty is not. A value with a footnote star
  (``TRUE*``) points at a condition in the description ("while not required, ... we recommend
  that you treat this field as required"): it is kept as written in ``required_text`` and
  is not required. A ``*`` at the end of a column *name* (``Name*``) is part of the name: it
  is how Coupa's own templates spell the header, and is written so.
- The record-type column is the column named ``type``/``Record Type``/``RecordType`` or
  described as the type of the row; its allowable value is the marker that rows of that
  type carry in their first cell. Where the sheet lists several values or none,
  ``csv_formats_data.py`` names the one (with its reason).

Which sheets become formats, and which collection each record type fills, is the data in
``csv_formats_data.py``. Each column is matched to a field of the catalog object its record
type holds, where one is found: the column's name in Coupa's spelling (lower case,
hyphens: ``Supplier Number`` -> ``supplier-number``), without the record type's own prefix
(``account-allocation-amount`` -> ``amount``), or a reference and one of the referenced
object's fields (``supplier-name`` -> ``supplier.name``, ``bill-to-address-street1`` ->
``bill-to-address.street1``). An unmatched column has ``field: null`` and keeps its own name
in records. A column that carries the parent's id (``invoice-id`` on a line) says so with
``parent_field``.

The output is deterministic; ``--check`` exits 1 when the shipped file is out of date.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from csv_formats_data import COLUMN_FIELDS, FORMATS, FormatSpec, RecordType

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DOCS = REPO.parent / "shared" / "coupa-docs" / "csv-formats"
DEFAULT_CATALOG = REPO / "src" / "coupa_connector" / "catalog" / "catalog.json"
DEFAULT_OUTPUT = REPO / "src" / "coupa_connector" / "catalog" / "csv_formats.json"
WORKBOOKS = {"import": "R35_CSV_Import_Formats.xlsx", "export": "R35_CSV_Export_Formats.xlsx"}

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"

Row = tuple[int, dict[str, str]]  # (1-based row number, {column letters: text})

# --------------------------------------------------------------------------- the xlsx file


def read_workbook(path: Path) -> dict[str, list[Row]]:
    """Every sheet of an ``.xlsx`` file: its name and its non-empty rows, cells as text."""
    with zipfile.ZipFile(path) as book:
        strings = _shared_strings(book)
        workbook = ElementTree.fromstring(book.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(book.read("xl/_rels/workbook.xml.rels"))
        targets = {r.get("Id"): str(r.get("Target")) for r in rels.iter(f"{_PKG_REL}Relationship")}
        sheets: dict[str, list[Row]] = {}
        for sheet in workbook.iter(f"{_MAIN}sheet"):
            target = targets[sheet.get(f"{_REL}id")].lstrip("/")
            part = target if target.startswith("xl/") else f"xl/{target}"
            sheets[str(sheet.get("name"))] = list(_rows(book.read(part), strings))
    return sheets


def _shared_strings(book: zipfile.ZipFile) -> list[str]:
    if "xl/sharedStrings.xml" not in book.namelist():
        return []
    root = ElementTree.fromstring(book.read("xl/sharedStrings.xml"))
    # A rich-text string is several runs (<r><t>..</t></r>): their texts joined.
    return ["".join(t.text or "" for t in si.iter(f"{_MAIN}t")) for si in root.iter(f"{_MAIN}si")]


def _rows(part: bytes, strings: list[str]) -> Iterator[Row]:
    root = ElementTree.fromstring(part)
    for row in root.iter(f"{_MAIN}row"):
        cells: dict[str, str] = {}
        for cell in row.iter(f"{_MAIN}c"):
            letters = re.match(r"[A-Z]+", cell.get("r", ""))
            if letters is None:
                continue
            text = _cell_text(cell, strings).strip()
            if text:
                cells[letters.group()] = text
        if cells:
            yield int(row.get("r", "0")), cells


def _cell_text(cell: ElementTree.Element, strings: list[str]) -> str:
    kind = cell.get("t")
    if kind == "inlineStr":
        return "".join(t.text or "" for t in cell.iter(f"{_MAIN}t"))
    value = cell.find(f"{_MAIN}v")
    if value is None or value.text is None:
        return ""
    if kind == "s":
        return strings[int(value.text)]
    return value.text


# --------------------------------------------------------------------------- the tables

_NAME_HEADERS = {"column name", "column", "field name"}
_DESCRIPTION_HEADERS = {"description", "field description"}
_REQUIRED_HEADERS = {"req'd", "required", "required field"}
_UNIQUE_HEADERS = {"unique", "unique?"}
_BOTH_HEADERS = {"req/unique", "required/unique", "req'd/unique"}
_TYPE_HEADERS = {"type", "field type"}
_ALLOWED_HEADERS = {"allowable values", "allowable value", "possible values"}
_YES = {"1", "yes", "y", "true"}
_NO = {"0", "no", "n", "false", ""}
_TYPE_COLUMN_NAMES = {"type", "record type", "recordtype"}
_TYPE_COLUMN_TEXT = re.compile(
    r"type of (?:header )?row|indicates record type|indication its an", re.IGNORECASE
)


@dataclass
class Layout:
    """Which letter holds what, as a table's header row says."""

    name: str
    description: str
    required: str | None = None
    unique: str | None = None
    combined: bool = False  # required and unique in one "Yes/No" cell
    type: str | None = None
    allowed: str | None = None


@dataclass
class Table:
    title: str | None
    header_row: int
    layout: Layout
    rows: list[Row]


def _layout(cells: Mapping[str, str]) -> Layout | None:
    """The layout a header row gives, or None if the row is not a header row."""
    by_text = {text.strip().lower(): letter for letter, text in cells.items()}
    name = next((by_text[h] for h in _NAME_HEADERS if h in by_text), None)
    description = next((by_text[h] for h in _DESCRIPTION_HEADERS if h in by_text), None)
    if name is None or description is None:
        return None
    layout = Layout(name, description)
    both = next((by_text[h] for h in _BOTH_HEADERS if h in by_text), None)
    if both is not None:
        layout.required, layout.combined = both, True
    else:
        layout.required = next((by_text[h] for h in _REQUIRED_HEADERS if h in by_text), None)
        layout.unique = next((by_text[h] for h in _UNIQUE_HEADERS if h in by_text), None)
    layout.type = next((by_text[h] for h in _TYPE_HEADERS if h in by_text), None)
    layout.allowed = next((by_text[h] for h in _ALLOWED_HEADERS if h in by_text), None)
    return layout


def tables(rows: list[Row]) -> list[Table]:
    """The column tables of a sheet, in order, each with its title and column rows."""
    found: list[Table] = []
    for i, (number, cells) in enumerate(rows):
        layout = _layout(cells)
        if layout is not None:
            title = None
            if i > 0 and len(rows[i - 1][1]) == 1 and _layout(rows[i - 1][1]) is None:
                title = next(iter(rows[i - 1][1].values()))
            found.append(Table(title, number, layout, []))
            continue
        if not found:
            continue
        table = found[-1]
        next_is_header = i + 1 < len(rows) and _layout(rows[i + 1][1]) is not None
        if len(cells) == 1 and next_is_header:
            continue  # the next table's title
        lay = table.layout
        has_more = lay.description in cells or (lay.required is not None and lay.required in cells)
        if cells.get(lay.name) and has_more:
            table.rows.append((number, cells))
    return found


def required_of(text: str, combined: bool) -> tuple[bool, bool, str]:
    """(required, unique, the required cell as written) from a required cell."""
    raw = text.strip()
    if combined:
        first, _, second = raw.partition("/")
        return _yes(first), _yes(second), raw
    return _yes(raw), False, raw


def _yes(text: str) -> bool:
    value = text.strip().lower()
    if value in _YES:
        return True
    if value in _NO or value.endswith("*"):
        return False  # a starred value is conditional: see the module docstring
    raise ValueError(f"cannot read {text!r} as required or not")


# --------------------------------------------------------------------------- matching fields


def wire(text: str) -> str:
    """A column name in Coupa's field spelling: ``Supplier Number*`` -> ``supplier-number``."""
    text = text.strip().rstrip("*").strip().lower()
    text = re.sub(r"[^a-z0-9]+", "-", text)
    return text.strip("-")


class Fields:
    """The catalog's objects, for matching columns to fields."""

    def __init__(self, catalog: Mapping[str, Any]) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        for obj in catalog["objects"]:
            for alias in (obj["name"], obj["name"].replace("_", "-"), obj.get("element")):
                if alias:
                    self.objects.setdefault(alias, obj)

    def fields(self, obj: str | None) -> dict[str, dict[str, Any]]:
        if obj is None or obj not in self.objects:
            return {}
        return {f["name"]: f for f in self.objects[obj]["fields"]}

    def prefixes(self, obj: str | None) -> list[str]:
        """The names a record type's own columns may start with: ``account-allocation-``."""
        if obj is None or obj not in self.objects:
            return []
        o = self.objects[obj]
        names = {o.get("element") or "", o["name"].replace("_", "-")}
        for name in list(names):
            for suffix in ("-header", "s"):
                if name.endswith(suffix):
                    names.add(name[: -len(suffix)])
            if name.endswith("-allocation") or name.endswith("-allocations"):
                names.add("account-allocation")
        return sorted((n + "-" for n in names if n), key=len, reverse=True)

    def match(self, obj: str | None, column: str) -> str | None:
        """The field (dotted for a reference's field) a column maps to, or None."""
        fields = self.fields(obj)
        name = wire(column)
        if not fields or not name:
            return None
        squashed = {f.replace("-", ""): f for f in fields}
        for candidate in (
            name,
            *(name[len(p) :] for p in self.prefixes(obj) if name.startswith(p)),
        ):
            found = fields.get(candidate) or fields.get(
                squashed.get(candidate.replace("-", ""), "")
            )
            if found is not None and found.get("kind") != "collection":
                return self._scalar(found)
        # The longest reference the name starts with, then one of its object's fields.
        for ref in sorted(fields, key=len, reverse=True):
            f = fields[ref]
            if f.get("kind") != "reference" or not name.startswith(ref + "-"):
                continue
            sub = name[len(ref) + 1 :]
            target = self.fields(f.get("ref"))
            if sub in target and target[sub].get("kind") not in ("collection", "reference"):
                return f"{ref}.{sub}"
        return None

    def curated(self, obj: str | None, path: str, where: str) -> str:
        """A hand-named field, checked against the catalog (a reference as its key)."""
        head, _, sub = path.partition(".")
        f = self.fields(obj).get(head)
        if f is None:
            raise BuildError(f"{where}: {obj} has no field {head!r} (COLUMN_FIELDS)")
        if not sub:
            return self._scalar(f)
        if sub not in self.fields(f.get("ref")):
            raise BuildError(f"{where}: {f.get('ref')} has no field {sub!r} (COLUMN_FIELDS)")
        return path

    def _scalar(self, f: Mapping[str, Any]) -> str:
        """A field's path to one value: a reference is written by its object's key
        (``from-currency`` -> ``from-currency.code``, ``supplier`` -> ``supplier.name``)."""
        if f.get("kind") != "reference":
            return str(f["name"])
        target = self.objects.get(str(f.get("ref")))
        names = self.fields(str(f.get("ref")))
        keys = [k[0] for k in (target or {}).get("lookup_keys", []) if len(k) == 1]
        key = next((k for k in keys if k != "id" and k in names), None)
        if key is None:
            key = next((k for k in ("code", "name", "login", "number") if k in names), "id")
        return f"{f['name']}.{key}"

    def child_object(self, obj: str | None, collection: str) -> str | None:
        f = self.fields(obj).get(collection)
        if f is None or f.get("kind") != "collection":
            return None
        ref = f.get("ref")
        return ref if isinstance(ref, str) and ref in self.objects else None


# --------------------------------------------------------------------------- building


class BuildError(Exception):
    """The workbook and ``csv_formats_data.py`` disagree: the data needs an update."""


def build(docs: Path, catalog_path: Path) -> dict[str, Any]:
    catalog = json.loads(catalog_path.read_text(encoding="utf-8"))
    fields = Fields(catalog)
    books = {d: read_workbook(docs / name) for d, name in WORKBOOKS.items()}
    formats = [build_format(spec, books[spec.direction], fields) for spec in FORMATS]
    named = {
        (f["direction"], f["object"], rt["name"], c["name"])
        for f in formats
        for rt in f["record_types"]
        for c in rt["columns"]
    }
    stale = sorted(set(COLUMN_FIELDS) - named)
    if stale:
        raise BuildError(f"COLUMN_FIELDS names columns the workbooks do not have: {stale}")
    return {
        "source": {d: f"coupa-docs/csv-formats/{name}" for d, name in WORKBOOKS.items()},
        "rules": {
            "quoting": "every field",
            "encoding": "utf-8, no byte order mark",
            "line_end": "\r\n",
            "max_rows": 5000,
            "max_bytes": 8 * 1024 * 1024,
            "file_name": "{prefix}_{YYYYMMDD}_{HHMMSS}Z.csv",
            "header_rows": (
                "one record type: one row of the columns' names; several: one row per record "
                "type, in record_types order, its marker first, then its other columns' names"
            ),
            "column_order": "the marker column first, then the others in the workbook's order",
            "nesting": "a row belongs to the latest row of its parent record type above it",
        },
        "formats": formats,
    }


def build_format(
    spec: FormatSpec, sheets: Mapping[str, list[Row]], fields: Fields
) -> dict[str, Any]:
    if spec.sheet not in sheets:
        raise BuildError(f"{spec.direction} workbook has no sheet {spec.sheet!r}")
    found = tables(sheets[spec.sheet])
    if not found:
        raise BuildError(f"sheet {spec.sheet!r}: no table of columns")
    listed = set(spec.record_types) | set(spec.skipped)
    untitled = len(found) == 1 and None in spec.record_types
    objects: dict[str, str | None] = {}
    record_types: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    for table in found:
        title = None if untitled else table.title
        if title not in listed:
            raise BuildError(
                f"sheet {spec.sheet!r}: table {table.title!r} (row {table.header_row}) is "
                "neither a record type nor skipped in csv_formats_data.py"
            )
        if title in spec.skipped:
            skipped.append({"title": str(title), "reason": spec.skipped[str(title)]})
            continue
        rt = spec.record_types[title]
        if rt.parent is None:
            obj: str | None = spec.object
        else:
            assert rt.collection is not None
            obj = fields.child_object(objects.get(rt.parent), rt.collection)
        objects[rt.name] = obj
        multi = len(spec.record_types) > 1
        record_types.append(record_type(spec, table, rt, objects, fields, multi=multi))
    missing = [str(t) for t in spec.record_types if t not in {t.title for t in found} | {None}]
    if missing:
        raise BuildError(f"sheet {spec.sheet!r}: no table titled {', '.join(missing)}")
    return {
        "object": spec.object,
        "direction": spec.direction,
        "file_prefix": spec.prefix,
        "sheet": spec.sheet,
        "record_types": record_types,
        "skipped_tables": skipped,
    }


def record_type(
    spec: FormatSpec,
    table: Table,
    rt: RecordType,
    objects: Mapping[str, str | None],
    fields: Fields,
    *,
    multi: bool,
) -> dict[str, Any]:
    obj = objects[rt.name]
    parent_obj = objects.get(rt.parent) if rt.parent else None
    lay = table.layout
    columns: list[dict[str, Any]] = []
    marker_column: str | None = None
    marker: str | None = rt.marker
    parent_id_names = _parent_id_names(parent_obj, fields) if rt.parent else set()
    for number, cells in table.rows:
        name = cells[lay.name]
        required, unique, written = required_of(cells.get(lay.required or "", ""), lay.combined)
        if lay.unique is not None:
            unique = _yes(cells.get(lay.unique, ""))
        column: dict[str, Any] = {"name": name, "required": required, "row": number}
        if written and written.lower() not in _YES | _NO and not lay.combined:
            column["required_text"] = written
        if unique:
            column["unique"] = True
        if lay.type and cells.get(lay.type):
            column["type"] = cells[lay.type]
        is_type = multi and marker_column is None and _is_type_column(name, cells, lay)
        if is_type:
            marker_column = name
            column["marker"] = True
            allowed = cells.get(lay.allowed or "", "")
            if marker is None:
                marker = _single_marker(allowed)
            if marker is None:
                raise BuildError(
                    f"sheet {spec.sheet!r}, {table.title!r}: the type column allows "
                    f"{allowed!r}; name the marker in csv_formats_data.py"
                )
        else:
            if wire(name) in parent_id_names:
                column["parent_field"] = "id"
            curated = COLUMN_FIELDS.get((spec.direction, spec.object, rt.name, name))
            if curated is not None:
                column["field"] = fields.curated(obj, curated, f"{spec.sheet!r} {name!r}")
                column["field_source"] = "curated"
            else:
                column["field"] = fields.match(obj, name)
        columns.append(column)
    out: dict[str, Any] = {
        "name": rt.name,
        "title": table.title,
        "header_row": table.header_row,
        "object": obj,
        "parent": rt.parent,
        "collection": rt.collection,
        "marker": marker if multi else None,
        "marker_column": marker_column,
        "columns": columns,
    }
    if rt.marker_reason:
        out["marker_reason"] = rt.marker_reason
    if multi and marker_column is None:
        raise BuildError(f"sheet {spec.sheet!r}, {table.title!r}: no record-type column")
    return out


def _is_type_column(name: str, cells: Mapping[str, str], lay: Layout) -> bool:
    if name.strip().lower() in _TYPE_COLUMN_NAMES:
        return True
    return bool(_TYPE_COLUMN_TEXT.search(cells.get(lay.description, "")))


def _single_marker(allowed: str) -> str | None:
    value = allowed.strip()
    if not value or value.lower() == "any" or "," in value or " or " in value:
        return None
    return value


def _parent_id_names(parent_obj: str | None, fields: Fields) -> set[str]:
    """Column names that carry the parent record's id: ``invoice-id``, ``invoice-line-id``."""
    return {prefix + "id" for prefix in fields.prefixes(parent_obj)}


# --------------------------------------------------------------------------- output


def render(data: Mapping[str, Any]) -> str:
    """The JSON text: one column per line, so a change in the workbook reads as a diff."""
    return _render(data, ("formats", "record_types", "columns"), 0) + "\n"


def _render(value: Mapping[str, Any], nested: tuple[str, ...], depth: int) -> str:
    """An object whose ``nested[0]`` list is written an item a line, each item in turn
    rendered with ``nested[1:]``; every other key on one line of its own."""
    pad = "  " * (depth + 1)
    lines = []
    for key, item in value.items():
        if nested and key == nested[0]:
            continue
        lines.append(f"{pad}{json.dumps(key)}: {json.dumps(item, sort_keys=True)}")
    if nested:
        items = value[nested[0]]
        if len(nested) == 1:
            rows = [f"{pad}  {json.dumps(i, sort_keys=True)}" for i in items]
        else:
            rows = [f"{pad}  " + _render(i, nested[1:], depth + 2).lstrip() for i in items]
        lines.append(f"{pad}{json.dumps(nested[0])}: [\n" + ",\n".join(rows) + f"\n{pad}]")
    return "{\n" + ",\n".join(lines) + "\n" + "  " * depth + "}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=Path, default=DEFAULT_DOCS, help="folder of the workbooks")
    parser.add_argument("--catalog", type=Path, default=DEFAULT_CATALOG)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the output file is not up to date"
    )
    args = parser.parse_args(argv)
    for name in WORKBOOKS.values():
        if not (args.docs / name).is_file():
            print(f"workbook not found: {args.docs / name}", file=sys.stderr)
            return 2
    try:
        text = render(build(args.docs, args.catalog))
    except BuildError as exc:
        print(f"build_csv_formats: {exc}", file=sys.stderr)
        return 1
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date: run tools/build_csv_formats.py", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    count = text.count('"marker_column"')
    print(f"wrote {args.output} ({count} record types, {len(text) // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
