"""Ctrl-C (a real SIGINT) during ``coupa run`` and ``coupa query``: one line, exit code 130,
the run recorded as interrupted and resumed exactly, and none of asyncio's shutdown noise."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from _cli_process import COUPA, cli_env, let_held_requests_end, no_traceback
from _write_support import find, tag
from coupa_connector.operations import OpLog
from coupa_connector.sandbox import Sandbox
from test_operations_resume import wait_for_progress


def _interrupt(proc: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _start(args: list[str], sb: Sandbox, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*COUPA, *args],
        env=cli_env(sb),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_ctrl_c_during_run_records_interrupted_and_resumes_exactly(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    t = tag()
    (tmp_path / "suppliers.csv").write_text(
        "number,name\n" + "".join(f"INT-{t}-{i:03d},Interrupted {t} {i:03d}\n" for i in range(40))
    )
    ops = tmp_path / "ops.yaml"
    ops.write_text(
        "connection: {env: true}\n"
        "operations:\n"
        "  suppliers-in:\n"
        "    source: {type: file, path: suppliers.csv}\n"
        "    transform: {mapping: {number: number, name: name, status: \"'active'\"}}\n"
        "    target: {type: coupa.create, object: suppliers}\n"
        "    batch_size: 5\n"
    )
    log_db = tmp_path / "oplog.sqlite"
    sandbox.set_faults(latency_ms=40)
    proc = _start(["run", str(ops), "--log-db", str(log_db)], sandbox, tmp_path)
    wait_for_progress(log_db, 5, proc)
    done = _interrupt(proc)
    no_traceback(done)
    assert done.returncode == 130, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"interrupted; resume with `coupa run {ops} --log-db {log_db} --resume`"
    ]
    with OpLog(log_db) as log:
        [run] = log.runs()
    assert run["status"] == "interrupted"
    assert run["read"] < 40

    sandbox.clear_faults()
    again = subprocess.run(
        [*COUPA, "run", str(ops), "--log-db", str(log_db), "--resume"],
        env=cli_env(sandbox),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    no_traceback(again)
    assert again.returncode == 0, again.stdout + again.stderr
    with OpLog(log_db) as log:
        [resumed] = log.runs()
    assert (resumed["id"], resumed["status"], resumed["read"], resumed["written"]) == (
        run["id"],
        "success",
        40,
        40,
    )
    made = find(sandbox, "suppliers", **{"number[starts_with]": f"INT-{t}-"})
    assert sorted(s["number"] for s in made) == [f"INT-{t}-{i:03d}" for i in range(40)]


@pytest.mark.parametrize("extra", [[], ["--processes", "2"]], ids=["one", "processes"])
def test_ctrl_c_during_query_is_one_line_and_130(
    sandbox: Sandbox, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, extra: list[str]
) -> None:
    sandbox.set_faults(latency_ms=2000, methods=["GET"])
    before = sandbox.stats()["total"]
    out = tmp_path / "invoices.jsonl"
    log_db = tmp_path_factory.mktemp("oplog") / "oplog.sqlite"
    args = ["query", "invoices", "-o", str(out), "--log-db", str(log_db), *extra]
    proc = _start(args, sandbox, tmp_path)
    deadline = time.monotonic() + 60
    while sandbox.stats()["total"] == before and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    time.sleep(0.3)  # requests in flight, waiting for their answers
    done = _interrupt(proc)
    let_held_requests_end(2000)
    sandbox.clear_faults()
    no_traceback(done)
    assert done.returncode == 130, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"interrupted; {out} was not written; run the command again to query anew"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no output, no partial files
    with OpLog(log_db) as log:
        [run] = log.runs()
    assert (run["operation"], run["status"]) == ("query invoices", "interrupted")
