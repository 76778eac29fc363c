"""What the CLI shows from data is shown as it is: brackets in messages are not rich markup."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from coupa_connector import WriteSummary
from coupa_connector.cli._connection_cmds import render_report
from coupa_connector.cli._main import cli
from coupa_connector.cli._ops_cmds import results_table
from coupa_connector.cli._write_cmds import _print_summary
from coupa_connector.client._check import CheckResult, ConnectionTestReport
from coupa_connector.operations import Counts, OpLog, RecordOutcome, RunResult

# A closing tag with no opening one makes rich raise; the others would silently vanish.
BRACKETED = "bold [/b] updated-at[lt]=2026-01-01 name [required]"


def _shown(console: Console) -> str:
    return " ".join(console.export_text().split())


def test_logs_show_bracketed_messages_and_records_as_they_are(tmp_path: Path) -> None:
    db = tmp_path / "log.sqlite"
    with OpLog(db) as log:
        run_id = log.start_run("load[x]", "/ops[1].yaml")
        log.record_batch(
            run_id,
            [RecordOutcome("0", 0, "rejected", messages=[BRACKETED], record={"n": "[/b]"})],
        )
        log.finish_run(run_id, "failed", error=BRACKETED)
    runner = CliRunner()
    one = runner.invoke(cli, ["logs", str(run_id), "--log-db", str(db)])
    assert one.exit_code == 0, one.output
    text = " ".join(one.output.split())
    assert "updated-at[lt]=2026-01-01" in text and "[required]" in text and "[/b]" in text
    assert "load[x]" in text and "/ops[1].yaml" in text
    listing = runner.invoke(cli, ["logs", "--log-db", str(db)])
    assert listing.exit_code == 0, listing.output
    assert "load[x]" in listing.output and "[required]" in " ".join(listing.output.split())


def test_run_results_and_write_summary_keep_brackets() -> None:
    console = Console(record=True, width=400)
    result = RunResult(1, "load", "failed", Counts(), error=BRACKETED, outputs=["out[1].csv"])
    console.print(results_table([result]))
    shown = _shown(console)
    assert BRACKETED in shown and "out[1].csv" in shown

    console = Console(record=True, width=400)
    _print_summary(
        console,
        WriteSummary(),
        title="Create",
        fmt="table",
        files={"rejects": "rejects[1].csv"},
        error=BRACKETED,
    )
    shown = _shown(console)
    assert BRACKETED in shown and "rejects[1].csv" in shown


def test_connection_report_keeps_brackets(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "400")
    report = ConnectionTestReport(
        "https://acme.example", "oauth", (CheckResult("invoices", False, BRACKETED),)
    )
    render_report(report)
    assert BRACKETED in " ".join(capsys.readouterr().out.split())
