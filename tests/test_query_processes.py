"""Extracts in several worker processes against the sandbox: every record exactly once, in
every output format, incremental and exported-flag runs, and failures that commit nothing."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from _client_sandbox import sandbox_config, server_records
from _write_support import env_for
from coupa_connector import AsyncConnection
from coupa_connector.cli import cli
from coupa_connector.errors import CoupaError, QueryError
from coupa_connector.operations.extract import _processes
from coupa_connector.operations.extract._extract import ExtractResult, extract
from coupa_connector.operations.extract._processes import share
from coupa_connector.sandbox import Sandbox


@pytest.fixture
def writable_sandbox(sandbox: Sandbox) -> Iterator[Sandbox]:
    """The sandbox for a test that writes: reseeded afterwards so no other test sees its
    records."""
    yield sandbox
    sandbox.reset()


def run_extract(
    sandbox: Sandbox, output: Path, wire_format: str = "json", **kw: Any
) -> ExtractResult:
    async def go() -> ExtractResult:
        config = sandbox_config(sandbox, concurrency=4, wire_format=wire_format)
        async with AsyncConnection(config) as conn:
            return await extract(conn, "invoices", output, **kw)

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("processes", "wire_format", "fmt"),
    [(1, "json", "jsonl"), (1, "json", "json"), (1, "xml", "jsonl"), (2, "json", "jsonl")],
    ids=["one-process", "one-process-json-array", "xml-wire", "two-processes"],
)
def test_extracts_write_the_servers_records_exactly_once(
    sandbox: Sandbox, tmp_path: Path, processes: int, wire_format: str, fmt: str
) -> None:
    # JSON pages pass through as Coupa sent them and XML pages are decoded: the records
    # in the file are the server's either way.
    truth = {r["id"]: r for r in server_records(sandbox, "invoices")}
    out = tmp_path / f"invoices.{fmt}"
    result = run_extract(sandbox, out, wire_format, fmt=fmt, processes=processes)
    if fmt == "json":
        records = json.loads(out.read_text())
    else:
        records = [json.loads(line) for line in out.read_text().splitlines()]
    got = [r["id"] for r in records]
    assert len(got) == len(set(got)) == len(truth)
    assert {r["id"]: r for r in records} == truth
    assert result.read == result.written + result.duplicates == len(truth)
    assert result.duplicates == 0 and result.pages >= len(truth) // 50
    # The spools are gone once the output is committed.
    assert [p.name for p in tmp_path.iterdir()] == [out.name]


def test_json_and_csv_outputs_from_processes(sandbox: Sandbox, tmp_path: Path) -> None:
    truth = sorted(r["id"] for r in server_records(sandbox, "invoices", {"status": "approved"}))
    as_json = tmp_path / "out.json"
    run_extract(sandbox, as_json, fmt="json", processes=2, where="status=approved")
    assert sorted(r["id"] for r in json.loads(as_json.read_text())) == truth
    as_csv = tmp_path / "out.csv"
    run_extract(
        sandbox, as_csv, fmt="csv", processes=2, where="status=approved", fields=["id", "status"]
    )
    with as_csv.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(int(r["id"]) for r in rows) == truth
    assert {r["status"] for r in rows} == {"approved"}


def test_incremental_and_mark_exported_with_processes(
    writable_sandbox: Sandbox, tmp_path: Path
) -> None:
    pending = sorted(
        r["id"] for r in server_records(writable_sandbox, "invoices", {"exported": "false"})
    )
    assert len(pending) > 100
    out = tmp_path / "export.jsonl"
    state = tmp_path / "state.json"
    result = run_extract(
        writable_sandbox,
        out,
        processes=2,
        mark_exported_flag=True,
        state=state,
        since="2000-01-01T00:00:00+00:00",
    )
    written = sorted(json.loads(line)["id"] for line in out.read_text().splitlines())
    assert written == pending
    assert result.marked == len(pending) and result.ok
    assert json.loads(state.read_text())["watermark"] == result.window[1]
    assert server_records(writable_sandbox, "invoices", {"exported": "false"}) == []


def test_processes_to_a_stream(sandbox: Sandbox) -> None:
    truth = sorted(r["id"] for r in server_records(sandbox, "invoices"))
    stream = io.BytesIO()

    async def go() -> ExtractResult:
        async with AsyncConnection(sandbox_config(sandbox, concurrency=4)) as conn:
            return await extract(
                conn, "invoices", "-", processes=2, stdout=stream, fields=["id", "status"]
            )

    result = asyncio.run(go())
    lines = stream.getvalue().splitlines()
    assert sorted(json.loads(line)["id"] for line in lines) == truth
    assert result.written == len(truth)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"order_by": "invoice-number"}, "keyset paging"),
        ({"limit": 10}, "cannot honour limit"),
        ({"concurrency": 2, "processes": 3}, "cannot exceed concurrency (2)"),
    ],
)
def test_unsupported_combinations_are_refused_before_writing(
    sandbox: Sandbox, tmp_path: Path, options: dict[str, Any], message: str
) -> None:
    out = tmp_path / "out.jsonl"
    options = {"processes": 2, **options}
    with pytest.raises(QueryError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run_extract(sandbox, out, **options)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_partition_fails_the_extract_and_commits_nothing(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text("previous\n")
    real_span = _processes.id_span

    async def span_then_break(conn: Any, spec: Any) -> Any:
        # The parent's probes succeed; every page the workers ask for fails after that.
        span = await real_span(conn, spec)
        sandbox.set_faults(error_rate=1.0, error_statuses=[500], methods=["GET"])
        return span

    monkeypatch.setattr(_processes, "id_span", span_then_break)
    try:
        with pytest.raises(CoupaError) as caught:
            run_extract(sandbox, out, processes=2)
    finally:
        sandbox.clear_faults()
    assert "partition" in str(caught.value) and "500" in str(caught.value)
    assert out.read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def test_cli_processes_option(sandbox: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "q.jsonl"
    truth = sorted(r["id"] for r in server_records(sandbox, "invoices"))
    result = CliRunner().invoke(
        cli,
        [
            "query",
            "invoices",
            "--fields",
            "id,status",
            "--processes",
            "2",
            "--concurrency",
            "4",
            "-o",
            str(out),
        ],
        env=env_for(sandbox),
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert sorted(json.loads(line)["id"] for line in out.read_text().splitlines()) == truth
    refused = CliRunner().invoke(
        cli,
        ["query", "invoices", "--processes", "2", "--limit", "5", "-o", str(out)],
        env=env_for(sandbox),
    )
    assert refused.exit_code == 2 and "cannot honour limit" in refused.stderr


def test_share_splits_a_budget_exactly() -> None:
    assert share(8, 2) == [4, 4]
    assert share(7, 2) == [4, 3]
    assert share(5, 3) == [2, 2, 1]
    assert sum(share(13, 4)) == 13


def test_worker_requests_reach_the_parents_log_without_secrets(
    sandbox: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG", logger="coupa_connector")
    run_extract(sandbox, tmp_path / "out.jsonl", processes=2, fields=["id"])
    # The parent itself sends only the two id probes; keyset pages come from the workers.
    pages = [
        r.getMessage()
        for r in caplog.records
        if r.name == "coupa_connector.transport" and "id[gt]=" in r.getMessage()
    ]
    assert len(pages) >= 4, [r.getMessage() for r in caplog.records][:10]
    assert all(sandbox.client_secret not in r.getMessage() for r in caplog.records)


def test_a_starting_worker_warms_up_the_connection_stack_it_will_use() -> None:
    # The pool submits it to each starting worker and never reads its result: an import
    # that no longer resolves would fail there unseen.
    from coupa_connector.operations.extract._processes import warm_up

    warm_up()
