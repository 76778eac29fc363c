"""The sandbox's own reader of Coupa's CSV import files (never the client's).

A file Coupa's data file sources load is RFC 4180 CSV in UTF-8 without a byte order mark:
a header row naming the loader's columns (as the import formats workbook spells them, with
or without the ``*`` marking a required column), then one row per record. This module turns
the bytes into header problems or numbered rows, each row a request body with Coupa's field
names, so the loader can apply it as the API applies a POST or PUT.

Row numbers are the file's record numbers counting the header as row 1, so the first data
row is row 2: Coupa's upload errors number rows so (its data file source samples report the
first data rows of a file as rows 2 and 3).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "FileProblem",
    "LoadColumn",
    "LoadFormat",
    "ParsedFile",
    "Row",
    "header_key",
    "read_import",
]

BOM = "\ufeff"


def header_key(text: str) -> str:
    """How a header cell is matched: case, spacing and the required mark ``*`` aside."""
    return " ".join(text.replace("*", " ").split()).lower()


@dataclass(frozen=True, slots=True)
class LoadColumn:
    """One column of a loader: its header and the field path its cells write.

    Attributes:
        header: As the workbook names it (``Name*``, ``Primary Address City``).
        path: The API field path (``("name",)``, ``("primary-address", "city")``).
        required: The workbook marks it required.
    """

    header: str
    path: tuple[str, ...]
    required: bool = False


@dataclass(frozen=True, slots=True)
class LoadFormat:
    """A loader: what ``source_for`` names and the resource its rows are records of."""

    source_for: str
    resource: str
    columns: tuple[LoadColumn, ...]

    def by_header(self) -> dict[str, LoadColumn]:
        return {header_key(c.header): c for c in self.columns}


@dataclass(frozen=True, slots=True)
class FileProblem:
    """What makes a whole file unloadable (Coupa's ``UploadHeaderError``)."""

    message: str


@dataclass(slots=True)
class Row:
    """One data row: its number, its first cell, its body and each field's cell."""

    number: int
    first_column: str
    body: dict[str, Any]
    cells: dict[str, str] = field(default_factory=dict)  # field path "a.b" -> cell
    # More cells than headers: Coupa reports such a row as "Row corrupt or invalid."
    corrupt: bool = False


@dataclass(slots=True)
class ParsedFile:
    """A file read against its loader: header problems, or the rows to apply."""

    problems: list[FileProblem]
    rows: list[Row]


def _decode(data: bytes) -> str | FileProblem:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return FileProblem(f"The file is not UTF-8 text (byte {exc.start} cannot be read).")
    if text.startswith(BOM):
        return FileProblem("The file starts with a byte order mark; send UTF-8 without one.")
    return text


def _records(text: str) -> Iterator[list[str]]:
    # strict: a quote inside an unquoted field or a field left open is an error, not a guess.
    yield from csv.reader(io.StringIO(text, newline=""), strict=True)


def _header_problems(header: list[str], fmt: LoadFormat) -> list[FileProblem]:
    # Only unknown and repeated headers fail a file: a loader takes any subset of its
    # columns, and a required field left out is refused per row as the API refuses it.
    known = fmt.by_header()
    problems = [
        FileProblem(f"Column header {cell.strip()} is not valid.")
        for cell in header
        if header_key(cell) not in known
    ]
    seen: set[str] = set()
    for cell in header:
        key = header_key(cell)
        if key in seen and key in known:
            problems.append(FileProblem(f"Column header {cell.strip()} is given twice."))
        seen.add(key)
    return problems


def _body(
    columns: list[LoadColumn | None], cells: list[str]
) -> tuple[dict[str, Any], dict[str, str]]:
    body: dict[str, Any] = {}
    shown: dict[str, str] = {}
    for column, cell in zip(columns, cells, strict=False):
        # A blank cell leaves the field as it is: Coupa's loaders change only what is given.
        # A column tied to no field (path ()) is a valid header whose cells go nowhere.
        if column is None or not column.path or cell.strip() == "":
            continue
        node = body
        for part in column.path[:-1]:
            inner = node.get(part)
            if not isinstance(inner, dict):
                inner = node[part] = {}
            node = inner
        node[column.path[-1]] = cell
        shown[".".join(column.path)] = cell
    return body, shown


def read_import(data: bytes, fmt: LoadFormat, *, max_rows: int) -> ParsedFile:
    """Read an import file against its loader.

    Args:
        data: The file's bytes.
        fmt: The loader ``source_for`` names.
        max_rows: Most data rows one file may hold.

    Returns:
        Header problems (nothing is loaded), or the rows with their bodies.
    """
    text = _decode(data)
    if isinstance(text, FileProblem):
        return ParsedFile([text], [])
    records = _records(text)
    try:
        header = next(records, None)
        if header is None or not any(cell.strip() for cell in header):
            return ParsedFile([FileProblem("The file has no header row.")], [])
        problems = _header_problems(header, fmt)
        if problems:
            return ParsedFile(problems, [])
        known = fmt.by_header()
        columns = [known.get(header_key(cell)) for cell in header]
        rows: list[Row] = []
        for number, cells in enumerate(records, start=2):
            if not any(cell.strip() for cell in cells):
                continue  # a blank line between records is no record
            if len(rows) == max_rows:
                message = f"The file holds more than {max_rows} rows; split it."
                return ParsedFile([FileProblem(message)], [])
            if len(cells) > len(header):
                rows.append(Row(number, cells[0], {}, corrupt=True))
                continue
            body, shown = _body(columns, cells)
            rows.append(Row(number, cells[0] if cells else "", body, shown))
    except csv.Error as exc:
        return ParsedFile([FileProblem(f"The file is not valid CSV: {exc}.")], [])
    return ParsedFile([], rows)
