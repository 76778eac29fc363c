"""The provider's Airflow-free core: windows, the operation of a task, resume on retry.

Runs in the main environment against the sandbox; the Airflow tests themselves (hook,
operators, sensor, example DAGs under ``dag.test()``) run in their own environment
(``python3 run.py test-airflow``).
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from _client_sandbox import sandbox_config, server_records
from _part_way import fail_after_pages
from coupa_connector import ConfigurationError, read_records
from coupa_connector.integrations.airflow._steps import (
    StepFailed,
    TaskKey,
    monthly_windows,
    query_operation,
    run_step,
    window_conditions,
)
from coupa_connector.sandbox import Sandbox


def test_monthly_windows_cover_the_year_edge_to_edge() -> None:
    windows = monthly_windows("2025-11-15", 3)
    assert windows == [
        {"start": "2025-11-01", "end": "2025-12-01"},
        {"start": "2025-12-01", "end": "2026-01-01"},
        {"start": "2026-01-01", "end": "2026-02-01"},
    ]
    year = monthly_windows(date(2025, 1, 1), 12)
    assert len(year) == 12 and year[-1]["end"] == "2026-01-01"
    assert all(a["end"] == b["start"] for a, b in itertools.pairwise(year))


def test_window_conditions() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert window_conditions({"start": start, "end": None}, "updated-at") == [
        "updated-at>=2026-01-01T00:00:00+00:00"
    ]
    assert window_conditions(("2025-01-01", "2025-02-01"), "created-at") == [
        "created-at>=2025-01-01",
        "created-at<2025-02-01",
    ]
    assert window_conditions(None, "updated-at") == []
    with pytest.raises(ConfigurationError, match="unknown keys"):
        window_conditions({"from": "2025-01-01"}, "updated-at")
    with pytest.raises(ConfigurationError, match="start, end"):
        window_conditions("2025-01", "updated-at")


def test_task_folders_are_one_per_task_instance(tmp_path: Path) -> None:
    run = "manual__2026-01-01T00:00:00+00:00"
    a = TaskKey("dag", run, "pull", map_index=3).folder(tmp_path)
    b = TaskKey("dag", run, "pull", map_index=4).folder(tmp_path)
    assert a != b and a.parent == b.parent and a.name == "pull.3"
    assert ":" not in str(a.relative_to(tmp_path)) and "+" not in str(a.relative_to(tmp_path))


def _ids(path: Path) -> list[int]:
    return [int(r["id"]) for r in read_records(str(path))]


def test_a_retry_resumes_from_the_checkpoint_without_duplicates(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Try 1 fails part-way (the sandbox answers 503 to every page for a while); try 2
    continues its run: the output holds every record once."""
    config = sandbox_config(sandbox, max_retries=1, concurrency=1)
    out = tmp_path / "invoices.jsonl"
    operation = query_operation("invoices", out, fields=["id", "status"])
    operation["batch_size"] = 20
    expected = sorted(int(r["id"]) for r in server_records(sandbox, "invoices"))

    breaker = fail_after_pages(sandbox, pages=2, errors=40)
    first = TaskKey("nightly", "run-1", "export", try_number=1)
    with pytest.raises(StepFailed, match=r"export failed.* after \d+ records were delivered"):
        run_step(config, operation, first, work=tmp_path / "work")
    breaker.join()
    sandbox.clear_faults()
    assert not out.exists()  # nothing landed yet; the partial file waits for the resume
    retry = TaskKey("nightly", "run-1", "export", try_number=2)
    result = run_step(config, operation, retry, work=tmp_path / "work")
    assert result.resumed and result.status == "success"
    assert _ids(out) == expected  # every record, once
    assert result.counts.written == len(expected)
    summary = json.loads(json.dumps(result.as_dict()))
    assert summary["resumed"] is True
