"""Record files for query output: JSON Lines, JSON, CSV and XML, streamed and committed safely.

A file output is written to a temporary file beside the target and renamed over it only
after a flush and ``fsync`` (``commit``); a failed run leaves the previous file untouched.
Standard output (``-``) is flushed page by page. Memory stays flat: JSON and XML are written
record by record, and CSV (whose header must list every column before the first row) spools
flattened rows to a temporary file while it learns the columns.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import secrets
import shutil
import stat
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Literal

import orjson

from coupa_connector._csv_formulas import DEFAULT_CSV_FORMULAS, CsvFormulas, row_writer
from coupa_connector._records import flatten, format_value
from coupa_connector.activities.query._batch import RecordBatch
from coupa_connector.catalog import Catalog, ObjectDef
from coupa_connector.client._wire import record_xml
from coupa_connector.errors import ConfigurationError

OutputFormat = Literal["jsonl", "json", "csv", "xml"]
FORMATS: tuple[str, ...] = ("jsonl", "json", "csv", "xml")
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


def open_beside(target: Path) -> tuple[IO[bytes], str]:
    """A new temporary file in ``target``'s directory, to be renamed over it.

    It gets the mode ``target`` has, or the mode a new file gets (the umask applies), so the
    rename does not quietly make an output private or public.

    Raises:
        ConfigurationError: The directory cannot be created or written.
    """
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = create_beside(target, ".tmp")
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


class _CsvStream:
    """CSV rows written as records come, under a header of columns known beforehand: each
    column a dotted path to one scalar (``supplier.name``; a missing or null step is empty)."""

    def __init__(self, out: IO[bytes], columns: list[str], cells: Callable[..., Any]) -> None:
        self._text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
        self._writer = csv.writer(self._text)
        self._paths = [c.split(".") for c in columns]
        self._cells = cells
        self._writer.writerow(cells(columns))
        self._text.flush()

    def row(self, record: Mapping[str, Any]) -> None:
        values = []
        for path in self._paths:
            value: Any = record
            for step in path:
                value = value.get(step) if isinstance(value, Mapping) else None
            if isinstance(value, dict | list):
                values.append(orjson.dumps(value).decode())  # the catalog said a scalar
            else:
                values.append(format_value(value))
        self._writer.writerow(self._cells(values))

    def flush(self) -> None:
        self._text.flush()

    def close(self) -> None:
        self._text.flush()
        self._text.detach()  # the binary stream stays the writer's to close


class RecordWriter:
    """Writes records to a file (atomically) or standard output in one format.

    Args:
        target: A path, or ``-`` for standard output.
        fmt: ``jsonl``, ``json``, ``csv`` or ``xml``.
        obj: The records' object (element names for XML).
        catalog: For XML element names of nested lists.
        stdout: Binary stream used for ``-`` (tests pass their own).
        csv_formulas: ``escape`` puts a ``'`` before CSV cells a spreadsheet would run as
            formulas (see ``_csv_formulas``); ``keep`` writes them as they are.
        columns: CSV to standard output only: the columns, known before the first record
            (dotted paths to scalar fields), so rows stream as they come; without them a
            CSV's columns are the union of its records', known only at the end.
    """

    def __init__(
        self,
        target: str | os.PathLike[str],
        fmt: str,
        obj: ObjectDef,
        catalog: Catalog | None = None,
        stdout: IO[bytes] | None = None,
        csv_formulas: CsvFormulas = DEFAULT_CSV_FORMULAS,
        columns: Sequence[str] | None = None,
    ) -> None:
        self._cells = row_writer(csv_formulas)
        if fmt not in FORMATS:
            raise ConfigurationError(
                f"Output format must be one of {', '.join(FORMATS)}, not {fmt!r}."
            )
        self.fmt = fmt
        self.obj = obj
        self.catalog = catalog
        self.count = 0
        # A stream (standard output, a FIFO, a device) gets each page as it is written and
        # is never replaced; a file is written beside its target and renamed at commit.
        self.path: Path | None = None
        self._tmp: str | None = None
        self._syncer: BackgroundSync | None = None
        self._close_stream = False
        if str(target) == "-":
            self._out: IO[bytes] = stdout if stdout is not None else sys.stdout.buffer
        elif (real := output_target(Path(target))) is None:
            try:
                self._out = Path(target).open("wb")  # noqa: SIM115 -- closed at commit/abort
            except OSError as exc:
                raise ConfigurationError(f"Cannot write {target}: {exc.strerror}.") from None
            self._close_stream = True
        else:
            self.path = real
            self._out, self._tmp = open_beside(real)
            self._syncer = BackgroundSync(self._out)
        self._to_stdout = self.path is None
        self._spool: IO[bytes] | None = None
        self._stream: _CsvStream | None = None
        self._columns: dict[str, None] = {}
        self._done = False
        if fmt == "json":
            self._out.write(b"[")
        elif fmt == "xml":
            head = f'<?xml version="1.0" encoding="UTF-8"?>\n<{obj.list_element} type="array">\n'
            self._out.write(head.encode())
        elif fmt == "csv" and columns and self._to_stdout:
            self._stream = _CsvStream(self._out, list(columns), self._cells)
        elif fmt == "csv":
            self._spool = tempfile.TemporaryFile()  # noqa: SIM115 -- lives until commit/abort

    def write(self, records: Iterable[dict[str, Any]]) -> int:
        """Write records; return how many."""
        if self.fmt in ("jsonl", "json"):
            return self.write_batch(RecordBatch.of(list(records)))
        n = 0
        out = self._out
        for record in records:
            if self.fmt == "xml":
                out.write(record_xml(record, self.obj.element, self.obj, self.catalog).encode())
                out.write(b"\n")
            elif self._stream is not None:
                self._stream.row(record)
            else:
                row = flatten(record)
                for column in row:
                    if column not in self._columns:
                        self._columns[column] = None
                assert self._spool is not None
                self._spool.write(orjson.dumps(row))
                self._spool.write(b"\n")
            self.count += 1
            n += 1
        self._written()
        return n

    def write_batch(self, batch: RecordBatch) -> int:
        """Write a page's records; JSON output takes their JSON text as Coupa sent it."""
        if self.fmt not in ("jsonl", "json"):
            return self.write(batch.records)
        out = self._out
        n = 0
        for line in batch.json_lines():
            if self.fmt == "json":
                out.write(b"\n" if self.count == 0 else b",\n")
            out.write(line)
            if self.fmt == "jsonl":
                out.write(b"\n")
            self.count += 1
            n += 1
        self._written()
        return n

    def _written(self) -> None:
        if self._to_stdout:
            if self._stream is not None:
                self._stream.flush()
            elif self.fmt != "csv":
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
        if self.fmt == "jsonl":
            self._out.flush()
            _copy_file(spool, self._out)
            self.count += records
            return records
        if self.fmt == "json":
            n = 0
            out = self._out
            for line in spool:
                body = line.rstrip(b"\n")
                if body:
                    out.write(b"\n" if self.count == 0 else b",\n")
                    out.write(body)
                    self.count += 1
                    n += 1
            if self._to_stdout:
                out.flush()
        else:
            n = self.write(orjson.loads(line) for line in spool if line.strip())
        if n != records:
            raise ConfigurationError(f"A spool file holds {n} records, not {records}.")
        return n

    def _finish_csv(self) -> None:
        assert self._spool is not None
        text = io.TextIOWrapper(self._out, encoding="utf-8", newline="", write_through=True)
        writer = csv.writer(text)
        columns = list(self._columns)
        cells = self._cells
        writer.writerow(cells(columns))
        self._spool.seek(0)
        for line in self._spool:
            row = orjson.loads(line)
            writer.writerow(cells([row.get(c, "") for c in columns]))
        text.flush()
        text.detach()  # the binary stream stays ours to close
        self._spool.close()

    def commit(self) -> None:
        """Finish the document, flush and fsync, and move the file into place."""
        if self._done:
            return
        if self.fmt == "json":
            self._out.write(b"\n]\n" if self.count else b"]\n")
        elif self.fmt == "xml":
            self._out.write(f"</{self.obj.list_element}>\n".encode())
        elif self._stream is not None:
            self._stream.close()
        elif self.fmt == "csv":
            self._finish_csv()
        if self.path is None or self._tmp is None:
            self._done = True
            self._out.flush()
            if self._close_stream:
                self._out.close()
            return
        try:
            self._out.flush()
            if self._syncer is not None:
                self._syncer.wait()
            os.fsync(self._out.fileno())
        except BaseException:
            self.abort()  # a file that may not be on disk whole must not replace the target
            raise
        self._done = True
        self._out.close()
        replace_from(self._tmp, self.path)

    def abort(self) -> None:
        """Drop a half-written file; the target keeps its previous content."""
        if self._done:
            return
        self._done = True
        if self._spool is not None:
            self._spool.close()
        if self.path is not None and self._tmp is not None:
            if self._syncer is not None:
                with contextlib.suppress(OSError):
                    self._syncer.wait()
            self._out.close()
            with contextlib.suppress(OSError):
                os.unlink(self._tmp)
        else:
            with contextlib.suppress(OSError, ValueError):
                self._out.flush()
                if self._close_stream:
                    self._out.close()
