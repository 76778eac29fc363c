"""Writes check records with levels: errors refuse a record, warnings are reported on its
result and the record is sent (a read-only field left out of the body), ``strict`` refuses
warnings too and ``off`` sends records unchecked; the CLI and results files count them."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from _write_support import (
    FAST,
    find,
    invoke_cli,
    json_summary,
    run_writes,
    supplier,
    tag,
    write_jsonl,
)
from coupa_connector import WriteOutcome, WriteSummary
from coupa_connector.activities.write._results import WriteResult
from coupa_connector.sandbox import Sandbox

TRANSPORT = "coupa_connector.transport"


def _bodies(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The request bodies POSTed, as the transport logs them at DEBUG."""
    messages = [r.getMessage() for r in caplog.records]
    return [m for m in messages if m.startswith("POST") and "request body:" in m]


def test_a_read_only_field_is_dropped_reported_and_not_sent(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    t = tag()
    record = supplier(f"Ro {t}", f"RO-{t}", **{"created-at": "2001-02-03T04:05:06Z"})
    with caplog.at_level(logging.DEBUG, logger=TRANSPORT):
        results, summary = run_writes(
            sandbox, lambda c: c.create("suppliers", [record], options=FAST)
        )
    (result,) = results
    assert result.outcome is WriteOutcome.CREATED, result.messages
    assert len(result.warnings) == 1
    assert result.warnings[0].startswith("created-at is read-only")
    assert result.warnings[0].endswith("[read_only]")
    assert "left out of the body sent" in result.warnings[0]
    assert (summary.warned, summary.warnings) == (1, 1)
    sent = [b for b in _bodies(caplog) if f"RO-{t}" in b]
    assert sent and all("created-at" not in b and "2001-02-03" not in b for b in sent)
    # The record given is kept as it was (a rejects file holds it unchanged).
    assert record["created-at"] == "2001-02-03T04:05:06Z"


def test_an_unknown_field_is_sent_with_a_warning(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    t = tag()
    record = supplier(f"Un {t}", f"UN-{t}", **{"acme-vendor-class": "gold"})
    with caplog.at_level(logging.DEBUG, logger=TRANSPORT):
        results, _ = run_writes(sandbox, lambda c: c.create("suppliers", [record], options=FAST))
    (result,) = results
    assert result.outcome is WriteOutcome.CREATED
    assert result.warnings and result.warnings[0].endswith("[unknown_field]")
    assert "acme-vendor-class" in result.warnings[0]
    assert any("acme-vendor-class" in b for b in _bodies(caplog) if f"UN-{t}" in b)


def test_strict_refuses_what_lenient_sends(sandbox: Sandbox) -> None:
    t = tag()
    records = [
        supplier(f"St {t}", f"ST-{t}", **{"created-at": "2001-02-03T04:05:06Z"}),
        supplier(f"Su {t}", f"SU-{t}", **{"acme-vendor-class": "gold"}),
    ]
    results, summary = run_writes(
        sandbox,
        lambda c: c.create("suppliers", records, validation="strict", options=FAST),
    )
    assert [r.outcome for r in results] == [WriteOutcome.REJECTED] * 2
    assert results[0].messages[0].endswith("[read_only]")
    assert results[1].messages[0].endswith("[unknown_field]")
    assert summary.rejected == 2 and summary.read == 2
    assert find(sandbox, "suppliers", number=f"ST-{t}") == []


def test_errors_still_refuse_the_record_in_lenient_mode(sandbox: Sandbox) -> None:
    t = tag()
    records = [
        supplier(f"Ty {t}", f"TY-{t}", **{"on-hold": "maybe"}),
        supplier("x" * 300, f"LN-{t}"),
        supplier(f"Al {t}", f"AL-{t}", status="sleeping"),
    ]
    results, summary = run_writes(sandbox, lambda c: c.create("suppliers", records, options=FAST))
    assert [r.outcome for r in results] == [WriteOutcome.REJECTED] * 3
    assert "on-hold" in results[0].messages[0] and results[0].messages[0].endswith("[type]")
    assert "characters long" in results[1].messages[0]
    assert results[1].messages[0].endswith("[max_length]")
    assert "not one of" in results[2].messages[0]
    assert results[2].messages[0].endswith("[allowed]")
    assert summary.warned == 0


def test_off_sends_records_unchecked(sandbox: Sandbox, caplog: pytest.LogCaptureFixture) -> None:
    t = tag()
    record = supplier(f"Off {t}", f"OFF-{t}", **{"created-at": "2001-02-03T04:05:06Z"})
    with caplog.at_level(logging.DEBUG, logger=TRANSPORT):
        results, summary = run_writes(
            sandbox,
            lambda c: c.create("suppliers", [record], validation="off", options=FAST),
        )
    assert results[0].outcome is WriteOutcome.CREATED and results[0].warnings == ()
    assert summary.warned == 0
    assert any("created-at" in b for b in _bodies(caplog) if f"OFF-{t}" in b)


def test_warnings_are_counted_per_record() -> None:
    summary = WriteSummary()
    summary.add(WriteResult(1, WriteOutcome.CREATED, warnings=("a [read_only]", "b [x]")))
    summary.add(WriteResult(2, WriteOutcome.REJECTED, warnings=("c [unknown_field]",)))
    summary.add(WriteResult(3, WriteOutcome.CREATED))
    counts = summary.as_dict()
    assert (counts["warned"], counts["warnings"], counts["read"]) == (2, 3, 3)
    assert WriteResult(1, WriteOutcome.CREATED, warnings=("w",)).as_row()["warnings"] == ["w"]


def test_cli_counts_warnings_and_writes_them_to_the_results_file(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    t = tag()
    path = write_jsonl(
        tmp_path / "in.jsonl",
        [
            supplier(f"Cw {t}", f"CW-{t}", **{"created-at": "2001-02-03T04:05:06Z"}),
            supplier(f"Cx {t}", f"CX-{t}"),
        ],
    )
    results = tmp_path / "results.jsonl"
    args = ["create", "suppliers", str(path), "--results", str(results), "--summary", "json"]
    outcome = invoke_cli(sandbox, args)
    assert outcome.exit_code == 0, outcome.output
    summary = json_summary(outcome)
    assert (summary["created"], summary["warned"], summary["warnings"]) == (2, 1, 1)
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    assert rows[0]["warnings"] and rows[0]["warnings"][0].endswith("[read_only]")
    assert rows[1]["warnings"] == []

    table = invoke_cli(sandbox, ["create", "suppliers", str(path), "--dry-run"])
    assert table.exit_code == 0 and "with warnings" in table.output


def test_cli_strict_and_no_validate(sandbox: Sandbox, tmp_path: Path) -> None:
    t = tag()
    path = write_jsonl(
        tmp_path / "in.jsonl",
        [supplier(f"Cs {t}", f"CS-{t}", **{"created-at": "2001-02-03T04:05:06Z"})],
    )
    strict = invoke_cli(
        sandbox, ["create", "suppliers", str(path), "--strict", "--summary", "json"]
    )
    assert strict.exit_code == 1 and json_summary(strict)["rejected"] == 1
    unchecked = ["create", "suppliers", str(path), "--no-validate", "--summary", "json"]
    off = invoke_cli(sandbox, unchecked)
    assert off.exit_code == 0 and json_summary(off)["warned"] == 0
    both = invoke_cli(sandbox, ["create", "suppliers", str(path), "--strict", "--no-validate"])
    assert both.exit_code == 2 and "cannot go together" in both.output
