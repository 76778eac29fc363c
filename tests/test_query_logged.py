"""``coupa query -o FILE`` is a job that moves data, so the operation log holds it as a
one-step run, and ``coupa logs`` lists it with the runs of ``coupa run``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from _operations_support import config_for
from _write_support import env_for
from coupa_connector import Connection
from coupa_connector.operations import OpLog
from coupa_connector.operations.extract._logged import QUERY_FILE
from coupa_connector.sandbox import Sandbox


def _coupa(sandbox: Sandbox, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **env_for(sandbox), "NO_COLOR": "1", "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-m", "coupa_connector", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert "Traceback" not in done.stderr, done.stderr
    return done


def test_a_query_to_a_file_is_a_run_in_the_operation_log(sandbox: Sandbox, tmp_path: Path) -> None:
    log_db = tmp_path / "log.sqlite"
    done = _coupa(
        sandbox, "query", "suppliers", "-f", "id,name", "--limit", "7", "-o", "out.jsonl",
        "--log-db", str(log_db), cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    with OpLog(log_db) as log:
        [run] = log.runs()
        assert (run["operation"], run["file"], run["status"]) == (
            "query suppliers",
            QUERY_FILE,
            "success",
        )
        assert (run["read"], run["written"], run["rejected"], run["failed"]) == (7, 7, 0, 0)
        assert run["outputs"] == [str(tmp_path / "out.jsonl")]
        assert sandbox.url in run["scope"]
    listed = _coupa(sandbox, "logs", "--log-db", str(log_db), "--format", "json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    [shown] = json.loads(listed.stdout)
    assert shown["operation"] == "query suppliers" and shown["written"] == 7


def test_a_failed_query_is_a_failed_run_with_its_reason(sandbox: Sandbox, tmp_path: Path) -> None:
    log_db = tmp_path / "log.sqlite"
    done = _coupa(
        sandbox, "query", "suppliers", "-w", "no-such-field=1", "--strict", "-o", "out.jsonl",
        "--log-db", str(log_db), cwd=tmp_path,
    )  # fmt: skip
    # Refused before any request (an unknown field is only a warning without --strict).
    assert done.returncode == 2
    with OpLog(log_db) as log:
        [run] = log.runs()
    assert run["status"] == "failed" and "no-such-field" in run["error"]
    assert not (tmp_path / "out.jsonl").exists()


def test_a_query_to_standard_output_is_not_logged(sandbox: Sandbox, tmp_path: Path) -> None:
    log_db = tmp_path / "log.sqlite"
    done = _coupa(
        sandbox, "query", "suppliers", "--limit", "2", "--log-db", str(log_db), cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 2
    with OpLog(log_db) as log:
        assert log.runs() == []


def test_a_bulk_download_is_a_run_with_its_manifest_and_failed_files(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    from coupa_connector.operations.extract._logged import ATTACHMENTS_FILE

    log_db = tmp_path / "log.sqlite"
    done = _coupa(
        sandbox, "attachments", "download", "invoices", "--id", "1", "--id", "2",
        "--kinds", "attachments,scan", "-o", "files", "--log-db", str(log_db), cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    with OpLog(log_db) as log:
        [run] = log.runs()
        files = run["details"]["attachments"]
        assert (run["operation"], run["file"], run["status"]) == (
            "attachments invoices",
            ATTACHMENTS_FILE,
            "success",
        )
        assert files["manifest"] == str(tmp_path / "files" / "manifest.csv")
        assert files["found"] == files["downloaded"] == run["written"] == run["read"] >= 2
        assert (files["parents"], files["kept"], files["failed"]) == (2, 0, 0)
        assert run["outputs"] == [files["manifest"]]
    shown = _coupa(sandbox, "logs", str(run["id"]), "--log-db", str(log_db), cwd=tmp_path)
    assert f"attachments: folder {tmp_path / 'files'}" in shown.stdout
    assert f"found {files['found']}" in shown.stdout
    # Again: every file is kept (already complete), and the second run says so.
    again = _coupa(
        sandbox, "attachments", "download", "invoices", "--id", "1", "--id", "2",
        "--kinds", "attachments,scan", "-o", "files", "--log-db", str(log_db), cwd=tmp_path,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    with OpLog(log_db) as log:
        second = log.runs()[0]["details"]["attachments"]
        assert (second["downloaded"], second["kept"]) == (0, files["found"])


def test_a_file_that_cannot_be_downloaded_is_a_failed_record_with_its_reason(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    log_db = tmp_path / "log.sqlite"
    with Connection(config_for(sandbox)) as conn:
        made = conn.upload_attachment("invoices", 4, b"%PDF-1.4 short" * 40, filename="cut.pdf")
    sandbox.set_faults(methods=["GET"], path=rf"/attachments/{made.id}$", short_rate=1.0)
    try:
        done = _coupa(
            sandbox, "attachments", "download", "invoices", "--id", "4", "-o", "files",
            "--log-db", str(log_db), cwd=tmp_path,
        )  # fmt: skip
    finally:
        sandbox.clear_faults()
    assert done.returncode == 1
    with OpLog(log_db) as log:
        [run] = log.runs()
        assert run["status"] == "partial" and run["failed"] == 1
        assert run["read"] == run["written"] + run["failed"]
        assert run["details"]["attachments"]["failed"] == 1
        [failure] = log.failures(run["id"])
        assert failure["outcome"] == "failed" and failure["record"]["name"] == "cut.pdf"
        assert "on every attempt" in failure["messages"][0]
