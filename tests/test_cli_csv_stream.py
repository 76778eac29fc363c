"""``coupa query --format csv`` to standard output streams its rows as pages arrive when
``--fields`` names the columns, as JSON lines do; the rows are those a file gets."""

from __future__ import annotations

import subprocess
from pathlib import Path

from _cli_process import COUPA, cli_env, coupa
from coupa_connector.sandbox import Sandbox

FIELDS = "id,invoice-number,supplier.name,status"


def _pages(sb: Sandbox) -> int:
    return int(sb.stats()["by_route"].get("GET /api/invoices", {}).get("total", 0))


def test_csv_rows_stream_before_the_query_ends(sandbox: Sandbox) -> None:
    sandbox.set_faults(latency_ms=700, methods=["GET"])
    args = ["query", "invoices", "--fields", FIELDS, "--format", "csv", "--concurrency", "1"]
    proc = subprocess.Popen(
        [*COUPA, *args], env=cli_env(sandbox), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        header = proc.stdout.readline()
        first = proc.stdout.readline()
        pages_by_then = _pages(sandbox)
        rest, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    sandbox.clear_faults()
    assert proc.returncode == 0, err
    assert header.strip() == FIELDS
    assert first.split(",")[0] == "1"
    # The first row came while later pages were still to be asked for.
    assert pages_by_then < _pages(sandbox)
    assert len(rest.splitlines()) >= 150


def test_streamed_rows_equal_a_files_rows(sandbox: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "x.csv"
    base = ["query", "invoices", "--fields", FIELDS, "--format", "csv", "--limit", "120"]
    to_file = coupa([*base, "-o", str(out)], sandbox)
    streamed = coupa(base, sandbox)
    assert to_file.returncode == 0 and streamed.returncode == 0, streamed.stderr
    assert streamed.stdout == out.read_text(encoding="utf-8")


def test_without_fields_a_pipe_is_told_why_rows_wait(sandbox: Sandbox) -> None:
    waits = coupa(["query", "invoices", "--format", "csv", "--limit", "2"], sandbox)
    assert waits.returncode == 0, waits.stderr
    assert "note: CSV rows come when the query ends" in waits.stderr
    assert "--fields" in waits.stderr
    streams = coupa(
        ["query", "invoices", "--format", "csv", "--limit", "2", "--fields", "id"], sandbox
    )
    assert "note:" not in streams.stderr
