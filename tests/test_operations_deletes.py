"""Operations with ``detect_deletes`` against a real sandbox: tombstones into SQL and files."""

from __future__ import annotations

import json
import math
import sqlite3
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _operations_support import config_for, query
from coupa_connector import Connection
from coupa_connector.operations import run_operations
from coupa_connector.operations.opfile._yaml import OperationFileError
from coupa_connector.sandbox import Sandbox


@pytest.fixture(scope="module")
def own_sandbox() -> Iterator[Sandbox]:
    with Sandbox() as server:
        yield server


@pytest.fixture
def sb(own_sandbox: Sandbox) -> Sandbox:
    own_sandbox.clear_faults()
    own_sandbox.reset()
    return own_sandbox


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Relative output and rejects paths resolve against the working directory.
    monkeypatch.chdir(tmp_path)


def _ops(folder: Path, body: str) -> Path:
    text = "connection: {env: true}\noperations:\n  reqs:\n"
    path = folder / "ops.yaml"
    path.write_text(text + textwrap.indent(textwrap.dedent(body), "    "))
    return path


def _run(sb: Sandbox, ops: Path) -> Any:
    [result] = run_operations(ops, log_db=ops.parent / "log.sqlite", connection=config_for(sb))
    return result


def _delete(sb: Sandbox, ids: list[int]) -> None:
    with Connection(config_for(sb)) as conn:
        for rid in ids:
            conn.request("DELETE", f"/api/requisitions/{rid}")


SQL_OPERATION = """
source:
  type: coupa.query
  object: requisitions
  incremental: true
  detect_deletes: true
transform:
  mapping:
    coupa_id: id
    status: status
target:
  type: sql
  url: sqlite:///{db}
  table: reqs
  mode: upsert
  key: coupa_id
  {extra}
"""


def _rows(db: Path, what: str = "coupa_id") -> list[Any]:
    with sqlite3.connect(db) as con:
        return sorted(r[0] for r in con.execute(f"SELECT {what} FROM reqs"))


def test_37_records_deleted_between_two_runs_are_37_tombstones_a_sql_target_applies(
    sb: Sandbox, tmp_path: Path
) -> None:
    db = tmp_path / "erp.sqlite"
    ops = _ops(tmp_path, SQL_OPERATION.format(db=db, extra=""))
    first = _run(sb, ops)
    assert first.status == "success", first.as_dict()
    everything = _rows(db)
    assert everything == sorted(r["id"] for r in query(sb, "requisitions", fields=["id"]))
    gone = everything[5:42]
    _delete(sb, gone)
    second = _run(sb, ops)
    assert second.status == "success", second.as_dict()
    # Nothing changed, 37 vanished: exactly their tombstones went through.
    assert (second.counts.read, second.counts.written) == (37, 37)
    assert _rows(db) == sorted(set(everything) - set(gone))
    third = _run(sb, ops)
    assert third.status == "success" and third.counts.read == 0
    # The ids are kept beside the operation file, one set per instance and target.
    kept = list((tmp_path / ".coupa-state").iterdir())
    assert len(kept) == 1 and kept[0].suffix == ".ids"


def test_a_sql_target_can_flag_the_deleted_rows_instead(sb: Sandbox, tmp_path: Path) -> None:
    db = tmp_path / "erp.sqlite"
    extra = "deletes: flag\n  columns: {coupa_id: integer, status: text, deleted_at: text}"
    ops = _ops(tmp_path, SQL_OPERATION.format(db=db, extra=extra))
    assert _run(sb, ops).status == "success"
    everything = _rows(db)
    gone = everything[:3]
    _delete(sb, gone)
    assert _run(sb, ops).status == "success"
    with sqlite3.connect(db) as con:
        flagged = con.execute("SELECT coupa_id, deleted_at FROM reqs WHERE deleted_at IS NOT NULL")
        rows = sorted(flagged.fetchall())
    assert [r[0] for r in rows] == gone and all(r[1] for r in rows)
    assert _rows(db) == everything


def test_a_file_target_writes_the_tombstones(sb: Sandbox, tmp_path: Path) -> None:
    ops = _ops(
        tmp_path,
        """
        source: {type: coupa.query, object: requisitions, detect_deletes: {state: reqs.ids}}
        target: {type: file, path: "out/reqs-{run_id}.jsonl"}
        """,
    )
    first = _run(sb, ops)
    ids = [json.loads(line)["id"] for line in Path(first.outputs[0]).read_text().splitlines()]
    assert (tmp_path / "reqs.ids").stat().st_size < 100 + 8 * len(ids)
    _delete(sb, ids[:2])
    second = _run(sb, ops)
    lines = [json.loads(line) for line in Path(second.outputs[0]).read_text().splitlines()]
    stones = [r for r in lines if r.get("_deleted") is True]
    assert sorted(s["id"] for s in stones) == sorted(ids[:2])
    assert all(set(s) == {"id", "_deleted", "_deleted_detected_at"} for s in stones)
    # Not incremental: every record that is still there came again, and no tombstone more.
    assert len(lines) == len(ids)


def test_a_mapping_without_id_rejects_the_tombstones_saying_why(
    sb: Sandbox, tmp_path: Path
) -> None:
    db = tmp_path / "erp.sqlite"
    ops = _ops(
        tmp_path,
        f"""
        source: {{type: coupa.query, object: requisitions, detect_deletes: true}}
        transform:
          mapping: {{status: status}}
        target: {{type: sql, url: "sqlite:///{db}", table: reqs}}
        """,
    )
    assert _run(sb, ops).status == "success"
    _delete(sb, [query(sb, "requisitions", fields=["id"])[0]["id"]])
    result = _run(sb, ops)
    assert result.status == "partial" and result.counts.rejected == 1
    assert result.rejects_file is not None
    assert "map a target field from id" in Path(result.rejects_file).read_text()


@pytest.mark.parametrize(
    ("source", "target", "message"),
    [
        ("detect_deletes: true, mark_exported: true", "file, path: o.jsonl", "mark_exported"),
        ("detect_deletes: true, limit: 5", "file, path: o.jsonl", "drop the limit"),
        ("detect_deletes: sometimes", "file, path: o.jsonl", "true or {state: PATH}"),
        ("detect_deletes: true", "coupa.create, object: suppliers", "cannot apply"),
    ],
)
def test_impossible_delete_detection_is_refused_on_load(
    tmp_path: Path, source: str, target: str, message: str
) -> None:
    ops = _ops(
        tmp_path,
        f"""
        source: {{type: coupa.query, object: requisitions, {source}}}
        target: {{type: {target}}}
        """,
    )
    with pytest.raises(OperationFileError, match=message):
        run_operations(ops, log_db=tmp_path / "log.sqlite", dry_run=True)


def _next_second() -> None:
    # Coupa's timestamps have whole seconds and a run's window ends at the second it starts.
    now = time.time()
    time.sleep(math.ceil(now) - now + 0.05)


def test_an_incremental_po_run_with_show_deleted_lines_sees_the_deleted_line(
    sb: Sandbox, tmp_path: Path
) -> None:
    ops = _ops(
        tmp_path,
        """
        source:
          type: coupa.query
          object: purchase_orders
          incremental: true
          show_deleted_lines: true
        target: {type: file, path: "out/pos-{run_id}.jsonl"}
        """,
    )
    assert _run(sb, ops).status == "success"
    po = next(
        p for p in query(sb, "purchase_orders", where="status=issued") if len(p["order-lines"]) >= 2
    )
    gone = po["order-lines"][-1]["id"]
    _next_second()
    with Connection(config_for(sb)) as conn:
        body = {"order-lines": [{"id": gone, "_delete": True}]}
        conn.request("PUT", f"/api/purchase_orders/{po['id']}", body=body)
    _next_second()
    second = _run(sb, ops)
    [record] = [json.loads(line) for line in Path(second.outputs[0]).read_text().splitlines()]
    assert record["id"] == po["id"]
    # The replica learns of the deleted line: it comes with the changed PO.
    assert gone in [line["id"] for line in record["order-lines"]]
    [now] = query(sb, "purchase_orders", where=f"id={po['id']}")
    assert gone not in [line["id"] for line in now["order-lines"]]
