"""Jobs of one step as runs in the operation log: a query to a file, a bulk download.

``coupa run`` logs every operation; a query to a file and a bulk download of attachments move
data as well, so they are logged the same way (``coupa logs`` and the console list every job
that moved data).

A query is a run named ``query <object>`` of the file ``coupa query``, its scope the instance
and the output, its counts (records written), its output and how it ended. The notes say what
only a query has: duplicates skipped, records marked exported, the watermark saved.

A bulk download is a run named ``attachments <object>`` of the file ``coupa attachments``:
files downloaded or already complete count as written, each file that could not be fetched
is a failed record with its reason, and the run's ``attachments`` detail keeps the manifest
and the counts (``found = downloaded + kept + failed``, ``not_files`` apart).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from coupa_connector.operations._oplog import Counts, OpLog, RecordOutcome

if TYPE_CHECKING:
    from coupa_connector.activities.attachments import BulkDownloadResult
    from coupa_connector.operations.extract._extract import ExtractResult

__all__ = ["ATTACHMENTS_FILE", "QUERY_FILE", "LoggedDownload", "LoggedQuery"]

QUERY_FILE = "coupa query"
"""The ``file`` of a query's runs in the operation log (it has no operation file)."""
ATTACHMENTS_FILE = "coupa attachments"
"""The ``file`` of a bulk download's runs in the operation log."""

R = TypeVar("R")


class _LoggedStep(Generic[R]):
    """Records one job in the operation log: ``start`` before it, ``done`` with its result,
    ``end`` when it ended (with the error that ended it, if any).

    Args:
        operation: The run's operation name.
        file: The run's ``file`` (the command).
        scope: The run's scope (the instance and the output).
        log_db: The operation log; the default location when None.
    """

    def __init__(self, operation: str, file: str, scope: str, log_db: str | None) -> None:
        self.operation = operation
        self._file = file
        self._scope = scope
        self._log_db = log_db
        self._oplog: OpLog | None = None
        self._result: R | None = None
        self.run_id = 0

    def start(self) -> Any:
        """Record the run as started (returns itself)."""
        self._oplog = OpLog(self._log_db)
        self.run_id = self._oplog.start_run(self.operation, self._file, scope=self._scope)
        return self

    def done(self, result: R) -> None:
        """The job's result, recorded by ``end``."""
        self._result = result

    def _record(self, oplog: OpLog, result: R) -> tuple[str, str | None]:
        """Store the result's counts, notes and outputs; returns the status and error."""
        raise NotImplementedError

    def end(self, exc: BaseException | None = None) -> None:
        """Record how the run ended: with ``exc``, failed (interrupted for Ctrl-C); else as
        the result says."""
        oplog = self._oplog
        if oplog is None:
            return
        self._oplog = None
        try:
            status, error = "success", None
            if self._result is not None:
                status, error = self._record(oplog, self._result)
            if isinstance(exc, KeyboardInterrupt):
                status, error = "interrupted", "stopped by Ctrl-C"
            elif exc is not None:
                status, error = "failed", str(exc) or type(exc).__name__
            elif self._result is None:
                status, error = "failed", "the job ended without a result"
            oplog.finish_run(self.run_id, status, error=error)
        finally:
            oplog.close()


class LoggedQuery(_LoggedStep["ExtractResult"]):
    """One query to a file in the operation log (see the module's text).

    Args:
        object_name: The queried object.
        output: The output file.
        instance: The Coupa instance's URL.
        log_db: The operation log; the default location when None.
    """

    def __init__(
        self, object_name: str, output: str, instance: str, log_db: str | None = None
    ) -> None:
        self.output = os.path.abspath(output)
        super().__init__(
            f"query {object_name}",
            QUERY_FILE,
            f"coupa={instance} target=file:{self.output}",
            log_db,
        )

    def _record(self, oplog: OpLog, result: ExtractResult) -> tuple[str, str | None]:
        oplog.add_counts(self.run_id, Counts(written=result.written))
        for note in _notes(result):
            oplog.add_note(self.run_id, note)
        oplog.set_info(self.run_id, outputs=[self.output])
        if result.mark_failures:
            return "partial", f"{len(result.mark_failures)} records could not be marked exported"
        return "success", None


class LoggedDownload(_LoggedStep["BulkDownloadResult"]):
    """One bulk download of attachments in the operation log (see the module's text).

    Args:
        object_name: The records' object.
        folder: The download folder.
        instance: The Coupa instance's URL.
        log_db: The operation log; the default location when None.
    """

    def __init__(
        self, object_name: str, folder: str, instance: str, log_db: str | None = None
    ) -> None:
        self.folder = os.path.abspath(folder)
        super().__init__(
            f"attachments {object_name}",
            ATTACHMENTS_FILE,
            f"coupa={instance} target=folder:{self.folder}",
            log_db,
        )

    def _record(self, oplog: OpLog, result: BulkDownloadResult) -> tuple[str, str | None]:
        failures = [
            RecordOutcome(
                f"{f.parent_id}:{f.kind}:{f.attachment_id or 0}",
                position,
                "failed",
                messages=[f.reason],
                record={
                    "object": f.object,
                    "parent_id": f.parent_id,
                    "kind": f.kind,
                    "attachment_id": f.attachment_id,
                    "name": f.name,
                },
            )
            for position, f in enumerate(result.failed)
        ]
        oplog.record_batch(self.run_id, failures)
        oplog.add_counts(self.run_id, Counts(written=result.downloaded + result.kept))
        summary = result.summary()
        oplog.set_detail(self.run_id, "attachments", summary)
        oplog.set_info(self.run_id, outputs=[summary["manifest"]])
        if result.failed:
            return (
                "partial",
                f"{len(result.failed)} of {result.found} files could not be downloaded",
            )
        return "success", None


def _notes(result: ExtractResult) -> list[str]:
    notes = [f"{result.read} records in {result.pages} pages"]
    if result.duplicates:
        notes.append(f"{result.duplicates} duplicates skipped")
    if result.marked or result.mark_failures:
        notes.append(f"{result.marked} marked exported, {len(result.mark_failures)} not")
    if result.watermark:
        notes.append(f"watermark {result.watermark}")
    return notes
