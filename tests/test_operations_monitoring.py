"""Operations with ``coupa_monitoring`` and ``watermark: coupa`` against a real sandbox."""

from __future__ import annotations

import dataclasses
import json
import math
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _operations_support import config_for
from coupa_connector import Connection
from coupa_connector.client import RetryPolicy
from coupa_connector.operations import OpLog, run_operations
from coupa_connector.operations.opfile._yaml import OperationFileError
from coupa_connector.sandbox import Sandbox


@pytest.fixture(scope="module")
def own_sandbox() -> Iterator[Sandbox]:
    with Sandbox() as server:
        yield server


@pytest.fixture
def sb(own_sandbox: Sandbox) -> Sandbox:
    own_sandbox.clear_faults()
    return own_sandbox


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Relative output and rejects paths resolve against the working directory.
    monkeypatch.chdir(tmp_path)


def _code() -> str:
    return f"OPS-{uuid.uuid4().hex[:8]}"


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def _ops(folder: Path, name: str, body: str) -> Path:
    """An operation file with one operation, ``body`` its keys (YAML)."""
    text = "connection: {env: true}\noperations:\n  " + name + ":\n"
    return _write(folder, "ops.yaml", text + textwrap.indent(textwrap.dedent(body), "    "))


def _get(sb: Sandbox, path: str, **params: Any) -> Any:
    with Connection(config_for(sb)) as conn:
        return conn.request("GET", path, params=params or None)


def _suppliers_in(folder: Path, code: str, history: str = "errors") -> Path:
    tag = uuid.uuid4().hex[:6]
    rows = [
        {"name": f"Mon {tag} {i}", "number": f"MON-{tag}-{i}", "status": "active"} for i in range(5)
    ]
    rows[1]["status"] = "sideways"  # not one of Coupa's statuses: rejected before sending
    rows[3].pop("name")  # required: rejected before sending
    (folder / "suppliers.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return _ops(
        folder,
        "suppliers-in",
        f"""
        coupa_monitoring: {{integration: {code}, history: {history}}}
        source: {{type: file, path: suppliers.jsonl}}
        target: {{type: coupa.create, object: suppliers}}
        """,
    )


def test_a_monitored_operation_leaves_one_run_in_coupa(sb: Sandbox, tmp_path: Path) -> None:
    code = _code()
    ops = _suppliers_in(tmp_path, code, history="all")
    [result] = run_operations(ops, log_db=tmp_path / "log.sqlite", connection=config_for(sb))
    assert result.status == "partial"
    assert (result.counts.written, result.counts.rejected) == (3, 2)
    assert result.monitoring is not None and result.monitoring["failures"] == 0
    [run] = _get(sb, "/api/integration_runs", **{"integration[code]": code})
    assert run["id"] == result.monitoring["integration_run"]
    # Partial is a run that finished: it ends successful, with every record counted.
    assert run["status"] == "successful"
    assert (run["total-records"], run["records-processed"]) == (5, 5)
    [integration] = _get(sb, "/api/integrations", code=code)
    assert integration["direction"] == "to_coupa"
    errors = _get(sb, "/api/integration_errors", **{"integration-run[id]": run["id"]})
    assert sorted(e["external-id"] for e in errors) == ["1", "3"]
    messages = " ".join(e["responses"][0]["response-message"] for e in errors)
    assert "status" in messages and "name" in messages
    assert {e["document-type"] for e in errors} == {"Supplier"}
    history = _get(sb, "/api/integration_history_records", **{"integration[code]": code})
    assert len(history) == 3 and {h["status"] for h in history} == {"Success"}
    assert all(h["document-id"] for h in history)
    with OpLog(tmp_path / "log.sqlite") as log:
        info = log.run(result.run_id)
        assert log.integration_codes() == [code]
        assert log.monitored_runs(code) == {run["id"]: result.run_id}
        assert log.integration_instance(code) == sb.url.rstrip("/")
    assert info is not None
    # The log keeps what the monitoring did, so it can be shown without asking Coupa.
    assert info["details"]["monitoring"] == {
        "integration": code,
        "integration_run": run["id"],
        "history": "all",
        "state": "successful",
        "processed": 5,
        "errors_sent": 2,
        "history_sent": 3,
        "calls": info["details"]["monitoring"]["calls"],
        "failures": 0,
        "first_failure": None,
    }
    assert info["details"]["monitoring"]["calls"] >= 9


def test_monitoring_500s_leave_the_data_run_alone_and_are_counted(
    sb: Sandbox, tmp_path: Path
) -> None:
    code = _code()
    ops = _suppliers_in(tmp_path, code)
    sb.set_faults(error_rate=1.0, error_statuses=[500], path="^/api/integration")
    quick = dataclasses.replace(config_for(sb), max_retries=1, retry=RetryPolicy(backoff_base=0.01))
    [result] = run_operations(ops, log_db=tmp_path / "log.sqlite", connection=quick)
    sb.clear_faults()
    # The data went as without monitoring.
    assert result.status == "partial"
    assert (result.counts.written, result.counts.rejected) == (3, 2)
    assert result.monitoring is not None
    assert result.monitoring["integration_run"] is None
    # The first call failed; every later one (the batch's errors, progress, end) counted.
    assert result.monitoring["failures"] >= 4
    assert "500" in (result.monitoring["first_failure"] or "")
    with OpLog(tmp_path / "log.sqlite") as log:
        info = log.run(result.run_id)
    assert info is not None and "Coupa monitoring" in json.dumps(info)
    kept = info["details"]["monitoring"]
    assert (kept["integration_run"], kept["state"], kept["errors_sent"]) == (None, None, 0)
    assert kept["failures"] == result.monitoring["failures"]
    assert _get(sb, "/api/integration_runs", **{"integration[code]": code}) == []


def _next_second() -> None:
    now = time.time()
    time.sleep(math.ceil(now) - now + 0.05)


def _suppliers_out(folder: Path, code: str) -> Path:
    return _ops(
        folder,
        "suppliers-out",
        f"""
        coupa_monitoring: {{integration: {code}}}
        watermark: coupa
        source: {{type: coupa.query, object: suppliers, incremental: updated-at}}
        target: {{type: file, path: "out/suppliers-{{run_id}}.jsonl"}}
        """,
    )


def _delivered(result: Any) -> list[int]:
    [path] = result.outputs
    return [json.loads(line)["id"] for line in Path(path).read_text().splitlines()]


def test_watermark_coupa_is_shared_by_two_working_directories(sb: Sandbox, tmp_path: Path) -> None:
    code = _code()
    here, there = tmp_path / "machine-a", tmp_path / "machine-b"
    ops_a, ops_b = _suppliers_out(here, code), _suppliers_out(there, code)
    config = config_for(sb)
    # A run's window ends at the second it starts in: let the suppliers of other tests fall
    # before it.
    _next_second()
    [first] = run_operations(ops_a, log_db=here / "log.sqlite", connection=config)
    with Connection(config) as conn:
        everything = {r["id"] for r in conn.query_all("suppliers", fields=["id"])}
    assert first.status == "success" and set(_delivered(first)) == everything
    _next_second()
    with Connection(config) as conn:
        changed = sorted(everything)[:3]
        for rid in changed:
            conn.request("PUT", f"/api/suppliers/{rid}", body={"display-name": f"now {rid}"})
    _next_second()
    # Another machine, its own operation log: it starts where the first one ended.
    [second] = run_operations(ops_b, log_db=there / "log.sqlite", connection=config)
    assert second.status == "success"
    assert sorted(_delivered(second)) == changed
    # And the first machine starts where the second ended: nothing is sent twice.
    [third] = run_operations(ops_a, log_db=here / "log.sqlite", connection=config)
    assert third.status == "success" and third.counts.read == 0
    runs = _get(sb, "/api/integration_runs", **{"integration[code]": code})
    assert [r["status"] for r in runs] == ["successful"] * 3
    assert all(r["max-updated-at"] for r in runs)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("watermark: coupa", "give coupa_monitoring"),
        ("watermark: elsewhere", "watermark must be local or coupa"),
        ("coupa_monitoring: {history: all}", "integration"),
        ("coupa_monitoring: {integration: X, tone: loud}", "unknown setting 'tone'"),
    ],
)
def test_bookkeeping_options_are_checked_on_load(tmp_path: Path, extra: str, message: str) -> None:
    ops = _ops(
        tmp_path,
        "op",
        f"""
        {extra}
        source: {{type: coupa.query, object: suppliers, incremental: updated-at}}
        target: {{type: file, path: out.jsonl}}
        """,
    )
    with pytest.raises(OperationFileError, match=message):
        run_operations(ops, log_db=tmp_path / "log.sqlite", dry_run=True)


def test_coupa_run_says_when_monitoring_failed(sb: Sandbox, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from _write_support import env_for
    from coupa_connector.cli import cli

    ops = _suppliers_in(tmp_path, _code())
    sb.set_faults(error_rate=1.0, error_statuses=[500], path="^/api/integration")
    env = {**env_for(sb), "COUPA_MAX_RETRIES": "0", "COLUMNS": "200"}
    ran = CliRunner().invoke(
        cli, ["run", str(ops), "--log-db", str(tmp_path / "log.sqlite")], env=env
    )
    sb.clear_faults()
    assert "Coupa monitoring call(s) failed" in ran.output, ran.output
    assert "partial" in ran.output


def test_watermark_coupa_moves_nothing_when_coupa_cannot_keep_it(
    sb: Sandbox, tmp_path: Path
) -> None:
    ops = _suppliers_out(tmp_path, _code())
    sb.set_faults(error_rate=1.0, error_statuses=[500], methods=["POST"], path="^/api/integration")
    quick = dataclasses.replace(config_for(sb), max_retries=0)
    [result] = run_operations(ops, log_db=tmp_path / "log.sqlite", connection=quick)
    sb.clear_faults()
    assert result.status == "failed" and result.counts.read == 0
    assert "watermark: coupa" in (result.error or "")
    assert not list(tmp_path.glob("out/*.jsonl"))


@pytest.mark.parametrize("killed", [False, True], ids=["interrupted", "killed"])
def test_a_resumed_run_continues_its_one_integration_run(
    sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, killed: bool
) -> None:
    from coupa_connector.operations._monitoring import RunMonitor

    code, tag = _code(), uuid.uuid4().hex[:6]
    rows = [
        {"name": f"Res {tag} {i}", "number": f"RES-{tag}-{i}", "status": "active"}
        for i in range(25)
    ]
    rows[2]["status"] = rows[17]["status"] = "sideways"  # rejected, one in each attempt
    (tmp_path / "suppliers.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    ops = _ops(
        tmp_path,
        "suppliers-in",
        f"""
        coupa_monitoring: {{integration: {code}}}
        batch_size: 10
        source: {{type: file, path: suppliers.jsonl}}
        target: {{type: coupa.create, object: suppliers}}
        """,
    )
    original = RunMonitor.batch

    def batch_then_stop(self: RunMonitor, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        raise KeyboardInterrupt  # Ctrl-C once the first batch is in Coupa's record

    monkeypatch.setattr(RunMonitor, "batch", batch_then_stop)
    log_db = tmp_path / "log.sqlite"
    with pytest.raises(KeyboardInterrupt):
        run_operations(ops, log_db=log_db, connection=config_for(sb))
    [paused] = _get(sb, "/api/integration_runs", **{"integration[code]": code})
    # Stopped where a resume can go on: paused with its counts so far, and why it stopped.
    assert paused["status"] == "paused" and paused["records-processed"] == 10
    errors = _get(sb, "/api/integration_errors", **{"integration-run[id]": paused["id"]})
    codes = sorted(e["responses"][0]["response-code"] for e in errors)
    assert codes == ["rejected", "run-stopped"]
    with OpLog(log_db) as log:
        [stopped] = log.runs()
        kept = stopped["details"]["monitoring"]
    # The log says so too: the console shows it without asking Coupa.
    assert (kept["integration_run"], kept["state"]) == (paused["id"], "paused")
    assert (kept["processed"], kept["errors_sent"]) == (10, 2)

    if killed:
        # A killed process never pauses its run: Coupa still has it running.
        with Connection(config_for(sb)) as conn:
            conn.request("PUT", f"/api/integration_runs/{paused['id']}/run", body={})
    monkeypatch.setattr(RunMonitor, "batch", original)
    [result] = run_operations(ops, log_db=log_db, connection=config_for(sb), resume=True)
    assert result.resumed and result.status == "partial"
    assert (result.counts.written, result.counts.rejected) == (23, 2)
    assert result.monitoring is not None and result.monitoring["failures"] == 0
    # One operation run, one run in Coupa: the resume continued it to the end.
    [run] = _get(sb, "/api/integration_runs", **{"integration[code]": code})
    assert run["id"] == paused["id"] == result.monitoring["integration_run"]
    assert run["status"] == "successful"
    assert (run["total-records"], run["records-processed"]) == (25, 25)
    errors = _get(sb, "/api/integration_errors", **{"integration-run[id]": run["id"]})
    assert sorted(e["external-id"] for e in errors if e.get("external-id")) == ["17", "2"]
    assert (result.monitoring["state"], result.monitoring["processed"]) == ("successful", 25)


def test_a_new_run_ends_the_open_run_of_the_attempt_it_replaces(
    sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from coupa_connector.operations._monitoring import RunMonitor

    code = _code()
    ops = _suppliers_in(tmp_path, code)
    original = RunMonitor.batch

    def batch_then_stop(self: RunMonitor, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(RunMonitor, "batch", batch_then_stop)
    log_db = tmp_path / "log.sqlite"
    with pytest.raises(KeyboardInterrupt):
        run_operations(ops, log_db=log_db, connection=config_for(sb))
    monkeypatch.setattr(RunMonitor, "batch", original)
    # Run again without --resume: a new run replaces the unfinished one, in Coupa too.
    [result] = run_operations(ops, log_db=log_db, connection=config_for(sb))
    assert not result.resumed and result.monitoring is not None
    runs = _get(sb, "/api/integration_runs", **{"integration[code]": code})
    by_id = {r["id"]: r["status"] for r in runs}
    assert len(by_id) == 2 and by_id[result.monitoring["integration_run"]] == "successful"
    assert sorted(by_id.values()) == ["failed", "successful"]
