"""The runner: source -> transformation -> target in batches, with the operation log.

Per batch: read up to ``batch_size`` source records, transform them (failures become
rejections naming the field), write the good ones, then store every record's outcome, the
counts and the checkpoint in one operation-log transaction. Memory holds one batch. Counts
are kept in input records, so ``read == written + rejected + failed`` at every checkpoint.

``on_success``/``on_failure`` chain operations; one ``Runner.run`` is an *invocation* in
the operation log. ``resume`` continues the file's last invocation: an operation that
finished in it (``success`` or ``partial``) is not run again, its recorded status drives the
chain as it did then; one that did not finish continues its run (the same incremental
window, the records already done skipped by their identity, the target cut back to, or
asked for, exactly what it held at the checkpoint); one it never reached starts. When every
operation had finished there is nothing to do.

The durable order, and where a kill may land (every point is safe):

1. ``set_inflight``: the keys of the batch about to be written (operation log).
2. The target writes the batch: Coupa requests; one SQL transaction that also notes the
   keys in ``coupa_connector_written``; records appended to the ``.part`` file.
3. The rejects ``.part`` file gets the batch's rejected records; target and rejects file
   are flushed to disk (``checkpoint``).
4. ``record_batch``: outcomes, counts and checkpoint in one transaction; ``inflight`` is
   cleared. A kill between 1 and 4 resumes at the last checkpoint: the files are cut back
   to it, a SQL target reports the keys it holds, and a Coupa create target sends the
   in-flight records as upserts on their natural key, so none is written twice.
5. After the last batch, a ``committing`` checkpoint; then the target and the rejects file
   are committed (renamed into place, SQL notes dropped), then a ``committed`` checkpoint
   with the outputs. A kill in between finishes only: committing again is harmless (a file
   already in place is taken as it is, the SQL notes are simply gone).
6. Records marked exported (each noted as it is), the watermark stored, then
   ``finish_run``: from here the operation counts as finished and a resume skips it. A kill
   before ``finish_run`` resumes at 5's checkpoint, marks what is still unmarked and stores
   the same watermark again.
7. The chain's next operation starts a run in the same invocation; a kill before that
   leaves it unreached, and the resume starts it.

Temporary files are noted in the operation log as they are created, before a record goes
into them (a kill in that instant leaves an empty file). They are removed when their run
finishes, when it fails where no resume can follow (a dry run, an embedded sandbox that
will not exist again), and when a later run of the operation starts afresh.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from coupa_connector.errors import ConfigurationError, CoupaError
from coupa_connector.operations._masking import RecordMask
from coupa_connector.operations._monitoring import CoupaWatermarks, RunMonitor
from coupa_connector.operations._oplog import Counts, OpLog, RecordOutcome
from coupa_connector.operations._state import LoggedState, Watermarks
from coupa_connector.operations._transform import Transformed, Transformer
from coupa_connector.operations.endpoints.base import (
    EndpointContext,
    FatalBatch,
    Outcome,
    Source,
    Target,
    debug_json,
)
from coupa_connector.operations.endpoints.coupa import CoupaBridge
from coupa_connector.operations.endpoints.registry import REGISTRY
from coupa_connector.operations.files._files import (
    expand_path,
    has_placeholders,
)
from coupa_connector.operations.files._rejects import RejectsWriter
from coupa_connector.operations.opfile.load import load_operation_file
from coupa_connector.operations.opfile.model import (
    ConnectionSpec,
    EndpointSpec,
    OperationFile,
    OperationSpec,
)

if TYPE_CHECKING:
    from coupa_connector.client import ConnectionConfig
    from coupa_connector.sandbox import Sandbox

__all__ = [
    "Progress",
    "RunResult",
    "Runner",
    "endpoint_identity",
    "run_operations",
    "sandbox_instance",
]

log = logging.getLogger("coupa_connector.operations")

DEFAULT_REJECTS = "rejects/{operation}-{timestamp:%Y%m%d-%H%M%S}"
# Instance identities that name one embedded sandbox's lifetime: no later run meets them.
_SINGLE_USE_INSTANCE = "sandbox "


@dataclass(slots=True)
class RunResult:
    """How one operation run ended.

    Attributes:
        run_id: Its id in the operation log.
        operation: The operation's name.
        status: ``success`` (nothing rejected or failed), ``partial`` (some records
            rejected or failed) or ``failed`` (an error ended it); a dry run ends the same
            way its real run would, from the same counts.
        counts: Records read, written, rejected, failed.
        error: The error that ended it, when ``failed``.
        outputs: Files or tables written.
        rejects_file: The rejects file, when records were rejected or failed.
        debug_log: The debug log file, when debug logging was on.
        resumed: True when it continued an unfinished run.
        exported: Records marked exported in Coupa.
        dry_run: True when the run wrote nothing (``--dry-run``).
        warned: Records that validation reported warnings of (each also in the run's log).
        warnings: The warnings, in all.
        skipped: True when a resume did not run the operation again, because it had
            finished in the run being resumed; the other attributes are that run's.
        monitoring: With ``coupa_monitoring``: the integration run in Coupa and how many
            monitoring calls failed (``operations._monitoring``).
    """

    run_id: int
    operation: str
    status: str
    counts: Counts
    error: str | None = None
    outputs: list[str] = field(default_factory=list)
    rejects_file: str | None = None
    debug_log: str | None = None
    resumed: bool = False
    exported: int = 0
    dry_run: bool = False
    skipped: bool = False
    monitoring: dict[str, Any] | None = None
    warned: int = 0
    warnings: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The result as plain data (for JSON output)."""
        return {
            "run_id": self.run_id,
            "operation": self.operation,
            "status": self.status,
            **self.counts.as_dict(),
            "error": self.error,
            "outputs": self.outputs,
            "rejects_file": self.rejects_file,
            "debug_log": self.debug_log,
            "resumed": self.resumed,
            "exported": self.exported,
            "dry_run": self.dry_run,
            "skipped": self.skipped,
            "monitoring": self.monitoring,
            "warned": self.warned,
            "warnings": self.warnings,
        }


class Progress:
    """Receives progress; the CLI draws bars with it. The default does nothing."""

    def started(self, operation: str, description: str) -> None:
        """An operation starts."""

    def advanced(self, operation: str, counts: Counts) -> None:
        """A batch is done; ``counts`` are the run's totals so far."""

    def finished(self, result: RunResult) -> None:
        """An operation ended."""


class Runner:
    """Runs the operations of one operation file.

    Args:
        opfile: The parsed file (see ``load_operation_file``).
        oplog: The operation log; the default location when None.
        connection: Connection settings that override the file's ``connection`` block.
        dry_run: Read and transform (and validate Coupa records) but write nothing.
        debug: Write a debug log for every operation (as ``debug: true`` does for one).
        resume: Continue the file's last invocation: skip what finished in it, continue
            what did not.
        debug_dir: Folder for debug logs; next to the operation log when None.
        progress: Receives progress events.
        sandbox: Run against an embedded sandbox, whatever the file's connection says.
        instance: The Coupa instance's identity for watermarks and resumes; the connection's
            URL when None (an embedded sandbox started here gets one of its own). Give
            ``sandbox_instance(url)`` for a sandbox started elsewhere.
    """

    def __init__(
        self,
        opfile: OperationFile,
        *,
        oplog: OpLog | None = None,
        connection: ConnectionConfig | None = None,
        dry_run: bool = False,
        debug: bool = False,
        resume: bool = False,
        debug_dir: str | os.PathLike[str] | None = None,
        progress: Progress | None = None,
        sandbox: bool = False,
        instance: str | None = None,
    ) -> None:
        self.opfile = opfile
        self._instance = instance
        self._resolved: ConnectionConfig | None = None
        self._use_sandbox = sandbox
        self._own_log = oplog is None
        self.oplog = oplog if oplog is not None else OpLog()
        self._config = connection
        self.dry_run = dry_run
        self.debug = debug
        self.resume = resume
        self.debug_dir = Path(debug_dir) if debug_dir else self.oplog.path.parent / "debug"
        self.progress = progress or Progress()
        self._bridge: CoupaBridge | None = None
        self._sandbox: Sandbox | None = None
        self._run_id = 0
        # Files this invocation's operations landed (path -> operation): a chain never
        # silently replaces what an earlier operation of it wrote.
        self._landed: dict[str, str] = {}
        # This invocation's id in the operation log, and the one a resume continues.
        self._invocation: int | None = None
        self._continuing: int | None = None
        self._mask = RecordMask()

    # ----------------------------------------------------------------- public

    def entry_operations(self) -> list[str]:
        """Operations no other operation chains to, in file order (what runs by default)."""
        chained = {
            n for op in self.opfile.operations.values() for n in (*op.on_success, *op.on_failure)
        }
        names = [n for n in self.opfile.operations if n not in chained]
        return names or list(self.opfile.operations)[:1]

    def run(self, operation: str | None = None) -> list[RunResult]:
        """Run one operation (and what it chains to), or every entry operation.

        Returns:
            One result per operation run, in the order they ran; with ``resume``, those that
            had finished come with ``skipped`` set (all of them: nothing was left to do).

        Raises:
            ConfigurationError: No such operation, or no usable connection.
        """
        names = [operation] if operation else self.entry_operations()
        for name in names:
            if name not in self.opfile.operations:
                known = ", ".join(self.opfile.operations)
                raise ConfigurationError(
                    f"{self.opfile.path.name} has no operation {name!r}; it has: {known}"
                )
        results: list[RunResult] = []
        ran: set[str] = set()
        try:
            self._begin_invocation(names)
            for name in names:
                self._chain(name, results, ran)
        finally:
            self.close()
        return results

    def close(self) -> None:
        """Close the connection, stop an embedded sandbox and close the log (if ours)."""
        if self._bridge is not None:
            self._bridge.close()
            self._bridge = None
        if self._sandbox is not None:
            self._sandbox.stop()
            self._sandbox = None
        if self._own_log:
            self.oplog.close()

    # ----------------------------------------------------------------- invocations

    def _begin_invocation(self, names: list[str]) -> None:
        if self.dry_run:
            return  # a dry run writes nothing, so nothing is ever resumed from it
        file = str(self.opfile.path)
        last = self.oplog.last_invocation(file) if self.resume else None
        if last is not None:
            self._continuing = self._invocation = last
            log.info("resuming the last run of %s", file)
        else:
            self._invocation = self.oplog.start_invocation(file, names)

    def _earlier_run(self, op: OperationSpec, file: str, scope: str) -> dict[str, Any] | None:
        """The run a resume continues, or skips when it finished; None: a new run."""
        if self._continuing is not None:
            run = self.oplog.invocation_run(self._continuing, op.name, scope)
            if run is not None and run["status"] == "running":
                raise ConfigurationError(
                    f"run {run['id']} of {op.name} is still running (process {run['pid']}); "
                    "wait for it to end before resuming"
                )
            if run is not None:
                return run
        # Runs written before invocations were recorded resume one operation at a time.
        legacy = self.oplog.resumable_run(op.name, file, scope)
        return legacy if legacy is not None and legacy.get("invocation") is None else None

    def _skipped(self, op: OperationSpec, run: Mapping[str, Any]) -> RunResult:
        """An operation the resumed invocation had finished: reported, not run again."""
        run_id = int(run["id"])
        result = RunResult(
            run_id,
            op.name,
            str(run["status"]),
            Counts(int(run["written"]), int(run["rejected"]), int(run["failed"])),
            error=run["error"],
            outputs=list(run["outputs"]),
            rejects_file=run["rejects_file"],
            debug_log=run["debug_log"],
            skipped=True,
        )
        self._landed.update(dict.fromkeys(result.outputs, op.name))
        self.oplog.add_note(
            run_id, f"a resume did not run it again: it had finished ({result.status})"
        )
        log.info(
            "%s finished in run %s (%s) before this resume; not run again",
            op.name,
            run_id,
            result.status,
        )
        return result

    def _remove_partials(self, run_id: int, *, superseded: bool = False) -> None:
        """Remove the temporary files a run left, which no resume will use."""
        for part in self.oplog.partials(run_id):
            for path in (part, part + ".render"):
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    log.warning("could not remove the temporary file %s: %s", path, exc)
        self.oplog.forget_partials(run_id, superseded=superseded)

    def _resumable(self, op: OperationSpec, scope_error: CoupaError | None) -> bool:
        """Whether a resume could continue a failed run of ``op`` from here."""
        if self.dry_run or scope_error is not None:
            return False
        uses_coupa = op.source.is_coupa or op.target.is_coupa
        return not (uses_coupa and self.instance().startswith(_SINGLE_USE_INSTANCE))

    # ----------------------------------------------------------------- chaining

    def _chain(self, name: str, results: list[RunResult], ran: set[str]) -> None:
        # (operation, the run whose end started it)
        queue: list[tuple[str, int | None]] = [(name, None)]
        while queue:
            current, parent = queue.pop(0)
            if current in ran:
                log.warning(
                    "operation %s already ran in this invocation; not running it again", current
                )
                continue
            ran.add(current)
            op = self.opfile.operations[current]
            result = self._run_one(op, chained_from=parent)
            results.append(result)
            # A dry run follows the chain its real run would follow.
            nxt = op.on_success if result.status == "success" else op.on_failure
            queue.extend((n, result.run_id) for n in nxt)

    # ----------------------------------------------------------------- connection

    def bridge(self) -> CoupaBridge:
        """The run's Coupa connection (opened on first use)."""
        if self._bridge is None:
            self._bridge = CoupaBridge(self._connection_config())
        return self._bridge

    def _connection_config(self) -> ConnectionConfig:
        if self._resolved is None:
            self._resolved = self._resolve_config()
        return self._resolved

    def _resolve_config(self) -> ConnectionConfig:
        if self._config is not None:
            return self._config
        if self._use_sandbox:
            return self.start_sandbox({})
        spec = self.opfile.connection
        if spec is None:
            raise ConfigurationError(f"{self.opfile.path.name}: no connection: block")
        return connection_config(spec, self)

    def instance(self) -> str:
        """The identity of the Coupa instance the run talks to (its URL, or a sandbox's own)."""
        config = self._connection_config()
        return self._instance or config.url

    def _scope(self, op: OperationSpec) -> str:
        """What an operation's watermark and unfinished runs belong to.

        The Coupa instance when the operation uses Coupa, and every other endpoint's
        identity: a watermark says what one target has received from one instance, and a
        checkpoint only fits the endpoints it was taken on.
        """
        parts: list[str] = []
        if op.source.is_coupa or op.target.is_coupa:
            parts.append(f"coupa={self.instance()}")
        for role, spec in (("source", op.source), ("target", op.target)):
            if not spec.is_coupa:
                parts.append(f"{role}={endpoint_identity(spec, role, self.opfile.base_dir)}")
        return " ".join(parts)

    def start_sandbox(self, options: Mapping[str, Any]) -> ConnectionConfig:
        """Start the embedded sandbox for this run; returns settings that reach it."""
        from coupa_connector.client import ConnectionConfig, SecretStr
        from coupa_connector.sandbox import Sandbox

        kwargs: dict[str, Any] = {}
        for key in ("seed_size", "seed", "latency_ms", "rate_limit"):
            if key in options:
                kwargs[key] = options[key]
        self._sandbox = Sandbox(**kwargs).start()
        if self._instance is None:
            self._instance = sandbox_instance(self._sandbox.url)
        return ConnectionConfig(
            url=self._sandbox.url,
            client_id=self._sandbox.client_id,
            client_secret=SecretStr(self._sandbox.client_secret),
            rate_limit=None,
        )

    # ----------------------------------------------------------------- one operation

    def _endpoints(
        self, op: OperationSpec, run_token: str, now: datetime, run_id: int, scope: str = ""
    ) -> tuple[Source, Target]:
        """The operation's source and target, each made by its type's registry entry."""
        ctx = EndpointContext(
            base_dir=self.opfile.base_dir,
            operation=op.name,
            run_id=run_id,
            run_token=run_token,
            now=now,
            transform=op.transform,
            connection=self.bridge,
            dry_run=self.dry_run,
            landed=self._landed,
            scope=scope,
        )
        make_source = REGISTRY[op.source.type].source
        make_target = REGISTRY[op.target.type].target
        if make_source is None or make_target is None:
            raise ConfigurationError(f"{op.name}: its endpoints cannot be a source and a target")
        ctx.source = make_source(op.source, ctx)
        return ctx.source, make_target(op.target, ctx)

    def _run_one(self, op: OperationSpec, chained_from: int | None = None) -> RunResult:
        file = str(self.opfile.path)
        scope_error: CoupaError | None = None
        try:
            scope = self._scope(op)
        except CoupaError as exc:
            # No usable connection: the run is logged as failed with this error below.
            scope, scope_error = "", exc
        previous = (
            self._earlier_run(op, file, scope)
            if self.resume and not self.dry_run and scope_error is None
            else None
        )
        if previous is not None and previous["status"] in ("success", "partial"):
            return self._skipped(op, previous)
        superseded: int | None = None  # an unfinished attempt's open run in Coupa
        if previous is not None:
            run_id = int(previous["id"])
            self.oplog.reopen_run(run_id)
            checkpoint = self.oplog.checkpoint(run_id)
            log.info("resuming run %s of %s", run_id, op.name)
        else:
            unfinished = (
                self.oplog.resumable_run(op.name, file, scope)
                if not self.dry_run and scope_error is None
                else None
            )
            if unfinished is not None:
                log.warning(
                    "run %s of %s did not finish (%s); a new run replaces it (coupa run "
                    "--resume continues an unfinished run instead)",
                    unfinished["id"],
                    op.name,
                    unfinished["status"],
                )
                superseded = self.oplog.checkpoint(int(unfinished["id"])).get("integration_run")
            run_id = self.oplog.start_run(
                op.name, file, dry_run=self.dry_run, scope=scope, invocation=self._invocation
            )
            checkpoint = {}
            if not self.dry_run and scope_error is None:
                # Earlier runs' temporary files: this new run supersedes them.
                for earlier in self.oplog.superseded_runs(op.name, file, scope, run_id):
                    self._remove_partials(earlier, superseded=True)
        resumed = previous is not None
        if chained_from is not None:
            self.oplog.set_info(run_id, chained_from=chained_from)
        run_token = checkpoint.get("token") or uuid.uuid4().hex
        now = datetime.fromisoformat(checkpoint["now"]) if checkpoint.get("now") else datetime.now()
        handler = self._debug_handler(op, run_id) if (self.debug or op.debug) else None
        result = RunResult(
            run_id, op.name, "failed", Counts(), resumed=resumed, dry_run=self.dry_run
        )
        if handler is not None:
            result.debug_log = handler.baseFilename
            self.oplog.set_info(run_id, debug_log=handler.baseFilename)
        self.progress.started(op.name, op.description or op.name)
        rejects: _Rejects | None = None
        target: Target | None = None
        monitor: RunMonitor | None = None
        source: Source | None = None
        try:
            if scope_error is not None:
                raise scope_error
            source, target = self._endpoints(op, run_token, now, run_id, scope)
            monitor = self._monitor(op, source, checkpoint.get("integration_run"), superseded)
            if monitor is not None:
                # Kept as soon as the integration run exists: a run killed later still
                # names it.
                self.oplog.set_detail(run_id, "monitoring", monitor.note())
            rejects = _Rejects(
                op,
                source,
                now,
                checkpoint.get("rejects"),
                run_id,
                on_partial=lambda path: self.oplog.note_partial(run_id, path),
            )
            state = _RunState(run_id, run_token, now, checkpoint, scope, monitor)
            self._execute(op, source, target, rejects, state, result)
        except BaseException as exc:
            result.status = "failed"
            if isinstance(exc, CoupaError | OSError | FatalBatch):
                error = exc.error if isinstance(exc, FatalBatch) else exc
                result.error = str(error)
                log.error("operation %s failed: %s", op.name, result.error)
            elif isinstance(exc, Exception):
                # A fault of ours or of a library, not of the data or the connection: the
                # run still ends as failed and its chain goes on.
                result.error = f"unexpected error: {type(exc).__name__}: {exc}"
                log.error("operation %s failed: %s", op.name, result.error)
                log.debug("operation %s: where the error came from", op.name, exc_info=True)
            elif isinstance(exc, KeyboardInterrupt):
                # Ctrl-C: recorded as such, resumable, and it propagates.
                result.status = "interrupted"
                result.error = "interrupted (Ctrl-C)"
            else:
                # Interrupted otherwise (exit): recorded, and it propagates.
                result.error = f"{type(exc).__name__}: {exc}"
            # The partial work stays for a resume, when one can follow; else the target's
            # partial file goes and the rejects file lands with what was rejected.
            keep = self._resumable(op, scope_error)
            if target is not None:
                with contextlib.suppress(Exception):
                    target.abort(keep_for_resume=keep)
            if rejects is not None:
                with contextlib.suppress(Exception):
                    if keep:
                        rejects.detach()
                    else:
                        rejects.commit()
            if not isinstance(exc, Exception):
                raise
        finally:
            result.counts = self.oplog.counts(run_id)
            for name, detail in (source.details() if source is not None else {}).items():
                self.oplog.set_detail(run_id, name, detail)
            if monitor is not None:
                resumable = self._resumable(op, scope_error)
                self._end_monitor(monitor, run_id, result, resumable=resumable)
            if rejects is not None and rejects.path:
                result.rejects_file = rejects.path
                self.oplog.set_info(run_id, rejects_file=rejects.path)
            self.oplog.set_info(run_id, outputs=result.outputs)
            self.oplog.finish_run(run_id, result.status, error=result.error)
            ended = result.status not in ("failed", "interrupted")
            if ended or not self._resumable(op, scope_error):
                self._remove_partials(run_id)
            if handler is not None:
                self._drop_debug_handler(handler)
        self.progress.finished(result)
        return result

    def _execute(
        self,
        op: OperationSpec,
        source: Source,
        target: Target,
        rejects: _Rejects,
        state: _RunState,
        result: RunResult,
    ) -> None:
        cp = state.checkpoint
        self._run_id = state.run_id
        file = str(self.opfile.path)
        watermarks: Watermarks = LoggedState(self.oplog, file, op.name, state.scope)
        if op.watermark == "coupa" and state.monitor is not None:
            if state.monitor.run_id is None and not self.dry_run:
                # The window's end is kept on the run: without one, this run's records would
                # all be sent again by the next.
                raise CoupaError(
                    "watermark: coupa keeps the watermark on the integration run, which could "
                    f"not be created ({state.monitor.first_failure}); nothing was moved"
                )
            watermarks = CoupaWatermarks(state.monitor)
        window: dict[str, str] = {}
        if cp.get("window") is not None:
            window = source.restore_window(cp["window"])
        elif source.incremental:
            start = state.now.astimezone().replace(microsecond=0).isoformat()
            window = source.set_window(watermarks.load(), start)
        mark_exported = source.marks_exported and not self.dry_run
        self._mask = RecordMask.for_transform(op.transform)
        if not self.dry_run:
            target.open(cp)
            # A partial file is noted before a record goes in, so it is found if no resume
            # takes it up.
            part = target.checkpoint().get("partial")
            if part and part != "-":
                self.oplog.note_partial(state.run_id, part)
        done = self.oplog.done_keys(state.run_id)
        target.set_maybe_sent(self.oplog.inflight(state.run_id) - done)
        if not self.dry_run:
            recovered = target.recover(done)
            if recovered:
                # The target holds records the log missed (killed between the two commits).
                # A target that keeps only the keys still gives a record's Coupa id back
                # through the source's key, so the marking below does not pass it over.
                outcomes = [
                    RecordOutcome(
                        k, -1, "written", coupa_id=cid if cid is not None else source.id_of_key(k)
                    )
                    for k, cid in recovered.items()
                ]
                self.oplog.record_batch(state.run_id, outcomes)
                done.update(recovered)
        base: dict[str, Any] = {
            "token": state.token,
            "now": state.now.isoformat(),
            "window": window,
        }
        if state.monitor is not None and state.monitor.run_id is not None:
            base["integration_run"] = state.monitor.run_id  # a resume continues it
        if cp.get("committing") and not cp.get("committed"):
            # Killed while finishing: every record is in the target already; finish only.
            self._finish_target(target, rejects, state, base, cp, result)
        elif not cp.get("committed"):
            transformer = Transformer(
                op.transform,
                base_dir=self.opfile.base_dir,
                coupa_lookup=self._lookup if self._has_coupa() else None,
            )
            per_batch_marks = mark_exported and target.durable_per_batch
            batch_no = int(cp.get("batch", 0))
            stream = transformer.apply(source.items(done))
            while True:
                batch = list(islice(stream, op.batch_size))
                if not batch:
                    break
                batch_no += 1
                try:
                    outcomes = self._write_batch(op, batch, target, batch_no, result)
                except _FatalAfterRecord as fatal:
                    # Log what the batch did before the error ends the run: counts add up.
                    rejects.add(fatal.records)
                    checkpoint = dict(base, batch=batch_no, rejects=rejects.checkpoint())
                    checkpoint["target"] = target.checkpoint()
                    self.oplog.record_batch(
                        state.run_id, fatal.records, checkpoint=checkpoint, mask=self._mask
                    )
                    self._monitor_batch(state, fatal.records)
                    raise
                rejects.add(outcomes)
                checkpoint = dict(base, batch=batch_no, rejects=rejects.checkpoint())
                if not self.dry_run:
                    checkpoint["target"] = target.checkpoint()
                self.oplog.record_batch(
                    state.run_id, outcomes, checkpoint=checkpoint, mask=self._mask
                )
                self.progress.advanced(op.name, self.oplog.counts(state.run_id))
                self._monitor_batch(state, outcomes)
                if per_batch_marks:
                    result.exported += self._mark(source, state.run_id)
            for name, reads in transformer.empty_fields():
                log.warning(
                    "%s: transform.mapping.%s came out empty in every one of the %d records "
                    "(%s); check the field names it reads",
                    op.name,
                    name,
                    transformer.mapped,
                    reads,
                )
            if not self.dry_run:
                finishing = dict(base, batch=batch_no, committing=True)
                finishing["rejects"] = rejects.checkpoint()
                finishing["target"] = target.checkpoint()
                self.oplog.record_batch(state.run_id, [], checkpoint=finishing)
                self._finish_target(target, rejects, state, base, finishing, result)
            else:
                rejects.commit()
        else:
            result.outputs = list(cp.get("outputs", []))
        if mark_exported:
            result.exported += self._mark(source, state.run_id)
        counts = self.oplog.counts(state.run_id)
        result.status = "success" if counts.rejected == 0 and counts.failed == 0 else "partial"
        if not self.dry_run:
            source.keep_delivered(self.oplog.written_ids(state.run_id))
        upper = source.next_watermark() if not self.dry_run and window else None
        if upper is not None:
            watermarks.save(upper)

    def _monitor(
        self, op: OperationSpec, source: Source, resume: int | None, supersedes: int | None
    ) -> RunMonitor | None:
        """The run's integration run in Coupa, started (``coupa_monitoring``): the one of the
        attempt being resumed while Coupa has it open, else a new one. Not started in a dry
        run, which moves nothing (its ``watermark: coupa`` is still read)."""
        if op.monitoring is None:
            return None
        bridge = self.bridge()
        obj = str(op.target.options.get("object") or "") if op.target.is_coupa else None
        monitor = RunMonitor(
            op.monitoring,
            bridge.conn,
            bridge.call,
            obj or (source.obj.name if source.obj is not None else None),
            to_coupa=op.target.is_coupa,
        )
        if not self.dry_run:
            monitor.start(resume=resume, supersedes=supersedes)
        return monitor

    def _monitor_batch(self, state: _RunState, outcomes: Sequence[RecordOutcome]) -> None:
        if state.monitor is not None and not self.dry_run:
            state.monitor.batch(outcomes, self.oplog.counts(state.run_id))

    def _end_monitor(
        self, monitor: RunMonitor, run_id: int, result: RunResult, *, resumable: bool
    ) -> None:
        """End the integration run with the operation (partial is a run that finished; one
        a resume can continue is paused); what monitoring could not do is noted in the log
        and the result, never raised."""
        if not self.dry_run:
            ok = result.status in ("success", "partial")
            monitor.finish(ok, result.counts, error=result.error, resumable=resumable)
        result.monitoring = monitor.note()
        self.oplog.set_detail(run_id, "monitoring", result.monitoring)
        note = (
            f"Coupa monitoring: integration {monitor.integration}, integration run "
            f"{monitor.run_id if monitor.run_id is not None else 'not created'}"
        )
        if monitor.failures:
            note += (
                f"; {monitor.failures} monitoring call(s) failed or not sent, first: "
                f"{monitor.first_failure}"
            )
        self.oplog.add_note(run_id, note)

    def _finish_target(
        self,
        target: Target,
        rejects: _Rejects,
        state: _RunState,
        base: Mapping[str, Any],
        cp: Mapping[str, Any],
        result: RunResult,
    ) -> None:
        """Commit the target and the rejects file, then note that the run's output is final."""
        result.outputs = target.commit()
        self._landed.update(dict.fromkeys(result.outputs, result.operation))
        rejects.commit()
        done = dict(base, batch=cp.get("batch", 0), committed=True, outputs=result.outputs)
        self.oplog.record_batch(state.run_id, [], checkpoint=done)

    def _has_coupa(self) -> bool:
        return (
            self._bridge is not None
            or self._config is not None
            or self._use_sandbox
            or self.opfile.connection is not None
        )

    def _lookup(self, obj: str, key_field: str, key: str, return_field: str) -> Any:
        return self.bridge().lookup(obj, key_field, key, return_field)

    def _mark(self, source: Source, run_id: int) -> int:
        pending = self.oplog.unexported(run_id)
        if not pending:
            return 0
        answers = source.mark([cid for _k, cid in pending])
        ok = [k for k, cid in pending if answers.get(cid) is None]
        self.oplog.set_exported(run_id, ok)
        failed = [(cid, answers[cid]) for _k, cid in pending if answers.get(cid)]
        if failed:
            cid, why = failed[0]
            raise ConfigurationError(
                f"{len(failed)} record(s) were written but could not be marked exported "
                f"(first: id {cid}: {why}); run again with --resume to retry the marking"
            )
        return len(ok)

    def _write_batch(
        self,
        op: OperationSpec,
        batch: list[Transformed],
        target: Target,
        batch_no: int,
        result: RunResult,
    ) -> list[RecordOutcome]:
        good = [t for t in batch if t.ok]
        results: dict[int, Outcome] = {}
        fatal: FatalBatch | None = None
        # A dry run writes nothing, but some targets still validate (nothing is sent).
        if good and (not self.dry_run or target.validates_in_dry_run):
            if not self.dry_run:
                self.oplog.set_inflight(self._run_id, [t.items[0].key for t in good])
            if target.logs_records and log.isEnabledFor(logging.DEBUG):
                for t in good:
                    log.debug(
                        "%s sends record %s: %s", op.name, t.items[0].position, debug_json(t.record)
                    )
            try:
                written = target.write(good, batch_no)
            except FatalBatch as exc:
                fatal, written = exc, exc.outcomes
            for t, o in zip(good, written, strict=True):
                results[id(t)] = o
        outcomes: list[RecordOutcome] = []
        for t in batch:
            if t.ok:
                o = results.get(id(t), Outcome("written"))
            else:
                o = Outcome("rejected", [f"{f}: {why}" for f, why in t.errors])
            if o.warnings:
                result.warned += 1
                result.warnings += len(o.warnings)
                where = ",".join(str(i.position) for i in t.items)
                for note in o.warnings:
                    log.warning("%s record %s: %s", op.name, where, note)
            if target.logs_records and o.outcome == "written":
                log.debug(
                    "%s record %s written (Coupa id %s)", op.name, t.items[0].position, o.coupa_id
                )
            if o.outcome != "written" and log.isEnabledFor(logging.DEBUG):
                inputs = [i.record for i in t.items]
                log.debug(
                    "%s record %s %s: %s; input %s; output %s",
                    op.name,
                    ",".join(str(i.position) for i in t.items),
                    o.outcome,
                    "; ".join(self._mask.messages(o.messages, [*inputs, t.record])),
                    _j(self._mask.record(inputs)),
                    _j(t.record),
                )
            for item in t.items:
                outcomes.append(
                    RecordOutcome(
                        item.key,
                        item.position,
                        o.outcome,
                        coupa_id=o.coupa_id if o.coupa_id is not None else _source_id(item.record),
                        messages=o.messages,
                        record=None if o.outcome == "written" else item.record,
                        transformed=None if o.outcome == "written" else t.record,
                        line=item.line,
                    )
                )
        if fatal is not None:
            raise _FatalAfterRecord(outcomes, fatal)
        return outcomes

    # ----------------------------------------------------------------- debug log

    def _debug_handler(self, op: OperationSpec, run_id: int) -> logging.FileHandler:
        from coupa_connector.client._redact import RedactingFilter, register_secret

        self.debug_dir.mkdir(parents=True, exist_ok=True)
        path = self.debug_dir / f"{op.name}-run{run_id}-{datetime.now():%Y%m%d-%H%M%S}.log"
        handler = logging.FileHandler(path, encoding="utf-8")
        handler.setLevel(logging.DEBUG)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        # The client's redactor: the connection registers its secrets as it opens; the
        # endpoints' own (a database password) are registered here.
        for secret in self._secrets():
            register_secret(secret)
        handler.addFilter(RedactingFilter())
        root = logging.getLogger("coupa_connector")
        handler._previous_level = root.level  # type: ignore[attr-defined]
        root.addHandler(handler)
        root.setLevel(logging.DEBUG)
        # Other handlers keep the level the user asked for.
        for other in root.handlers:
            if other is not handler and other.level == logging.NOTSET:
                other.setLevel(handler._previous_level or logging.WARNING)  # type: ignore[attr-defined]
        log.debug("debug log for run %s of %s (%s)", run_id, op.name, self.opfile.path)
        return handler

    def _secrets(self) -> tuple[str, ...]:
        held: list[str] = []
        for op in self.opfile.operations.values():
            for spec in (op.source, op.target):
                secrets = REGISTRY[spec.type].secrets
                if secrets is not None:
                    held.extend(secrets(spec))
        config = self._bridge.config if self._bridge is not None else self._config
        return (config.secrets() if config is not None else ()) + tuple(held)

    def _drop_debug_handler(self, handler: logging.FileHandler) -> None:
        root = logging.getLogger("coupa_connector")
        root.removeHandler(handler)
        root.setLevel(handler._previous_level)  # type: ignore[attr-defined]
        handler.close()


class _FatalAfterRecord(FatalBatch):
    """A fatal batch whose outcomes still have to reach the log before the run ends."""

    def __init__(self, outcomes: list[RecordOutcome], fatal: FatalBatch) -> None:
        super().__init__(fatal.error, fatal.outcomes)
        self.records = outcomes


def _source_id(record: Mapping[str, Any]) -> int | None:
    value = record.get("id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _j(value: Any) -> str:
    return debug_json(value, None)


@dataclass(slots=True)
class _RunState:
    run_id: int
    token: str
    now: datetime
    checkpoint: dict[str, Any]
    scope: str
    monitor: RunMonitor | None = None


class _Rejects:
    """The run's rejects file: input records that were rejected or failed, with their reasons.

    Written in the source's format when the source is a file (so the fixed file can be fed
    back to the same operation: a CSV keeps its columns in order), else JSON lines. Created
    on the first reject only.
    """

    def __init__(
        self,
        op: OperationSpec,
        source: Source,
        now: datetime,
        resume: Mapping[str, Any] | None,
        run_id: int,
        on_partial: Callable[[str], None] | None = None,
    ) -> None:
        self._source = source
        fmt = source.rejects_format or "jsonl"
        # A source's rejects are fed back to it: written the way it reads (CSV formulas).
        self._formulas = source.csv_formulas
        pattern = op.rejects or f"{DEFAULT_REJECTS}.{fmt}"
        self._pattern = pattern
        self._format = fmt if op.rejects is None else None
        self._now = now
        self._op = op.name
        self._run_id = run_id
        self._on_partial = on_partial
        self._writer: RejectsWriter | None = None
        self.path: str | None = None
        if resume and resume.get("partial") and not os.path.exists(resume["partial"]):
            # Committed just before the run stopped.
            self.path = resume["path"] if os.path.exists(resume["path"]) else None
        elif resume and resume.get("partial"):
            self._writer = self._open(
                resume["path"], partial=resume["partial"], resume_from=int(resume["size"])
            )
            self.path = resume["path"]

    def _open(
        self, path: str, *, partial: str | None = None, resume_from: int | None = None
    ) -> RejectsWriter:
        return RejectsWriter(
            path,
            self._format,
            partial=partial,
            resume_from=resume_from,
            keep_existing=has_placeholders(self._pattern),
            csv_formulas=self._formulas,
        )

    def add(self, outcomes: Iterable[RecordOutcome]) -> None:
        for o in outcomes:
            if o.outcome == "written" or o.record is None:
                continue
            if self._writer is None:
                self.path = os.path.abspath(
                    expand_path(
                        self._pattern, now=self._now, operation=self._op, run_id=str(self._run_id)
                    )
                )
                self._writer = self._open(self.path)
                if self._on_partial is not None:
                    self._on_partial(self._writer.partial)
            self._writer.write(o.record, o.messages, o.line)

    def checkpoint(self) -> dict[str, Any] | None:
        if self._writer is None:
            return None
        size = self._writer.checkpoint()
        return {"path": self._writer.path, "partial": self._writer.partial, "size": size}

    def commit(self) -> None:
        if self._writer is not None:
            self._writer.input_columns = self._source.columns()
            self.path = self._writer.commit()

    def detach(self) -> None:
        if self._writer is not None:
            self._writer.detach()


def sandbox_instance(url: str) -> str:
    """An instance identity for one sandbox server: its URL and a token of its own.

    A sandbox's data is new every time it starts, and a later one may get the same port, so
    its watermarks and unfinished runs must never be taken up by another.
    """
    return f"{_SINGLE_USE_INSTANCE}{url} {uuid.uuid4().hex}"


def endpoint_identity(spec: EndpointSpec, role: str, base_dir: Path) -> str:
    """Which file or table a non-Coupa endpoint reads or writes, as the run resolves it."""
    identity = REGISTRY[spec.type].identity
    if identity is None:
        raise ConfigurationError(f"a {spec.type} endpoint's identity is its Coupa instance")
    return identity(spec, role, base_dir)


def connection_config(spec: ConnectionSpec, runner: Runner | None = None) -> ConnectionConfig:
    """The ``ConnectionConfig`` an operation file's connection block describes.

    Args:
        spec: The block.
        runner: Starts the embedded sandbox for ``sandbox: true``.

    Raises:
        ConfigurationError: Missing settings or environment variables.
    """
    from coupa_connector.client import ConnectionConfig

    if spec.kind == "sandbox":
        if runner is None:
            raise ConfigurationError("the embedded sandbox needs a runner to start it")
        return runner.start_sandbox(spec.settings)
    if spec.kind == "profile":
        return ConnectionConfig.from_profile(spec.profile)
    if spec.kind == "env":
        return ConnectionConfig.from_env()
    settings = dict(spec.settings)
    for name in ("client_secret", "api_key"):
        var = settings.pop(f"{name}_env", None)
        if var is not None:
            value = os.environ.get(str(var))
            if not value:
                raise ConfigurationError(
                    f"connection: environment variable {var} ({name}) is not set"
                )
            settings[name] = value
    return ConnectionConfig(**settings)


def run_operations(
    path: str | os.PathLike[str],
    operation: str | None = None,
    *,
    variables: Mapping[str, str] | None = None,
    log_db: str | os.PathLike[str] | None = None,
    connection: ConnectionConfig | None = None,
    dry_run: bool = False,
    debug: bool = False,
    resume: bool = False,
    progress: Progress | None = None,
) -> list[RunResult]:
    """Load an operation file and run it (the library form of ``coupa run``).

    Args:
        path: The operation file.
        operation: The operation to start with; every entry operation when None.
        variables: ``${name}`` values (override the file's ``vars``).
        log_db: Operation log file; the default location when None.
        connection: Settings that override the file's connection block.
        dry_run: Transform and validate, write nothing.
        debug: Debug log for every operation.
        resume: Continue unfinished runs.
        progress: Receives progress events.

    Returns:
        One ``RunResult`` per operation run.

    Raises:
        OperationFileError: The file has problems (all listed, with lines).
        ConfigurationError: No such operation, or the connection cannot be set up.
    """
    opfile = load_operation_file(path, variables)
    with OpLog(log_db) as oplog:
        runner = Runner(
            opfile,
            oplog=oplog,
            connection=connection,
            dry_run=dry_run,
            debug=debug,
            resume=resume,
            progress=progress,
        )
        return runner.run(operation)
