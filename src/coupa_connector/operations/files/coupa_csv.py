"""Coupa's CSV flat files: reading Coupa's exports into nested records and writing Coupa's
imports, with the columns of Coupa's formats workbooks (``catalog/csv_formats.json``).

The files are RFC 4180 with every field quoted, UTF-8 without a byte order mark and CRLF
line ends, at most 5,000 rows and 8 MB each, named ``{prefix}_{YYYYMMDD}_{HHMMSS}Z.csv``.

A file of one record type (suppliers, users...) has one header row of column names. A file
of several (invoices: header, line, line split, charge, tax line...) starts with one header
row per record type, whose first cell is the type's marker (``Header``, ``Line``...) and
whose other cells name its columns; every data row then starts with its type's marker and
follows that type's header. Rows of a record's lines come after the record's own row (a line
split after its line), so a file is read one record at a time; a split between files never
separates a record from its lines. docs/flat-files.md describes the layout and the choices.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from coupa_connector._records import column_paths, unflatten
from coupa_connector.catalog import (
    Catalog,
    CsvFormat,
    CsvRecordType,
    Direction,
    ObjectDef,
    ValidationMode,
    load_catalog,
    load_csv_formats,
)
from coupa_connector.errors import ConfigurationError, RecordFileError
from coupa_connector.operations.files._files import (
    BadRecord,
    LineMark,
    _RecordedLines,
    csv_rows,
)
from coupa_connector.operations.files._output import atomic_write_bytes
from coupa_connector.operations.files._text_input import clean_text, open_text

__all__ = [
    "MAX_BYTES",
    "MAX_ROWS",
    "CoupaCsvWriter",
    "CsvCheck",
    "CsvReject",
    "coupa_file_name",
    "read_coupa_csv",
    "write_coupa_csv",
]

MAX_ROWS = 5000
"""Data rows per file (header rows do not count), as Coupa takes them."""
MAX_BYTES = 8 * 1024 * 1024
"""Bytes per file, header rows included."""

Clock = Callable[[], datetime]
_TRUE = frozenset({"true", "yes", "y", "t", "1"})
_FALSE = frozenset({"false", "no", "n", "f", "0"})


def coupa_file_name(prefix: str, when: datetime) -> str:
    """Coupa's name for a flat file written at ``when``: ``suppliers_20241209_234608Z.csv``."""
    utc = when.astimezone(UTC) if when.tzinfo is not None else when
    return f"{prefix}_{utc:%Y%m%d_%H%M%S}Z.csv"


# --------------------------------------------------------------------------- writing


@dataclass(frozen=True)
class CsvCheck:
    """What the checks before writing found in one record.

    Attributes:
        field: The first field at fault ('' when the record as a whole is, or none is).
        reason: Why the record cannot be written ('' when it can).
        messages: Every error, each as record writes name it (``name: name is required to
            create suppliers. [required]``).
        warnings: What validation reported without refusing the record (field and code).
    """

    field: str = ""
    reason: str = ""
    messages: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.messages


@dataclass(frozen=True)
class CsvReject:
    """A record that was not written, with the field and the reason.

    Attributes:
        position: 0-based position of the record among those given.
        record: The record as given.
        field: The first field at fault ('' when the record as a whole is).
        reason: Why it was not written (the first error).
        messages: Every error, each naming its field and rule, as record writes do.
    """

    position: int
    record: Mapping[str, Any]
    field: str
    reason: str
    messages: tuple[str, ...] = ()


OnReject = Callable[[CsvReject], None]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        return _number(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping | list | tuple):
        raise ValueError("holds a nested value where the file has one column")
    return str(value)


def _number(value: float | Decimal) -> str:
    """A decimal number as Coupa reads one: positional, never with an exponent (``1e-07``
    is ``0.0000001``); infinities and NaN are not numbers Coupa takes."""
    exact = Decimal(repr(value)) if isinstance(value, float) else value
    if not exact.is_finite():
        raise ValueError(f"is {value!r}, not a number Coupa takes")
    return format(exact, "f")


class _CellError(ValueError):
    """A value the file cannot hold, with the field it is in."""

    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(f"{field_name} {reason}")
        self.field = field_name


def _cell_of(key: str, value: Any) -> str:
    try:
        text = value if type(value) is str else _cell(value)
    except ValueError as exc:
        raise _CellError(key, str(exc)) from None
    if not text.isascii() or "\x00" in text:
        _check_text(key, text)
    return text


def _check_text(key: str, text: str) -> None:
    """Refuse text a UTF-8 file cannot hold (a lone surrogate, as JSON's ``"\\ud800"``
    reads) or Coupa cannot store (NUL)."""
    if "\x00" in text:
        raise _CellError(key, "holds a NUL character, which Coupa cannot store")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise _CellError(key, "holds text that is not valid Unicode (a lone surrogate)") from None


@dataclass(frozen=True)
class _Plan:
    """Where a record type's values go in its rows, worked out once per writer: the cell
    of each plain field, of each reference's field, of each parent field."""

    width: int
    marker: str | None
    simple: dict[str, int]
    dotted: dict[str, dict[str, int]]
    parent: tuple[tuple[int, str], ...]
    children: frozenset[str]
    child_types: tuple[CsvRecordType, ...]


def _plan(fmt: CsvFormat, rt: CsvRecordType) -> _Plan:
    simple: dict[str, int] = {}
    dotted: dict[str, dict[str, int]] = {}
    parent: list[tuple[int, str]] = []
    marker: str | None = None
    for at, column in enumerate(rt.file_columns()):
        if column.marker:
            marker = rt.marker or ""
        elif column.parent_field and rt.parent is not None:
            parent.append((at, column.parent_field))
        elif "." in column.key and column.field is not None:
            head, _, sub = column.key.partition(".")
            dotted.setdefault(head, {}).setdefault(sub, at)
        else:
            simple.setdefault(column.key, at)
    children = fmt.children(rt.name)
    return _Plan(
        width=len(rt.columns),
        marker=marker,
        simple=simple,
        dotted=dotted,
        parent=tuple(parent),
        children=frozenset(c.collection for c in children if c.collection),
        child_types=children,
    )


def _line_size(cells: Iterable[str]) -> int:
    """The bytes a row of ``cells`` takes in the file, without writing it: each cell quoted,
    its quotes doubled, commas between, CRLF at the end (a file's rows are counted as they
    come, to know when it is full, and written once)."""
    size = 1  # CRLF, less the comma the first cell does not have
    for cell in cells:
        size += 3  # the comma and two quotes
        if cell:
            size += (len(cell) if cell.isascii() else len(cell.encode("utf-8"))) + cell.count('"')
    return size


_Row = tuple[str, list[str], dict[str, str]]
"""One row to write: its record type, its cells in file-column order, its extra columns."""


@dataclass
class _TypeRows:
    """One record type's rows in the file being filled, and the extra columns they have."""

    rt: CsvRecordType
    extras: dict[str, None] = field(default_factory=dict)
    rows: list[tuple[list[str], dict[str, str]]] = field(default_factory=list)


class _Chunk:
    """The rows of one file while it fills, with a running size (cells are quoted, so an
    extra column costs each row of its type three bytes: ``,""``)."""

    def __init__(self, fmt: CsvFormat) -> None:
        self.fmt = fmt
        self.types = {rt.name: _TypeRows(rt) for rt in fmt.record_types}
        self.order: list[tuple[str, list[str], dict[str, str]]] = []
        self.size = sum(_line_size(self._header(t)) for t in self.types.values())

    def _header(self, t: _TypeRows) -> list[str]:
        return self.fmt.header_cells(t.rt) + list(t.extras)

    def cost(self, rows: Sequence[_Row]) -> int:
        """Bytes ``rows`` (type, cells, their extra columns) would add: their own
        text, an empty ``,""`` for each extra column of their type they lack, and for each
        new extra column its header cell and an empty cell in each row of the type."""
        total = 0
        new: dict[str, dict[str, None]] = {}
        counted: dict[str, int] = {}
        for name, cells, extras in rows:
            t = self.types[name]
            fresh = new.setdefault(name, {})
            for e in extras:
                if e not in t.extras and e not in fresh:
                    fresh[e] = None
                    total += _line_size([e]) - 1  # ',"name"' (the line end is already there)
                    total += 3 * (len(t.rows) + counted.get(name, 0))
            counted[name] = counted.get(name, 0) + 1
            total += _line_size(cells) + _line_size(extras.values()) - 1
            total += 3 * (len(t.extras) + len(fresh) - len(extras))
        return total

    def add(self, rows: Sequence[_Row], cost: int) -> None:
        for name, cells, extras in rows:
            t = self.types[name]
            for e in extras:
                t.extras.setdefault(e, None)
            t.rows.append((cells, extras))
            self.order.append((name, cells, extras))
        self.size += cost

    @property
    def rows(self) -> int:
        return len(self.order)

    def render(self) -> bytes:
        buf = io.StringIO()
        rows = csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        rows.writerows(self._header(t) for t in self.types.values())
        for name, cells, extras in self.order:
            extra = self.types[name].extras
            rows.writerow([*cells, *(extras.get(e, "") for e in extra)] if extra else cells)
        return buf.getvalue().encode("utf-8")


class CoupaCsvWriter:
    """Writes records as Coupa CSV files in a folder, a new file each time one is full.

    Use ``write`` for each record and ``close`` at the end (or the writer as a context
    manager); ``paths`` lists the files landed so far. Each file lands whole (temporary
    file, ``fsync``, rename). Arguments as ``write_coupa_csv``.
    """

    def __init__(
        self,
        object_name: str,
        directory: str | os.PathLike[str],
        *,
        direction: Direction = "import",
        clock: Clock | None = None,
        max_rows: int = MAX_ROWS,
        max_bytes: int = MAX_BYTES,
        on_reject: OnReject | None = None,
        validate: bool = True,
        mode: Literal["create", "update"] = "create",
        validation: ValidationMode = "lenient",
        catalog: Catalog | None = None,
    ) -> None:
        if max_rows < 1 or max_bytes < 1:
            raise ConfigurationError("max_rows and max_bytes must be positive")
        self.format = load_csv_formats().get(object_name, direction)
        self.directory = Path(directory)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._max_rows = max_rows
        self._max_bytes = max_bytes
        self._on_reject = on_reject
        # An export file holds what Coupa sent: it is not checked as a write.
        self._validation: ValidationMode = (
            validation if validate and direction == "import" else "off"
        )
        self._mode: Literal["create", "update"] = mode
        self._catalog = catalog or load_catalog()
        self._chunk = _Chunk(self.format)
        self._empty = _Chunk(self.format)  # never filled: what a record costs on its own
        self._plans = {rt.name: _plan(self.format, rt) for rt in self.format.record_types}
        self._last: datetime | None = None
        self.paths: list[Path] = []
        self.written = 0  # records in landed files and the file filling
        self.rejected = 0
        self._position = 0

    def __enter__(self) -> CoupaCsvWriter:
        return self

    def __exit__(self, kind: object, *_exc: object) -> None:
        if kind is None:
            self.close()

    def write(self, record: Mapping[str, Any]) -> bool:
        """Add one record (with its lines); False when it was rejected instead.

        Raises:
            RecordFileError: The record is rejected and no ``on_reject`` was given.
        """
        position = self._position
        self._position += 1
        rows, found = self._prepare(record)
        if not found.ok:
            reject = CsvReject(position, record, found.field, found.reason, found.messages)
            self._reject(reject)
            return False
        cost = self._chunk.cost(rows)
        full_rows = self._chunk.rows + len(rows) > self._max_rows
        if self._chunk.rows and (full_rows or self._chunk.size + cost > self._max_bytes):
            self._land()
            cost = self._chunk.cost(rows)
        self._chunk.add(rows, cost)
        self.written += 1
        return True

    def check(self, record: Mapping[str, Any]) -> CsvCheck:
        """What ``write`` would find in the record (``ok`` when it would write it); nothing
        is written or counted."""
        return self._prepare(record)[1]

    def _prepare(self, record: Mapping[str, Any]) -> tuple[list[_Row], CsvCheck]:
        """The record's rows, or why it cannot be written: invalid as record writes check
        it, a value the file cannot hold, or too big for a file of its own."""
        rows: list[_Row] = []
        found = self._validated(record)
        if not found.ok:
            return rows, found
        why, at = "", ""
        try:
            self._rows(self.format.top, record, None, rows)
        except _CellError as exc:
            why, at = str(exc), exc.field
        except ValueError as exc:
            why = str(exc)
        if not why and not any(rows[0][1]) and not any(rows[0][2].values()):
            why = "holds no value: its row would be empty, which readers skip"
        if not why and len(rows) > self._max_rows:
            why = f"its {len(rows)} rows do not fit one file of {self._max_rows} rows"
        if not why:
            alone = self._empty.size + self._empty.cost(rows)
            if alone > self._max_bytes:
                why = f"its {alone} bytes do not fit one file of {self._max_bytes} bytes"
        if why:
            return rows, CsvCheck(at, why, (why,), found.warnings)
        return rows, found

    def write_all(self, records: Iterable[Mapping[str, Any]]) -> None:
        for record in records:
            self.write(record)

    def close(self) -> list[Path]:
        """Land the file being filled (if it has rows) and return every file written."""
        if self._chunk.rows:
            self._land()
        return list(self.paths)

    # -- internals

    def _reject(self, reject: CsvReject) -> None:
        self.rejected += 1
        if self._on_reject is None:
            raise RecordFileError(
                f"record {reject.position}: {'; '.join(reject.messages)}",
                file=str(self.directory),
            )
        self._on_reject(reject)

    def _validated(self, record: Mapping[str, Any]) -> CsvCheck:
        """The catalog's validation, as record writes run it (activities/write/_validate)."""
        if self._validation == "off":
            return CsvCheck()
        from coupa_connector.activities.write._validate import problem_message
        from coupa_connector.catalog import check_record

        obj = self._catalog.get(self.format.object)
        check = check_record(
            obj, dict(record), self._mode, catalog=self._catalog, validation=self._validation
        )
        errors = [p for p in check.problems if p.is_error]
        warnings = tuple(
            problem_message(p, with_value=False) for p in check.problems if not p.is_error
        )
        if not errors:
            return CsvCheck(warnings=warnings)
        first = errors[0]
        return CsvCheck(
            first.path, first.message, tuple(problem_message(p) for p in errors), warnings
        )

    def _rows(
        self,
        rt: CsvRecordType,
        record: Mapping[str, Any],
        parent: Mapping[str, Any] | None,
        out: list[_Row],
    ) -> None:
        plan = self._plans[rt.name]
        cells = [""] * plan.width
        if plan.marker is not None:
            cells[0] = plan.marker
        rest: dict[str, Any] = {}  # what no column holds: extra columns
        for key, value in record.items():
            if value is None or key in plan.children:
                continue
            at = plan.simple.get(key)
            if at is not None:
                cells[at] = _cell_of(key, value)
                continue
            subs = plan.dotted.get(key)
            if subs is not None and isinstance(value, Mapping):
                left = {}
                for sub, item in value.items():
                    at = subs.get(sub)
                    if at is not None:
                        cells[at] = _cell_of(f"{key}.{sub}", item)
                    elif item is not None:
                        left[sub] = item
                if left:
                    rest[key] = left
                continue
            rest[key] = value
        if parent is not None:
            for at, field_name in plan.parent:
                cells[at] = _cell_of(field_name, parent.get(field_name))
        out.append((rt.name, cells, _extras(rest)))
        for child in plan.child_types:
            items = record.get(child.collection or "")
            if items is None:
                continue
            if not isinstance(items, list | tuple):
                raise ValueError(f"{child.collection} must be a list of records")
            for item in items:
                if not isinstance(item, Mapping):
                    raise ValueError(f"{child.collection} must be a list of records")
                self._rows(child, item, record, out)

    def _land(self) -> None:
        when = self._clock()
        # Two files in one second would get one name: each next file takes the next free
        # second, so names stay Coupa's and sort in the order the files were written.
        if self._last is not None and when <= self._last:
            when = self._last + timedelta(seconds=1)
        path = self.directory / coupa_file_name(self.format.file_prefix, when)
        while path.exists():
            when += timedelta(seconds=1)
            path = self.directory / coupa_file_name(self.format.file_prefix, when)
        self._last = when
        self.directory.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, self._chunk.render())
        self.paths.append(path)
        self._chunk = _Chunk(self.format)


def _extras(rest: Mapping[str, Any]) -> dict[str, str]:
    """A record's values no column of its type holds, as columns of their own (dotted for
    nested values), so nothing given is dropped."""
    from coupa_connector._records import flatten

    if not rest:
        return {}
    flat = flatten(rest)
    for key, text in flat.items():
        _check_text(key, key)
        if not text.isascii() or "\x00" in text:
            _check_text(key, text)
    return flat


def write_coupa_csv(
    object_name: str,
    records: Iterable[Mapping[str, Any]],
    directory: str | os.PathLike[str],
    *,
    clock: Clock | None = None,
    max_rows: int = MAX_ROWS,
    max_bytes: int = MAX_BYTES,
    direction: Direction = "import",
    on_reject: OnReject | None = None,
    validate: bool = True,
    mode: Literal["create", "update"] = "create",
    validation: ValidationMode = "lenient",
) -> list[Path]:
    """Write records as Coupa CSV files of an object's format, split to Coupa's limits.

    Args:
        object_name: The catalog object (``suppliers``, ``invoices``...).
        records: The records, nested as the API has them (an invoice with its
            ``invoice-lines``, each with its ``account-allocations``...).
        directory: Where the files go (created if missing).
        clock: Gives the time files are named after (UTC); the system clock when None.
        max_rows: Data rows per file; a record is never split from its lines.
        max_bytes: Bytes per file, header rows included.
        direction: ``import`` (Coupa's inbound files, the default) or ``export`` (the layout
            Coupa's outbound files have).
        on_reject: Called for each record not written (invalid as record writes check it,
            or too big for one file), with the field and reason; without it, such a record
            raises ``RecordFileError`` and no file of this call is left behind.
        validate: Check each record with the catalog's validation, as record writes do
            (imports only: an export file holds what Coupa sent).
        mode: The write the file stands for, for validation: ``create`` checks required
            fields, ``update`` needs an id or a natural key.
        validation: ``lenient`` (errors reject a record, warnings do not), ``strict``
            (warnings reject it too) or ``off``, as for record writes.

    Returns:
        The files written, in order.

    Raises:
        ConfigurationError: Coupa has no such format, or the limits are not positive.
        RecordFileError: A record was rejected and ``on_reject`` was not given.
    """
    writer = CoupaCsvWriter(
        object_name,
        directory,
        direction=direction,
        clock=clock,
        max_rows=max_rows,
        max_bytes=max_bytes,
        on_reject=on_reject,
        validate=validate,
        mode=mode,
        validation=validation,
    )
    try:
        writer.write_all(records)
        return writer.close()
    except BaseException:
        for path in writer.paths:
            path.unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------- reading


def _typed(record: dict[str, Any], obj: ObjectDef | None, catalog: Catalog) -> dict[str, Any]:
    """The record with the values the catalog types as integers and booleans typed, in
    nested references and lists too (a CSV cell is text; the API sends these typed)."""
    if obj is None:
        return record
    for key, value in record.items():
        fdef = obj.fields.get(key)
        if fdef is None:
            continue
        target = catalog.get(fdef.ref) if fdef.ref and fdef.ref in catalog else None
        if isinstance(value, str):
            record[key] = _typed_text(str(fdef.kind), value)
        elif isinstance(value, dict):
            _typed(value, target, catalog)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    _typed(item, target, catalog)
    return record


def _typed_text(kind: str, text: str) -> Any:
    if kind == "integer":
        try:
            return int(text)
        except ValueError:
            return text  # left as given: validation says what is wrong with it
    if kind == "boolean":
        low = text.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
    return text


@dataclass
class _Layout:
    """How one record type's rows read: each cell's record key (a column's field, else the
    header text), and which cells repeat the parent's field."""

    rt: CsvRecordType
    header: list[str]
    keys: list[str]
    parent_fields: dict[int, str]
    paths: dict[str, list[str | int]]
    obj: ObjectDef | None


def _layout(rt: CsvRecordType, header: list[str], catalog: Catalog) -> _Layout:
    by_name = {c.name: c for c in rt.columns}
    by_name.update({c.name.rstrip("*").strip(): c for c in rt.columns if c.name.endswith("*")})
    keys: list[str] = []
    parents: dict[int, str] = {}
    extra: list[str] = []
    for i, name in enumerate(header):
        column = by_name.get(name.strip())
        if column is None:
            keys.append(name)
            extra.append(name)
            continue
        if column.parent_field:
            parents[i] = column.parent_field
        keys.append(column.key)
    fields = [k for k in keys if "." in k and k not in extra]
    obj = catalog.get(rt.object) if rt.object and rt.object in catalog else None
    return _Layout(rt, header, keys, parents, column_paths([*fields, *extra]), obj)


class _Reader:
    def __init__(
        self,
        fmt: CsvFormat,
        name: str,
        on_bad: Callable[[BadRecord], None],
        mark: LineMark | None,
    ) -> None:
        self.fmt = fmt
        self.name = name
        self.on_bad = on_bad
        self.mark = mark
        self.catalog = load_catalog()
        self.layouts: dict[str, _Layout] = {}
        self.by_marker = fmt.by_marker()
        self.position = 0
        # The record being read: its rows' raw text, first line, the latest record of each
        # type (lines attach to the latest header, splits to the latest line), its problem.
        self.raw: list[str] = []
        self.first_line = 0
        self.latest: dict[str, dict[str, Any]] = {}
        self.problem: str | None = None

    def header(self, cells: list[str], line: int) -> None:
        if self.fmt.multi:
            rt = self.by_marker[cells[0]]
            self.layouts[rt.name] = _layout(rt, cells, self.catalog)
        else:
            self.layouts[self.fmt.top.name] = _layout(self.fmt.top, cells, self.catalog)

    def finish(self) -> Iterator[dict[str, Any]]:
        """The record read so far, or its rejection."""
        top = self.latest.get(self.fmt.top.name)
        if top is None and not self.raw:
            return
        raw = "\r\n".join(self.raw)
        if self.problem is not None or top is None:
            why = self.problem or "no record row"
            self.on_bad(BadRecord(self.position, self.first_line, raw, why))
        else:
            if self.mark is not None:
                self.mark.line = self.first_line
            yield top
        self.position += 1
        self.raw, self.latest, self.problem = [], {}, None

    def bad_row(self, raw: str, line: int, why: str, starts: bool) -> Iterator[dict[str, Any]]:
        """A row that cannot be read: it rejects the record it belongs to, the one it starts
        (``starts``) or, when no record is being read, one of its own."""
        if starts:
            yield from self.finish()
        if not self.raw:
            self.first_line = line
        self.raw.append(raw)
        self.problem = self.problem or why

    def row(self, cells: list[str], raw: str, line: int) -> Iterator[dict[str, Any]]:
        rt = self.by_marker.get(cells[0]) if self.fmt.multi else self.fmt.top
        if rt is None or rt.name not in self.layouts:
            known = ", ".join(repr(m) for m in self.by_marker)
            why = f"line {line}: unknown record type {cells[0]!r} (known: {known})"
            if rt is not None:
                why = f"line {line}: a {rt.marker!r} row before its header row"
            if not self.raw:
                self.raw, self.first_line = [raw], line
                self.problem = why
                yield from self.finish()
                return
            self.raw.append(raw)
            self.problem = self.problem or why
            return
        if rt.parent is None:
            yield from self.finish()
            self.first_line = line
        elif not self.raw:
            self.first_line = line
        self.raw.append(raw)
        layout = self.layouts[rt.name]
        if len(cells) > len(layout.keys):
            why = f"{len(cells)} cells but {len(layout.keys)} header columns"
            self.problem = self.problem or f"line {line}: {why}"
            return
        record = self._record(layout, cells, line)
        if record is None:
            return
        self.latest[rt.name] = record
        for child in self.fmt.record_types:
            if child.parent == rt.name:
                self.latest.pop(child.name, None)
        if rt.parent is None:
            return
        parent = self.latest.get(rt.parent)
        if parent is None:
            parent_rt = self.fmt.record_type(rt.parent)
            why = f"line {line}: a {rt.marker!r} row with no {parent_rt.marker!r} row before it"
            self.problem = self.problem or why
            return
        for i, pfield in layout.parent_fields.items():
            given = cells[i] if i < len(cells) else ""
            have = parent.get(pfield)
            if given and have is not None and given != _cell(have):
                col = layout.header[i]
                why = f"line {line}: {col} is {given!r} but the row belongs to {have!r}"
                self.problem = self.problem or why
                return
        parent.setdefault(rt.collection or rt.name, []).append(record)

    def _record(self, layout: _Layout, cells: list[str], line: int) -> dict[str, Any] | None:
        values: dict[str, Any] = {}
        for i, text in enumerate(cells):
            if i == 0 and self.fmt.multi:
                continue
            if i in layout.parent_fields or text == "":
                continue
            if "\x00" in text:
                where = layout.header[i] if i < len(layout.header) else str(i + 1)
                why = (
                    f"line {line}: column {where!r} holds a NUL character, which Coupa cannot store"
                )
                self.problem = self.problem or why
                return None
            key = layout.keys[i]
            if not key:
                if text.strip():
                    self.problem = (
                        self.problem or f"line {line}: a value in column {i + 1}, which has no name"
                    )
                    return None
                continue
            values[key] = text
        plain = {k: v for k, v in values.items() if k not in layout.paths}
        nested = {k: v for k, v in values.items() if k in layout.paths}
        try:
            record = unflatten(nested, paths=layout.paths) if nested else {}
        except (ValueError, KeyError, TypeError) as exc:
            self.problem = self.problem or f"line {line}: {exc}"
            return None
        return _typed({**plain, **record}, layout.obj, self.catalog)


def read_coupa_csv(
    object_name: str,
    path: str | os.PathLike[str],
    *,
    direction: Direction = "export",
    on_bad: Callable[[BadRecord], None] | None = None,
    mark: LineMark | None = None,
) -> Iterator[dict[str, Any]]:
    """Stream the records of a Coupa CSV file, nested: a header with its lines, each line
    with its splits and tax lines, as the API nests them.

    Args:
        object_name: The catalog object the file holds (``invoices``...).
        path: The file.
        direction: ``export`` (Coupa's outbound files, the default) or ``import``.
        on_bad: Called with a ``BadRecord`` for a record that cannot be read (the whole
            record, with all its rows, so it can be fixed and fed back), and reading goes
            on; when None, such a record raises ``RecordFileError``.
        mark: Set as the file is read: each record's first line.

    Yields:
        Records with the catalog's field names where a column maps to one (``supplier-id``
        -> ``supplier.id``), values typed by the catalog (integers, booleans); columns the
        workbook does not list, or that map to no field, keep their own names. Empty cells
        are left out.

    Raises:
        ConfigurationError: Coupa has no such format.
        RecordFileError: The file is missing or not CSV, or a record is bad and ``on_bad``
            was not given.
    """
    fmt = load_csv_formats().get(object_name, direction)
    name = os.fspath(path)
    if not Path(name).is_file():
        raise RecordFileError("no such file", file=name)

    def fail(bad: BadRecord) -> None:
        raise RecordFileError(bad.reason, file=name, line=bad.line)

    reader = _Reader(fmt, name, on_bad or fail, mark)
    with open_text(name) as stream:
        lines = _RecordedLines(stream)
        rows = csv.reader(lines, strict=True)
        headers_left = len(fmt.record_types) if fmt.multi else 1
        for row in csv_rows(rows, lines, stream):
            line, raw, problem = row.line, clean_text(row.raw), row.problem
            if row.cells is None:
                # A row the CSV syntax cannot read is its record's problem; reading goes on.
                why = f"line {line}: {problem}"
                yield from reader.bad_row(raw, line, why, not fmt.multi)
                continue
            cells = row.cells
            if not any(cells):
                continue  # an empty line, or a row of empty cells: layout, not a record
            if problem is not None:
                if not reader.layouts:
                    raise RecordFileError(f"bad CSV header: {problem}", file=name, line=line)
                starts = not fmt.multi or cells[0] == fmt.top.marker
                yield from reader.bad_row(raw, line, f"line {line}: {name} is {problem}", starts)
                continue
            if _is_header(fmt, reader, cells, headers_left):
                reader.header(cells, line)
                headers_left -= 1
                continue
            yield from reader.row(cells, raw, line)
        yield from reader.finish()


def _is_header(fmt: CsvFormat, reader: _Reader, cells: list[str], left: int) -> bool:
    """A header row: the first row of a one-type file; in a multi-type file, the first row
    of each record type (its marker first), if its cells name that type's columns.

    Raises:
        RecordFileError: A one-type file whose first row names none of its columns (a file
            without its header, or another object's file).
    """
    if not fmt.multi:
        if fmt.top.name in reader.layouts:
            return False
        if not _names_columns(fmt.top, cells):
            raise RecordFileError(
                f"the first row names none of the columns of Coupa's {fmt.object} file "
                f"(such as {fmt.top.columns[0].name!r}): is it another object's file, or is "
                "its header row missing?",
                file=reader.name,
                line=1,
            )
        return True
    rt = reader.by_marker.get(cells[0])
    if left <= 0 or rt is None or rt.name in reader.layouts:
        return False
    # A data row that comes before its type's header row is not taken for one: it is read
    # as a row (and rejected as one before its header).
    return _names_columns(rt, cells[1:], skip_marker=True)


def _names_columns(rt: CsvRecordType, cells: list[str], *, skip_marker: bool = False) -> bool:
    """Whether the cells are a header of the record type: they start with its first
    columns in file order (as written here, however many extra columns follow), or at least
    half of them name its columns (a file laid out by hand)."""
    columns = rt.file_columns()[1:] if skip_marker else rt.file_columns()
    lead = [c.name for c in columns[:3]]
    if lead and [c.strip() for c in cells[: len(lead)]] == lead:
        return True
    names = {c.name for c in rt.columns} | {c.name.rstrip("*").strip() for c in rt.columns}
    filled = [c for c in cells if c.strip()]
    return bool(filled) and 2 * sum(1 for c in filled if c.strip() in names) >= len(filled)


def read_object_file(
    object_name: str | None,
    path: str,
    direction: str | None,
    on_bad: Callable[[BadRecord], None],
    mark: LineMark | None,
) -> Iterator[dict[str, Any]]:
    """``read_coupa_csv`` as ``read_records`` calls it for the ``coupa-csv`` format: the
    object's export layout unless ``direction`` says otherwise (or it has only an import).

    Raises:
        ConfigurationError: No object was named, or the direction is unknown.
    """
    if not object_name:
        raise ConfigurationError(
            "the coupa-csv format reads one object's files: name the object "
            "(object: suppliers in an operation file)"
        )
    formats = load_csv_formats()
    if direction is None:
        has_export = object_name.lower().replace("-", "_") in formats.objects("export")
        direction = "export" if has_export else "import"
    if direction not in ("import", "export"):
        raise ConfigurationError(f"direction must be import or export, not {direction!r}")
    chosen: Direction = "export" if direction == "export" else "import"
    yield from read_coupa_csv(object_name, path, direction=chosen, on_bad=on_bad, mark=mark)
