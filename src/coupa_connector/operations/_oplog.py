"""The operation log: every run, its counts and end, each failed record, and checkpoints.

One SQLite file (``<user data dir>/coupa-connector/oplog.sqlite`` unless told otherwise).
Each batch's outcomes, counts and checkpoint are written in one transaction, so after a kill
the log says exactly which input records were done; that is what ``--resume`` reads.

Runs and incremental state carry a *scope*: the Coupa instance and the endpoints a run
reads and writes. A watermark or an unfinished run belongs to its scope only, so a run
against the sandbox never moves where a run against a real instance starts. Logs written
before scopes existed still open: their runs and state rows have no scope, and no scoped
run uses them.

An *invocation* is one ``coupa run`` of a file: the operations it set out to run and, through
``runs.invocation``, the run of each operation it reached. ``--resume`` continues the last
invocation of a file: what finished in it is not run again.

Records kept for people to read (the failures table) have their secret fields masked
(``RecordMask``); ``partial_files`` names every temporary file a run creates, before a record
is written into it, so files no resume can use are found and removed.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import platformdirs

from coupa_connector.operations._masking import RecordMask

__all__ = ["Counts", "OpLog", "RecordOutcome", "default_log_path", "scope_instance"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    operation TEXT NOT NULL,
    file TEXT NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    status TEXT NOT NULL,
    read INTEGER NOT NULL DEFAULT 0,
    written INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    duration REAL,
    error TEXT,
    dry_run INTEGER NOT NULL DEFAULT 0,
    resumes INTEGER NOT NULL DEFAULT 0,
    pid INTEGER,
    outputs TEXT,
    debug_log TEXT,
    rejects_file TEXT,
    checkpoint TEXT,
    inflight TEXT,
    scope TEXT,
    invocation INTEGER
);
CREATE INDEX IF NOT EXISTS runs_by_operation ON runs (file, operation, id);
CREATE TABLE IF NOT EXISTS run_records (
    run_id INTEGER NOT NULL REFERENCES runs (id),
    key TEXT NOT NULL,
    position INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    coupa_id INTEGER,
    exported INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, key)
);
CREATE TABLE IF NOT EXISTS failures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs (id),
    position INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    messages TEXT NOT NULL,
    record TEXT,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS failures_by_run ON failures (run_id, position);
CREATE TABLE IF NOT EXISTS invocations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    file TEXT NOT NULL,
    operations TEXT NOT NULL,
    started_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS invocations_by_file ON invocations (file, id);
CREATE TABLE IF NOT EXISTS run_notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs (id),
    at TEXT NOT NULL,
    note TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS run_notes_by_run ON run_notes (run_id, id);
CREATE TABLE IF NOT EXISTS partial_files (
    run_id INTEGER NOT NULL REFERENCES runs (id),
    path TEXT NOT NULL,
    PRIMARY KEY (run_id, path)
);
CREATE TABLE IF NOT EXISTS batches (
    run_id INTEGER NOT NULL REFERENCES runs (id),
    at TEXT NOT NULL,
    written INTEGER NOT NULL,
    rejected INTEGER NOT NULL,
    failed INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS batches_by_run ON batches (run_id, at);
CREATE TABLE IF NOT EXISTS scoped_state (
    scope TEXT NOT NULL,
    file TEXT NOT NULL,
    operation TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (scope, file, operation, name)
);
"""

# Columns added after the first release: a log written by an older version gets them on open
# (with NULL in its old rows).
_ADDED_RUN_COLUMNS = {
    "scope": "TEXT",
    "invocation": "INTEGER",
    "chained_from": "INTEGER",
    "details": "TEXT",
}
_ADDED_FAILURE_COLUMNS = {"transformed": "TEXT", "line": "INTEGER"}

# interrupted: stopped by Ctrl-C (or a kill, told by a dead pid); resumable like failed.
_FINAL = ("success", "partial", "failed", "interrupted")


def default_log_path() -> Path:
    """``<user data dir>/coupa-connector/oplog.sqlite`` (``COUPA_OPLOG`` overrides)."""
    env = os.environ.get("COUPA_OPLOG")
    if env:
        return Path(env)
    return Path(platformdirs.user_data_dir("coupa-connector")) / "oplog.sqlite"


def scope_instance(scope: str | None) -> str | None:
    """The Coupa instance (its URL) a run's scope names (``coupa=URL ...``), or None."""
    for part in (scope or "").split():
        if part.startswith("coupa="):
            return part.removeprefix("coupa=").rstrip("/")
    return None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(slots=True)
class Counts:
    """Records read, written, rejected and failed; ``read`` always equals the other three."""

    written: int = 0
    rejected: int = 0
    failed: int = 0

    @property
    def read(self) -> int:
        return self.written + self.rejected + self.failed

    def add(self, other: Counts) -> None:
        self.written += other.written
        self.rejected += other.rejected
        self.failed += other.failed

    def as_dict(self) -> dict[str, int]:
        return {
            "read": self.read,
            "written": self.written,
            "rejected": self.rejected,
            "failed": self.failed,
        }


@dataclass(slots=True)
class RecordOutcome:
    """How one input record ended, for the log.

    Attributes:
        key: Its identity for resume (Coupa id or position).
        position: 0-based position in the source.
        outcome: ``written``, ``rejected`` or ``failed``.
        coupa_id: The Coupa id involved, when there is one.
        messages: Why it was rejected or failed.
        record: The input record, kept for rejected and failed records.
        transformed: What the transformation made of it, kept beside ``record``.
        line: The source line it started at (CSV, JSON lines), when known: kept in the log
            and in the rejects file.
    """

    key: str
    position: int
    outcome: str
    coupa_id: int | None = None
    messages: Sequence[str] = ()
    record: Mapping[str, Any] | None = field(default=None, repr=False)
    transformed: Mapping[str, Any] | None = field(default=None, repr=False)
    line: int | None = None


def _add_counts(db: sqlite3.Connection, run_id: int, counts: Counts, at: str) -> None:
    db.execute(
        "UPDATE runs SET written = written + ?, rejected = rejected + ?, "
        "failed = failed + ?, read = read + ? WHERE id = ?",
        (counts.written, counts.rejected, counts.failed, counts.read, run_id),
    )
    if counts.read:
        # The run's timeline and its records/s: one row per batch that moved records.
        db.execute(
            "INSERT INTO batches (run_id, at, written, rejected, failed) VALUES (?, ?, ?, ?, ?)",
            (run_id, at, counts.written, counts.rejected, counts.failed),
        )


def _shown_position(stored: int) -> int | None:
    """A failure's position as people count (the first record is 1, as in a write's results
    file); stored 0-based, and -1 (not tied to one record) shows as None."""
    return stored + 1 if stored >= 0 else None


def _json(value: Any) -> str:
    return orjson.dumps(value, default=str).decode()


class OpLog:
    """The operation log database.

    Args:
        path: SQLite file; ``default_log_path()`` when None. Its folder is created.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_log_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        for table, added in (("runs", _ADDED_RUN_COLUMNS), ("failures", _ADDED_FAILURE_COLUMNS)):
            have = {r["name"] for r in self._db.execute(f"PRAGMA table_info({table})")}
            for name, kind in added.items():
                if name not in have:
                    self._db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
        # After the columns, which a log of an earlier version gets only now.
        self._db.execute(
            "CREATE INDEX IF NOT EXISTS runs_by_invocation ON runs (invocation, operation)"
        )

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def __enter__(self) -> OpLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # ----------------------------------------------------------------- runs

    def start_run(
        self,
        operation: str,
        file: str,
        *,
        dry_run: bool = False,
        scope: str = "",
        invocation: int | None = None,
    ) -> int:
        """Record a new run as ``running``; returns its id.

        Args:
            operation: The operation's name.
            file: The operation file.
            dry_run: Whether the run writes nothing.
            scope: The Coupa instance and endpoints the run works on (see the module doc).
            invocation: The ``coupa run`` it belongs to (``start_invocation``).
        """
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO runs (operation, file, started_at, status, dry_run, pid, scope, "
                "invocation) VALUES (?, ?, ?, 'running', ?, ?, ?, ?)",
                (operation, file, _now(), int(dry_run), os.getpid(), scope, invocation),
            )
            assert cur.lastrowid is not None
            return cur.lastrowid

    # ----------------------------------------------------------------- invocations

    def start_invocation(self, file: str, operations: Sequence[str]) -> int:
        """Record a new ``coupa run`` of ``file`` that starts with ``operations``."""
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO invocations (file, operations, started_at) VALUES (?, ?, ?)",
                (file, _json(list(operations)), _now()),
            )
            assert cur.lastrowid is not None
            return cur.lastrowid

    def last_invocation(self, file: str) -> int | None:
        """The id of the last ``coupa run`` of ``file``, or None."""
        row = self._db.execute(
            "SELECT id FROM invocations WHERE file = ? ORDER BY id DESC LIMIT 1", (file,)
        ).fetchone()
        return int(row["id"]) if row else None

    def invocation_run(
        self, invocation: int, operation: str, scope: str = ""
    ) -> dict[str, Any] | None:
        """The run of ``operation`` in an invocation, in this scope (the last one), or None."""
        row = self._db.execute(
            "SELECT * FROM runs WHERE invocation = ? AND operation = ? AND scope = ? "
            "AND dry_run = 0 ORDER BY id DESC LIMIT 1",
            (invocation, operation, scope),
        ).fetchone()
        return self._present(row) if row is not None else None

    def resumable_run(self, operation: str, file: str, scope: str = "") -> dict[str, Any] | None:
        """The last run of this operation in this scope if it did not finish.

        A run did not finish when it was killed or ended by an error.
        """
        row = self._db.execute(
            "SELECT * FROM runs WHERE operation = ? AND file = ? AND scope = ? AND dry_run = 0 "
            "ORDER BY id DESC LIMIT 1",
            (operation, file, scope),
        ).fetchone()
        if row is None:
            return None
        run = self._present(row)
        return run if run["status"] in ("interrupted", "failed") else None

    def reopen_run(self, run_id: int) -> None:
        """Mark an unfinished run as running again, in this process."""
        with self._tx() as db:
            db.execute(
                "UPDATE runs SET status = 'running', ended_at = NULL, error = NULL, pid = ?, "
                "resumes = resumes + 1 WHERE id = ?",
                (os.getpid(), run_id),
            )

    def counts(self, run_id: int) -> Counts:
        """The counts recorded so far for a run."""
        row = self._db.execute(
            "SELECT written, rejected, failed FROM runs WHERE id = ?", (run_id,)
        ).fetchone()
        return Counts(row["written"], row["rejected"], row["failed"]) if row else Counts()

    def set_info(self, run_id: int, **info: Any) -> None:
        """Store where a run's outputs, debug log and rejects file are, and what chained it."""
        allowed = {"outputs", "debug_log", "rejects_file", "chained_from"}
        for name, value in info.items():
            if name not in allowed:
                raise ValueError(f"unknown run attribute {name!r}")
            stored = _json(value) if name == "outputs" else value
            self._db.execute(f"UPDATE runs SET {name} = ? WHERE id = ?", (stored, run_id))

    def set_detail(self, run_id: int, name: str, value: Mapping[str, Any]) -> None:
        """Keep what a part of a run did beyond its records, as ``details[name]`` of the run:
        ``monitoring`` (its integration run in Coupa), ``attachments`` (a bulk download's
        manifest and counts). A later call for the same name replaces the value."""
        with self._tx() as db:
            row = db.execute("SELECT details FROM runs WHERE id = ?", (run_id,)).fetchone()
            details = json.loads(row["details"]) if row and row["details"] else {}
            details[name] = dict(value)
            db.execute("UPDATE runs SET details = ? WHERE id = ?", (_json(details), run_id))

    def finish_run(self, run_id: int, status: str, *, error: str | None = None) -> None:
        """Record how a run ended and its duration."""
        if status not in _FINAL:
            raise ValueError(f"unknown final status {status!r}")
        row = self._db.execute("SELECT started_at FROM runs WHERE id = ?", (run_id,)).fetchone()
        started = datetime.fromisoformat(row["started_at"].replace("Z", "+00:00"))
        duration = (datetime.now(UTC) - started).total_seconds()
        with self._tx() as db:
            db.execute(
                "UPDATE runs SET status = ?, ended_at = ?, duration = ?, error = ? WHERE id = ?",
                (status, _now(), round(duration, 3), error, run_id),
            )
            if status not in ("failed", "interrupted"):
                # Per-record outcomes only serve a resume; a finished run keeps its counts and
                # its failures, and the log stays small however many records ran through it.
                db.execute("DELETE FROM run_records WHERE run_id = ?", (run_id,))

    def add_note(self, run_id: int, note: str) -> None:
        """Add a line to a run's history (``coupa logs RUN_ID`` shows it)."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO run_notes (run_id, at, note) VALUES (?, ?, ?)", (run_id, _now(), note)
            )

    # ----------------------------------------------------------------- temporary files

    def note_partial(self, run_id: int, path: str) -> None:
        """Note a temporary file a run created (before it writes records into it)."""
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO partial_files (run_id, path) VALUES (?, ?)", (run_id, path)
            )

    def partials(self, run_id: int) -> list[str]:
        """The temporary files noted for a run and those its checkpoint names."""
        rows = self._db.execute(
            "SELECT path FROM partial_files WHERE run_id = ? ORDER BY path", (run_id,)
        )
        paths = [r["path"] for r in rows]
        cp = self.checkpoint(run_id)
        for endpoint in ("target", "rejects"):
            part = (cp.get(endpoint) or {}).get("partial")
            if isinstance(part, str) and part != "-" and part not in paths:
                paths.append(part)
        return paths

    def forget_partials(self, run_id: int, *, superseded: bool = False) -> None:
        """Forget a run's temporary files (they are gone); a superseded run also loses its
        checkpoint, which no resume will read."""
        with self._tx() as db:
            db.execute("DELETE FROM partial_files WHERE run_id = ?", (run_id,))
            if superseded:
                db.execute("UPDATE runs SET checkpoint = NULL WHERE id = ?", (run_id,))

    def superseded_runs(self, operation: str, file: str, scope: str, current: int) -> list[int]:
        """Earlier runs of an operation in a scope that left temporary files, and that no
        process runs any more: a new run supersedes them, so no resume can use those files."""
        rows = self._db.execute(
            "SELECT id, status, pid FROM runs WHERE operation = ? AND file = ? "
            "AND scope = ? AND id < ? AND (id IN (SELECT run_id FROM partial_files) "
            # Runs of earlier versions noted no files; their checkpoints name them.
            "OR (invocation IS NULL AND status IN ('running', 'failed', 'interrupted') "
            "AND checkpoint IS NOT NULL))",
            (operation, file, scope, current),
        )
        return [int(r["id"]) for r in rows if not (r["status"] == "running" and _alive(r["pid"]))]

    # ----------------------------------------------------------------- records and checkpoints

    def record_batch(
        self,
        run_id: int,
        outcomes: Iterable[RecordOutcome],
        *,
        checkpoint: Mapping[str, Any] | None = None,
        mask: RecordMask | None = None,
    ) -> Counts:
        """Store a batch's outcomes, its failures, the new counts and the checkpoint at once.

        Failed and rejected records are stored with their secret fields masked, by ``mask``
        (the masking list's fields when None), and so are their values in the messages.

        Returns:
            The counts of this batch.
        """
        mask = mask or RecordMask()
        batch = Counts()
        at = _now()
        with self._tx() as db:
            for o in outcomes:
                setattr(batch, o.outcome, getattr(batch, o.outcome) + 1)
                db.execute(
                    "INSERT OR REPLACE INTO run_records (run_id, key, position, outcome, coupa_id) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (run_id, o.key, o.position, o.outcome, o.coupa_id),
                )
                if o.outcome != "written":
                    db.execute(
                        "INSERT INTO failures "
                        "(run_id, position, outcome, messages, record, transformed, at, line) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            run_id,
                            o.position,
                            o.outcome,
                            _json(mask.messages(o.messages, [o.record, o.transformed])),
                            None if o.record is None else _json(mask.record(o.record)),
                            None if o.transformed is None else _json(mask.record(o.transformed)),
                            at,
                            o.line,
                        ),
                    )
            _add_counts(db, run_id, batch, at)
            if checkpoint is not None:
                db.execute(
                    "UPDATE runs SET checkpoint = ?, inflight = NULL WHERE id = ?",
                    (_json(checkpoint), run_id),
                )
        return batch

    def add_counts(self, run_id: int, counts: Counts) -> None:
        """Add records moved without per-record outcomes (a query's pages) to a run's counts,
        and a point of its timeline."""
        with self._tx() as db:
            _add_counts(db, run_id, counts, _now())

    def set_inflight(self, run_id: int, keys: Iterable[str]) -> None:
        """Note the keys of a batch about to be written (cleared by ``record_batch``)."""
        self._db.execute("UPDATE runs SET inflight = ? WHERE id = ?", (_json(list(keys)), run_id))

    def inflight(self, run_id: int) -> set[str]:
        """Keys of the batch that was being written when the run stopped."""
        row = self._db.execute("SELECT inflight FROM runs WHERE id = ?", (run_id,)).fetchone()
        return set(json.loads(row["inflight"])) if row and row["inflight"] else set()

    def checkpoint(self, run_id: int) -> dict[str, Any]:
        """The last checkpoint stored for a run (empty when none)."""
        row = self._db.execute("SELECT checkpoint FROM runs WHERE id = ?", (run_id,)).fetchone()
        return json.loads(row["checkpoint"]) if row and row["checkpoint"] else {}

    def done_keys(self, run_id: int) -> set[str]:
        """Keys of every input record the run has finished with (any outcome)."""
        rows = self._db.execute("SELECT key FROM run_records WHERE run_id = ?", (run_id,))
        return {r["key"] for r in rows}

    def written_ids(self, run_id: int) -> list[int]:
        """The Coupa ids of the run's written records (what it delivered)."""
        rows = self._db.execute(
            "SELECT coupa_id FROM run_records WHERE run_id = ? AND outcome = 'written' "
            "AND coupa_id IS NOT NULL",
            (run_id,),
        )
        return [int(r["coupa_id"]) for r in rows]

    def unexported(self, run_id: int) -> list[tuple[str, int]]:
        """``(key, coupa id)`` of written records not yet marked exported in Coupa."""
        rows = self._db.execute(
            "SELECT key, coupa_id FROM run_records WHERE run_id = ? AND outcome = 'written' "
            "AND exported = 0 AND coupa_id IS NOT NULL ORDER BY position",
            (run_id,),
        )
        return [(r["key"], r["coupa_id"]) for r in rows]

    def set_exported(self, run_id: int, keys: Iterable[str]) -> None:
        """Note that these records are marked exported in Coupa."""
        with self._tx() as db:
            db.executemany(
                "UPDATE run_records SET exported = 1 WHERE run_id = ? AND key = ?",
                [(run_id, k) for k in keys],
            )

    # ----------------------------------------------------------------- incremental state

    def get_state(self, file: str, operation: str, name: str, scope: str = "") -> Any:
        """A stored value (a watermark, say) of an operation in a scope, or None."""
        row = self._db.execute(
            "SELECT value FROM scoped_state "
            "WHERE scope = ? AND file = ? AND operation = ? AND name = ?",
            (scope, file, operation, name),
        ).fetchone()
        return json.loads(row["value"]) if row else None

    def set_state(self, file: str, operation: str, name: str, value: Any, scope: str = "") -> None:
        """Store a value of an operation that the next run in the same scope reads."""
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO scoped_state (scope, file, operation, name, value) "
                "VALUES (?, ?, ?, ?, ?)",
                (scope, file, operation, name, _json(value)),
            )

    # ----------------------------------------------------------------- reading

    def runs(self, limit: int = 20, operation: str | None = None) -> list[dict[str, Any]]:
        """The latest runs, newest first."""
        if operation:
            rows = self._db.execute(
                "SELECT * FROM runs WHERE operation = ? ORDER BY id DESC LIMIT ?",
                (operation, limit),
            )
        else:
            rows = self._db.execute("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (limit,))
        return [self._present(r) for r in rows]

    def run(self, run_id: int, *, failures_limit: int | None = None) -> dict[str, Any] | None:
        """One run with its failures (each with its 1-based position, its source line when
        known, messages and the input record)."""
        row = self._db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            return None
        run = self._present(row)
        mask = RecordMask()
        sql = "SELECT * FROM failures WHERE run_id = ? ORDER BY position, id"
        params: tuple[Any, ...] = (run_id,)
        if failures_limit is not None:
            sql += " LIMIT ?"
            params = (run_id, failures_limit)
        run["failures"] = [
            {
                "position": _shown_position(f["position"]),
                "line": f["line"],
                "outcome": f["outcome"],
                "messages": json.loads(f["messages"]),
                # Masked again on the way out: a log written by an earlier version kept
                # records' secrets in clear.
                "record": mask.record(json.loads(f["record"])) if f["record"] else None,
                "at": f["at"],
            }
            for f in self._db.execute(sql, params)
        ]
        run["notes"] = [
            {"at": n["at"], "note": n["note"]}
            for n in self._db.execute(
                "SELECT at, note FROM run_notes WHERE run_id = ? ORDER BY id", (run_id,)
            )
        ]
        return run

    def find_runs(
        self,
        *,
        operation: str | None = None,
        status: str | None = None,
        since: str | None = None,
        until: str | None = None,
        text: str | None = None,
        pid: int | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of runs, newest first, and how many runs match in all.

        Args:
            operation: Only runs of this operation.
            status: Only runs with this status (``running`` and ``interrupted`` are told
                apart by whether the run's process is alive, as ``runs`` tells them).
            since: Only runs started on or after this day (``YYYY-MM-DD``, UTC).
            until: Only runs started on or before this day.
            text: Only runs whose operation, file or error contains this text.
            pid: Only runs started (or resumed) by this process.
            limit: Runs per page.
            offset: Runs to skip.
        """
        where: list[str] = []
        params: list[Any] = []
        if operation:
            where.append("operation = ?")
            params.append(operation)
        live = status in ("running", "interrupted")
        if status == "interrupted":
            # Stopped by Ctrl-C (stored so) or killed (still "running", its process gone).
            where.append("status IN ('running', 'interrupted')")
        elif status:
            where.append("status = ?")
            params.append(status)
        if since:
            where.append("started_at >= ?")
            params.append(since)
        if until:
            where.append("started_at < date(?, '+1 day')")
            params.append(until)
        if text:
            like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            where.append(
                "(operation LIKE ? ESCAPE '\\' OR file LIKE ? ESCAPE '\\' "
                "OR error LIKE ? ESCAPE '\\')"
            )
            params.extend([like, like, like])
        if pid is not None:
            where.append("pid = ?")
            params.append(pid)
        sql_where = f" WHERE {' AND '.join(where)}" if where else ""
        if live:
            # Few runs are ever unfinished; which of them still run is known only here.
            rows = self._db.execute(f"SELECT * FROM runs{sql_where} ORDER BY id DESC", params)
            matching = [r for r in map(self._present, rows) if r["status"] == status]
            return matching[offset : offset + limit], len(matching)
        total = self._db.execute(f"SELECT count(*) FROM runs{sql_where}", params).fetchone()[0]
        rows = self._db.execute(
            f"SELECT * FROM runs{sql_where} ORDER BY id DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return [self._present(r) for r in rows], int(total)

    def operation_names(self) -> list[str]:
        """Every operation name in the log, sorted."""
        rows = self._db.execute("SELECT DISTINCT operation FROM runs ORDER BY operation")
        return [r["operation"] for r in rows]

    def failures(self, run_id: int, *, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        """One page of a run's rejected and failed records, in input order.

        Each has its position (1-based), its line in a CSV or JSON lines source (None when
        not known), outcome, messages, the input record and what the
        transformation made of it (None for logs written before that was kept).
        """
        rows = self._db.execute(
            "SELECT * FROM failures WHERE run_id = ? ORDER BY position, id LIMIT ? OFFSET ?",
            (run_id, limit, offset),
        )
        # Masked again on the way out: a log written by an earlier version holds secrets in clear.
        mask = RecordMask()
        return [
            {
                "position": _shown_position(f["position"]),
                "line": f["line"],
                "outcome": f["outcome"],
                "messages": json.loads(f["messages"]),
                "record": mask.record(json.loads(f["record"])) if f["record"] else None,
                "transformed": (
                    mask.record(json.loads(f["transformed"])) if f["transformed"] else None
                ),
                "at": f["at"],
            }
            for f in rows
        ]

    def failure_count(self, run_id: int) -> int:
        """How many rejected and failed records a run has in the log."""
        row = self._db.execute("SELECT count(*) FROM failures WHERE run_id = ?", (run_id,))
        return int(row.fetchone()[0])

    def batches(self, run_id: int) -> list[dict[str, Any]]:
        """A run's batches in order: when each was stored and what it did."""
        rows = self._db.execute(
            "SELECT at, written, rejected, failed FROM batches WHERE run_id = ? ORDER BY at, rowid",
            (run_id,),
        )
        return [dict(r) for r in rows]

    def chained_runs(self, run_id: int) -> list[dict[str, Any]]:
        """The runs that a run's ``on_success`` or ``on_failure`` started."""
        rows = self._db.execute("SELECT * FROM runs WHERE chained_from = ? ORDER BY id", (run_id,))
        return [self._present(r) for r in rows]

    def integration_codes(self) -> list[str]:
        """The Coupa integrations the log's runs were monitored in (``coupa_monitoring``)."""
        rows = self._db.execute(
            "SELECT DISTINCT json_extract(details, '$.monitoring.integration') AS code FROM runs "
            "WHERE details IS NOT NULL AND code IS NOT NULL ORDER BY code"
        )
        return [str(r["code"]) for r in rows]

    def integration_instance(self, code: str) -> str | None:
        """The Coupa instance (its URL, from the scope) of the last run monitored in
        integration ``code``, or None."""
        row = self._db.execute(
            "SELECT scope FROM runs WHERE details IS NOT NULL "
            "AND json_extract(details, '$.monitoring.integration') = ? ORDER BY id DESC LIMIT 1",
            (code,),
        ).fetchone()
        return scope_instance(row["scope"]) if row else None

    def monitored_runs(self, code: str) -> dict[int, int]:
        """Coupa integration run id -> the id of the run of this log that made it."""
        rows = self._db.execute(
            "SELECT id, json_extract(details, '$.monitoring.integration_run') AS coupa_run "
            "FROM runs WHERE details IS NOT NULL "
            "AND json_extract(details, '$.monitoring.integration') = ? AND coupa_run IS NOT NULL",
            (code,),
        )
        return {int(r["coupa_run"]): int(r["id"]) for r in rows}

    def daily_totals(self, since: str | None = None) -> list[dict[str, Any]]:
        """Per operation and day (UTC): runs, records read and the mean duration.

        Args:
            since: Only days on or after this one (``YYYY-MM-DD``).
        """
        rows = self._db.execute(
            "SELECT operation, substr(started_at, 1, 10) AS day, count(*) AS runs, "
            "sum(read) AS records, avg(duration) AS duration FROM runs "
            "WHERE started_at >= ? GROUP BY operation, day ORDER BY operation, day",
            (since or "",),
        )
        return [dict(r) for r in rows]

    def _present(self, row: sqlite3.Row) -> dict[str, Any]:
        run = {k: row[k] for k in row.keys() if k not in ("checkpoint", "pid", "inflight")}  # noqa: SIM118
        run["dry_run"] = bool(run["dry_run"])
        run["outputs"] = json.loads(run["outputs"]) if run["outputs"] else []
        run["details"] = json.loads(run["details"]) if run.get("details") else {}
        if run["status"] == "running" and not _alive(row["pid"]):
            run["status"] = "interrupted"
        if run["duration"] is None and run["status"] == "running":
            started = datetime.fromisoformat(run["started_at"].replace("Z", "+00:00"))
            run["duration"] = round((datetime.now(UTC) - started).total_seconds(), 3)
        return run


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return _not_zombie(pid)


def _not_zombie(pid: int) -> bool:
    # A killed child that its parent has not reaped yet still answers kill(pid, 0).
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return True
