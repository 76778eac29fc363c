"""A run killed part-way (SIGKILL to a real ``coupa run`` process) and resumed with
``--resume`` ends exactly as an uninterrupted run does: nothing duplicated, nothing skipped."""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from _operations_support import config_for, query
from coupa_connector.operations import OpLog, run_operations
from coupa_connector.sandbox import Sandbox

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def kill_sandbox() -> Iterator[Sandbox]:
    with Sandbox() as server:
        yield server


def env_for(sandbox: Sandbox) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUPA_")}
    env.update(
        COUPA_URL=sandbox.url,
        COUPA_CLIENT_ID=sandbox.client_id,
        COUPA_CLIENT_SECRET=sandbox.client_secret,
        COUPA_RATE_LIMIT="off",
        # One request at a time, so the sandbox's latency paces the run and the kill lands
        # in the middle of it.
        COUPA_CONCURRENCY="1",
    )
    return env


INVOICES = """
    connection: {env: true}
    operations:
      export:
        batch_size: 10
        source:
          type: coupa.query
          object: invoices
          where: status=approved
          mark_exported: true
        transform:
          mapping:
            id: id
            number: invoice-number
            supplier: supplier.name
            amount: format_number(gross-total, `2`)
        target: TARGET
        rejects: "${out}/rejects.jsonl"
"""

SUPPLIERS = """
    connection: {env: true}
    operations:
      export:
        batch_size: 5
        source: {type: file, path: suppliers.csv}
        transform:
          mapping:
            number: number
            name: name
            status: "'active'"
        target: {type: coupa.create, object: suppliers}
        rejects: "${out}/rejects.jsonl"
"""


def sql_rows(out: Path, db_url: str) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(out / "erp.sqlite")
    try:
        return sorted(con.execute("SELECT id, number, supplier, amount FROM invoices"))
    finally:
        con.close()


def postgres_rows(out: Path, db_url: str) -> list[tuple[Any, ...]]:
    from _postgres import SqlDatabase

    rows = SqlDatabase("postgresql", db_url).rows(
        "SELECT id, number, supplier, amount FROM invoices"
    )
    return sorted(rows)


def csv_rows(out: Path) -> list[tuple[Any, ...]]:
    with open(out / "invoices.csv", newline="") as fh:
        return sorted(tuple(r.values()) for r in csv.DictReader(fh))


def exported_ids(sandbox: Sandbox) -> list[int]:
    return sorted(r["id"] for r in query(sandbox, "invoices", where="exported=true"))


def suppliers_made(sandbox: Sandbox) -> list[tuple[Any, ...]]:
    found = query(sandbox, "suppliers", where="number^=KILL-")
    return sorted((s["number"], s["name"], s["status"]) for s in found)


SCENARIOS: dict[str, tuple[str, str, Callable[[Path, str], list[tuple[Any, ...]]]]] = {
    "coupa-to-sql": (
        INVOICES,
        '{type: sql, url: "sqlite:///${out}/erp.sqlite", table: invoices}',
        sql_rows,
    ),
    # The same on a real PostgreSQL server: ${db} is a fresh database for each run.
    "coupa-to-postgresql": (INVOICES, '{type: sql, url: "${db}", table: invoices}', postgres_rows),
    "coupa-to-csv": (
        INVOICES,
        '{type: file, path: "${out}/invoices.csv"}',
        lambda out, db: csv_rows(out),
    ),
    "csv-to-coupa-create": (SUPPLIERS, "", lambda out, db: []),
}


def database_for(request: pytest.FixtureRequest, target: str) -> str:
    """A fresh PostgreSQL database's URL when the target names ``${db}``, else unused."""
    if "${db}" not in target:
        return "unused"
    server = request.getfixturevalue("postgres_server")
    return str(server.url(server.database()))


# The killed run is paced by the sandbox so that, whenever the test sees its first records
# logged, much of the run is still ahead. A query reads a page of 50 at a time and writes
# them to SQL or a file in a few milliseconds, so each page's request is slowed (and there
# are several pages of approved invoices); a create sends a request per record, so every
# request is slowed a little.
SEED_SIZE = 600
PACING = [{"latency_ms": 25}, {"latency_ms": 600, "methods": ["GET"]}]


def wait_for_progress(
    log_db: Path, minimum: int, proc: subprocess.Popen[bytes], operation: str | None = None
) -> int:
    deadline = time.monotonic() + 60
    where = "WHERE operation = ? " if operation else ""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the run ended before it could be killed: {proc.returncode}")
        if log_db.exists():
            con = sqlite3.connect(f"file:{log_db}?mode=ro", uri=True, timeout=5)
            try:
                row = con.execute(
                    f"SELECT read FROM runs {where}ORDER BY id DESC LIMIT 1",
                    (operation,) if operation else (),
                ).fetchone()
            except sqlite3.OperationalError:
                row = None
            finally:
                con.close()
            if row and row[0] >= minimum:
                return int(row[0])
        time.sleep(0.005)
    raise AssertionError("no progress within 60 s")


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_killed_and_resumed_run_equals_uninterrupted_run(
    kill_sandbox: Sandbox, tmp_path: Path, scenario: str, request: pytest.FixtureRequest
) -> None:
    text, target, rows_of = SCENARIOS[scenario]
    ref_db, db = database_for(request, target), database_for(request, target)
    ops = tmp_path / "ops.yaml"
    ops.write_text(textwrap.dedent(text).replace("TARGET", target).lstrip())
    (tmp_path / "suppliers.csv").write_text(
        "number,name\n" + "".join(f"KILL-{i:03d},Supplier {i:03d}\n" for i in range(40))
    )
    sb = kill_sandbox

    # The reference: one uninterrupted run on fresh data.
    sb.clear_faults()
    sb.reset(seed_size=SEED_SIZE)
    ref_out = tmp_path / "ref"
    [reference] = run_operations(
        ops,
        variables={"out": str(ref_out), "db": ref_db},
        log_db=tmp_path / "ref.sqlite",
        connection=config_for(sb),
    )
    assert reference.status == "success", reference.as_dict()
    assert reference.counts.read >= 30
    ref_rows, ref_exported = rows_of(ref_out, ref_db), exported_ids(sb)
    ref_suppliers = suppliers_made(sb)

    # The same run on the same fresh data, killed part-way, then resumed.
    sb.reset(seed_size=SEED_SIZE)
    sb.set_faults(rules=PACING)
    out = tmp_path / "out"
    log_db = tmp_path / "oplog.sqlite"
    cmd = [sys.executable, "-m", "coupa_connector", "run", str(ops), "--log-db", str(log_db)]
    cmd += ["--var", f"out={out}", "--var", f"db={db}", "--format", "json"]
    proc = subprocess.Popen(cmd, env=env_for(sb), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        seen = wait_for_progress(log_db, 10, proc)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    with OpLog(log_db) as log:
        [killed] = log.runs()
    assert killed["status"] == "interrupted"
    assert seen <= killed["read"] < reference.counts.read  # killed part-way
    sb.clear_faults()
    resumed = subprocess.run(
        [*cmd, "--resume"], env=env_for(sb), capture_output=True, text=True, timeout=120
    )
    assert resumed.returncode == 0, resumed.stderr
    with OpLog(log_db) as log:
        [run] = log.runs()  # the same run, continued: not a second one
        assert run["id"] == killed["id"] and run["resumes"] == 1
        assert run["status"] == "success"
        assert (run["read"], run["written"], run["rejected"], run["failed"]) == (
            reference.counts.read,
            reference.counts.written,
            0,
            0,
        )
    assert rows_of(out, db) == ref_rows
    assert exported_ids(sb) == ref_exported
    assert suppliers_made(sb) == ref_suppliers
    if out.exists():
        assert [p.name for p in out.rglob("*") if p.suffix in (".part", ".render")] == []


# --------------------------------------------------------------------------- finished operations

KILL_AT = Path(__file__).parent / "_kill_at.py"

CHAIN = """
    connection: {env: true}
    operations:
      load:
        batch_size: 50
        source: {type: file, path: rows.csv}
        target: {type: sql, url: "sqlite:///${out}/erp.sqlite", table: rows}
        on_success: export
      export:
        batch_size: 10
        source: {type: coupa.query, object: invoices, where: status=approved, mark_exported: true}
        transform: {mapping: {id: id, number: invoice-number}}
        target: {type: file, path: "${out}/invoices.csv"}
"""


def killed_run(
    cmd: list[str], sandbox: Sandbox, *, kill_at: dict[str, Any] | None, log_db: Path
) -> None:
    """Run ``cmd`` until it is SIGKILLed: by itself at ``kill_at``, else from outside once
    the ``export`` operation has recorded 10 records."""
    env = env_for(sandbox)
    if kill_at is not None:
        env["KILL_AT"] = json.dumps(kill_at)
        cmd = [sys.executable, str(KILL_AT), *cmd[3:]]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        if kill_at is None:
            wait_for_progress(log_db, 10, proc, operation="export")
            proc.send_signal(signal.SIGKILL)
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == -signal.SIGKILL, err


def resume_json(cmd: list[str], sandbox: Sandbox) -> tuple[list[dict[str, Any]], str]:
    done = subprocess.run(
        [*cmd, "--resume"], env=env_for(sandbox), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), done.stderr


def table_rows(out: Path) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(out / "erp.sqlite")
    try:
        return sorted(con.execute("SELECT n, name FROM rows"))
    finally:
        con.close()


def prepared(tmp_path: Path, sandbox: Sandbox, text: str) -> tuple[list[str], Path, Path]:
    """The operation file written, the sandbox's data fresh: ``coupa run``'s command line,
    the output folder and the operation log."""
    ops = tmp_path / "ops.yaml"
    ops.write_text(textwrap.dedent(text).lstrip())
    sandbox.clear_faults()
    sandbox.reset()
    out, log_db = tmp_path / "out", tmp_path / "oplog.sqlite"
    cmd = [sys.executable, "-m", "coupa_connector", "run", str(ops), "--log-db", str(log_db)]
    return [*cmd, "--var", f"out={out}", "--format", "json"], out, log_db


CHAIN_KILLS: dict[str, dict[str, Any] | None] = {
    "during-export": None,
    "after-sql-commit": {"at": "commit", "target": "sql"},
    "after-load-finished": {"at": "finished", "op": "load"},
    "after-export-finished": {"at": "finished", "op": "export"},
}


@pytest.mark.parametrize("point", list(CHAIN_KILLS))
def test_resume_continues_the_chain_and_writes_nothing_twice(
    kill_sandbox: Sandbox, tmp_path: Path, point: str
) -> None:
    sb = kill_sandbox
    cmd, out, log_db = prepared(tmp_path, sb, CHAIN)
    rows = sorted((str(i), f"row {i}") for i in range(300))
    (tmp_path / "rows.csv").write_text("n,name\n" + "".join(f"{n},{name}\n" for n, name in rows))
    before = set(exported_ids(sb))
    approved = sorted(
        r["id"] for r in query(sb, "invoices", where=["status=approved", "exported=false"])
    )
    assert len(approved) >= 30
    sb.set_faults(latency_ms=25)  # paces the export's marks, so a kill lands inside it

    killed_run(cmd, sb, kill_at=CHAIN_KILLS[point], log_db=log_db)
    sb.clear_faults()
    results, stderr = resume_json(cmd, sb)

    if point == "after-export-finished":
        assert [(r["operation"], r["skipped"]) for r in results] == [
            ("load", True),
            ("export", True),
        ]
        assert "nothing to do" in stderr
    else:
        assert results[0]["operation"] == "load" and results[0]["status"] == "success"
        assert results[0]["skipped"] == (point != "after-sql-commit")
        assert results[1]["operation"] == "export" and results[1]["status"] == "success"
        assert not results[1]["skipped"]
        # Once everything finished, a further resume has nothing to do.
        again, stderr = resume_json(cmd, sb)
        assert all(r["skipped"] for r in again) and "nothing to do" in stderr
    assert table_rows(out) == rows  # each row once
    assert sorted(int(r[0]) for r in csv_rows(out)) == approved  # each invoice once
    assert sorted(set(exported_ids(sb)) - before) == approved
    with OpLog(log_db) as log:
        runs = {r["operation"]: r for r in log.runs()}
        assert len(log.runs()) == 2  # one run per operation, continued, never a second
        load = log.run(runs["load"]["id"])
    assert load is not None and load["status"] == "success" and load["written"] == 300
    assert any("did not run it again" in n["note"] for n in load["notes"])
    assert [p.name for p in out.rglob("*") if p.suffix in (".part", ".render")] == []


CREATE_KILLS = {
    "after-last-batch": {"at": "batch", "op": "export", "read": 40},
    "after-finished": {"at": "finished", "op": "export"},
}


@pytest.mark.parametrize("point", list(CREATE_KILLS))
def test_resume_after_the_last_create_sends_no_create_again(
    kill_sandbox: Sandbox, tmp_path: Path, point: str
) -> None:
    sb = kill_sandbox
    cmd, _out, log_db = prepared(tmp_path, sb, SUPPLIERS)
    (tmp_path / "suppliers.csv").write_text(
        "number,name\n" + "".join(f"KILL-{i:03d},Supplier {i:03d}\n" for i in range(40))
    )

    killed_run(cmd, sb, kill_at=CREATE_KILLS[point], log_db=log_db)
    made = suppliers_made(sb)
    assert len(made) == 40
    sb.reset_stats()
    results, stderr = resume_json(cmd, sb)
    if point == "after-finished":
        [result] = results
        assert result["skipped"] and result["status"] == "success"
        assert "nothing to do" in stderr
    else:
        [result] = results
        assert result["resumed"] and result["status"] == "success"
        assert (result["written"], result["failed"]) == (40, 0)
        again, stderr = resume_json(cmd, sb)
        assert again[0]["skipped"] and "nothing to do" in stderr
    writes = [
        route
        for route in sb.stats()["by_route"]
        if route.startswith(("POST /api/suppliers", "PUT /api/suppliers"))
    ]
    assert writes == []
    assert suppliers_made(sb) == made


def test_resume_marks_exported_a_batch_the_target_held_but_the_log_missed(
    kill_sandbox: Sandbox, tmp_path: Path
) -> None:
    """Killed right after the SQL target committed a batch, before the operation log heard
    of it: the resume takes the batch from the target's own record and still marks its
    invoices exported in Coupa, as an uninterrupted run does."""
    sb = kill_sandbox
    sql = '{type: sql, url: "sqlite:///${out}/erp.sqlite", table: invoices}'
    cmd, out, log_db = prepared(tmp_path, sb, INVOICES.replace("TARGET", sql))
    before = set(exported_ids(sb))
    approved = sorted(
        r["id"] for r in query(sb, "invoices", where=["status=approved", "exported=false"])
    )
    assert len(approved) >= 30

    killed_run(cmd, sb, kill_at={"at": "write", "target": "sql", "batch": 2}, log_db=log_db)
    assert len(sql_rows(out, "")) == 20  # two batches in the table
    with OpLog(log_db) as log:
        [killed] = log.runs()
    assert killed["read"] == 10  # the log heard of the first only

    [result], _stderr = resume_json(cmd, sb)
    assert result["status"] == "success"
    assert (result["read"], result["written"], result["failed"]) == (len(approved),) * 2 + (0,)
    assert sorted(int(r[0]) for r in sql_rows(out, "")) == approved  # each invoice once
    assert sorted(set(exported_ids(sb)) - before) == approved  # and each one marked
