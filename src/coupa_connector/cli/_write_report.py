"""The files a write run leaves: a results file and a rejects file, both in input order.

Results: one row per input record (position, outcome, Coupa id, HTTP status, messages), as
JSONL, JSON or CSV by the file's extension.

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

import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from coupa_connector._csv_formulas import DEFAULT_CSV_FORMULAS, CsvFormulas
from coupa_connector.activities.write._results import WriteResult
from coupa_connector.catalog import ObjectDef
from coupa_connector.errors import CoupaError
from coupa_connector.operations import RecordWriter, guess_format, open_writer

__all__ = ["ERRORS_KEY", "IDS_FORMAT", "Reports"]

ERRORS_KEY = "_errors"
IDS_FORMAT = "ids"
"""The input format of bare ids: their rejects file holds one id per line."""
_FLAT_FORMATS = frozenset({"csv", "xml"})  # a list cell would become several columns


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
    """

    def __init__(
        self,
        obj: ObjectDef,
        input_format: str,
        *,
        results: str | None = None,
        rejects: str | None = None,
        csv_formulas: CsvFormulas = DEFAULT_CSV_FORMULAS,
    ) -> None:
        self._results: RecordWriter | None = None
        self._rejects: RecordWriter | IdLines | None = None
        self._next = 1
        self._waiting: dict[int, tuple[dict[str, Any] | None, dict[str, Any] | None]] = {}
        if results:
            self._results = open_writer(
                results,
                guess_format(results, _ext_or(results, "jsonl")),
                csv_formulas=csv_formulas,
            )
        if rejects:
            fallback = _ext_or(rejects, input_format)
            if fallback == IDS_FORMAT:
                self._rejects = IdLines(rejects)
            else:
                fmt = guess_format(rejects, fallback)
                self._rejects = open_writer(
                    rejects,
                    fmt,
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

    def add(self, result: WriteResult) -> None:
        """Take one result (any order); write every row that is now in sequence."""
        if self._results is None and self._rejects is None:
            return
        row = self._result_row(result) if self._results is not None else None
        reject = self._reject_row(result) if self._rejects is not None and not result.ok else None
        self._waiting[result.position] = (row, reject)
        while self._next in self._waiting:
            row, reject = self._waiting.pop(self._next)
            if row is not None and self._results is not None:
                self._results.write(row)
            if reject is not None and self._rejects is not None:
                self._rejects.write(reject)
            self._next += 1

    def close(self) -> None:
        """Write what is still waiting (a run cut short leaves gaps) and land both files."""
        for position in sorted(self._waiting):
            row, reject = self._waiting.pop(position)
            if row is not None and self._results is not None:
                self._results.write(row)
            if reject is not None and self._rejects is not None:
                self._rejects.write(reject)
        for writer in (self._results, self._rejects):
            if writer is not None:
                writer.commit()

    def _result_row(self, result: WriteResult) -> dict[str, Any]:
        assert self._results is not None
        row = result.as_row()
        if self._results.format in _FLAT_FORMATS:
            row["messages"] = _joined(result.messages)
            row["warnings"] = _joined(result.warnings)
        return row

    def _reject_row(self, result: WriteResult) -> dict[str, Any]:
        assert self._rejects is not None
        record: dict[str, Any] = {}
        if isinstance(result.record, Mapping):
            record = {k: v for k, v in result.record.items() if k != ERRORS_KEY}
        reasons = [f"{result.outcome.value}: {m}" for m in result.messages] or [
            result.outcome.value
        ]
        if self._rejects.format in _FLAT_FORMATS:
            record[ERRORS_KEY] = "; ".join(reasons)
        else:
            record[ERRORS_KEY] = reasons
        return record


def _ext_or(path: str, fallback: str) -> str | None:
    """None when the path's extension names a format (let it decide), else ``fallback``."""
    try:
        guess_format(path)
    except CoupaError:
        return fallback
    return None


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

    def write(self, record: Mapping[str, Any]) -> None:
        """Write one rejected record: its reasons as a comment, then its id."""
        errors = record.get(ERRORS_KEY) or []
        reasons = "; ".join(errors) if isinstance(errors, list) else str(errors)
        self._out.write(f"# {' '.join(reasons.split())}\n")
        value = record.get("id", record.get("_raw"))
        if value is None:
            # A record named by a key, not an id: nothing to list; the comment says which.
            fields = {k: v for k, v in record.items() if k != ERRORS_KEY}
            self._out.write(f"# {fields}\n")
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
