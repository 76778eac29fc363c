"""A query to a file as a one-step operation in the operation log.

``coupa run`` logs every operation; a query to a file moves data as well, so it is logged
the same way (``coupa logs`` and the console list every job that moved data): a run named
``query <object>`` of the file ``coupa query``, its scope the instance and the output, its
counts (records written), its output and how it ended. The notes say what only a query has:
duplicates skipped, records marked exported, the watermark saved.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from coupa_connector.operations._oplog import Counts, OpLog

if TYPE_CHECKING:
    from coupa_connector.operations.extract._extract import ExtractResult

__all__ = ["QUERY_FILE", "LoggedQuery"]

QUERY_FILE = "coupa query"
"""The ``file`` of a query's runs in the operation log (it has no operation file)."""


class LoggedQuery:
    """Records one query to a file in the operation log: ``start`` before the query,
    ``done`` with its result, ``end`` when it ended (with the error that ended it, if any).

    Args:
        object_name: The queried object.
        output: The output file.
        instance: The Coupa instance's URL.
        log_db: The operation log; the default location when None.
    """

    def __init__(
        self, object_name: str, output: str, instance: str, log_db: str | None = None
    ) -> None:
        self.operation = f"query {object_name}"
        self.output = os.path.abspath(output)
        self._scope = f"coupa={instance} target=file:{self.output}"
        self._log_db = log_db
        self._oplog: OpLog | None = None
        self._result: ExtractResult | None = None
        self.run_id = 0

    def start(self) -> LoggedQuery:
        """Record the run as started."""
        self._oplog = OpLog(self._log_db)
        self.run_id = self._oplog.start_run(self.operation, QUERY_FILE, scope=self._scope)
        return self

    def done(self, result: ExtractResult) -> None:
        """The query's result, recorded by ``end``."""
        self._result = result

    def end(self, exc: BaseException | None = None) -> None:
        """Record how the run ended: with ``exc``, failed (interrupted for Ctrl-C); else as
        the result says."""
        oplog = self._oplog
        if oplog is None:
            return
        self._oplog = None
        try:
            result = self._result
            status, error = "success", None
            if result is not None:
                oplog.add_counts(self.run_id, Counts(written=result.written))
                for note in _notes(result):
                    oplog.add_note(self.run_id, note)
                if result.mark_failures:
                    status = "partial"
                    error = f"{len(result.mark_failures)} records could not be marked exported"
                oplog.set_info(self.run_id, outputs=[self.output])
            if isinstance(exc, KeyboardInterrupt):
                status, error = "interrupted", "stopped by Ctrl-C"
            elif exc is not None:
                status, error = "failed", str(exc) or type(exc).__name__
            elif result is None:
                status, error = "failed", "the query ended without a result"
            oplog.finish_run(self.run_id, status, error=error)
        finally:
            oplog.close()


def _notes(result: ExtractResult) -> list[str]:
    notes = [f"{result.read} records in {result.pages} pages"]
    if result.duplicates:
        notes.append(f"{result.duplicates} duplicates skipped")
    if result.marked or result.mark_failures:
        notes.append(f"{result.marked} marked exported, {len(result.mark_failures)} not")
    if result.watermark:
        notes.append(f"watermark {result.watermark}")
    return notes
