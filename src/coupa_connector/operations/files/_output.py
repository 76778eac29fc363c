"""Writing record files: the one ``RecordWriter`` (JSON Lines, JSON, CSV, XML) that query
output, operation targets, results and rejects files all use, and the atomic-file steps.

A file output is written to a temporary file beside the target and renamed over it only
after a flush and ``fsync`` (``commit``); a failed run leaves the previous file untouched.
Standard output (``-``) is flushed page by page. Memory stays flat: JSON and XML are written
record by record, and CSV (whose header must list every column before the first row) spools
flattened rows while it learns the columns.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
import secrets
import shutil
import stat
import sys
import tempfile
import threading
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal

import orjson

from coupa_connector._csv_formulas import DEFAULT_CSV_FORMULAS, CsvFormulas, row_writer
from coupa_connector._records import flatten
from coupa_connector.activities.query._batch import RecordBatch
from coupa_connector.catalog import Catalog, ObjectDef
from coupa_connector.client._wire import record_xml
from coupa_connector.errors import ConfigurationError
from coupa_connector.operations.files._files import (
    RecordFileError,
    free_path,
    guess_format,
)

__all__ = ["FORMATS", "BackgroundSync", "RecordWriter", "atomic_write_bytes", "open_writer"]

OutputFormat = Literal["jsonl", "json", "csv", "xml"]
FORMATS: tuple[str, ...] = ("jsonl", "json", "csv", "xml")
"""The formats written, the default for query output first."""
SYNC_EVERY = 8 << 20  # bytes between background syncs of a large output file


def fsync_dir(path: Path) -> None:
    """Make a rename in ``path``'s directory durable (a no-op where unsupported)."""
    with contextlib.suppress(OSError):
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def output_target(path: Path) -> Path | None:
    """The regular file to replace for an output at ``path``, or None to write in place.

    A symbolic link is followed (the link stays, the file it names is replaced). A path that
    names something other than a regular file (a FIFO, ``/dev/null``, a terminal) is written
    to directly: replacing it by a file would destroy it and deliver nothing.

    Raises:
        ConfigurationError: The path is a directory.
    """
    real = Path(os.path.realpath(path))
    if real.is_dir():
        raise ConfigurationError(f"Output {path} is a directory; give a file name.")
    if real.exists() and not real.is_file():
        return None
    return real


def create_beside(path: Path, suffix: str) -> tuple[int, str]:
    """Create a temporary file next to ``path`` to be renamed over it; returns (fd, name).

    The file gets the mode ``path`` has when it exists, else the usual one for a new file
    (0666 less the umask), so the output a rename lands is not private by accident (as a
    ``mkstemp`` file, 0600, would be).
    """
    while True:
        tmp = str(path.parent / f".{path.name}.{secrets.token_hex(4)}{suffix}")
        try:
            fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        break
    with contextlib.suppress(OSError):
        os.fchmod(fd, stat.S_IMODE(os.stat(path).st_mode))
    return fd, tmp


def open_beside(target: Path, suffix: str = ".tmp") -> tuple[IO[bytes], str]:
    """A new temporary file in ``target``'s directory, to be renamed over it.

    It gets the mode ``target`` has, or the mode a new file gets (the umask applies), so the
    rename does not quietly make an output private or public.

    Raises:
        ConfigurationError: The directory cannot be created or written.
    """
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = create_beside(target, suffix)
    except OSError as exc:
        raise ConfigurationError(f"Cannot write {target}: {exc.strerror or exc}.") from None
    return os.fdopen(fd, "wb"), tmp


def replace_from(tmp: str, target: Path) -> None:
    """Rename ``tmp`` over ``target`` and make the rename durable; remove ``tmp`` on failure.

    Raises:
        ConfigurationError: The rename failed.
    """
    try:
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise ConfigurationError(f"Cannot write {target}: {exc.strerror or exc}.") from None
    fsync_dir(target)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` by temp file + fsync + rename (in place when ``path`` is not
    a regular file; see ``output_target``)."""
    target = output_target(path)
    if target is None:
        with path.open("wb") as handle:
            handle.write(data)
        return
    out, tmp = open_beside(target)
    try:
        with out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    replace_from(tmp, target)


def _copy_file(source: IO[bytes], target: IO[bytes]) -> None:
    """Append ``source`` (from its start) to ``target``, in the kernel when both are files."""
    done = 0
    try:
        size = os.fstat(source.fileno()).st_size
        while done < size:
            sent = os.copy_file_range(source.fileno(), target.fileno(), size - done)
            if sent == 0:
                break
            done += sent
        if done == size:
            return
    except (AttributeError, OSError, io.UnsupportedOperation):
        pass  # not two files (a pipe, a test buffer): copy through user space from here
    source.seek(done)
    shutil.copyfileobj(source, target, 1 << 20)


class BackgroundSync:
    """Flushes a growing file to disk in a thread, every ``every`` bytes written.

    The commit's ``fsync`` must wait for every byte still in the page cache: for a large
    extract that is seconds of stall at the very end. Syncing along the way, in a thread (the
    call releases the GIL) while the next pages arrive, leaves the commit only the tail.

    Args:
        out: The file being written.
        every: Bytes written between two background syncs.
    """

    def __init__(self, out: IO[bytes], every: int = SYNC_EVERY) -> None:
        self._out = out
        self._every = every
        self._synced_to = 0
        self._thread: threading.Thread | None = None
        self._error: OSError | None = None

    def maybe_sync(self) -> None:
        """Start a sync if enough was written since the last one and none is running."""
        if self._thread is not None and self._thread.is_alive():
            return
        position = self._out.tell()
        if position - self._synced_to < self._every:
            return
        self._out.flush()
        self._synced_to = position
        self._thread = threading.Thread(
            target=self._sync, args=(self._out.fileno(),), name="coupa-fsync", daemon=True
        )
        self._thread.start()

    def _sync(self, fd: int) -> None:
        try:
            # The data is what takes long; the commit's fsync covers the metadata.
            getattr(os, "fdatasync", os.fsync)(fd)
        except OSError as exc:
            self._error = exc

    def wait(self) -> None:
        """Wait for a running sync.

        Raises:
            OSError: A background sync failed (the disk is full or gone).
        """
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            raise self._error


class RecordWriter:
    """Writes records in one format to a file that lands atomically, or to a stream.

    A file is written beside its destination (``partial``) and renamed over it on ``commit``
    after a flush and ``fsync``; ``abort`` (or leaving a ``with`` block by an exception)
    removes it and leaves the destination as it was. A symbolic link is followed (the link
    stays, the file it names is replaced); a path naming something other than a regular file
    (standard output as ``-``, a FIFO, ``/dev/null``) is written to directly and flushed at
    each write.

    Memory stays flat: JSON Lines, JSON and XML are written record by record (XML through the
    client's wire codec, the one Coupa XML encoder); CSV, whose header must list every column
    before the first row, spools flattened rows (in the partial file, so it resumes too) and
    renders them on ``commit``.

    A file can be continued after a kill: ``checkpoint`` says how big it is, and a writer
    given that ``partial`` and ``resume_from`` cuts it back there, so every record written
    after the checkpoint is written exactly once more.

    Args:
        target: A path, or ``-`` for standard output.
        format: ``jsonl``, ``json``, ``csv`` or ``xml``; guessed from the extension when None.
        obj: The records' object: XML element names, nested lists named by the catalog.
        catalog: Where ``obj``'s references are looked up (the bundled catalog when None).
        stdout: The binary stream used for ``-`` (tests pass their own).
        columns: CSV columns in order (dotted names); by default every column any record
            has, in order of first appearance. Given for a stream (standard output), each a
            dotted path to one scalar field, rows are written as records come.
        element: XML element of one record; ``obj``'s, else ``record``.
        list_element: XML root element; ``obj``'s, else ``element`` + ``s``.
        partial: The partial file of an earlier writer to continue.
        resume_from: The size of ``partial`` at the checkpoint to continue from.
        leading_columns: CSV columns to put first, before any others the records have.
        trailing_columns: CSV columns to put last, when a record has them.
        keep_existing: Never replace a file at the destination: land as the first free
            ``name-N.ext`` instead (``path`` says where).
        csv_formulas: ``escape`` puts a ``'`` before CSV cells a spreadsheet would run as
            formulas (see ``_csv_formulas``); ``keep`` writes them as they are.

    Raises:
        ConfigurationError: An unknown format, or a destination that cannot be written.
    """

    def __init__(
        self,
        target: str | os.PathLike[str],
        format: str | None = None,
        obj: ObjectDef | None = None,
        catalog: Catalog | None = None,
        *,
        stdout: IO[bytes] | None = None,
        columns: Iterable[str] | None = None,
        element: str | None = None,
        list_element: str | None = None,
        partial: str | None = None,
        resume_from: int | None = None,
        leading_columns: Iterable[str] | None = None,
        trailing_columns: Iterable[str] | None = None,
        keep_existing: bool = False,
        csv_formulas: CsvFormulas = DEFAULT_CSV_FORMULAS,
    ) -> None:
        self.path = os.fspath(target)
        self.format = guess_format(self.path, format)
        if self.format not in FORMATS:
            raise ConfigurationError(
                f"{self.format} files are written with write_coupa_csv (docs/flat-files.md)"
            )
        if self.format == "xml":
            obj, catalog = _xml_object(obj, catalog, element)
        self.obj, self.catalog = obj, catalog
        self.count = 0
        self.leading_columns = list(leading_columns or ())
        self._trailing = list(trailing_columns or ())
        self._columns = list(columns) if columns else None
        self._seen: dict[str, None] = {}  # CSV columns of the rows written, in order
        self._cells = row_writer(csv_formulas)
        self._keep_existing = keep_existing
        self._element = element or (self.obj.element if self.obj is not None else "record")
        self._list_element = list_element or (
            self.obj.list_element if self.obj is not None and not element else self._element + "s"
        )
        self._done = False
        self._syncer: BackgroundSync | None = None
        self._spool: IO[bytes] | None = None
        self._close_stream = False
        # A file: the regular file the partial one is renamed over. None: a stream, written
        # as it goes and never replaced.
        self.file: Path | None
        resumed = partial is not None and resume_from is not None
        if self.path == "-":
            self.file, self.partial = None, "-"
            self._out: IO[bytes] = stdout if stdout is not None else sys.stdout.buffer
        elif resumed:
            assert partial is not None and resume_from is not None
            self.file = Path(os.path.realpath(self.path))
            self._out, self.partial = _reopen(partial, resume_from), partial
            self._syncer = BackgroundSync(self._out)
        elif (real := output_target(Path(self.path))) is not None:
            self.file = real
            self._out, self.partial = open_beside(real, ".part")
            self._syncer = BackgroundSync(self._out)
        else:
            self.file, self.partial = None, "-"
            try:
                self._out = Path(self.path).open("wb")  # noqa: SIM115 -- closed at commit/abort
            except OSError as exc:
                raise ConfigurationError(f"Cannot write {self.path}: {exc.strerror}.") from None
            self._close_stream = True
        self._started = resumed and bool(resume_from)
        # CSV to a stream under columns known beforehand: rows go out as they come.
        self._rows: _CsvRows | None = None
        if self.format == "csv":
            if self.file is None and self._columns is not None:
                self._rows = _CsvRows(self._out)
                self._rows.writerow(self._cells(self._columns))
            elif self.file is None:
                self._spool = tempfile.TemporaryFile()  # noqa: SIM115 -- lives until commit/abort
            elif self._started:
                self._learn_columns()
        elif self.format == "xml" and not self._started:
            head = f'<?xml version="1.0" encoding="UTF-8"?>\n<{self._list_element} type="array">\n'
            self._out.write(head.encode())
            self._started = True

    @property
    def _sink(self) -> IO[bytes]:
        return self._spool if self._spool is not None else self._out

    def write(self, records: Mapping[str, Any] | Iterable[Mapping[str, Any]]) -> int:
        """Write one record, or an iterable of records; returns how many."""
        if isinstance(records, Mapping):
            records = (records,)
        n = 0
        if self.format in ("jsonl", "json"):
            for record in records:
                self._json_line(_dumps(record))
                n += 1
        elif self.format == "xml":
            out = self._out
            for record in records:
                _check_xml_names(record, self._element)
                out.write(record_xml(record, self._element, self.obj, self.catalog).encode())
                out.write(b"\n")
                n += 1
        elif self._rows is not None:
            assert self._columns is not None
            for record in records:
                row = flatten(record)
                self._rows.writerow(self._cells([row.get(c, "") for c in self._columns]))
                n += 1
        else:
            sink = self._sink
            seen = self._seen
            for record in records:
                row = flatten(record)
                for column in row:
                    if column not in seen:
                        seen[column] = None
                sink.write(orjson.dumps(row))
                sink.write(b"\n")
                n += 1
        self.count += n
        self._written()
        return n

    def write_many(self, records: Iterable[Mapping[str, Any]]) -> int:
        """Write records; returns how many."""
        return self.write(records)

    def write_batch(self, batch: RecordBatch) -> int:
        """Write a page's records; JSON output takes their JSON text as Coupa sent it."""
        if self.format not in ("jsonl", "json"):
            return self.write(batch.records)
        n = 0
        for line in batch.json_lines():
            self._json_line(line)
            n += 1
        self.count += n
        self._written()
        return n

    def _json_line(self, line: bytes) -> None:
        out = self._out
        if self.format == "json":
            out.write(b",\n" if self._started else b"[\n")
            self._started = True
            out.write(line)
        else:
            out.write(line)
            out.write(b"\n")

    def _written(self) -> None:
        if self.file is None:
            if self.format != "csv" or self._rows is not None:
                self._out.flush()
        elif self._syncer is not None:
            self._syncer.maybe_sync()

    def write_spool(self, spool: IO[bytes], records: int) -> int:
        """Append a JSON Lines file of ``records`` records; return how many were appended.

        JSON Lines is copied as bytes (by the kernel where it can), JSON line by line without
        decoding, CSV and XML record by record; decoding and re-encoding would be most of a
        merge's cost.

        Raises:
            ConfigurationError: The file does not hold ``records`` records.
        """
        if self.format == "jsonl":
            self._out.flush()
            _copy_file(spool, self._out)
            self.count += records
            return records
        if self.format == "json":
            n = 0
            for line in spool:
                body = line.rstrip(b"\n")
                if body:
                    self._json_line(body)
                    n += 1
            self.count += n
            self._written()
        else:
            n = self.write(orjson.loads(line) for line in spool if line.strip())
        if n != records:
            raise ConfigurationError(f"A spool file holds {n} records, not {records}.")
        return n

    def checkpoint(self) -> int:
        """Flush to disk and return the partial file's size, to resume from later (0 for a
        stream, which cannot be resumed)."""
        self._sink.flush()
        if self.file is None:
            return 0
        os.fsync(self._out.fileno())
        return self._out.tell()

    def commit(self) -> str:
        """Finish the document, flush and fsync, and move the file into place; returns the
        path it landed at."""
        if self._done:
            return self.path
        if self.format == "json":
            self._out.write(b"\n]\n" if self._started else b"[]\n")
        elif self.format == "xml":
            self._out.write(f"</{self._list_element}>\n".encode())
        if self.file is None:
            self._done = True
            if self._spool is not None:
                self._render_csv(self._spool, self._out)
                self._spool.close()
            if self._rows is not None:
                self._rows.close()
            self._out.flush()
            if self._close_stream:
                self._out.close()
            return self.path
        try:
            self._out.flush()
            if self._syncer is not None:
                self._syncer.wait()
            if self.format == "csv":
                finished = self._render_partial()
            else:
                os.fsync(self._out.fileno())
                finished = self.partial
        except BaseException:
            self.abort()  # a file that may not be on disk whole must not replace the target
            raise
        self._done = True
        self._out.close()
        destination = self.file
        if self._keep_existing:
            self.path = free_path(self.path)
            destination = Path(self.path)
        replace_from(finished, destination)
        if finished != self.partial:
            with contextlib.suppress(OSError):
                os.unlink(self.partial)
        return self.path

    def _render_partial(self) -> str:
        """Render the spooled CSV rows into a file beside the partial one; returns its name."""
        rendered = self.partial + ".render"
        with open(self.partial, "rb") as spool, open(rendered, "wb") as out:
            # The rendered file lands, so it takes the mode the partial file was given.
            os.fchmod(out.fileno(), stat.S_IMODE(os.fstat(spool.fileno()).st_mode))
            self._render_csv(spool, out)
            out.flush()
            os.fsync(out.fileno())
        return rendered

    def _learn_columns(self) -> None:
        """The columns of the rows a resumed CSV partial file holds already."""
        self._out.seek(0)
        for line in self._out:
            for column in orjson.loads(line):
                self._seen.setdefault(column, None)
        self._out.seek(0, os.SEEK_END)

    def _csv_columns(self) -> list[str]:
        if self._columns is not None:
            return self._columns
        trailing = frozenset(self._trailing)
        first = dict.fromkeys(c for c in self.leading_columns if c not in trailing)
        first.update((c, None) for c in self._seen if c not in trailing)
        return [*first, *(c for c in self._trailing if c in self._seen)]

    def _render_csv(self, spool: IO[bytes], out: IO[bytes]) -> None:
        with _CsvRows(out) as writer:
            columns = self._csv_columns()
            cells = self._cells
            writer.writerow(cells(columns))
            spool.seek(0)
            for line in spool:
                row = orjson.loads(line)
                writer.writerow(cells([row.get(c, "") for c in columns]))

    def abort(self) -> None:
        """Drop a half-written file; the destination keeps what it held before."""
        if self._close(keep=False):
            for leftover in (self.partial, self.partial + ".render"):
                with contextlib.suppress(OSError):
                    os.unlink(leftover)

    def detach(self) -> None:
        """Close without committing or deleting, so a later run can resume the partial file."""
        self._close(keep=True)

    def _close(self, *, keep: bool) -> bool:
        """Stop writing; True when a partial file is left to keep or remove."""
        if self._done:
            return False
        self._done = True
        if self._spool is not None:
            self._spool.close()
        if self._rows is not None:
            with contextlib.suppress(OSError, ValueError):
                self._rows.close()
        if self.file is None:
            with contextlib.suppress(OSError, ValueError):
                self._out.flush()
                if self._close_stream:
                    self._out.close()
            return False
        if self._syncer is not None:
            with contextlib.suppress(OSError):
                self._syncer.wait()
        if keep:
            self._out.flush()
        self._out.close()
        return True

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


class _CsvRows:
    """A CSV writer onto a binary stream. Nothing is buffered between the two, and the text
    layer is detached when done, so the binary stream stays the record writer's to flush
    and close (a text wrapper that is closed, or collected, closes what it wraps)."""

    def __init__(self, out: IO[bytes]) -> None:
        self._text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
        self._writer = csv.writer(self._text)
        self._open = True

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow(row)

    def close(self) -> None:
        if self._open:
            self._open = False
            self._text.flush()
            self._text.detach()

    def __enter__(self) -> _CsvRows:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_writer(
    path: str | os.PathLike[str],
    format: str | None = None,
    *,
    columns: Iterable[str] | None = None,
    element: str | None = None,
    list_element: str | None = None,
    csv_formulas: CsvFormulas = DEFAULT_CSV_FORMULAS,
) -> RecordWriter:
    """Open a streaming, atomic record writer.

    Args:
        path: Destination file, or ``"-"`` for standard output.
        format: ``csv``, ``jsonl``, ``json`` or ``xml``; guessed from the extension when None.
        columns: CSV columns in order (dotted names); by default every column any record
            has, in order of first appearance.
        element: XML element of one record (``invoice-header``); ``record`` by default.
        list_element: XML root element (``invoice-headers``); ``element`` + ``s`` by default.
        csv_formulas: ``escape`` puts a ``'`` before CSV cells a spreadsheet would run as
            formulas (``=``, ``+``, ``-``, ``@``, tab, CR or NUL first; plain numbers are left
            alone); ``keep`` writes every cell as it is.

    Returns:
        A ``RecordWriter``; use it as a context manager, or call ``commit``/``abort``.
    """
    return RecordWriter(
        path,
        format,
        columns=columns,
        element=element,
        list_element=list_element,
        csv_formulas=csv_formulas,
    )


def _reopen(partial: str, size: int) -> IO[bytes]:
    """A partial file cut back to ``size`` bytes, positioned at its end."""
    try:
        out = open(partial, "r+b")  # noqa: SIM115 -- closed at commit/abort/detach
    except OSError as exc:
        raise ConfigurationError(f"Cannot continue {partial}: {exc.strerror or exc}.") from None
    out.truncate(size)
    out.seek(size)
    return out


def _xml_object(
    obj: ObjectDef | None, catalog: Catalog | None, element: str | None
) -> tuple[ObjectDef | None, Catalog | None]:
    """The object and catalog that name an XML file's nested elements: ``obj``, else the
    catalog's object whose element is ``element`` (nested lists then get its items' names)."""
    if catalog is None:
        from coupa_connector.catalog import load_catalog

        catalog = load_catalog()
    if obj is None and element:
        obj = next((o for o in catalog if o.element == element), None)
    return obj, catalog


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError(f"cannot write a {type(value).__name__} value")


def _dumps(record: Mapping[str, Any]) -> bytes:
    return orjson.dumps(record, default=_json_default, option=orjson.OPT_NON_STR_KEYS)


_XML_NAME = re.compile(r"^[A-Za-z_][\w.\-]*$")


def _check_xml_names(record: Mapping[str, Any], element: str) -> None:
    """Refuse a record whose field names cannot be XML element names: the file would not be
    XML. A list, not recursion, so no nesting can overflow the stack."""
    stack: list[Any] = [record]
    names = [element]
    while stack:
        value = stack.pop()
        if isinstance(value, Mapping):
            names.extend(str(k) for k in value)
            stack.extend(v for v in value.values() if isinstance(v, Mapping | list | tuple))
        else:
            stack.extend(v for v in value if isinstance(v, Mapping | list | tuple))
    for name in names:
        if not _XML_NAME.match(name):
            raise RecordFileError(f"{name!r} is not a valid XML element name", file="(xml output)")
