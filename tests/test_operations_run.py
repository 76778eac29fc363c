"""Running operations end to end against a real sandbox over HTTP on 127.0.0.1.

These tests own a sandbox of their own (they mark records exported and create suppliers,
which other areas' tests must not see) and reset it where they need pristine data.
"""

from __future__ import annotations

import csv
import json
import math
import re
import sqlite3
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _operations_support import config_for, query
from coupa_connector import Connection
from coupa_connector.client import ConnectionConfig, SecretStr
from coupa_connector.operations import (
    OpLog,
    load_operation_file,
    read_records,
    run_operations,
)
from coupa_connector.operations import Runner as OpRunner
from coupa_connector.sandbox import Sandbox

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="module")
def ops_sandbox() -> Iterator[Sandbox]:
    with Sandbox() as server:
        yield server


@pytest.fixture
def sb(ops_sandbox: Sandbox) -> Sandbox:
    ops_sandbox.clear_faults()
    ops_sandbox.reset()
    return ops_sandbox


def _next_second() -> None:
    now = time.time()
    time.sleep(math.ceil(now) - now + 0.01)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def run_example(sandbox: Sandbox, tmp_path: Path, name: str, **kw: Any) -> list[Any]:
    return run_operations(
        EXAMPLES / name,
        variables={"out": str(tmp_path / "out"), **kw.pop("variables", {})},
        log_db=tmp_path / "oplog.sqlite",
        connection=config_for(sandbox),
        **kw,
    )


# --------------------------------------------------------------------------- examples


def test_invoices_to_erp_exports_and_marks_exactly_the_unexported_approved(
    sb: Sandbox, tmp_path: Path
) -> None:
    before = query(sb, "invoices", where="status=approved", fields=["id", "exported"])
    wanted = {r["id"] for r in before if not r["exported"]}
    assert wanted, "the seed has approved, unexported invoices"
    [result] = run_example(sb, tmp_path, "invoices-to-erp.yaml")
    assert result.status == "success"
    assert result.counts.read == result.counts.written == len(wanted)
    assert result.exported == len(wanted)
    [output] = result.outputs
    with open(output, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {int(r["coupa_id"]) for r in rows} == wanted
    full = {r["id"]: r for r in query(sb, "invoices", where="status=approved")}
    for row in rows:
        invoice = full[int(row["coupa_id"])]
        assert invoice["exported"] is True
        assert row["invoice_number"] == invoice["invoice-number"]
        assert row["supplier_name"] == invoice["supplier"]["name"]
        assert row["invoice_date"] == invoice["invoice-date"][:10]
        assert row["lines[0].description"] == invoice["invoice-lines"][0]["description"]
    # The next run finds nothing new, and writes an empty file.
    [again] = run_example(sb, tmp_path, "invoices-to-erp.yaml")
    assert again.status == "success" and again.counts.read == 0


def test_suppliers_in_creates_good_rows_and_rejects_bad_ones(sb: Sandbox, tmp_path: Path) -> None:
    [result] = run_example(sb, tmp_path, "suppliers-in.yaml")
    assert result.status == "partial"
    assert (result.counts.read, result.counts.written, result.counts.rejected) == (7, 4, 3)
    created = {s["number"]: s for s in query(sb, "suppliers", where="number^=ERP-")}
    assert set(created) == {"ERP-10001", "ERP-10002", "ERP-10006", "ERP-10007"}
    assert created["ERP-10001"]["name"] == "Northwind Office Supply"
    assert created["ERP-10007"]["status"] == "inactive"
    assert created["ERP-10006"]["payment-term"]["code"] == "Net 30"  # the default
    assert result.rejects_file is not None
    with open(result.rejects_file, newline="") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == [
            "number",
            "name",
            "status",
            "po_method",
            "email",
            "payment_terms",
            "tax_id",
            "_errors",
        ]
        rejects = {r["number"]: r["_errors"] for r in reader}
    assert set(rejects) == {"ERP-10003", "ERP-10004", "ERP-10005"}
    assert "name" in rejects["ERP-10003"]
    assert "status" in rejects["ERP-10004"] and "enabled" in rejects["ERP-10004"]
    assert "po-method" in rejects["ERP-10005"] and "fax" in rejects["ERP-10005"]
    # Fix the rejects file and feed it back: everything goes in, nothing twice.
    fixed = tmp_path / "fixed.csv"
    with open(result.rejects_file, newline="") as src, open(fixed, "w", newline="") as dst:
        rows = list(csv.DictReader(src))
        rows[0]["name"] = "Nameless Partners"
        rows[1]["status"] = "active"
        rows[2]["po_method"] = "email"
        writer = csv.DictWriter(dst, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    [again] = run_example(sb, tmp_path, "suppliers-in.yaml", variables={"input": str(fixed)})
    assert (again.status, again.counts.written, again.counts.rejected) == ("success", 3, 0)
    numbers = [s["number"] for s in query(sb, "suppliers", where="number^=ERP-")]
    assert sorted(numbers) == [f"ERP-1000{i}" for i in range(1, 8)]


def test_purchase_orders_incremental_into_sqlite(sb: Sandbox, tmp_path: Path) -> None:
    [tried] = run_example(sb, tmp_path, "purchase-orders-to-erp.yaml", dry_run=True)
    assert tried.status == "success" and tried.counts.read > 0
    # The dry run moved no watermark: the real run reads the same records.
    [first] = run_example(sb, tmp_path, "purchase-orders-to-erp.yaml")
    assert first.status == "success" and first.counts.read == tried.counts.read
    pos = query(sb, "purchase_orders", fields=["id", "po-number", "status"])
    db = sqlite3.connect(tmp_path / "out" / "erp.sqlite")
    rows = db.execute("SELECT po_number, coupa_id, status FROM erp_purchase_orders").fetchall()
    assert sorted(rows) == sorted((p["po-number"], p["id"], p["status"]) for p in pos)
    # Nothing changed: the next run reads nothing.
    [second] = run_example(sb, tmp_path, "purchase-orders-to-erp.yaml")
    assert second.counts.read == 0
    # One PO changes in Coupa: only it comes through, and its row is updated in place.
    # Coupa's timestamps have whole seconds, and a run's window ends at the second it
    # starts in; step past those seconds so the change falls inside the next window.
    # A cancelled or closed PO takes no more changes: pick an open one.
    changed = next(p for p in pos if p["status"] not in ("cancelled", "closed"))
    _next_second()
    with Connection(config_for(sb)) as conn:
        conn.request(
            "PUT",
            f"/api/purchase_orders/{changed['id']}",
            body={"custom-fields": {"note": "changed"}},
        )
    _next_second()
    [third] = run_example(sb, tmp_path, "purchase-orders-to-erp.yaml")
    assert third.counts.read == 1 and third.counts.written == 1
    count = db.execute("SELECT count(*) FROM erp_purchase_orders").fetchone()[0]
    assert count == len(pos)


def test_a_sandbox_run_does_not_move_the_watermark_of_another_instance(
    sb: Sandbox, tmp_path: Path
) -> None:
    ops = load_operation_file(
        EXAMPLES / "purchase-orders-to-erp.yaml", {"out": str(tmp_path / "out")}
    )
    with OpLog(tmp_path / "oplog.sqlite") as log:
        [tried] = OpRunner(ops, oplog=log, sandbox=True).run()
        [again] = OpRunner(ops, oplog=log, sandbox=True).run()
    assert tried.status == again.status == "success"
    # Each embedded sandbox is an instance of its own, with its own data.
    assert again.counts.read == tried.counts.read > 0
    [real] = run_example(sb, tmp_path, "purchase-orders-to-erp.yaml")
    assert real.counts.read == len(query(sb, "purchase_orders", fields=["id"])) > 0
    [next_run] = run_example(sb, tmp_path, "purchase-orders-to-erp.yaml")
    assert next_run.counts.read == 0


def test_receipts_out_writes_jsonl_and_marks_exported(sb: Sandbox, tmp_path: Path) -> None:
    before = query(sb, "receiving_transactions", where="type=InventoryReceipt")
    wanted = {r["id"]: r for r in before if not r["exported"]}
    [result] = run_example(sb, tmp_path, "receipts-out.yaml")
    assert result.status == "success" and result.exported == len(wanted)
    records = list(read_records(result.outputs[0]))
    assert {r["receipt_id"] for r in records} == set(wanted)
    for r in records:
        source = wanted[r["receipt_id"]]
        assert r["po_line_id"] == source["order-line"]["id"]
        assert r["amount"] == source["total"]
    after = query(sb, "receiving_transactions", where="exported=false")
    assert not after


def test_users_and_exchange_rates_in(sb: Sandbox, tmp_path: Path) -> None:
    [users] = run_example(sb, tmp_path, "users-in.yaml")
    assert users.status == "success", users.as_dict()
    created = {u["login"]: u for u in query(sb, "users", where="login$=.hr")}
    assert set(created) == {"jdoe.hr", "asmith.hr", "bwayne.hr"}
    assert created["jdoe.hr"]["email"] == "john.doe@example.com"
    assert created["bwayne.hr"]["active"] is False
    assert created["jdoe.hr"]["purchasing-user"] is True
    [again] = run_example(sb, tmp_path, "users-in.yaml")  # upsert: updates, no duplicates
    assert again.status == "success"
    assert len(query(sb, "users", where="login$=.hr")) == 3
    [rates] = run_example(sb, tmp_path, "exchange-rates-in.yaml")
    assert rates.status == "success", rates.as_dict()
    found = query(sb, "exchange_rates", where=["rate-date>=2026-01-02", "rate-date<2026-01-03"])
    got = {(r["from-currency"]["code"], r["to-currency"]["code"]): r["rate"] for r in found}
    assert got[("EUR", "USD")].startswith("1.0841")
    assert got[("USD", "JPY")].startswith("149.25")


# --------------------------------------------------------------------------- runner


CHAIN = """
    operations:
      load:
        source: {type: file, path: rows.csv}
        transform:
          mapping:
            number: number
            amount: "if(amount == 'x', fail('amount must be a number'), to_decimal(amount))"
        target: {type: sql, url: "sqlite:///${out}/db.sqlite", table: staging, mode: insert}
        rejects: "${out}/rejects/{operation}-{timestamp}.csv"
        on_success: dump
        on_failure: report
      dump:
        source: {type: sql, url: "sqlite:///${out}/db.sqlite", query: "select * from staging"}
        target: {type: file, path: "${out}/dump.jsonl"}
      report:
        source: {type: file, path: rows.csv}
        target: {type: file, path: "${out}/report.json"}
"""


def test_chains_run_on_success_and_on_failure(tmp_path: Path) -> None:
    ops = write(tmp_path, "chain.yaml", CHAIN)
    rows = tmp_path / "rows.csv"
    rows.write_text("number,amount\nA,1\nB,2\n")
    out = tmp_path / "good"
    results = run_operations(ops, variables={"out": str(out)}, log_db=tmp_path / "log.sqlite")
    assert [(r.operation, r.status) for r in results] == [("load", "success"), ("dump", "success")]
    assert list(read_records(out / "dump.jsonl")) == [
        {"number": "A", "amount": "1"},
        {"number": "B", "amount": "2"},
    ]
    rows.write_text("number,amount\nA,1\nB,x\n")
    out = tmp_path / "bad"
    results = run_operations(ops, variables={"out": str(out)}, log_db=tmp_path / "log.sqlite")
    assert [(r.operation, r.status) for r in results] == [
        ("load", "partial"),
        ("report", "success"),
    ]
    load = results[0]
    assert (load.counts.read, load.counts.written, load.counts.rejected) == (2, 1, 1)
    assert load.rejects_file and load.rejects_file.endswith(".csv")
    assert list(read_records(load.rejects_file)) == [
        {"number": "B", "amount": "x", "_errors": "amount: amount must be a number"}
    ]
    with OpLog(tmp_path / "log.sqlite") as log:
        run = log.run(load.run_id)
    assert run is not None
    assert run["failures"] == [
        {
            "position": 2,  # the second record, on the CSV's third line
            "line": 3,
            "outcome": "rejected",
            "messages": ["amount: amount must be a number"],
            "record": {"number": "B", "amount": "x"},
            "at": run["failures"][0]["at"],
        }
    ]


def test_a_dry_run_ends_and_chains_as_its_real_run_would(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from coupa_connector.cli._main import cli

    ops = write(tmp_path, "chain.yaml", CHAIN)
    rows = tmp_path / "rows.csv"
    out = tmp_path / "out"
    args = ["run", str(ops), "--var", f"out={out}", "--log-db", str(tmp_path / "log.db")]
    for text, counts in (
        ("number,amount\nA,1\nB,x\n", [2, 1, 1]),
        ("number,amount\nB,x\n", [1, 0, 1]),
    ):
        rows.write_text(text)
        result = CliRunner().invoke(cli, [*args, "--dry-run", "--format", "json"])
        assert result.exit_code == 1, result.output
        load, report = json.loads(result.stdout)
        assert (load["operation"], load["status"], load["dry_run"]) == ("load", "partial", True)
        assert [load["read"], load["written"], load["rejected"]] == counts
        assert (report["operation"], report["status"]) == ("report", "success")
        # Still nothing written: no table, no report (only the rejects to fix).
        assert not (out / "db.sqlite").exists() and not (out / "report.json").exists()
        with OpLog(tmp_path / "log.db") as log:
            logged = log.run(load["run_id"])
        assert logged is not None and (logged["status"], logged["dry_run"]) == ("partial", True)
    table = CliRunner().invoke(cli, [*args, "--dry-run"])
    assert table.exit_code == 1 and "partial (dry run)" in table.output


REFUSED = """
operations:
  load:
    source: {type: file, path: rows.csv}
    target: {type: sql, url: "sqlite:////proc/nope.db", table: v2}
    on_failure: report
  report:
    source: {type: file, path: rows.csv}
    target: {type: file, path: "${out}/report.jsonl"}
"""


def test_a_database_that_refuses_the_target_fails_the_run_and_follows_on_failure(
    tmp_path: Path,
) -> None:
    from click.testing import CliRunner

    from coupa_connector.cli._main import cli

    ops = write(tmp_path, "refused.yaml", REFUSED)
    (tmp_path / "rows.csv").write_text("number\nA\n")
    log_db = tmp_path / "log.sqlite"
    args = ["run", str(ops), "--var", f"out={tmp_path}", "--log-db", str(log_db)]
    result = CliRunner().invoke(cli, [*args, "--format", "json"])
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    load, report = json.loads(result.stdout)
    assert (load["operation"], load["status"]) == ("load", "failed")
    assert load["error"].startswith("cannot open sql target sqlite:////proc/nope.db#v2: ")
    assert (report["operation"], report["status"]) == ("report", "success")
    with OpLog(log_db) as log:
        assert log.run(load["run_id"])["status"] == "failed"  # type: ignore[index]


def test_an_unexpected_error_fails_the_run_in_the_log_and_follows_on_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from coupa_connector.operations.endpoints import sql as _sql

    def broken(self: Any, batch: Any, batch_no: int) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(_sql.SqlTarget, "write", broken)
    ops = write(tmp_path, "chain.yaml", CHAIN)
    (tmp_path / "rows.csv").write_text("number,amount\nA,1\n")
    results = run_operations(ops, variables={"out": str(tmp_path)}, log_db=tmp_path / "log.db")
    assert [(r.operation, r.status) for r in results] == [("load", "failed"), ("report", "success")]
    assert results[0].error == "unexpected error: RuntimeError: a bug"
    with OpLog(tmp_path / "log.db") as log:
        run = log.run(results[0].run_id)
    assert run is not None and (run["status"], run["error"]) == ("failed", results[0].error)


def test_sql_insert_failures_fail_only_the_bad_rows(tmp_path: Path) -> None:
    db = tmp_path / "erp.sqlite"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE staging (number TEXT PRIMARY KEY, amount TEXT NOT NULL)")
    con.execute("INSERT INTO staging VALUES ('A', '0')")
    con.commit()
    (tmp_path / "rows.csv").write_text("number,amount,extra\nA,1,\nB,2,\nC,3,oops\nD,4,\n")
    ops = write(
        tmp_path,
        "ops.yaml",
        f"""
        operations:
          load:
            source: {{type: file, path: rows.csv}}
            target: {{type: sql, url: "sqlite:///{db}", table: staging}}
            rejects: {tmp_path}/rejects.csv
        """,
    )
    [result] = run_operations(ops, log_db=tmp_path / "log.sqlite")
    assert (result.counts.written, result.counts.rejected, result.counts.failed) == (2, 1, 1)
    rows = con.execute("SELECT number, amount FROM staging ORDER BY number").fetchall()
    assert rows == [("A", "0"), ("B", "2"), ("D", "4")]
    rejects = {r["number"]: r["_errors"] for r in read_records(result.rejects_file or "")}
    assert "UNIQUE constraint failed" in rejects["A"]
    assert "has no column(s) extra" in rejects["C"]


def test_sql_infinities_and_nan_reject_their_record_naming_the_column(tmp_path: Path) -> None:
    db = tmp_path / "erp.sqlite"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE v (number TEXT, total REAL, rate REAL)")
    con.executemany(
        "INSERT INTO v VALUES (?, ?, ?)",
        [("A", 1.5, 2.0), ("B", math.inf, 2.0), ("C", -math.inf, math.inf)],
    )
    con.commit()
    ops = write(
        tmp_path,
        "ops.yaml",
        f"""
        operations:
          dump:
            source: {{type: sql, url: "sqlite:///{db}", query: "select * from v order by number"}}
            target: {{type: file, path: "{tmp_path}/out.jsonl"}}
            rejects: {tmp_path}/rejects.jsonl
        """,
    )
    [result] = run_operations(ops, log_db=tmp_path / "log.sqlite")
    counts = result.counts
    assert (counts.read, counts.written, counts.rejected, counts.failed) == (3, 1, 2, 0)
    assert list(read_records(tmp_path / "out.jsonl")) == [
        {"number": "A", "total": 1.5, "rate": 2.0}
    ]
    rejects = {r["number"]: r for r in read_records(tmp_path / "rejects.jsonl")}
    assert rejects["B"]["total"] == "Infinity"
    assert rejects["B"]["_errors"] == [
        "record: total is Infinity: not a finite number, which JSON and Coupa cannot hold"
    ]
    assert rejects["C"]["_errors"][0].startswith("record: total is -Infinity, rate is Infinity: ")


def test_sql_nan_is_named_as_such() -> None:
    from coupa_connector.operations.endpoints.sql import _non_finite

    record: dict[str, Any] = {"n": "A", "x": math.nan, "y": 1.0}
    assert _non_finite(record) == (
        "x is NaN: not a finite number, which JSON and Coupa cannot hold"
    )
    assert record == {"n": "A", "x": "NaN", "y": 1.0}


def test_sql_date_and_datetime_columns_take_iso_text(tmp_path: Path) -> None:
    db = tmp_path / "erp.sqlite"
    (tmp_path / "rows.csv").write_text(
        "number,due,seen\n"
        "A,2026-01-31,2026-01-31T10:00:00+02:00\n"
        "B,2026-02-01T23:30:00-08:00,2026-02-01\n"
        "C,31/01/2026,2026-01-31T10:00:00Z\n"
        "D,2026-01-31,yesterday\n"
    )
    ops = write(
        tmp_path,
        "ops.yaml",
        f"""
        operations:
          load:
            source: {{type: file, path: rows.csv}}
            target:
              type: sql
              url: "sqlite:///{db}"
              table: staging
              columns: {{number: text, due: date, seen: datetime}}
            rejects: {tmp_path}/rejects.csv
        """,
    )
    [result] = run_operations(ops, log_db=tmp_path / "log.sqlite")
    assert (result.counts.written, result.counts.rejected, result.counts.failed) == (2, 2, 0)
    rows = sqlite3.connect(db).execute("SELECT * FROM staging ORDER BY number").fetchall()
    assert rows == [
        ("A", "2026-01-31", "2026-01-31 08:00:00.000000"),  # the moment, in UTC
        ("B", "2026-02-01", "2026-02-01 00:00:00.000000"),  # the date as written
    ]
    rejects = {r["number"]: r["_errors"] for r in read_records(result.rejects_file or "")}
    assert rejects == {
        "C": "due: '31/01/2026' is not an ISO 8601 date or datetime (column due is a date)",
        "D": "seen: 'yesterday' is not an ISO 8601 date or datetime (column seen is a datetime)",
    }
    # A second run finds the table (its columns reflected) and converts the same way.
    (tmp_path / "rows.csv").write_text("number,due,seen\nE,2026-03-01,2026-03-01T00:00:00Z\n")
    [again] = run_operations(ops, log_db=tmp_path / "log.sqlite")
    assert again.status == "success"


SAME_FILE = """
operations:
  first:
    source: {type: file, path: a.csv}
    target: {type: file, path: "${out}/${name}"}
    on_success: second
  second:
    source: {type: file, path: b.csv}
    target: {type: file, path: "${out}/${name}"}
"""


def test_a_chain_never_silently_replaces_a_file_it_wrote(tmp_path: Path) -> None:
    ops = write(tmp_path, "same.yaml", SAME_FILE)
    (tmp_path / "a.csv").write_text("n\nA\n")
    (tmp_path / "b.csv").write_text("n\nB\n")
    out = tmp_path / "out"
    log_db = tmp_path / "log.sqlite"
    # A name per run ({timestamp} here has the same value for both): the second file gets a
    # name of its own.
    per_run = {"out": str(out), "name": "ts-{timestamp:%Y}.csv"}
    first, second = run_operations(ops, variables=per_run, log_db=log_db)
    assert first.status == second.status == "success"
    assert first.outputs != second.outputs
    assert second.outputs[0].endswith("-1.csv")
    assert [list(read_records(first.outputs[0])), list(read_records(second.outputs[0]))] == [
        [{"n": "A"}],
        [{"n": "B"}],
    ]
    # A fixed name: the chain's second operation fails before writing anything.
    fixed = {"out": str(out), "name": "fixed.csv"}
    first, second = run_operations(ops, variables=fixed, log_db=log_db)
    assert (first.status, second.status) == ("success", "failed")
    assert second.error and "was written by operation first earlier in this run" in second.error
    assert list(read_records(out / "fixed.csv")) == [{"n": "A"}]
    # Another invocation replaces a fixed-name file, as its name says.
    again = run_operations(ops, "second", variables=fixed, log_db=log_db)
    assert again[0].status == "success"
    assert list(read_records(out / "fixed.csv")) == [{"n": "B"}]


def test_dry_run_writes_and_marks_nothing(sb: Sandbox, tmp_path: Path) -> None:
    [invoices] = run_example(sb, tmp_path, "invoices-to-erp.yaml", dry_run=True)
    assert invoices.status == "success" and invoices.dry_run and invoices.counts.read > 0
    assert invoices.outputs == [] and not (tmp_path / "out").exists()
    assert all(not r["exported"] for r in query(sb, "invoices", where="exported=false"))
    unexported = query(sb, "invoices", where=["status=approved", "exported=false"])
    assert len(unexported) == invoices.counts.read
    # An upsert's dry run validates each record as an update (whether it would be created
    # is only known by asking Coupa), so the row without a name passes here.
    [suppliers] = run_example(sb, tmp_path, "suppliers-in.yaml", dry_run=True)
    assert (suppliers.counts.written, suppliers.counts.rejected) == (5, 2)
    assert suppliers.status == "partial"
    assert query(sb, "suppliers", where="number^=ERP-") == []
    rejected = {r["number"] for r in read_records(suppliers.rejects_file or "")}
    assert rejected == {"ERP-10004", "ERP-10005"}


def test_debug_log_has_requests_and_failed_records_but_no_secret(
    sb: Sandbox, tmp_path: Path
) -> None:
    config = config_for(sb)
    opfile = load_operation_file(EXAMPLES / "suppliers-in.yaml", {"out": str(tmp_path / "out")})
    with OpLog(tmp_path / "oplog.sqlite") as log:
        [result] = OpRunner(
            opfile, oplog=log, connection=config, debug=True, debug_dir=tmp_path / "debug"
        ).run()
    assert result.debug_log is not None
    text = Path(result.debug_log).read_text()
    assert "/oauth2/token" in text
    assert "/api/suppliers" in text
    assert "PUT" in text or "POST" in text
    # The transformation's input and output for a failed record.
    assert "ERP-10004" in text and '"status":"enabled"' in text
    assert sb.client_secret not in text
    # Access tokens are base64 JSON ("eyJ..."); none may reach the log, nor a bearer header.
    assert "eyJ" not in text
    assert re.search(r"(?i)bearer\s+(?!\*)", text) is None
    # Query pages and the records sent are in the log, capped.
    assert "sends record" in text
    # Coupa's requests and responses with their (capped) bodies.
    assert "request body:" in text and "response body:" in text


def test_operation_errors_end_the_run_and_are_logged(sb: Sandbox, tmp_path: Path) -> None:
    bad = ConnectionConfig(
        url=sb.url, client_id=sb.client_id, client_secret=SecretStr("wrong-secret"), rate_limit=None
    )
    results = run_operations(
        EXAMPLES / "invoices-to-erp.yaml",
        variables={"out": str(tmp_path / "out")},
        log_db=tmp_path / "oplog.sqlite",
        connection=bad,
    )
    [result] = results
    assert result.status == "failed"
    assert result.error and "401" in result.error
    assert "wrong-secret" not in result.error
    with OpLog(tmp_path / "oplog.sqlite") as log:
        [run] = log.runs()
    assert run["status"] == "failed" and run["error"] == result.error


def test_a_run_stopped_while_finishing_is_finished_by_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from coupa_connector.operations import RecordWriter

    (tmp_path / "in.csv").write_text("n,v\n" + "".join(f"{i},{i * 2}\n" for i in range(25)))
    ops = write(
        tmp_path,
        "ops.yaml",
        """
        operations:
          copy:
            batch_size: 10
            source: {type: file, path: in.csv}
            transform: {mapping: {n: to_integer(n), v: "if(v == '8', fail('no eights'), v)"}}
            target: {type: file, path: "${out}/copy-{timestamp}.jsonl"}
            rejects: "${out}/rejects.csv"
        """,
    )
    variables = {"out": str(tmp_path / "out")}
    original = RecordWriter.commit

    def commit_then_die(self: RecordWriter) -> str:
        path = original(self)
        if self.path.endswith(".jsonl"):
            raise KeyboardInterrupt  # the output landed; the log never heard of it
        return path

    monkeypatch.setattr(RecordWriter, "commit", commit_then_die)
    with pytest.raises(KeyboardInterrupt):
        run_operations(ops, variables=variables, log_db=tmp_path / "log.sqlite")
    monkeypatch.setattr(RecordWriter, "commit", original)
    [result] = run_operations(ops, variables=variables, log_db=tmp_path / "log.sqlite", resume=True)
    assert result.resumed and result.status == "partial"
    assert (result.counts.written, result.counts.rejected) == (24, 1)
    [output] = result.outputs
    assert [r["n"] for r in read_records(output)] == [i for i in range(25) if i != 4]
    assert list(read_records(tmp_path / "out" / "rejects.csv")) == [
        {"n": "4", "v": "8", "_errors": "v: no eights"}
    ]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        Path(output).name,
        "rejects.csv",
    ]


def test_action_target_and_coupa_lookups(sb: Sandbox, tmp_path: Path) -> None:
    drafts = query(sb, "invoices", where="status=draft", fields=["id"], limit=3)
    assert len(drafts) == 3
    (tmp_path / "ids.csv").write_text("invoice\n" + "".join(f"{d['id']}\n" for d in drafts))
    ops = write(
        tmp_path,
        "ops.yaml",
        """
        connection: {env: true}
        operations:
          submit:
            source: {type: file, path: ids.csv}
            transform: {mapping: {id: to_integer(invoice)}}
            target: {type: coupa.action, object: invoices, action: submit}
            on_success: export
          export:
            source: {type: coupa.query, object: invoices, where: "id in ${ids}"}
            transform:
              mapping:
                id: id
                status: status
                supplier_number: "lookup_coupa('suppliers', 'id', supplier.id, 'number')"
            target: {type: file, path: "${out}/submitted.xml"}
        """,
    )
    ids = ",".join(str(d["id"]) for d in drafts)
    results = run_operations(
        ops,
        variables={"out": str(tmp_path), "ids": ids},
        log_db=tmp_path / "log.sqlite",
        connection=config_for(sb),
    )
    assert [(r.operation, r.status, r.counts.written) for r in results] == [
        ("submit", "success", 3),
        ("export", "success", 3),
    ]
    text = (tmp_path / "submitted.xml").read_text()
    assert '<invoice-headers type="array">' in text and "<invoice-header>" in text
    exported = {r["id"]: r for r in read_records(tmp_path / "submitted.xml")}
    after = {r["id"]: r for r in query(sb, "invoices", where=f"id in {ids}")}
    assert set(exported) == set(after)
    for rid, rec in exported.items():
        assert after[rid]["status"] != "draft"
        assert rec["status"] == after[rid]["status"]
        assert rec["supplier_number"] == after[rid]["supplier"]["number"]


def test_debug_log_masks_the_connection_secrets_wherever_they_appear(tmp_path: Path) -> None:
    secret = "s3cret-value-that-must-not-leak"
    password = "db-pass-that-must-not-leak"  # of a SQL url, given by ${pw}
    (tmp_path / "in.csv").write_text(f"name,amount\nleak,{secret}\n{password},x\nok,1\n")
    ops = write(
        tmp_path,
        "ops.yaml",
        """
        operations:
          load:
            debug: true
            source: {type: file, path: in.csv}
            transform: {mapping: {name: name, amount: to_decimal(amount)}}
            target: {type: file, path: "${out}/out.jsonl"}
            rejects: "${out}/rejects.jsonl"
          erp:
            source: {type: sql, url: "postgresql://erp:${pw}@db/erp", query: "select 1"}
            target: {type: file, path: "${out}/erp.jsonl"}
        """,
    )
    config = ConnectionConfig(
        url="https://acme.coupahost.com", client_id="abc", client_secret=SecretStr(secret)
    )
    opfile = load_operation_file(ops, {"out": str(tmp_path), "pw": password})
    with OpLog(tmp_path / "log.sqlite") as log:
        runner = OpRunner(opfile, oplog=log, connection=config, debug_dir=tmp_path)
        [result] = runner.run("load")
    assert result.counts.rejected == 2 and result.debug_log is not None
    text = Path(result.debug_log).read_text()
    assert "load record 0 rejected" in text and "load record 1 rejected" in text
    assert secret not in text and password not in text and "**********" in text


def test_embedded_sandbox_connection_from_the_file_and_the_command_line(tmp_path: Path) -> None:

    from click.testing import CliRunner

    from coupa_connector.cli._main import cli

    ops = write(
        tmp_path,
        "ops.yaml",
        """
        connection:
          sandbox: {seed_size: 10}
        operations:
          suppliers-out:
            source: {type: coupa.query, object: suppliers, fields: [id, number, name]}
            target: {type: file, path: "${out}/suppliers.json"}
        """,
    )
    runner = CliRunner()
    args = [
        "--log-db",
        str(tmp_path / "log.sqlite"),
        "--var",
        f"out={tmp_path}",
        "--format",
        "json",
    ]
    result = runner.invoke(cli, ["run", str(ops), *args])
    assert result.exit_code == 0, result.output
    [summary] = json.loads(result.output)
    records = list(read_records(tmp_path / "suppliers.json"))
    assert summary["written"] == len(records) > 0
    assert all(set(r) <= {"id", "number", "name"} for r in records)
    users = runner.invoke(cli, ["run", str(EXAMPLES / "users-in.yaml"), "--sandbox", *args])
    assert users.exit_code == 0, users.output
    assert json.loads(users.output)[0]["written"] == 3
