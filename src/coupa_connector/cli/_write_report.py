"""The files a write run leaves: a results file and a rejects file, both in input order.

Results: one row per input record (position from 1, its line in a CSV or JSON lines input,
outcome, Coupa id, HTTP status, messages), as JSONL, JSON or CSV by the file's extension.

Rejects: every record that was not written, exactly as it was given, plus an ``_errors``
field with the reasons, in the input's own format, so it can be fixed and fed back
(``_errors`` is dropped on the way in). Entries the reader could not parse at all are kept
as ``{"_raw": <the text>, "_errors": ...}``.

An action run on bare ids (``--id``, ``--where``, an ids file of one id per line) whose
rejects file names no record format (``rejects.txt``) gets one id per line instead, each
after a ``#`` comment with its reasons: the ids reader skips comments, so the file can be
fed back as ``--ids-file``; an unreadable line is kept as it was, to be fixed.

Results arrive in completion order; both files are written in input order through a small
reordering buffer that holds only what is written (rows, and the records of rejects).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from coupa_connector._csv_formulas import DEFAULT_CSV_FORMULAS, CsvFormulas
from coupa_connector.activities.write._results import WriteResult
from coupa_connector.catalog import ObjectDef
from coupa_connector.errors import CoupaError
from coupa_connector.operations import RecordWriter, guess_format, open_writer
from coupa_connector.operations.files._rejects import (
    FLAT_FORMATS,
    IDS_FORMAT,
    IdLines,
    RejectsWriter,
    open_rejects,
)

__all__ = ["IDS_FORMAT", "Reports"]


def _joined(messages: tuple[str, ...]) -> str:
    return "; ".join(messages)


class Reports:
    """Writes the results and rejects files of one run, in input order.

    Args:
        obj: The object written (its XML element names the rejects' records).
        input_format: The input's format, used for the rejects file unless its extension
            says otherwise.
        results: Path of the results file, or None.
        rejects: Path of the rejects file, or None.
        csv_formulas: ``escape`` or ``keep``, for CSV files (see ``_csv_formulas``).
        input_columns: The CSV input's header once read (asked for when the rejects file is
            finished), so the rejects file keeps its column order.
    """

    def __init__(
        self,
        obj: ObjectDef,
        input_format: str,
        *,
        results: str | None = None,
        rejects: str | None = None,
        csv_formulas: CsvFormulas = DEFAULT_CSV_FORMULAS,
        input_columns: Callable[[], Sequence[str]] | None = None,
    ) -> None:
        self._results: RecordWriter | None = None
        self._rejects: RejectsWriter | IdLines | None = None
        self._input_columns = input_columns
        self._next = 1
        self._waiting: dict[int, tuple[dict[str, Any] | None, WriteResult | None]] = {}
        if results:
            self._results = open_writer(
                results,
                guess_format(results, _ext_or(results, "jsonl")),
                csv_formulas=csv_formulas,
            )
        if rejects:
            self._rejects = open_rejects(
                rejects,
                input_format,
                element=obj.element,
                list_element=obj.list_element,
                csv_formulas=csv_formulas,
            )

    @property
    def paths(self) -> dict[str, str]:
        """The files being written, by role."""
        out: dict[str, str] = {}
        if self._results is not None:
            out["results"] = self._results.path
        if self._rejects is not None:
            out["rejects"] = self._rejects.path
        return out

    def add(self, result: WriteResult, line: int | None = None) -> None:
        """Take one result (any order), with the line its record starts on in the input
        when known; write every row that is now in sequence."""
        if self._results is None and self._rejects is None:
            return
        row = self._result_row(result, line) if self._results is not None else None
        reject = result if self._rejects is not None and not result.ok else None
        self._waiting[result.position] = (row, reject)
        while self._next in self._waiting:
            self._write(*self._waiting.pop(self._next))
            self._next += 1

    def close(self) -> None:
        """Write what is still waiting (a run cut short leaves gaps) and land both files."""
        for position in sorted(self._waiting):
            self._write(*self._waiting.pop(position))
        if isinstance(self._rejects, RejectsWriter) and self._input_columns is not None:
            self._rejects.input_columns = self._input_columns()
        for writer in (self._results, self._rejects):
            if writer is not None:
                writer.commit()

    def _write(self, row: dict[str, Any] | None, reject: WriteResult | None) -> None:
        if row is not None and self._results is not None:
            self._results.write(row)
        if reject is not None and self._rejects is not None:
            record = reject.record if isinstance(reject.record, Mapping) else None
            reasons = [f"{reject.outcome.value}: {m}" for m in reject.messages] or [
                reject.outcome.value
            ]
            self._rejects.write(record, reasons)

    def _result_row(self, result: WriteResult, line: int | None) -> dict[str, Any]:
        assert self._results is not None
        row = {"position": result.position, "line": line, **result.as_row()}
        if self._results.format in FLAT_FORMATS:
            row["messages"] = _joined(result.messages)
            row["warnings"] = _joined(result.warnings)
        return row


def _ext_or(path: str, fallback: str) -> str | None:
    """None when the path's extension names a format (let it decide), else ``fallback``."""
    try:
        guess_format(path)
    except CoupaError:
        return fallback
    return None
