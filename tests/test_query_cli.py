"""``coupa query`` against the sandbox: formats, incremental state, the exported flag, and
failures that leave nothing half-written."""

from __future__ import annotations

import csv
import datetime as dt
import email.utils
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from click.testing import CliRunner

from _client_sandbox import sandbox_config, server_records
from _write_support import env_for as sandbox_env
from coupa_connector import Connection
from coupa_connector._records import unflatten
from coupa_connector.cli import cli
from coupa_connector.sandbox import Sandbox


@pytest.fixture
def writable_sandbox(sandbox: Sandbox) -> Iterator[Sandbox]:
    """The sandbox for a test that writes: reseeded afterwards so no other test sees its
    records."""
    yield sandbox
    sandbox.reset()


def env_for(sandbox: Sandbox) -> dict[str, str]:
    return {**sandbox_env(sandbox), "COUPA_MAX_RETRIES": "2"}


def run(sandbox: Sandbox, *args: str) -> Any:
    return CliRunner().invoke(cli, ["query", *args], env=env_for(sandbox), catch_exceptions=False)


def test_jsonl_to_stdout_is_only_records(sandbox: Sandbox) -> None:
    result = run(
        sandbox, "suppliers", "--where", "status=active", "--fields", "id,name,payment-term.code"
    )
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    expected = [r for r in server_records(sandbox, "suppliers") if r["status"] == "active"]
    assert sorted(r["id"] for r in records) == sorted(r["id"] for r in expected)
    assert all(set(r) <= {"id", "name", "payment-term"} for r in records)


def test_csv_file_flattens_nested_fields(sandbox: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "invoices.csv"
    result = run(sandbox, "invoices", "-w", "status=approved", "--format", "csv", "-o", str(out))
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    expected = {r["id"]: r for r in server_records(sandbox, "invoices", {"status": "approved"})}
    assert sorted(int(r["id"]) for r in rows) == sorted(expected)
    sample = unflatten(rows[0], empty_as_none=True)
    original = expected[int(sample["id"])]
    assert sample["supplier"]["name"] == original["supplier"]["name"]
    assert sample["invoice-lines"][0]["price"] == original["invoice-lines"][0]["price"]
    assert "written to" in result.stderr


def wait_for_server_clock_past(sandbox: Sandbox, stamp: str) -> None:
    """Wait (a few seconds at most) until the server's Date header is later than ``stamp``.

    The window's upper bound is the server's clock in whole seconds, which lags by up to a
    second: records written just before a run legitimately belong to the next window.
    """
    newest = dt.datetime.fromisoformat(stamp)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        date = httpx2.get(f"{sandbox.url}/oauth2/token").headers["date"]
        if email.utils.parsedate_to_datetime(date) > newest:
            return
        time.sleep(0.2)
    raise AssertionError(f"the sandbox's clock did not pass {stamp}")


def test_incremental_state_window_and_watermark(writable_sandbox: Sandbox, tmp_path: Path) -> None:
    # Earlier tests may have written suppliers within the last second; let the clock pass
    # them so that the first window holds every supplier.
    newest = max(r["updated-at"] for r in server_records(writable_sandbox, "suppliers"))
    wait_for_server_clock_past(writable_sandbox, newest)
    state = tmp_path / "state.json"
    first = tmp_path / "first.jsonl"
    result = run(writable_sandbox, "suppliers", "--state", str(state), "-o", str(first))
    assert result.exit_code == 0, result.output
    saved = json.loads(state.read_text())
    assert saved["object"] == "suppliers" and saved["watermark"]
    assert len(first.read_text().splitlines()) == len(server_records(writable_sandbox, "suppliers"))

    with Connection(sandbox_config(writable_sandbox)) as conn:
        changed = conn.request(
            "PUT", "/api/suppliers/3", body={"website": "https://changed.example.com"}
        )
    # The window's upper bound is the server's clock (its Date header, whole seconds, which
    # may lag): runs repeat until the watermark passes the change; across them the changed
    # record must come exactly once.
    delivered: list[int] = []
    for attempt in range(8):
        out = tmp_path / f"run{attempt}.jsonl"
        result = run(writable_sandbox, "suppliers", "--state", str(state), "-o", str(out))
        assert result.exit_code == 0, result.output
        delivered += [json.loads(line)["id"] for line in out.read_text().splitlines()]
        if json.loads(state.read_text())["watermark"] > changed["updated-at"]:
            break
        time.sleep(0.5)
    assert delivered == [changed["id"]]
    assert json.loads(state.read_text())["watermark"] > saved["watermark"]


def test_mark_exported_marks_only_what_was_written(
    writable_sandbox: Sandbox, tmp_path: Path
) -> None:
    where = "status=draft"
    pending = [
        r["id"]
        for r in server_records(
            writable_sandbox, "invoices", {"status": "draft", "exported": "false"}
        )
    ]
    assert pending
    out = tmp_path / "export.jsonl"
    result = run(writable_sandbox, "invoices", "-w", where, "--mark-exported", "-o", str(out))
    assert result.exit_code == 0, result.output
    written = sorted(json.loads(line)["id"] for line in out.read_text().splitlines())
    assert written == sorted(pending)
    left = server_records(writable_sandbox, "invoices", {"status": "draft", "exported": "false"})
    assert left == []
    again = run(writable_sandbox, "invoices", "-w", where, "--mark-exported", "-o", str(out))
    assert again.exit_code == 0 and out.read_text() == ""


def test_failed_run_leaves_output_and_state_untouched(sandbox: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text("previous\n")
    state = tmp_path / "state.json"
    state.write_text('{"object": "invoices", "watermark": "2020-01-01T00:00:00+00:00"}')
    sandbox.set_faults(
        error_rate=1.0, error_statuses=[503], methods=["GET"], path="^/api/invoices$"
    )
    try:
        result = run(sandbox, "invoices", "--state", str(state), "-o", str(out))
    finally:
        sandbox.clear_faults()
    assert result.exit_code == 1 and "503" in result.stderr
    assert out.read_text() == "previous\n"
    assert json.loads(state.read_text())["watermark"] == "2020-01-01T00:00:00+00:00"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl", "state.json"]


def test_bad_expression_is_a_usage_error(sandbox: Sandbox) -> None:
    result = run(sandbox, "invoices", "-w", "supplier.nmae~Acme", "--strict")
    assert result.exit_code == 2 and "suppliers has no field 'nmae'" in result.stderr
    assert "--param" in result.stderr and "Did you mean: name" in result.stderr


def test_an_unknown_field_is_sent_with_a_warning_and_refused_with_strict(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    # The sandbox's invoices carry a custom field the catalog cannot know, queried by its
    # own name as Coupa documents.
    code = server_records(sandbox, "invoices")[0]["custom-fields"]["project-code"]
    result = run(sandbox, "invoices", "--where", f"project-code={code}", "--fields", "id")
    assert result.exit_code == 0, result.output
    # The warning goes to the log (standard error, in a terminal).
    warned = [r.getMessage() for r in caplog.records if r.name == "coupa_connector.query"]
    assert len(warned) == 1 and "no field 'project-code'" in warned[0]
    assert "sent as given" in warned[0]
    got = sorted(json.loads(line)["id"] for line in result.stdout.splitlines())
    expected = [
        r["id"]
        for r in server_records(sandbox, "invoices")
        if (r.get("custom-fields") or {}).get("project-code") == code
    ]
    assert got == sorted(expected) and got
    strict = run(sandbox, "invoices", "--where", f"project-code={code}", "--strict")
    assert strict.exit_code == 2 and "--param NAME=VALUE" in strict.stderr
    assert "Valid fields" not in strict.stderr
