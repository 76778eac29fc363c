"""Operators: a Coupa query into a file, writes and actions from a file, an operation file.

Every operator runs one operation through the operation log (see ``_steps``): a task that
fails part-way resumes on retry from its last checkpoint, with no record written twice. The
summary of the run (counts, outputs, rejects file, ``resumed``) is the task's return value,
so it lands in XCom. Nothing is read or sent when a DAG file is parsed: the connection is
looked up when the task runs.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from coupa_connector import RunResult
from coupa_connector.integrations.airflow._compat import BaseOperator
from coupa_connector.integrations.airflow._steps import (
    StepFailed,
    TaskKey,
    query_operation,
    query_source,
    run_step,
    summary,
    work_dir,
    write_operation,
)
from coupa_connector.integrations.airflow.hooks import DEFAULT_CONN_ID, CoupaHook


def task_key(context: Mapping[str, Any]) -> TaskKey:
    """The task instance an Airflow context describes."""
    ti = context["ti"]
    map_index = getattr(ti, "map_index", -1)
    return TaskKey(
        dag_id=str(ti.dag_id),
        run_id=str(ti.run_id),
        task_id=str(ti.task_id),
        map_index=-1 if map_index is None else int(map_index),
        try_number=int(ti.try_number or 1),
    )


def _interval(context: Mapping[str, Any]) -> dict[str, Any] | None:
    start, end = context.get("data_interval_start"), context.get("data_interval_end")
    return None if start is None and end is None else {"start": start, "end": end}


class _CoupaBase(BaseOperator):
    """What every Coupa operator shares: the connection, the work folder, the run."""

    def __init__(
        self,
        *,
        coupa_conn_id: str = DEFAULT_CONN_ID,
        concurrency: int | None = None,
        work_dir: str | None = None,
        log_db: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.coupa_conn_id = coupa_conn_id
        self.concurrency = concurrency
        self.work_dir = work_dir
        self.log_db = log_db

    def hook(self) -> CoupaHook:
        overrides = {} if self.concurrency is None else {"concurrency": self.concurrency}
        return CoupaHook(self.coupa_conn_id, **overrides)

    def folder(self, context: Mapping[str, Any]) -> Path:
        return task_key(context).folder(work_dir(self.work_dir))

    def run(self, operation: Mapping[str, Any], context: Mapping[str, Any]) -> RunResult:
        key = task_key(context)
        result = run_step(
            self.hook().get_config(), operation, key, work=self.work_dir, log_db=self.log_db
        )
        self.log.info(
            "%s: %s, %s%s",
            key.task_id,
            result.status,
            result.counts.as_dict(),
            " (resumed from the last try's checkpoint)" if result.resumed else "",
        )
        return result


class CoupaQueryOperator(_CoupaBase):
    """Query one Coupa object into a file or an object-store path; returns the counts.

    Args:
        object: The Coupa object (``invoices``...).
        output_path: A local path, or an object-store URL (``s3://...``, ``gs://...``,
            ``file://...``) written through Airflow's ``ObjectStoragePath`` once complete.
            The format comes from the extension (csv, jsonl, json, xml) or ``format``.
        where: Conditions as ``coupa query --where`` takes them (``status=approved``...).
        fields: Dotted fields to return.
        window: ``{"start": ..., "end": ...}`` (mapped tasks: ``.expand(window=...)``),
            ``"data_interval"`` for the DAG run's data interval, or None for no window.
        window_field: The field the window applies to.
        mark_exported: Mark every record written as exported in Coupa.
        format: The file format when the extension does not say.
        coupa_conn_id, concurrency, work_dir, log_db: See ``CoupaHook`` and ``_steps``.
    """

    template_fields: Sequence[str] = ("object", "output_path", "where", "fields", "window")
    ui_color = "#c5e3f6"

    def __init__(
        self,
        *,
        object: str,
        output_path: str,
        where: str | Sequence[str] | None = None,
        fields: Sequence[str] | None = None,
        window: Mapping[str, Any] | Sequence[Any] | str | None = None,
        window_field: str = "updated-at",
        mark_exported: bool = False,
        format: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.object = object
        self.output_path = output_path
        self.where = where
        self.fields = fields
        self.window = window
        self.window_field = window_field
        self.mark_exported = mark_exported
        self.format = format

    def execute(self, context: Any) -> dict[str, Any]:
        window = _interval(context) if self.window == "data_interval" else self.window
        remote = "://" in str(self.output_path)
        local = (
            self.folder(context) / Path(str(self.output_path).split("://", 1)[1]).name
            if remote
            else Path(str(self.output_path))
        )
        assert not isinstance(window, str)
        operation = query_operation(
            self.object,
            local,
            where=self.where,
            fields=self.fields,
            window=window,
            window_field=self.window_field,
            mark_exported=self.mark_exported,
            fmt=self.format,
        )
        result = self.run(operation, context)
        out = summary(result)
        if remote:
            _upload(local, str(self.output_path))
            out["outputs"] = [str(self.output_path)]
        return out


def _upload(local: Path, url: str) -> None:
    """Copy a finished file to an object store, through Airflow's ObjectStoragePath."""
    try:
        from airflow.sdk import ObjectStoragePath
    except ImportError:  # Airflow 2
        from airflow.io.path import ObjectStoragePath  # type: ignore[no-redef]
    target = ObjectStoragePath(url)
    with local.open("rb") as src, target.open("wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)


class CoupaWriteOperator(_CoupaBase):
    """Create, update or upsert Coupa records from a file; rejected ones go to ``rejects``.

    Args:
        object: The Coupa object.
        mode: ``create``, ``update`` or ``upsert``.
        input: The file (csv, jsonl, json, xml; dotted CSV columns build nested records).
        key: Natural key field(s) for update and upsert (``number``, ``login``...).
        rejects: Where rejected and failed records go, with their reasons.
        format: The input format when the extension does not say.
        fail_on_rejects: Fail the task when any record was rejected or failed.
    """

    template_fields: Sequence[str] = ("object", "input", "key", "rejects")
    ui_color = "#f6e3c5"

    def __init__(
        self,
        *,
        object: str,
        mode: str,
        input: str,
        key: str | Sequence[str] | None = None,
        rejects: str | None = None,
        format: str | None = None,
        fail_on_rejects: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.object = object
        self.mode = mode
        self.input = input
        self.key = key
        self.rejects = rejects
        self.format = format
        self.fail_on_rejects = fail_on_rejects

    def execute(self, context: Any) -> dict[str, Any]:
        operation = write_operation(
            self.object, self.mode, self.input, key=self.key, fmt=self.format, rejects=self.rejects
        )
        result = self.run(operation, context)
        if self.fail_on_rejects and result.status == "partial":
            raise StepFailed(
                f"{result.counts.rejected} rejected and {result.counts.failed} failed; "
                f"see {result.rejects_file}"
            )
        return summary(result)


class CoupaActionOperator(_CoupaBase):
    """Run a Coupa action (``submit``, ``mark_exported``, ``void``...) on records.

    Args:
        object: The Coupa object.
        action: The action's name.
        ids: Record ids, or None to act on what ``where`` finds.
        where: Conditions selecting the records (with ``ids`` None).
    """

    template_fields: Sequence[str] = ("object", "action", "ids", "where")

    def __init__(
        self,
        *,
        object: str,
        action: str,
        ids: Sequence[int] | None = None,
        where: str | Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.object = object
        self.action = action
        self.ids = ids
        self.where = where

    def execute(self, context: Any) -> dict[str, Any]:
        target = {"type": "coupa.action", "object": self.object, "action": self.action}
        if self.ids is not None:
            # The ids become the source file of the operation, so a retry resumes by position.
            ids_file = self.folder(context) / "ids.jsonl"
            ids_file.parent.mkdir(parents=True, exist_ok=True)
            ids_file.write_text(
                "".join(json.dumps({"id": int(i)}) + "\n" for i in self.ids), encoding="utf-8"
            )
            source: dict[str, Any] = {"type": "file", "path": str(ids_file)}
        else:
            source = query_source(self.object, self.where, ["id"])
        return summary(self.run({"source": source, "target": target}, context))


class CoupaRunOperationOperator(_CoupaBase):
    """Run an operation file (``coupa run``) and push its run summary to XCom.

    A retry runs it with ``resume``: the file's last run continues where it stopped. One
    file runs in one task at a time (its runs are told apart by the file's path).

    Args:
        path: The operation file.
        operation: The operation to start with; every entry operation when None.
        variables: ``${name}`` values (``{"out": "/data/erp"}``).
        connection_from_airflow: True runs against the Airflow connection; False keeps the
            file's own ``connection:`` block.
    """

    template_fields: Sequence[str] = ("path", "operation", "variables")

    def __init__(
        self,
        *,
        path: str,
        operation: str | None = None,
        variables: Mapping[str, str] | None = None,
        connection_from_airflow: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.path = path
        self.operation = operation
        self.variables = variables
        self.connection_from_airflow = connection_from_airflow

    def execute(self, context: Any) -> dict[str, Any]:
        from coupa_connector import run_operations

        key = task_key(context)
        results = run_operations(
            self.path,
            self.operation,
            variables=dict(self.variables or {}),
            log_db=self.log_db or work_dir(self.work_dir) / "oplog.sqlite",
            connection=self.hook().get_config() if self.connection_from_airflow else None,
            resume=key.try_number > 1,
        )
        runs = [summary(r) for r in results]
        failed = [r for r in results if r.status == "failed"]
        if failed:
            raise StepFailed("; ".join(f"{r.operation} failed: {r.error}" for r in failed))
        return {"runs": runs}
