"""Reading record files: one reader per format (CSV, JSONL, JSON and Coupa XML), the formats
and path patterns they share with the writer (``_output``).

Readers are generators, so a file of any size is read with flat memory; a record that cannot
be read goes to ``on_bad`` (rejected, with its line) and reading goes on.
"""

from __future__ import annotations

import codecs
import csv
import functools
import json
import os
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Literal
from xml.parsers import expat

import orjson

from coupa_connector._csv_formulas import (
    DEFAULT_CSV_FORMULAS,
    CsvFormulas,
    cell_reader,
    unescape_cell,
)
from coupa_connector.errors import ConfigurationError, RecordFileError
from coupa_connector.operations.files._text_input import (
    TextInput,
    clean_text,
    is_utf8,
    not_utf8,
    open_text,
    open_utf8_bytes,
    utf8_problem,
)

__all__ = [
    "FORMATS",
    "OBJECT_FORMATS",
    "BadRecord",
    "LineMark",
    "RecordFileError",
    "expand_path",
    "guess_format",
    "has_placeholders",
    "open_text",
    "read_records",
]

Format = Literal["csv", "jsonl", "json", "xml"]
FORMATS: tuple[str, ...] = ("csv", "jsonl", "json", "xml")
OBJECT_FORMATS: tuple[str, ...] = ("coupa-csv",)
"""Formats whose columns are one object's own (Coupa's flat files): reading one needs the
object's name. Their readers are in ``OBJECT_READERS``."""

ObjectReader = Callable[
    [str | None, str, str | None, "OnBad", "LineMark | None"], Iterator[dict[str, Any]]
]
"""(object name, path, direction, on_bad, mark) -> records."""

OBJECT_READERS: dict[str, ObjectReader] = {}
"""The reader of each ``OBJECT_FORMATS`` format, by name; ``_object_formats`` (imported with
this package) fills it, so that this module, which those readers build on, needs none of
them."""

_EXTENSIONS: dict[str, str] = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".xml": "xml",
}

_CHUNK = 64 * 1024

MAX_RECORD_DEPTH = 100
"""How deep a record read from a file may nest (mappings and lists); Coupa's own records
nest a few levels. Deeper input is refused with its line rather than overflowing the
stack of whatever walks the record next."""


class BadRecord:
    """One input record a reader could not turn into a record (for rejects, not a crash).

    Attributes:
        position: 0-based position of the record in the file's record stream.
        line: 1-based line where it starts, when known.
        raw: The input text as found, so it can be fixed and fed again.
        reason: Why it could not be read.
    """

    __slots__ = ("line", "position", "raw", "reason")

    def __init__(self, position: int, line: int | None, raw: str, reason: str) -> None:
        self.position = position
        self.line = line
        # Bytes that were not UTF-8 come out as U+FFFD, so the raw text can be written out.
        self.raw = clean_text(raw)
        self.reason = reason

    def __repr__(self) -> str:
        return f"BadRecord(position={self.position}, line={self.line}, reason={self.reason!r})"


OnBad = Callable[[BadRecord], None]


class LineMark:
    """What a reader knows beyond the records, set as it reads: the 1-based line the record
    it yielded last starts at (CSV and JSON lines; None for JSON and XML, which are not read
    by lines), and a CSV file's header once read (rejects files keep its order)."""

    __slots__ = ("columns", "line")

    def __init__(self) -> None:
        self.line: int | None = None
        self.columns: list[str] = []


def guess_format(path: str | os.PathLike[str], format: str | None = None) -> str:
    """The record format of a path: ``format`` when given, else from the file's extension.

    Raises:
        RecordFileError: The format is unknown or cannot be guessed.
    """
    name = os.fspath(path)
    if format:
        fmt = format.lower().lstrip(".")
        if fmt == "ndjson":
            fmt = "jsonl"
        if fmt not in FORMATS and fmt not in OBJECT_FORMATS:
            known = ", ".join((*FORMATS, *OBJECT_FORMATS))
            raise RecordFileError(f"unknown format {format!r}; use one of {known}", file=name)
        return fmt
    suffix = Path(name).suffix.lower()
    if suffix not in _EXTENSIONS:
        raise RecordFileError(
            f"cannot tell the format from the extension {suffix or '(none)'!r}; "
            f"name the format ({', '.join(FORMATS)})",
            file=name,
        )
    return _EXTENSIONS[suffix]


_PLACEHOLDER = re.compile(r"\{(\w+)(?::([^{}]*))?\}")


def expand_path(pattern: str, *, now: datetime | None = None, **values: str) -> str:
    """Fill a path pattern such as ``out/invoices-{timestamp:%Y%m%d-%H%M%S}.csv``.

    ``{timestamp}`` (default format ``%Y%m%dT%H%M%S``) and ``{date}`` (``%Y-%m-%d``) take the
    given time; any other ``{name}`` comes from ``values``. Only these placeholders are
    filled: nothing in the pattern is evaluated.

    Raises:
        ConfigurationError: The pattern names a placeholder that has no value.
    """
    when = now or datetime.now()

    def fill(match: re.Match[str]) -> str:
        name, fmt = match.group(1), match.group(2)
        if name == "timestamp":
            return when.strftime(fmt or "%Y%m%dT%H%M%S")
        if name == "date":
            return when.strftime(fmt or "%Y-%m-%d")
        if name in values:
            return values[name]
        known = ", ".join(["timestamp", "date", *sorted(values)])
        raise ConfigurationError(
            f"path pattern {pattern!r}: unknown placeholder {{{name}}}; known: {known}"
        )

    return _PLACEHOLDER.sub(fill, pattern)


def has_placeholders(pattern: str) -> bool:
    """Whether a path pattern names its file per run (``{timestamp}``, ``{run_id}``, ...)."""
    return _PLACEHOLDER.search(pattern) is not None


def free_path(path: str) -> str:
    """``path``, or ``name-1.ext``, ``name-2.ext``... : the first that does not exist."""
    if not os.path.exists(path):
        return path
    stem, ext = os.path.splitext(path)
    n = 1
    while os.path.exists(f"{stem}-{n}{ext}"):
        n += 1
    return f"{stem}-{n}{ext}"


# --------------------------------------------------------------------------- reading


def read_records(
    path: str | os.PathLike[str],
    format: str | None = None,
    *,
    on_bad: OnBad | None = None,
    encoding: str = "utf-8",
    csv_formulas: CsvFormulas = DEFAULT_CSV_FORMULAS,
    mark: LineMark | None = None,
    object_name: str | None = None,
    direction: str | None = None,
) -> Iterator[dict[str, Any]]:
    """Stream the records of a file.

    Args:
        path: The file, or ``"-"`` for standard input.
        format: ``csv``, ``jsonl``, ``json`` or ``xml``; guessed from the extension when None
            (standard input needs it).
        on_bad: Called with a ``BadRecord`` for a record that cannot be read, and reading
            goes on; when None, such a record raises ``RecordFileError``.
        encoding: Text encoding (a UTF-8 byte order mark is always skipped).
        csv_formulas: ``escape`` takes off the ``'`` that CSV writers put before cells a
            spreadsheet would run as formulas (``'=x`` reads as ``=x``); ``keep`` reads
            cells as they are.
        mark: Set as the file is read: each record's first line before it is yielded (CSV,
            JSON lines), a CSV file's header.
        object_name: The object a file of an ``OBJECT_FORMATS`` format holds (``coupa-csv``:
            ``suppliers``, ``invoices``...).
        direction: For ``coupa-csv``, ``export`` (Coupa's outbound layout) or ``import``
            (its inbound one); the object's export layout when it has one, else its import.

    Yields:
        Records as dicts with Coupa's hyphenated keys; CSV's dotted columns
        (``supplier.name``, ``invoice-lines[0].price``) become nested records and lists, and
        empty CSV cells are left out (absent, not blank).

    Raises:
        RecordFileError: The file is missing, or its syntax is broken beyond one record.
    """
    name = os.fspath(path)
    fmt = guess_format(name, format) if name != "-" or format else None
    if fmt is None:
        raise RecordFileError("reading standard input needs a format", file=name)
    if name != "-" and not Path(name).is_file():
        raise RecordFileError("no such file", file=name)
    report = on_bad or _raise_bad(name)
    if fmt in OBJECT_FORMATS:
        yield from OBJECT_READERS[fmt](object_name, name, direction, report, mark)
        return
    cell = cell_reader(csv_formulas)
    if fmt == "xml":
        # The XML declaration names its own encoding; a given one other than UTF-8 wins.
        yield from _read_xml(name, report, None if is_utf8(encoding) else encoding)
        return
    if fmt == "jsonl" and is_utf8(encoding):
        with open_utf8_bytes(name) as data:
            yield from _read_jsonl_bytes(name, data, report, mark)
        return
    with open_text(name, encoding) as stream:
        if fmt == "csv":
            yield from _read_csv(name, stream, report, cell, mark)
        elif fmt == "jsonl":
            yield from _read_jsonl(name, stream, report, mark)
        else:
            yield from _read_json(name, stream)


def csv_header(
    path: str | os.PathLike[str],
    format: str | None = None,
    *,
    encoding: str = "utf-8",
    csv_formulas: CsvFormulas = DEFAULT_CSV_FORMULAS,
) -> list[str]:
    """The columns of a CSV file's header, as ``read_records`` names them; empty for other
    formats, standard input and a file that cannot be opened (reading it will say why)."""
    name = os.fspath(path)
    try:
        if name == "-" or guess_format(name, format) != "csv":
            return []
        with open_text(name, encoding) as stream:
            # A header the reader refuses stops the read there with its own error, so any
            # header is good enough here.
            header = next(csv.reader(stream), [])
    except (ConfigurationError, OSError, UnicodeError, csv.Error):
        return []
    cell = cell_reader(csv_formulas)
    return [cell(clean_text(c.strip())) for c in header]


def _raise_bad(name: str) -> OnBad:
    def fail(bad: BadRecord) -> None:
        raise RecordFileError(bad.reason, file=name, line=bad.line)

    return fail


# A cell may hold a long text (a contract's terms, an encoded attachment); the csv module's
# default limit of 128 KB is raised, but kept finite so a stray quote cannot read a whole
# huge file into one cell.
_MAX_CSV_CELL = 64 * 1024 * 1024


class _RecordedLines:
    """The lines of a stream, keeping those read since the last ``take`` (a row's raw text,
    for the rejects file when the row cannot be parsed) and the byte offset it starts at."""

    def __init__(self, stream: TextInput) -> None:
        self._stream = stream
        self._read: list[str] = []
        self._first = 0
        self.start = 0  # byte offset of the text ``take`` returned last

    def __iter__(self) -> _RecordedLines:
        return self

    def __next__(self) -> str:
        line = next(self._stream)
        if not self._read:
            self._first = self._stream.line_start
        self._read.append(line)
        return line

    def take(self) -> str:
        """The text read since the last call, without its final line break."""
        text = "".join(self._read)
        self._read.clear()
        self.start = self._first
        return text.rstrip("\r\n")


@dataclass(frozen=True, slots=True)
class CsvRow:
    """One row of a CSV file as read.

    Attributes:
        line: The line it starts on.
        cells: Its cells; None when the CSV syntax could not read it.
        raw: Its text as in the file (for the rejects file).
        problem: Why it cannot be used: a syntax error (``cells`` is None), or bytes that are
            not in the encoding; None for a good row.
    """

    line: int
    cells: list[str] | None
    raw: str
    problem: str | None


def csv_rows(reader: Any, lines: _RecordedLines, stream: TextInput) -> Iterator[CsvRow]:
    """The rows after the header, each with its text and what is wrong with it: a row the
    CSV syntax cannot read is that row's problem, and reading goes on after it (a quote left
    open reads on to the end of the file: the reason says so)."""
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            why = f"bad CSV row: {exc}"
            if reader.line_num > line:
                why += f" (lines {line} to {reader.line_num} were read as this one row)"
            yield CsvRow(line, None, lines.take(), why)
            continue
        raw = lines.take()
        yield CsvRow(line, cells, raw, stream.problem(raw, lines.start))


def _check_header(name: str, header: list[str], raw: str, problem: str | None) -> None:
    """Refuse a header the rows cannot be read by: undecodable, NUL, duplicate or too deep
    columns. Linear in the number of columns: a header may have a hundred thousand."""
    if problem is not None:
        raise RecordFileError(f"bad CSV header: {problem}", file=name, line=1)
    if "\x00" in raw:
        raise RecordFileError(
            "the header holds a NUL character: is the file UTF-16? It must be UTF-8 text",
            file=name,
            line=1,
        )
    counts = Counter(header)
    dupes = sorted(h for h, n in counts.items() if n > 1 and h)
    if dupes:
        raise RecordFileError(f"duplicate columns: {', '.join(dupes)}", file=name, line=1)
    for column in header:
        # Each '.' or '[' opens one level of the record the column builds.
        if column.count(".") + column.count("[") >= MAX_RECORD_DEPTH:
            shown = column if len(column) <= 60 else column[:57] + "..."
            raise RecordFileError(
                f"column {shown!r} nests more than {MAX_RECORD_DEPTH} levels deep",
                file=name,
                line=1,
            )


def _nul_column(header: list[str], cells: list[str]) -> str | None:
    """Why a row cannot go anywhere because a cell holds a NUL character, or None."""
    for number, (column, cell) in enumerate(zip(header, cells, strict=False), start=1):
        if "\x00" in cell:
            where = repr(column) if column else str(number)
            return f"column {where} holds a NUL character, which Coupa cannot store"
    return None


def _read_csv(
    name: str,
    stream: TextInput,
    on_bad: OnBad,
    cell: Callable[[str], str] = unescape_cell,
    mark: LineMark | None = None,
) -> Iterator[dict[str, Any]]:
    from coupa_connector._records import column_paths, unflatten

    if csv.field_size_limit() < _MAX_CSV_CELL:
        csv.field_size_limit(_MAX_CSV_CELL)
    lines = _RecordedLines(stream)
    # Strict: a quote left open at the end of the file is an error, not a cell that silently
    # swallows every row after it.
    reader = csv.reader(lines, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise RecordFileError(f"bad CSV header: {exc}", file=name, line=1) from None
    raw = lines.take()
    header = [cell(h.strip()) for h in header]
    _check_header(name, header, raw, stream.problem(raw, lines.start))
    if mark is not None:
        mark.columns = header
    paths = column_paths(header)
    position = 0
    for got in csv_rows(reader, lines, stream):
        line, raw = got.line, got.raw
        if got.cells is None:
            on_bad(BadRecord(position, line, raw, got.problem or "bad CSV row"))
            position += 1
            continue
        cells = got.cells
        if got.problem is not None:
            on_bad(BadRecord(position, line, raw, f"{name} is {got.problem}"))
            position += 1
            continue
        if not any(c.strip() for c in cells):
            continue  # blank lines are layout, not records
        if len(cells) > len(header):
            why = f"{len(cells)} cells but {len(header)} header columns"
            on_bad(BadRecord(position, line, raw, why))
            position += 1
            continue
        nul = _nul_column(header, cells) if "\x00" in raw else None
        if nul is not None:
            on_bad(BadRecord(position, line, raw, nul))
            position += 1
            continue
        pairs = enumerate(zip(header, cells, strict=False), start=1)  # short rows are fine
        unnamed = [n for n, (h, c) in pairs if not h and c.strip()]
        if unnamed:
            # A value in a column without a name has no field to go to: dropping it quietly
            # would write the record without it.
            where = ", ".join(str(n) for n in unnamed)
            on_bad(BadRecord(position, line, raw, f"a value in column {where}, which has no name"))
            position += 1
            continue
        row = {h: cell(c) for h, c in zip(header, cells, strict=False) if h and c != ""}
        try:
            record = unflatten(row, paths=paths)
        except (ValueError, KeyError, TypeError) as exc:
            on_bad(BadRecord(position, line, raw, f"bad column layout: {exc}"))
            position += 1
            continue
        position += 1
        if mark is not None:
            mark.line = line
        yield record


def _too_deep(value: Any, text: str | bytes, start: int = 0, end: int | None = None) -> bool:
    """Whether mappings and lists nest more than ``MAX_RECORD_DEPTH`` levels in ``value``
    (a record is one level), read from ``text[start:end]``.

    A value cannot nest deeper than the brackets its JSON has, so most records skip the
    walk; the walk uses a list, not recursion, so no depth can overflow the stack."""
    if isinstance(text, bytes):
        brackets = text.count(b"{", start, end) + text.count(b"[", start, end)
    else:
        brackets = text.count("{", start, end) + text.count("[", start, end)
    if brackets <= MAX_RECORD_DEPTH:
        return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_RECORD_DEPTH:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((v, depth + 1) for v in children if isinstance(v, dict | list))
    return False


_TOO_DEEP = f"nested more than {MAX_RECORD_DEPTH} levels deep (Coupa records nest a few)"


def _read_jsonl(
    name: str, stream: TextInput, on_bad: OnBad, mark: LineMark | None = None
) -> Iterator[dict[str, Any]]:
    """JSON lines in an encoding other than UTF-8 (a decoding error stops the file)."""
    position = 0
    for number, text in enumerate(stream, start=1):
        if not text.strip():
            continue
        why: str | None
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            why = f"bad JSON: {exc}"
        else:
            why = _jsonl_problem(value, text)
            if why is None:
                position += 1
                if mark is not None:
                    mark.line = number
                yield value
                continue
        on_bad(BadRecord(position, number, text.rstrip("\r\n"), why))
        position += 1


def _read_jsonl_bytes(
    name: str, data: IO[bytes], on_bad: OnBad, mark: LineMark | None = None
) -> Iterator[dict[str, Any]]:
    """JSON lines in UTF-8, read as bytes: the JSON parser checks the UTF-8 as it parses,
    and each line's byte offset is known for the one that is not UTF-8."""
    position = 0
    offset = 0
    for number, line in enumerate(data, start=1):
        start, offset = offset, offset + len(line)
        if number == 1 and line.startswith(codecs.BOM_UTF8):
            line = line[len(codecs.BOM_UTF8) :]
            start += len(codecs.BOM_UTF8)
        if not line.strip():
            continue
        why: str | None
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            not_utf8_at = utf8_problem(line, start)
            why = f"{name} is {not_utf8_at}" if not_utf8_at else f"bad JSON: {exc}"
        else:
            # The common case inline, as this runs per line of files of millions of lines:
            # an object with fewer brackets than the depth bound cannot be too deep.
            if type(value) is dict and line.count(b"{") + line.count(b"[") <= MAX_RECORD_DEPTH:
                position += 1
                if mark is not None:
                    mark.line = number
                yield value
                continue
            why = _jsonl_problem(value, line)
            if why is None:
                position += 1
                if mark is not None:
                    mark.line = number
                yield value
                continue
        raw = line.rstrip(b"\r\n").decode("utf-8", "replace")
        on_bad(BadRecord(position, number, raw, why))
        position += 1


def _jsonl_problem(value: Any, text: str | bytes) -> str | None:
    """Why a parsed JSON line is not a record, or None."""
    if not isinstance(value, dict):
        return f"a line must hold a JSON object, not {type(value).__name__}"
    if _too_deep(value, text):
        return _TOO_DEEP
    return None


def _read_json(name: str, stream: TextInput) -> Iterator[dict[str, Any]]:
    """Stream a JSON array element by element, or read a single object as one record."""
    decoder = json.JSONDecoder()
    buf = stream.read(_CHUNK)
    eof = not buf
    pos = _skip_ws(buf, 0)
    if pos >= len(buf):
        return
    if buf[pos] == "{":
        rest = buf + stream.read()
        try:
            value = json.loads(rest)
        except json.JSONDecodeError as exc:
            raise RecordFileError(f"bad JSON: {exc.msg}", file=name, line=exc.lineno) from None
        except RecursionError:
            raise RecordFileError(_TOO_DEEP, file=name, line=1) from None
        if _too_deep(value, rest):
            raise RecordFileError(_TOO_DEEP, file=name, line=1)
        yield value
        return
    if buf[pos] != "[":
        raise RecordFileError("expected a JSON array of objects or one object", file=name)
    pos += 1
    consumed_lines = 0  # lines dropped from the front of the buffer, for error line numbers

    def skip_ws_reading_on() -> None:
        """Move ``pos`` past whitespace, reading the next chunks while the buffer runs out."""
        nonlocal buf, pos, eof, consumed_lines
        pos = _skip_ws(buf, pos)
        while pos >= len(buf) and not eof:
            more = stream.read(_CHUNK)
            eof = not more
            consumed_lines += buf.count("\n")
            buf, pos = more, 0
            pos = _skip_ws(buf, pos)

    first = True
    while True:
        skip_ws_reading_on()
        if pos >= len(buf):
            raise RecordFileError("the JSON array is not closed", file=name)
        if buf[pos] == "]":
            return
        if not first:
            if buf[pos] != ",":
                line = consumed_lines + buf.count("\n", 0, pos) + 1
                raise RecordFileError("expected ',' or ']' in the JSON array", file=name, line=line)
            pos += 1
            skip_ws_reading_on()
        while True:
            try:
                value, end = decoder.raw_decode(buf, pos)
                if end >= len(buf) and not eof and not isinstance(value, dict | list):
                    raise json.JSONDecodeError("scalar at chunk end", buf, pos)
                break
            except RecursionError:
                # The decoder recurses per level: input this deep is not a record.
                line = consumed_lines + buf.count("\n", 0, pos) + 1
                raise RecordFileError(_TOO_DEEP, file=name, line=line) from None
            except json.JSONDecodeError as exc:
                if eof:
                    line = consumed_lines + exc.lineno
                    raise RecordFileError(f"bad JSON: {exc.msg}", file=name, line=line) from None
                # Probably a record cut by the chunk boundary: read on and try again.
                consumed_lines += buf.count("\n", 0, pos)
                more = stream.read(_CHUNK)
                eof = not more
                buf, pos = buf[pos:] + more, 0
        if not isinstance(value, dict):
            line = consumed_lines + buf.count("\n", 0, pos) + 1
            raise RecordFileError(
                f"array elements must be objects, not {type(value).__name__}", file=name, line=line
            )
        if _too_deep(value, buf, pos, end):
            line = consumed_lines + buf.count("\n", 0, pos) + 1
            raise RecordFileError(_TOO_DEEP, file=name, line=line)
        first = False
        # Move on within the buffer; it is only cut when more input is read, so a file of
        # many small records is not copied once per record.
        pos = end
        yield value


def _skip_ws(buf: str, pos: int) -> int:
    while pos < len(buf) and buf[pos] in " \t\r\n":
        pos += 1
    return pos


class _XMLRecords:
    """An expat handler that turns Coupa XML into records, one finished record at a time.

    Depth 1 is the list element (``invoice-headers``), depth 2 each record. Coupa's type
    attributes drive the values: ``integer``, ``boolean``, ``nil="true"``, ``type="array"``.
    A document whose root is one record (``<invoice-header>``) gives that single record; so
    does a root spelled like a list whose first child is a field, not one of its records
    (Coupa's ``<budget_lines><segment_1>...`` examples).
    """

    def __init__(
        self,
        root_is_record: Callable[[str, Mapping[str, str]], bool],
        items: Mapping[str, frozenset[str]] | None = None,
        holds_fields: Callable[[str, Mapping[str, str], str], bool] | None = None,
    ) -> None:
        self._root_is_record = root_is_record
        self._holds_fields = holds_fields
        self._items = items or {}
        self._stack: list[tuple[str, dict[str, str], list[Any], list[str]]] = []
        self.single = False
        self.started = False  # any element seen
        self.done: list[dict[str, Any]] = []

    @property
    def depth(self) -> int:
        """Elements open now."""
        return len(self._stack)

    def start(self, name: str, attrs: dict[str, str]) -> None:
        self.started = True
        if not self._stack and self._root_is_record(name, attrs):
            self.single = True
        elif (
            len(self._stack) == 1
            and not self.single
            and not self._stack[0][2]
            and self._holds_fields is not None
            and self._holds_fields(self._stack[0][0], self._stack[0][1], name)
        ):
            # Decided at the root's first child, before any record of it is finished.
            self.single = True
        # Each frame: tag, attributes, children as (tag, value) pairs, text pieces.
        self._stack.append((name, attrs, [], []))

    def text(self, data: str) -> None:
        if self._stack:
            self._stack[-1][3].append(data)

    def end(self, name: str) -> None:
        tag, attrs, children, texts = self._stack.pop()
        # A collection the catalog knows, holding only its item elements, is a list even
        # without type="array" (Coupa's own samples leave it out); so is a wrapper named as
        # the plural of the one element it repeats (<tags><tag>..</tag></tags>), one item
        # or many.
        depth = len(self._stack)
        items = self._items.get(tag, frozenset())
        if not items and depth > 0:  # the document's root is never such a wrapper
            items = _singulars(tag)
        is_list = bool(children) and all(t in items for t, _v, _a in children)
        text = "".join(texts)
        in_record = depth > 1 or (depth == 1 and self.single)
        if in_record and _absent(attrs, children, text):
            # An empty element (<attachments/>) says nothing about the field: it is left
            # out of the record, not read as an empty text.
            return
        value = _xml_value(attrs, children, text, is_list=is_list)
        if depth == 0:
            if self.single and isinstance(value, dict):
                self.done.append(value)
            return
        if depth == 1 and not self.single:
            self.done.append(value if isinstance(value, dict) else {tag: value})
            return
        self._stack[-1][2].append((tag, value, attrs))


def _xml_value(
    attrs: Mapping[str, str], children: list[Any], text: str, *, is_list: bool = False
) -> Any:
    if attrs.get("nil") == "true":
        return None
    kind = attrs.get("type", "")
    if kind == "array" or is_list:
        return [v for _tag, v, _a in children]
    if children:
        out: dict[str, Any] = {}
        for tag, val, child_attrs in children:
            if tag in out:
                # A repeated element without type="array" (older Coupa samples): a list.
                prev = out[tag]
                out[tag] = [*prev, val] if isinstance(prev, list) else [prev, val]
            elif child_attrs.get("type") != "array" and _looks_like_list(tag, children):
                out[tag] = [val]
            else:
                out[tag] = val
        return out
    if kind == "integer":
        try:
            return int(text.strip())
        except ValueError:
            return text
    if kind == "boolean":
        return text.strip().lower() == "true"
    if kind == "array":
        return []
    return text


def _absent(attrs: Mapping[str, str], children: list[Any], text: str) -> bool:
    """An element with nothing in it: no children, no text, and no type or nil attribute
    that gives it a value (``type="array"`` is an empty list, ``nil="true"`` a null)."""
    return not children and not text.strip() and "type" not in attrs and "nil" not in attrs


def _singulars(tag: str) -> frozenset[str]:
    """The item element names a wrapper named ``tag`` may hold: ``tags`` -> ``tag``,
    ``addresses`` -> ``address``, ``entries`` -> ``entry``."""
    names: set[str] = set()
    if tag.endswith("ies") and len(tag) > 3:
        names.add(tag[:-3] + "y")
    if tag.endswith("es") and len(tag) > 2:
        names.add(tag[:-2])
    if tag.endswith("s") and len(tag) > 1:
        names.add(tag[:-1])
    return frozenset(names)


def _looks_like_list(tag: str, children: list[Any]) -> bool:
    return sum(1 for t, _v, _a in children if t == tag) > 1


_NO_ELEMENTS = expat.errors.codes[expat.errors.XML_ERROR_NO_ELEMENTS]
_INVALID_TOKEN = expat.errors.codes[expat.errors.XML_ERROR_INVALID_TOKEN]
_UTF8 = frozenset({"utf-8", "utf8"})
_XINCLUDE = frozenset({"http://www.w3.org/2001/XInclude", "http://www.w3.org/2003/XInclude"})


@functools.cache
def _collection_items() -> dict[str, frozenset[str]]:
    """Each collection field of the catalog (``order-lines``) with its item elements
    (``order-line``; several objects may share a field name), where the catalog names the
    item's object."""
    from coupa_connector.catalog import load_catalog

    catalog = load_catalog()
    items: dict[str, set[str]] = {}
    for obj in catalog:
        for fdef in obj.fields.values():
            if fdef.kind == "collection" and fdef.ref and fdef.ref in catalog:
                items.setdefault(fdef.name, set()).add(catalog.get(fdef.ref).element)
    return {name: frozenset(elements) for name, elements in items.items()}


def _read_xml(name: str, on_bad: OnBad, encoding: str | None = None) -> Iterator[dict[str, Any]]:
    from coupa_connector.catalog import load_catalog

    catalog = load_catalog()

    elements = {o.element for o in catalog}
    # An object's list element (and name) -> its record element: <budget-lines> holds
    # <budget-line> records.
    lists = {name: o.element for o in catalog for name in (o.list_element, o.name)}

    def root_is_record(tag: str, attrs: Mapping[str, str]) -> bool:
        if attrs.get("type") == "array":
            return False
        return tag.replace("_", "-") in elements

    def holds_fields(root: str, attrs: Mapping[str, str], child: str) -> bool:
        # Coupa's own budget line examples send one record as <budget_lines><segment_1>...:
        # a root spelled like a list whose first child is no record of it is one record.
        record = lists.get(root.replace("_", "-")) or lists.get(root)
        return (
            attrs.get("type") != "array"
            and record is not None
            and child.replace("_", "-") != record
        )

    handler = _XMLRecords(root_is_record, _collection_items(), holds_fields)
    parser = expat.ParserCreate(encoding)
    parser.buffer_text = True
    declared = [encoding or "utf-8"]  # the encoding the XML declaration names

    def refuse(what: str) -> RecordFileError:
        return RecordFileError(f"{what} not allowed", file=name, line=parser.CurrentLineNumber)

    def refuse_entities(*_args: object) -> None:
        # Entity declarations are how XML bombs and external-file reads start; Coupa never
        # sends them, so a file with one is refused outright.
        raise refuse("XML entity declarations are")

    def refuse_external_dtd(
        _name: str, system_id: str | None, public_id: str | None, _internal: int
    ) -> None:
        if system_id is not None or public_id is not None:
            raise refuse("an external DTD (a DOCTYPE with SYSTEM or PUBLIC) is")

    def refuse_external_entity(*_args: object) -> int:
        raise refuse("external entities are")

    def note_encoding(_version: str | None, named: str | None, _standalone: int) -> None:
        if encoding is None:
            declared[0] = (named or "utf-8").lower()

    def start(tag: str, attrs: dict[str, str]) -> None:
        if handler.depth > MAX_RECORD_DEPTH:
            raise RecordFileError(_TOO_DEEP, file=name, line=parser.CurrentLineNumber)
        # XInclude pulls other files into the document: whatever reads the records after
        # this reader might act on it, so a file that uses it is refused, not passed on.
        if tag.endswith(":include") or any(
            (key == "xmlns" or key.startswith("xmlns:")) and value in _XINCLUDE
            for key, value in attrs.items()
        ):
            raise refuse("XInclude is")
        handler.start(tag, attrs)

    parser.EntityDeclHandler = refuse_entities
    parser.StartDoctypeDeclHandler = refuse_external_dtd
    parser.ExternalEntityRefHandler = refuse_external_entity
    parser.XmlDeclHandler = note_encoding
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartElementHandler = start
    parser.EndElementHandler = handler.end
    parser.CharacterDataHandler = handler.text
    stream: IO[bytes] = sys.stdin.buffer if name == "-" else open(name, "rb")  # noqa: SIM115
    fed = 0  # bytes given to the parser before the current chunk
    try:
        while True:
            chunk = stream.read(_CHUNK)
            try:
                parser.Parse(chunk, not chunk)
            except expat.ExpatError as exc:
                if exc.code == _NO_ELEMENTS and not handler.started:
                    return  # an empty file holds no records, as an empty CSV or JSONL does
                why = f"bad XML: {expat.errors.messages[exc.code]}"
                at = parser.ErrorByteIndex
                byte = chunk[at - fed] if 0 <= at - fed < len(chunk) else 0
                if exc.code == _INVALID_TOKEN and byte >= 0x80 and declared[0] in _UTF8:
                    why = not_utf8(byte, at)
                raise RecordFileError(why, file=name, line=exc.lineno) from None
            fed += len(chunk)
            yield from handler.done
            handler.done.clear()
            if not chunk:
                return
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
