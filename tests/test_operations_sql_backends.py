"""SQL targets and sources on every backend: SQLite, and a real PostgreSQL server.

Each test runs twice through the ``sql_db`` fixture (``tests/conftest.py``): insert, upsert
(with and without a unique key on the table), the column types ERP staging tables use
(numeric, timestamptz, date, boolean, text), one transaction per batch, and reading back.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from _postgres import SqlDatabase
from coupa_connector.operations import read_records, run_operations


def ops_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ops.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def load(tmp_path: Path, sql_db: SqlDatabase, rows: str, target: str) -> object:
    (tmp_path / "rows.csv").write_text(rows)
    ops = ops_file(
        tmp_path,
        f"""
        operations:
          load:
            batch_size: 2
            source: {{type: file, path: rows.csv}}
            target: {{type: sql, url: "{sql_db.url}", {target}}}
            rejects: {tmp_path}/rejects.csv
        """,
    )
    [result] = run_operations(ops, log_db=tmp_path / "log.sqlite")
    return result


def test_insert_creates_the_table_and_reads_back(sql_db: SqlDatabase, tmp_path: Path) -> None:
    result = load(tmp_path, sql_db, "number,name\nA,Acme\nB,Bolt\nC,Core\n", "table: staging")
    assert result.status == "success"  # type: ignore[attr-defined]
    assert sql_db.rows("SELECT number, name FROM staging ORDER BY number") == [
        ("A", "Acme"),
        ("B", "Bolt"),
        ("C", "Core"),
    ]
    ops = ops_file(
        tmp_path,
        f"""
        operations:
          dump:
            source:
              type: sql
              url: "{sql_db.url}"
              query: "select * from staging order by number"
            target: {{type: file, path: "{tmp_path}/dump.jsonl"}}
        """,
    )
    [dump] = run_operations(ops, log_db=tmp_path / "log.sqlite")
    assert dump.status == "success"
    assert [r["number"] for r in read_records(tmp_path / "dump.jsonl")] == ["A", "B", "C"]


def test_upsert_updates_in_place_without_a_unique_key(sql_db: SqlDatabase, tmp_path: Path) -> None:
    sql_db.execute(
        "CREATE TABLE staging (number TEXT, name TEXT)",
        "INSERT INTO staging VALUES ('A', 'old')",
    )
    result = load(
        tmp_path,
        sql_db,
        "number,name\nA,new\nB,Bolt\n",
        "table: staging, mode: upsert, key: number",
    )
    assert result.counts.written == 2  # type: ignore[attr-defined]
    assert sql_db.rows("SELECT number, name FROM staging ORDER BY number") == [
        ("A", "new"),
        ("B", "Bolt"),
    ]


def test_upsert_on_a_unique_key_uses_on_conflict(sql_db: SqlDatabase, tmp_path: Path) -> None:
    sql_db.execute(
        "CREATE TABLE staging (number TEXT PRIMARY KEY, name TEXT, amount NUMERIC(12, 2))",
        "INSERT INTO staging VALUES ('A', 'old', 1.00)",
    )
    rows = "number,name,amount\nA,new,2.50\nB,Bolt,3.10\nA,newer,4.00\n"
    sent: list[str] = []

    def note(conn: object, cursor: object, statement: str, *args: object) -> None:
        if "staging" in statement:
            sent.append(" ".join(statement.split()))

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", note)
    try:
        result = load(tmp_path, sql_db, rows, "table: staging, mode: upsert, key: number")
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", note)
    writes = [s for s in sent if not s.startswith(("SELECT", "PRAGMA"))]
    assert len(writes) == 3 and all("ON CONFLICT (number) DO UPDATE" in s for s in writes), writes
    assert result.counts.written == 3 and result.counts.failed == 0  # type: ignore[attr-defined]
    got = sql_db.rows("SELECT number, name, amount FROM staging ORDER BY number")
    assert [(n, name, Decimal(str(a))) for n, name, a in got] == [
        ("A", "newer", Decimal("4.00")),
        ("B", "Bolt", Decimal("3.10")),
    ]


def test_types_numeric_timestamptz_date_boolean_text(sql_db: SqlDatabase, tmp_path: Path) -> None:
    stamp = "TIMESTAMP WITH TIME ZONE" if sql_db.backend == "postgresql" else "DATETIME"
    sql_db.execute(
        "CREATE TABLE staging (number TEXT PRIMARY KEY, amount NUMERIC(14, 4), "
        f"seen {stamp}, due DATE, paid BOOLEAN, note TEXT)"
    )
    rows = (
        "number,amount,seen,due,paid,note\n"
        "A,1234.5678,2026-01-31T10:00:00+02:00,2026-02-28,true,plain\n"
        'B,0.0001,2026-03-01T00:00:00Z,2026-03-01,false,"comma, and ""quotes"""\n'
        "C,12,2026-03-01,2026-03-31T12:00:00Z,,ünïcödé\n"
    )
    transform = "table: staging"
    result = load(tmp_path, sql_db, rows, transform)
    assert result.counts.written == 3, list(read_records(tmp_path / "rejects.csv"))  # type: ignore[attr-defined]
    got = sql_db.rows("SELECT number, amount, seen, due, paid, note FROM staging ORDER BY number")
    utc = dt.UTC
    moments = [
        dt.datetime(2026, 1, 31, 8, 0, tzinfo=utc),
        dt.datetime(2026, 3, 1, 0, 0, tzinfo=utc),
        dt.datetime(2026, 3, 1, 0, 0, tzinfo=utc),
    ]
    assert [r[0] for r in got] == ["A", "B", "C"]
    assert [Decimal(str(r[1])) for r in got] == [
        Decimal("1234.5678"),
        Decimal("0.0001"),
        Decimal("12"),
    ]
    seen = [
        r[2] if isinstance(r[2], dt.datetime) else dt.datetime.fromisoformat(str(r[2])) for r in got
    ]
    assert [s if s.tzinfo else s.replace(tzinfo=utc) for s in seen] == moments
    assert [str(r[3]) for r in got] == ["2026-02-28", "2026-03-01", "2026-03-31"]
    assert [r[4] for r in got] == [True, False, None] or [r[4] for r in got] == [1, 0, None]
    assert [r[5] for r in got] == ["plain", 'comma, and "quotes"', "ünïcödé"]


def test_a_refused_row_fails_alone_and_its_batch_keeps_the_rest(
    sql_db: SqlDatabase, tmp_path: Path
) -> None:
    sql_db.execute(
        "CREATE TABLE staging (number TEXT PRIMARY KEY, amount NUMERIC(6, 2) NOT NULL)",
        "INSERT INTO staging VALUES ('A', 0)",
    )
    # A is a duplicate key: its batch's transaction fails, then each row is written alone.
    result = load(tmp_path, sql_db, "number,amount\nA,1\nB,2\nC,3\n", "table: staging")
    counts = result.counts  # type: ignore[attr-defined]
    assert (counts.read, counts.written, counts.failed) == (3, 2, 1)
    assert sql_db.rows("SELECT number FROM staging ORDER BY number") == [("A",), ("B",), ("C",)]
    [(amount,)] = sql_db.rows("SELECT amount FROM staging WHERE number = 'A'")
    assert Decimal(str(amount)) == 0  # the row already there is left as it was
    [reject] = read_records(tmp_path / "rejects.csv")
    assert reject["number"] == "A" and "database refused the row" in reject["_errors"]
    # Nothing of a batch is left behind by a run that fails it: no marker rows either.
    assert sql_db.rows("SELECT count(*) FROM coupa_connector_written") == [(0,)]
