"""The operation log's reading side for the console: filtered pages of runs, pages of
failures with their transformed records, batches for a run's timeline, and chains."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from coupa_connector.operations import OpLog, RecordOutcome, run_operations, variable_names


def _finished(log: OpLog, operation: str, status: str, *, error: str | None = None) -> int:
    run_id = log.start_run(operation, f"/ops/{operation}.yaml")
    log.finish_run(run_id, status, error=error)
    return run_id


def test_find_runs_filters_pages_and_counts(tmp_path: Path) -> None:
    with OpLog(tmp_path / "log.sqlite") as log:
        ids = [_finished(log, "load", "success") for _ in range(7)]
        failed = _finished(log, "export", "failed", error="HTTP 401 from the token endpoint")
        partial = _finished(log, "export", "partial")
        page, total = log.find_runs(limit=3, offset=0)
        assert total == 9 and [r["id"] for r in page] == [partial, failed, ids[-1]]
        page, total = log.find_runs(limit=3, offset=6)
        assert total == 9 and [r["id"] for r in page] == ids[2::-1]
        assert log.find_runs(operation="export")[1] == 2
        assert [r["id"] for r in log.find_runs(status="failed")[0]] == [failed]
        assert [r["id"] for r in log.find_runs(text="401")[0]] == [failed]
        # LIKE's wildcards in the text are plain characters.
        assert log.find_runs(text="%")[1] == 0 and log.find_runs(text="_")[1] == 0
        assert log.find_runs(since="2000-01-01")[1] == 9
        assert log.find_runs(until="2000-01-01")[1] == 0
        assert log.operation_names() == ["export", "load"]


def test_find_runs_tells_running_from_interrupted_by_the_process(tmp_path: Path) -> None:
    with OpLog(tmp_path / "log.sqlite") as log:
        alive = log.start_run("load", "/ops.yaml")  # this process: alive
        dead = log.start_run("load", "/ops.yaml")
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    db = sqlite3.connect(tmp_path / "log.sqlite")
    db.execute("UPDATE runs SET pid = ? WHERE id = ?", (int(gone.stdout), dead))
    db.commit()
    db.close()
    with OpLog(tmp_path / "log.sqlite") as log:
        assert [r["id"] for r in log.find_runs(status="running")[0]] == [alive]
        assert [r["id"] for r in log.find_runs(status="interrupted")[0]] == [dead]
        assert [r["id"] for r in log.find_runs(pid=os.getpid())[0]] == [alive]


def test_failures_page_in_input_order_with_the_transformed_record(tmp_path: Path) -> None:
    with OpLog(tmp_path / "log.sqlite") as log:
        run_id = log.start_run("load", "/ops.yaml")
        outcomes = [
            RecordOutcome(
                str(i), i, "rejected", messages=[f"bad {i}"], record={"n": i}, transformed={"N": i}
            )
            for i in range(60)
        ]
        log.record_batch(run_id, outcomes[30:])
        log.record_batch(run_id, outcomes[:30])
        assert log.failure_count(run_id) == 60
        page = log.failures(run_id, limit=25, offset=25)
        assert [f["position"] for f in page] == list(range(26, 51))  # shown 1-based
        assert page[0]["record"] == {"n": 25} and page[0]["transformed"] == {"N": 25}
        assert page[0]["messages"] == ["bad 25"]


def test_each_batch_that_moved_records_is_on_the_timeline(tmp_path: Path) -> None:
    with OpLog(tmp_path / "log.sqlite") as log:
        run_id = log.start_run("load", "/ops.yaml")
        log.record_batch(
            run_id, [RecordOutcome("0", 0, "written"), RecordOutcome("1", 1, "written")]
        )
        log.record_batch(run_id, [RecordOutcome("2", 2, "failed", messages=["x"], record={})])
        log.record_batch(run_id, [], checkpoint={"committed": True})  # bookkeeping only
        batches = log.batches(run_id)
        assert [(b["written"], b["rejected"], b["failed"]) for b in batches] == [
            (2, 0, 0),
            (0, 0, 1),
        ]
        assert batches[0]["at"] <= batches[1]["at"]
        totals = log.daily_totals()
        assert [(t["operation"], t["runs"], t["records"]) for t in totals] == [("load", 1, 3)]


def test_an_old_log_gains_the_new_columns_and_tables(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, operation TEXT NOT NULL, "
        "file TEXT NOT NULL, started_at TEXT NOT NULL, ended_at TEXT, status TEXT NOT NULL, "
        "read INTEGER NOT NULL DEFAULT 0, written INTEGER NOT NULL DEFAULT 0, "
        "rejected INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0, duration REAL, "
        "error TEXT, dry_run INTEGER NOT NULL DEFAULT 0, resumes INTEGER NOT NULL DEFAULT 0, "
        "pid INTEGER, outputs TEXT, debug_log TEXT, rejects_file TEXT, checkpoint TEXT, "
        "inflight TEXT);"
        "CREATE TABLE failures (id INTEGER PRIMARY KEY AUTOINCREMENT, run_id INTEGER NOT NULL, "
        "position INTEGER NOT NULL, outcome TEXT NOT NULL, messages TEXT NOT NULL, record TEXT, "
        "at TEXT NOT NULL);"
        "INSERT INTO runs (operation, file, started_at, status) VALUES "
        "('load', '/o.yaml', '2024-01-01T00:00:00.000Z', 'success');"
        "INSERT INTO failures (run_id, position, outcome, messages, record, at) VALUES "
        "(1, 0, 'rejected', '[\"x\"]', '{\"a\":1}', '2024-01-01T00:00:00.000Z');"
    )
    db.close()
    with OpLog(path) as log:
        [old] = log.failures(1)
        assert old["record"] == {"a": 1} and old["transformed"] is None
        assert log.chained_runs(1) == [] and log.batches(1) == []


CHAIN = """
vars: {out: out}
operations:
  load:
    source: {type: file, path: rows.csv}
    target: {type: file, path: "${out}/load.jsonl"}
    on_success: [dump, report]
  dump:
    source: {type: file, path: rows.csv}
    target: {type: file, path: "${out}/dump.jsonl"}
  report:
    source: {type: file, path: rows.csv}
    target: {type: file, path: "${out}/report.jsonl"}
"""


def test_a_chained_run_records_the_run_that_started_it(tmp_path: Path) -> None:
    ops = tmp_path / "chain.yaml"
    ops.write_text(textwrap.dedent(CHAIN).lstrip())
    (tmp_path / "rows.csv").write_text("number\nA\n")
    results = run_operations(
        ops, variables={"out": str(tmp_path / "out")}, log_db=tmp_path / "l.db"
    )
    load, dump, report = results
    with OpLog(tmp_path / "l.db") as log:
        assert [r["id"] for r in log.chained_runs(load.run_id)] == [dump.run_id, report.run_id]
        assert log.find_runs(operation="dump")[0][0]["chained_from"] == load.run_id
        assert log.find_runs(operation="load")[0][0]["chained_from"] is None


def test_variable_names_lists_each_variable_once_in_order() -> None:
    text = "path: ${input}\nout: ${out}/x-${input}.csv\n# $notavar ${9bad}\n"
    assert variable_names(text) == ["input", "out"]
