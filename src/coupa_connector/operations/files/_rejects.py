"""The rejects file: every record that was not written, as it was given, with its reasons.

One writer serves every command that leaves records behind (``coupa create``/``update``/
``upsert``/``action``, ``coupa run``, the Singer target), so a rejects file looks the same
wherever it came from and can be fixed and fed back as it is:

- the input's own format (or the one the rejects file's extension names);
- CSV keeps the input's columns exactly, in their order, then any other column a record has,
  then ``_raw`` (entries no reader could parse) and ``_errors`` last, the reasons joined with
  ``; `` in one cell; XML holds them in one ``<_errors>`` element;
- JSON and JSON Lines hold ``_errors`` as a list, and ``_line``, the source line the record
  started at, where it is known;
- readers of records drop ``_errors`` and ``_line`` (``REJECTS_KEYS``).

Bare ids (an action's ``--id``/``--ids-file``) whose rejects file names no record format get
``IdLines``: per record a ``#`` line with its reasons, then its id, which the ids reader reads
back (it skips comments).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Protocol

from coupa_connector._csv_formulas import DEFAULT_CSV_FORMULAS, CsvFormulas
from coupa_connector._records import (
    ERRORS_KEY,
    LINE_KEY,
    RAW_KEY,
    REJECTS_KEYS,
    without_rejects_keys,
)
from coupa_connector.errors import CoupaError
from coupa_connector.operations.files._files import OBJECT_FORMATS, guess_format
from coupa_connector.operations.files._output import RecordWriter

__all__ = [
    "FLAT_FORMATS",
    "IDS_FORMAT",
    "IdLines",
    "Rejects",
    "RejectsWriter",
    "open_rejects",
    "rejects_row",
]

IDS_FORMAT = "ids"
"""The input format of bare ids: their rejects file holds one id per line."""
FLAT_FORMATS = frozenset({"csv", "xml"})
"""Formats whose reasons are one text (a list cell would become several columns)."""


class Rejects(Protocol):
    """What a command writes rejected records to."""

    path: str
    format: str

    def write(
        self, record: Mapping[str, Any] | None, reasons: Sequence[str], line: int | None = None
    ) -> None:
        """Add one record that was not written, with its reasons (and its source line)."""
        ...

    def commit(self) -> str:
        """Finish the file and move it into place; returns the final path."""
        ...


def rejects_row(
    record: Mapping[str, Any] | None,
    reasons: Sequence[str],
    line: int | None = None,
    *,
    flat: bool = False,
) -> dict[str, Any]:
    """A rejects file's entry: the record as given, its source line (JSON formats, when
    known) and its reasons last, as a list, or as one text for a ``flat`` format."""
    row = without_rejects_keys(record) if record is not None else {}
    if flat:
        row[ERRORS_KEY] = "; ".join(reasons)
        return row
    if line is not None:
        row[LINE_KEY] = line
    row[ERRORS_KEY] = list(reasons)
    return row


class RejectsWriter:
    """A rejects file of records, landing atomically (see the module's description).

    Args:
        path: The file, or ``"-"`` for standard output.
        format: Its format; guessed from ``path`` when None.
        input_columns: The CSV input's header, in order: the rejects file keeps it.
        element: XML element of one record.
        list_element: XML root element.
        partial: A partial file to continue (``resume_from`` bytes of it are kept).
        resume_from: See ``partial``.
        keep_existing: Never replace a file at ``path``; land beside it (``name-1.ext``).
        csv_formulas: ``escape`` or ``keep``, as the input is read (see ``_csv_formulas``).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        format: str | None = None,
        *,
        input_columns: Iterable[str] = (),
        element: str | None = None,
        list_element: str | None = None,
        partial: str | None = None,
        resume_from: int | None = None,
        keep_existing: bool = False,
        csv_formulas: CsvFormulas = DEFAULT_CSV_FORMULAS,
    ) -> None:
        self._writer = RecordWriter(
            path,
            format,
            element=element,
            list_element=list_element,
            partial=partial,
            resume_from=resume_from,
            leading_columns=_own_columns(input_columns),
            trailing_columns=(RAW_KEY, ERRORS_KEY),
            keep_existing=keep_existing,
            csv_formulas=csv_formulas,
        )
        self.format = self._writer.format
        self._flat = self.format in FLAT_FORMATS

    @property
    def path(self) -> str:
        """Where the file lands (a free ``name-N.ext`` once committed with keep_existing)."""
        return self._writer.path

    @property
    def input_columns(self) -> list[str]:
        """The input's CSV columns the file starts with (settable until ``commit``: a CSV
        rejects file is rendered then, so a header read after opening still counts)."""
        return self._writer.leading_columns

    @input_columns.setter
    def input_columns(self, columns: Iterable[str]) -> None:
        self._writer.leading_columns = _own_columns(columns)

    @property
    def partial(self) -> str:
        """The file being written, until ``commit``."""
        return self._writer.partial

    def write(
        self, record: Mapping[str, Any] | None, reasons: Sequence[str], line: int | None = None
    ) -> None:
        """Add one record that was not written, as given, with its reasons."""
        self._writer.write(rejects_row(record, reasons, line, flat=self._flat))

    def checkpoint(self) -> int:
        """Flush to disk; the partial file's size, to resume from later."""
        return self._writer.checkpoint()

    def commit(self) -> str:
        """Finish the file and move it into place; returns the final path."""
        return self._writer.commit()

    def detach(self) -> None:
        """Close without committing, so a later run can continue the partial file."""
        self._writer.detach()

    def abort(self) -> None:
        """Drop the partial file; a file already at the path stays as it was."""
        self._writer.abort()


def _own_columns(columns: Iterable[str]) -> list[str]:
    """The input's columns without those the rejects file places itself (last)."""
    return [c for c in columns if c not in REJECTS_KEYS and c != RAW_KEY]


class IdLines:
    """A rejects file of bare ids: per record a ``#`` line with its reasons, then its id (or
    the unreadable line as it was). Written next to the destination and moved into place on
    ``commit``, like the other rejects files.

    Args:
        path: The file, or ``"-"`` for standard output.
    """

    format = IDS_FORMAT

    def __init__(self, path: str) -> None:
        self.path = path
        self._partial: str | None = None
        self._out: IO[str]
        if path == "-":
            self._out = sys.stdout
            return
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, self._partial = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".part", dir=target.parent
        )
        self._out = os.fdopen(fd, "w", encoding="utf-8")

    def write(
        self, record: Mapping[str, Any] | None, reasons: Sequence[str], line: int | None = None
    ) -> None:
        """Write one rejected record: its reasons as a comment, then its id."""
        self._out.write(f"# {' '.join('; '.join(reasons).split())}\n")
        record = record or {}
        value = record.get("id", record.get(RAW_KEY))
        if value is None:
            # A record named by a key, not an id: nothing to list; the comment says which.
            self._out.write(f"# {without_rejects_keys(record)}\n")
            return
        self._out.write(f"{' '.join(str(value).splitlines())}\n")

    def commit(self) -> str:
        """Finish the file and move it into place; returns the final path."""
        if self._partial is None:
            self._out.flush()
            return self.path
        self._out.close()
        os.replace(self._partial, self.path)
        self._partial = None
        return self.path


def open_rejects(
    path: str,
    input_format: str,
    *,
    input_columns: Iterable[str] = (),
    element: str | None = None,
    list_element: str | None = None,
    csv_formulas: CsvFormulas = DEFAULT_CSV_FORMULAS,
) -> RejectsWriter | IdLines:
    """The rejects file for an input of ``input_format``: in that format unless the path's
    extension names another; bare ids get ``IdLines``.

    Raises:
        RecordFileError: The format is not a record format.
    """
    try:
        fmt = guess_format(path)
    except CoupaError:
        # A Coupa flat file's rejects are nested records with their reasons, not a file
        # Coupa takes: JSON lines, which the write commands read back.
        fmt = "jsonl" if input_format in OBJECT_FORMATS else input_format
    if fmt == IDS_FORMAT:
        return IdLines(path)
    return RejectsWriter(
        path,
        guess_format(path, fmt),
        input_columns=input_columns,
        element=element,
        list_element=list_element,
        csv_formulas=csv_formulas,
    )
