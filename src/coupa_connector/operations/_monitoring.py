"""An operation's run kept in Coupa: ``coupa_monitoring`` and ``watermark: coupa``.

The runner is synchronous; ``RunMonitor`` hands the ``activities.monitoring`` calls to the
run's Coupa connection (its loop thread, rate limit and retries) and is what the runner
tells about the run: started, each batch's outcomes, finished. ``CoupaWatermarks`` is the
``Watermarks`` store of an operation with ``watermark: coupa``: the watermark read from and
kept in the integration's runs (see ``activities.monitoring``).

Monitoring never stops the data: every call is best effort, and what failed is counted in
``failures`` (logged once, noted in the operation log and the run's result). The watermark
is data, so reading or keeping it in Coupa fails the run when it cannot be done.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from coupa_connector.activities.monitoring import (
    DOCUMENT_TYPES,
    CoupaMonitor,
    MonitorSettings,
    Requests,
)
from coupa_connector.operations._oplog import Counts, RecordOutcome

__all__ = ["CoupaWatermarks", "RunMonitor"]

Call = Callable[[Coroutine[Any, Any, Any]], Any]


class RunMonitor:
    """One operation run's integration run in Coupa.

    Args:
        settings: The operation's ``coupa_monitoring``.
        conn: The run's Coupa connection.
        call: Runs a coroutine on the connection's loop and returns its result.
        obj: The catalog name of the object the operation moves (Coupa's document type).
        to_coupa: Whether the operation writes to Coupa (the integration's direction, when
            it has to be created and the settings do not say).
    """

    def __init__(
        self,
        settings: MonitorSettings,
        conn: Requests,
        call: Call,
        obj: str | None,
        *,
        to_coupa: bool,
    ) -> None:
        if settings.direction is None:
            settings = dataclasses.replace(
                settings, direction="to_coupa" if to_coupa else "from_coupa"
            )
        self.monitor = CoupaMonitor(conn, settings, DOCUMENT_TYPES.get(obj or ""))
        self._call = call
        self.to_coupa = to_coupa

    @property
    def integration(self) -> str:
        return self.monitor.settings.integration

    @property
    def failures(self) -> int:
        return self.monitor.failures

    @property
    def first_failure(self) -> str | None:
        return self.monitor.first_failure

    @property
    def run_id(self) -> int | None:
        return self.monitor.run_id

    def start(self, *, resume: int | None = None, supersedes: int | None = None) -> None:
        """Open the run's integration run: continue ``resume`` (the integration run of the
        attempt being resumed) while Coupa has it open, else create one; ``supersedes`` is
        the open run of an unfinished attempt this new run replaces, ended as failed."""
        if supersedes is not None:
            self._call(self.monitor.supersede(supersedes))
        if resume is not None and self._call(self.monitor.resume(resume)):
            return
        self._call(self.monitor.start())

    def batch(self, outcomes: Sequence[RecordOutcome], counts: Counts) -> None:
        """Errors for the batch's rejected and failed records, history records for its
        written ones (``history: all``), then the run's progress."""
        for o in outcomes:
            if o.outcome == "written":
                if self.monitor.settings.history == "all":
                    self._call(self.monitor.written(o.coupa_id, o.key))
                continue
            reason = "; ".join(o.messages) or o.outcome
            document = None if self.to_coupa else o.coupa_id
            self._call(
                self.monitor.rejected(
                    o.key, reason, document_id=document, failed=o.outcome == "failed"
                )
            )
        self._call(self.monitor.progress(counts.read))

    def finish(self, ok: bool, counts: Counts, *, error: str | None, resumable: bool) -> None:
        """End the integration run with the operation's run; a run that stopped where a
        resume can continue it is paused, not failed, so the resume continues it."""
        if ok:
            self._call(self.monitor.finish(True, processed=counts.read, total=counts.read))
        elif resumable:
            self._call(self.monitor.pause(counts.read, counts.read, error or "stopped"))
        else:
            if error:
                self._call(self.monitor.stopped_by(error))
            self._call(self.monitor.finish(False, processed=counts.read, total=counts.read))

    def last_watermark(self) -> str | None:
        """Raises ``CoupaError`` when Coupa cannot be asked."""
        stamp: str | None = self._call(self.monitor.last_watermark())
        return stamp

    def save_watermark(self, stamp: str) -> None:
        """Raises ``CoupaError`` when the run has no integration run or Coupa refuses."""
        self._call(self.monitor.save_watermark(stamp))

    def note(self) -> dict[str, Any]:
        """What the operation log keeps of it (the run's ``monitoring`` detail), so the run's
        integration run can be shown without asking Coupa."""
        m = self.monitor
        return {
            "integration": m.settings.integration,
            "integration_run": m.run_id,
            "history": m.settings.history,
            "state": m.state,
            "processed": m.processed,
            "errors_sent": m.errors_sent,
            "history_sent": m.history_sent,
            "calls": m.calls,
            "failures": m.failures,
            "first_failure": m.first_failure,
        }


class CoupaWatermarks:
    """The ``Watermarks`` of an operation with ``watermark: coupa``: the ``max-updated-at``
    of the integration's last successful run, kept on this run before it ends."""

    def __init__(self, monitor: RunMonitor) -> None:
        self.monitor = monitor

    def load(self) -> str | None:
        return self.monitor.last_watermark()

    def save(self, watermark: str) -> None:
        self.monitor.save_watermark(watermark)
