"""The dlt source against the sandbox: into DuckDB and into a real PostgreSQL server.

5,000 invoices with their lines load with the sandbox's row counts and ids, typed (decimal,
timestamp) from the catalog; a second run after 25 edits and 10 creates merges exactly
those 35; the same pipeline works into PostgreSQL.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _extras import require

dlt = require("dlt", "the dlt extra is not installed")
duckdb = require("duckdb", "the dlt extra is not installed")

from _operations_support import config_for  # noqa: E402
from _write_support import invoice, invoice_refs  # noqa: E402
from coupa_connector import Connection  # noqa: E402
from coupa_connector.integrations.dlt import coupa_source  # noqa: E402
from coupa_connector.sandbox import Sandbox  # noqa: E402

pytestmark = pytest.mark.slow

INVOICES = 5_000


@pytest.fixture(scope="module")
def big_sandbox() -> Iterator[Sandbox]:
    with Sandbox(seed_size=INVOICES) as server:
        yield server


@pytest.fixture(autouse=True)
def quiet_dlt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # dlt keeps pipelines and their state under its data folder: one per test.
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "dlt"))
    monkeypatch.setenv("RUNTIME__LOG_LEVEL", "ERROR")
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")


def server_ids(sb: Sandbox) -> tuple[set[int], set[int]]:
    """The invoices' ids and their lines' ids, as the sandbox has them."""
    with Connection(config_for(sb)) as conn:
        records = conn.query("invoices", fields=["id", "invoice-lines.id"])
        invoices: set[int] = set()
        lines: set[int] = set()
        for record in records:
            invoices.add(record["id"])
            lines.update(line["id"] for line in record.get("invoice-lines") or ())
    return invoices, lines


def pipeline(tmp_path: Path, name: str, destination: Any) -> Any:
    return dlt.pipeline(
        pipeline_name=name,
        destination=destination,
        dataset_name="coupa",
        pipelines_dir=str(tmp_path / "pipelines"),
    )


def root_rows(info: Any, pipe: Any) -> int:
    counts = pipe.last_trace.last_normalize_info.row_counts
    return int(counts.get("invoices", 0))


def next_second() -> None:
    # Coupa's timestamps have whole seconds and a run's window ends at the second it starts.
    now = time.time()
    time.sleep(math.ceil(now) - now + 0.05)


def edit_and_create(sb: Sandbox) -> set[int]:
    """25 edits and 10 creates; returns the ids of the 35 invoices they touched."""
    with Connection(config_for(sb)) as conn:
        drafts = conn.query_all("invoices", where="status=draft", fields=["id"], limit=25)
        assert len(drafts) == 25
        touched = {d["id"] for d in drafts}
        for draft in drafts:
            conn.request("PUT", f"/api/invoices/{draft['id']}", body={"supplier-note": "edited"})
        refs = invoice_refs(sb)
        stamp = time.time_ns()
        records = [invoice(refs, f"DLT-{stamp}-{i}") for i in range(10)]
        results = list(conn.create("invoices", records))
        assert all(r.ok for r in results), [r.messages for r in results if not r.ok]
        touched.update(int(r.id) for r in results if r.id is not None)
    assert len(touched) == 35
    return touched


def test_duckdb_load_then_incremental_merge(big_sandbox: Sandbox, tmp_path: Path) -> None:
    sb = big_sandbox
    database = tmp_path / "warehouse.duckdb"
    pipe = pipeline(tmp_path, "coupa_duckdb", dlt.destinations.duckdb(str(database)))
    source = coupa_source(objects=["invoices"], connection=config_for(sb))
    info = pipe.run(source, loader_file_format="jsonl")
    assert not info.has_failed_jobs
    invoices, lines = server_ids(sb)
    assert len(invoices) == INVOICES
    with duckdb.connect(str(database), read_only=True) as con:
        got = {r[0] for r in con.execute("SELECT id FROM coupa.invoices").fetchall()}
        got_lines = {
            r[0] for r in con.execute("SELECT id FROM coupa.invoices__invoice_lines").fetchall()
        }
        assert got == invoices and got_lines == lines
        assert con.execute("SELECT count(*) FROM coupa.invoices").fetchone() == (INVOICES,)
        types = dict(
            con.execute(
                "SELECT table_name || '.' || column_name, data_type "
                "FROM information_schema.columns WHERE table_schema = 'coupa'"
            ).fetchall()
        )
    assert types["invoices.gross_total"] == "DECIMAL(38,10)"
    assert types["invoices.updated_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["invoices.invoice_date"] == "TIMESTAMP WITH TIME ZONE"
    assert types["invoices.id"] == "BIGINT"
    assert types["invoices__invoice_lines.price"] == "DECIMAL(38,10)"
    assert types["invoices__invoice_lines.quantity"] == "DECIMAL(38,10)"

    next_second()
    touched = edit_and_create(sb)
    next_second()
    again = pipe.run(
        coupa_source(objects=["invoices"], connection=config_for(sb)), loader_file_format="jsonl"
    )
    assert not again.has_failed_jobs
    assert root_rows(again, pipe) == 35  # exactly the edited and the created invoices
    invoices, lines = server_ids(sb)
    with duckdb.connect(str(database), read_only=True) as con:
        rows = con.execute("SELECT id FROM coupa.invoices").fetchall()
        got_lines = {
            r[0] for r in con.execute("SELECT id FROM coupa.invoices__invoice_lines").fetchall()
        }
        notes = con.execute(
            "SELECT count(*) FROM coupa.invoices WHERE supplier_note = 'edited'"
        ).fetchone()
    ids = [r[0] for r in rows]
    assert len(ids) == len(set(ids)) == INVOICES + 10  # no duplicates, none missed
    assert set(ids) == invoices and got_lines == lines
    assert touched <= set(ids) and notes == (25,)


def test_postgresql_destination(sandbox: Sandbox, tmp_path: Path, postgres_server: Any) -> None:
    sb = sandbox
    url = postgres_server.url(postgres_server.database(), driver="psycopg2")
    # dlt insists on a password; the test server trusts local connections and ignores it.
    credentials = url.replace("postgresql+psycopg2://postgres@", "postgresql://postgres:unused@")
    pipe = pipeline(tmp_path, "coupa_pg", dlt.destinations.postgres(credentials))
    source = coupa_source(
        objects={"invoices": {"where": "status=approved"}, "suppliers": {}},
        connection=config_for(sb),
    )
    info = pipe.run(source)
    assert not info.has_failed_jobs
    with Connection(config_for(sb)) as conn:
        approved = {r["id"] for r in conn.query("invoices", where="status=approved", fields=["id"])}
        suppliers = {r["id"] for r in conn.query("suppliers", fields=["id"])}
    import psycopg

    with psycopg.connect(credentials) as con:
        got = {r[0] for r in con.execute("SELECT id FROM coupa.invoices").fetchall()}
        got_suppliers = {r[0] for r in con.execute("SELECT id FROM coupa.suppliers").fetchall()}
        kinds = dict(
            con.execute(
                "SELECT table_name || '.' || column_name, data_type FROM "
                "information_schema.columns WHERE table_schema = 'coupa'"
            ).fetchall()
        )
    assert got == approved and got_suppliers == suppliers
    assert kinds["invoices.gross_total"] == "numeric"
    assert kinds["invoices.updated_at"] == "timestamp with time zone"
    assert kinds["invoices__invoice_lines.price"] == "numeric"


def test_projection_loads_and_asks_for_only_the_selected_columns(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    database = tmp_path / "few.duckdb"
    pipe = pipeline(tmp_path, "coupa_few", dlt.destinations.duckdb(str(database)))
    source = coupa_source(
        objects=["invoices"],
        connection=config_for(sandbox),
        fields=["invoice-number", "gross-total", "invoice-lines.price"],
    )
    sandbox.reset_stats()
    pipe.run(source, loader_file_format="jsonl")
    with duckdb.connect(str(database), read_only=True) as con:
        columns = {
            r[0]
            for r in con.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = 'coupa' AND table_name = 'invoices'"
            ).fetchall()
        }
        line_columns = {
            r[0]
            for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = "
                "'coupa' AND table_name = 'invoices__invoice_lines'"
            ).fetchall()
        }
    assert {c for c in columns if not c.startswith("_dlt")} == {
        "id",
        "updated_at",
        "invoice_number",
        "gross_total",
    }
    assert {c for c in line_columns if not c.startswith("_dlt")} == {"price"}


def test_credentials_from_dlt_secrets_and_never_in_its_files(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # dlt reads [sources.coupa] from config.toml and secrets.toml, or the same from variables.
    monkeypatch.setenv("SOURCES__COUPA__URL", sandbox.url)
    monkeypatch.setenv("SOURCES__COUPA__CLIENT_ID", sandbox.client_id)
    monkeypatch.setenv("SOURCES__COUPA__CLIENT_SECRET", sandbox.client_secret)
    for name in [k for k in os.environ if k.startswith("COUPA_")]:
        monkeypatch.delenv(name)
    database = tmp_path / "cfg.duckdb"
    pipe = pipeline(tmp_path, "coupa_cfg", dlt.destinations.duckdb(str(database)))
    info = pipe.run(coupa_source(objects=["suppliers"]), loader_file_format="jsonl")
    assert not info.has_failed_jobs
    with duckdb.connect(str(database), read_only=True) as con:
        (count,) = con.execute("SELECT count(*) FROM coupa.suppliers").fetchone()
    assert count > 0
    secret = sandbox.client_secret.encode()
    for path in (tmp_path / "pipelines").rglob("*"):
        if path.is_file():
            assert secret not in path.read_bytes(), path
    assert secret not in repr(pipe.last_trace).encode()
