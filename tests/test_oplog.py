"""The operation log: runs, counts, failures, checkpoints, and ``coupa logs``."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from click.testing import CliRunner

from coupa_connector.cli._main import cli
from coupa_connector.operations import OpLog, RecordOutcome


def test_counts_always_add_up_and_failures_keep_the_input(tmp_path: Path) -> None:
    with OpLog(tmp_path / "log.sqlite") as log:
        run_id = log.start_run("load", "/ops.yaml")
        batch = log.record_batch(
            run_id,
            [
                RecordOutcome("0", 0, "written", coupa_id=11),
                RecordOutcome("1", 1, "rejected", messages=["name: required"], record={"n": 1}),
                RecordOutcome("2", 2, "failed", messages=["HTTP 400"], record={"n": 2}),
            ],
            checkpoint={"batch": 1},
        )
        assert batch.as_dict() == {"read": 3, "written": 1, "rejected": 1, "failed": 1}
        log.record_batch(run_id, [RecordOutcome("3", 3, "written")], checkpoint={"batch": 2})
        [run] = log.runs()
        assert (run["read"], run["written"], run["rejected"], run["failed"]) == (4, 2, 1, 1)
        assert run["read"] == run["written"] + run["rejected"] + run["failed"]
        assert run["status"] == "running" and run["duration"] >= 0
        detail = log.run(run_id)
        assert detail is not None
        assert [
            (f["position"], f["outcome"], f["messages"], f["record"]) for f in detail["failures"]
        ] == [
            (2, "rejected", ["name: required"], {"n": 1}),  # shown 1-based
            (3, "failed", ["HTTP 400"], {"n": 2}),
        ]
        assert log.checkpoint(run_id) == {"batch": 2}
        assert log.done_keys(run_id) == {"0", "1", "2", "3"}
        assert log.unexported(run_id) == [("0", 11)]
        log.set_exported(run_id, ["0"])
        assert log.unexported(run_id) == []
        log.finish_run(run_id, "partial")
        assert log.done_keys(run_id) == set()  # only a resume needs them
        assert log.run(run_id)["failures"]  # type: ignore[index]


def test_a_killed_run_shows_as_interrupted_and_is_resumable(tmp_path: Path) -> None:
    db = tmp_path / "log.sqlite"
    code = textwrap.dedent(
        f"""
        import os, signal
        from coupa_connector.operations import OpLog
        log = OpLog({str(db)!r})
        log.start_run("op", "/f.yaml")
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    subprocess.run([sys.executable, "-c", code], check=False)
    with OpLog(db) as log:
        [run] = log.runs()
        assert run["status"] == "interrupted"
        resumable = log.resumable_run("op", "/f.yaml")
        assert resumable is not None and resumable["id"] == run["id"]
        assert log.resumable_run("op", "/other.yaml") is None
        log.reopen_run(run["id"])
        log.finish_run(run["id"], "success")
        assert log.resumable_run("op", "/f.yaml") is None
        assert log.runs()[0]["resumes"] == 1


def test_state_is_kept_per_operation(tmp_path: Path) -> None:
    with OpLog(tmp_path / "log.sqlite") as log:
        assert log.get_state("/f.yaml", "op", "watermark") is None
        log.set_state("/f.yaml", "op", "watermark", "2026-01-01T00:00:00Z")
        log.set_state("/f.yaml", "other", "watermark", "x")
        assert log.get_state("/f.yaml", "op", "watermark") == "2026-01-01T00:00:00Z"


def test_state_and_unfinished_runs_belong_to_their_scope(tmp_path: Path) -> None:
    with OpLog(tmp_path / "log.sqlite") as log:
        log.set_state("/f.yaml", "op", "watermark", "2026-01-01T00:00:00Z", "coupa=sandbox")
        assert log.get_state("/f.yaml", "op", "watermark", "coupa=https://acme") is None
        assert log.get_state("/f.yaml", "op", "watermark", "coupa=sandbox") is not None
        run_id = log.start_run("op", "/f.yaml", scope="coupa=sandbox")
        log.finish_run(run_id, "failed", error="boom")
        assert log.resumable_run("op", "/f.yaml", "coupa=https://acme") is None
        resumable = log.resumable_run("op", "/f.yaml", "coupa=sandbox")
        assert resumable is not None and resumable["scope"] == "coupa=sandbox"


_OLD_SCHEMA = """
CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, operation TEXT NOT NULL, file TEXT NOT NULL,
    started_at TEXT NOT NULL, ended_at TEXT, status TEXT NOT NULL,
    read INTEGER NOT NULL DEFAULT 0, written INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0, duration REAL,
    error TEXT, dry_run INTEGER NOT NULL DEFAULT 0, resumes INTEGER NOT NULL DEFAULT 0,
    pid INTEGER, outputs TEXT, debug_log TEXT, rejects_file TEXT, checkpoint TEXT, inflight TEXT
);
CREATE TABLE state (
    file TEXT NOT NULL, operation TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (file, operation, name)
);
INSERT INTO runs (operation, file, started_at, status, read, written)
    VALUES ('op', '/f.yaml', '2026-01-01T00:00:00.000Z', 'failed', 5, 5);
INSERT INTO state VALUES ('/f.yaml', 'op', 'watermark', '"2026-01-01T00:00:00Z"');
"""


def test_a_log_from_before_scopes_opens_and_its_state_is_not_taken_up(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "old.sqlite"
    with sqlite3.connect(db) as conn:
        conn.executescript(_OLD_SCHEMA)
    with OpLog(db) as log:
        [old] = log.runs()
        assert (old["operation"], old["written"], old["scope"]) == ("op", 5, None)
        # Nobody knows which instance the old watermark and run were for.
        assert log.get_state("/f.yaml", "op", "watermark", "coupa=https://acme") is None
        assert log.resumable_run("op", "/f.yaml", "coupa=https://acme") is None
        run_id = log.start_run("op", "/f.yaml", scope="coupa=https://acme")
        log.finish_run(run_id, "success")
        assert log.runs()[0]["scope"] == "coupa=https://acme"
    with OpLog(db) as again:  # a second open finds the columns already there
        assert len(again.runs()) == 2
        assert again.runs()[1]["details"] == {}  # a run of an earlier version kept none


def test_a_run_keeps_details_by_name(tmp_path: Path) -> None:
    with OpLog(tmp_path / "log.sqlite") as log:
        run_id = log.start_run("op", "/f.yaml", scope="coupa=https://acme.example.com/ x=1")
        log.set_detail(run_id, "monitoring", {"integration": "ERP", "integration_run": None})
        log.set_detail(run_id, "attachments", {"manifest": "/m.csv", "found": 3})
        log.set_detail(run_id, "monitoring", {"integration": "ERP", "integration_run": 12})
        log.finish_run(run_id, "success")
        other = log.start_run("op", "/f.yaml")
        [found], _total = log.find_runs(text="f.yaml", limit=1, offset=1)
        assert found["details"] == {
            "monitoring": {"integration": "ERP", "integration_run": 12},
            "attachments": {"manifest": "/m.csv", "found": 3},
        }
        assert log.run(other, failures_limit=0)["details"] == {}  # type: ignore[index]
        assert log.integration_codes() == ["ERP"]
        assert log.monitored_runs("ERP") == {12: run_id}
        assert log.integration_instance("ERP") == "https://acme.example.com"
        assert log.integration_instance("NOPE") is None


def test_run_and_logs_commands(tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_text("number,amount\nA,1\nB,oops\n")
    ops = tmp_path / "ops.yaml"
    ops.write_text(
        textwrap.dedent(
            """
            operations:
              load:
                source: {type: file, path: in.csv}
                transform:
                  mapping:
                    number: number
                    amount: to_decimal(amount)
                target: {type: file, path: "${out}/out.jsonl"}
                rejects: "${out}/rejects.jsonl"
            """
        )
    )
    db = tmp_path / "log.sqlite"
    runner = CliRunner()
    result = runner.invoke(
        cli,
        ["run", str(ops), "--log-db", str(db), "--var", f"out={tmp_path}", "--format", "json"],
    )
    assert result.exit_code == 1, result.output  # records were rejected
    [summary] = json.loads(result.output)
    assert (summary["read"], summary["written"], summary["rejected"]) == (2, 1, 1)
    assert summary["rejects_file"] == str(tmp_path / "rejects.jsonl")

    listing = runner.invoke(cli, ["logs", "--log-db", str(db), "--format", "json"])
    assert listing.exit_code == 0
    [run] = json.loads(listing.output)
    assert run["operation"] == "load" and run["status"] == "partial"

    table = runner.invoke(cli, ["logs", "--log-db", str(db)])
    assert "load" in table.output and "partial" in table.output

    one = runner.invoke(cli, ["logs", str(run["id"]), "--log-db", str(db), "--format", "json"])
    detail = json.loads(one.output)
    assert detail["failures"][0]["record"] == {"number": "B", "amount": "oops"}
    assert detail["failures"][0]["messages"] == ["amount: 'oops' is not a number"]

    shown = runner.invoke(cli, ["logs", str(run["id"]), "--log-db", str(db)])
    assert "'oops' is not a number" in shown.output
    assert runner.invoke(cli, ["logs", "999", "--log-db", str(db)]).exit_code == 2
