"""What a Coupa task of Airflow does, without Airflow: one operation per task instance.

Each task instance (DAG, run, task, map index) gets an operation file of its own in the work
folder, written from the operator's arguments, and runs it with ``run_operations`` into the
work folder's operation log. A retry (try 2 and later) runs the same file with
``resume=True``, so it continues the first try's run from its last checkpoint: the records
already written are kept and skipped, a partial output file is cut back to the checkpoint,
records written but not yet marked exported are marked, and nothing is written twice (see
docs/operations.md, Resume). Only the public API of ``coupa_connector`` is used.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from coupa_connector import ConfigurationError, ConnectionConfig, CoupaError, RunResult

WORK_DIR_ENV = "COUPA_AIRFLOW_WORK_DIR"
OPERATION = "step"


class StepFailed(CoupaError):
    """An operation of a task ended with an error; the task fails and may be retried."""


@dataclass(frozen=True, slots=True)
class TaskKey:
    """Which task instance a step belongs to; ``try_number`` 2 and later resume.

    Attributes:
        dag_id: The DAG.
        run_id: The DAG run.
        task_id: The task.
        map_index: Its index in a mapped task, -1 when not mapped.
        try_number: Airflow's try number, 1 for the first.
    """

    dag_id: str
    run_id: str
    task_id: str
    map_index: int = -1
    try_number: int = 1

    def folder(self, work_dir: Path) -> Path:
        """The task instance's own folder under ``work_dir``."""
        task = self.task_id if self.map_index < 0 else f"{self.task_id}.{self.map_index}"
        return work_dir / _safe(self.dag_id) / _safe(self.run_id) / _safe(task)


def _safe(name: str) -> str:
    # Run ids carry colons and plus signs (manual__2026-01-01T00:00:00+00:00).
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "_"


def work_dir(given: str | os.PathLike[str] | None = None) -> Path:
    """The work folder: ``given``, ``$COUPA_AIRFLOW_WORK_DIR`` or ``<tmp>/coupa-airflow``.

    A retry resumes from the operation log in this folder, so when workers are several
    machines it must be storage they share.
    """
    chosen = given or os.environ.get(WORK_DIR_ENV) or Path(tempfile.gettempdir(), "coupa-airflow")
    return Path(chosen).expanduser().resolve()


def _text(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def window_conditions(window: Mapping[str, Any] | Sequence[Any] | None, field: str) -> list[str]:
    """``where`` conditions for a window: ``field >= start`` and ``field < end``.

    Args:
        window: ``{"start": ..., "end": ...}`` or ``(start, end)``; dates, datetimes or ISO
            text; either end may be None (open). None means no window.
        field: The field to window on (``updated-at``, ``created-at``...).

    Raises:
        ConfigurationError: The window is neither a mapping nor a pair.
    """
    if window is None:
        return []
    if isinstance(window, Mapping):
        unknown = set(window) - {"start", "end"}
        if unknown:
            raise ConfigurationError(
                f"window has unknown keys {sorted(unknown)}; give start and end"
            )
        start, end = window.get("start"), window.get("end")
    elif isinstance(window, Sequence) and not isinstance(window, str) and len(window) == 2:
        start, end = window
    else:
        raise ConfigurationError(f"window must be {{start, end}} or (start, end), not {window!r}")
    conditions = []
    if start is not None:
        conditions.append(f"{field}>={_text(start)}")
    if end is not None:
        conditions.append(f"{field}<{_text(end)}")
    return conditions


def monthly_windows(first: date | str, count: int) -> list[dict[str, str]]:
    """``count`` calendar months from the month of ``first``, as ``{"start", "end"}`` dates:
    the windows of a backfill, for ``.expand(window=monthly_windows("2025-01-01", 12))``."""
    day = date.fromisoformat(first) if isinstance(first, str) else first
    year, month = day.year, day.month
    out = []
    for _ in range(count):
        nxt = (year + month // 12, month % 12 + 1)
        out.append({"start": date(year, month, 1).isoformat(), "end": date(*nxt, 1).isoformat()})
        year, month = nxt
    return out


def _where(where: str | Sequence[str] | None) -> list[str]:
    if where is None:
        return []
    return [where] if isinstance(where, str) else [str(w) for w in where]


def query_source(
    obj: str, where: str | Sequence[str] | None = None, fields: Sequence[str] | None = None
) -> dict[str, Any]:
    """A ``coupa.query`` source of an operation."""
    source: dict[str, Any] = {"type": "coupa.query", "object": obj}
    if where:
        source["where"] = _where(where)
    if fields:
        source["fields"] = list(fields)
    return source


def query_operation(
    obj: str,
    output: str | os.PathLike[str],
    *,
    where: str | Sequence[str] | None = None,
    fields: Sequence[str] | None = None,
    window: Mapping[str, Any] | Sequence[Any] | None = None,
    window_field: str = "updated-at",
    mark_exported: bool = False,
    fmt: str | None = None,
) -> dict[str, Any]:
    """The operation of a query into a file (see ``CoupaQueryOperator``)."""
    conditions = _where(where) + window_conditions(window, window_field)
    source = query_source(obj, conditions, fields)
    if mark_exported:
        source["mark_exported"] = True
    target: dict[str, Any] = {"type": "file", "path": str(output)}
    if fmt:
        target["format"] = fmt
    return {"source": source, "target": target}


WRITE_MODES = ("create", "update", "upsert")


def write_operation(
    obj: str,
    mode: str,
    path: str | os.PathLike[str],
    *,
    key: str | Sequence[str] | None = None,
    fmt: str | None = None,
    rejects: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """The operation of a write from a file (see ``CoupaWriteOperator``)."""
    if mode not in WRITE_MODES:
        raise ConfigurationError(f"mode must be one of {', '.join(WRITE_MODES)}, not {mode!r}")
    source: dict[str, Any] = {"type": "file", "path": str(path)}
    if fmt:
        source["format"] = fmt
    target: dict[str, Any] = {"type": f"coupa.{mode}", "object": obj}
    if key is not None:
        target["key"] = key if isinstance(key, str) else ",".join(key)
    operation: dict[str, Any] = {"source": source, "target": target}
    if rejects is not None:
        operation["rejects"] = str(rejects)
    return operation


def run_step(
    config: ConnectionConfig,
    operation: Mapping[str, Any],
    key: TaskKey,
    *,
    work: str | os.PathLike[str] | None = None,
    log_db: str | os.PathLike[str] | None = None,
) -> RunResult:
    """Run one operation as the task instance ``key``; a retry resumes the first try's run.

    Args:
        config: The Coupa connection.
        operation: One operation as an operation file holds it (source, transform, target).
        key: The task instance.
        work: The work folder (see ``work_dir``).
        log_db: The operation log; ``<work>/oplog.sqlite`` when None.

    Returns:
        The run's result (``resumed`` when it continued an earlier try).

    Raises:
        StepFailed: The operation ended with an error (Airflow may retry the task).
        OperationFileError | ConfigurationError: The operation cannot run as given.
    """
    from coupa_connector import run_operations

    base = work_dir(work)
    folder = key.folder(base)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "operation.yaml"
    text = yaml.safe_dump(
        {"connection": {"env": True}, "operations": {OPERATION: dict(operation)}},
        sort_keys=False,
    )
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    results = run_operations(
        path,
        connection=config,
        log_db=log_db or base / "oplog.sqlite",
        resume=key.try_number > 1,
    )
    result = results[-1]
    if result.status == "failed":
        raise StepFailed(f"{OPERATION} of {key.task_id} failed: {result.error}")
    return result


def summary(result: RunResult) -> dict[str, Any]:
    """A run's result as plain data for XCom."""
    return result.as_dict()
