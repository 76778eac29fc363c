"""Every command's exit codes, run as real processes, against the one table in docs/cli.md.

The table is read from the document: a code it promises for a command must be produced by
a case here, and a case's code must be in the table for its command.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from _cli_process import COUPA, cli_env, coupa, let_held_requests_end, no_traceback
from _write_support import tag, write_jsonl
from coupa_connector.cli._main import COMMANDS
from coupa_connector.sandbox import Sandbox

DOC = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def documented_codes() -> dict[str, set[int]]:
    """command -> the exit codes docs/cli.md's table gives it."""
    text = DOC.read_text(encoding="utf-8")
    table = text.split("<!-- exit-codes:", 1)[1]
    codes: dict[str, set[int]] = {}
    for line in table.splitlines()[1:]:
        if not line.startswith("|"):
            if codes:
                break
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if not cells[0].isdigit():
            continue
        for command in re.findall(r"`([a-z]+)`", cells[2]):
            codes.setdefault(command, set()).add(int(cells[0]))
    return codes


Setup = Callable[[Sandbox, Path], list[str]]


@dataclass(frozen=True)
class Case:
    """One command line and the code it must exit with.

    ``how``: ``run`` to the end; ``sigint`` once a request reaches the sandbox (held there by
    latency); ``server`` once the process printed its first line (then Ctrl-C stops it);
    ``early`` at once after its first line (a demo still starting its sandbox).
    """

    command: str
    code: int
    args: Setup
    how: str = "run"
    env: dict[str, str] = field(default_factory=dict)


def _args(*args: str) -> Setup:
    return lambda _sb, _tmp: list(args)


def _jsonl(name: str, *records: dict[str, object]) -> Callable[[Path], str]:
    return lambda tmp: str(write_jsonl(tmp / name, records))


def _suppliers(*records: dict[str, object]) -> Callable[[Path], str]:
    return _jsonl("suppliers.jsonl", *records)


def _ops(tmp: Path, target: str, rows: str = "number,name\nEX-1,Exit one\n") -> str:
    (tmp / "in.csv").write_bytes(rows.encode("latin-1"))
    ops = tmp / "ops.yaml"
    ops.write_text(
        "connection: {env: true}\n"
        "operations:\n"
        "  op:\n"
        "    source: {type: file, path: in.csv}\n"
        f"    target: {target}\n"
    )
    return str(ops)


def _good_supplier(_sb: Sandbox, tmp: Path) -> list[str]:
    t = tag()
    path = _suppliers({"name": f"Exit {t}", "number": f"EXC-{t}", "status": "active"})(tmp)
    return ["create", "suppliers", path]


def _slow_create(_sb: Sandbox, tmp: Path) -> list[str]:
    t = tag()
    path = _suppliers({"name": f"Slow {t}", "number": f"EXS-{t}", "status": "active"})(tmp)
    return ["create", "suppliers", path]


def _new_upsert(_sb: Sandbox, tmp: Path) -> list[str]:
    path = _suppliers({"number": f"EXU-{tag()}", "name": f"Up {tag()}"})(tmp)
    return ["upsert", "suppliers", path, "--key", "number"]


HELD_MS = 2000  # latency that holds a request while Ctrl-C comes

NO_SUCH_ID = {"id": 999_999_999, "name": "nobody"}
WRONG_SECRET = {"COUPA_CLIENT_SECRET": "not-the-secret"}
NO_URL = {"COUPA_URL": ""}

CASES = [
    Case("objects", 0, _args("objects", "--format", "json")),
    Case("objects", 2, _args("objects", "--no-such-option")),
    Case("schema", 0, _args("schema", "invoices", "--format", "json")),
    Case("schema", 2, _args("schema", "invoces")),
    Case("sandbox", 0, _args("sandbox", "--port", "0"), how="server"),
    Case("sandbox", 2, _args("sandbox", "--fault", "nonsense")),
    Case("connection", 0, _args("connection", "test")),
    Case("connection", 1, _args("connection", "test"), env=WRONG_SECRET),
    Case("connection", 2, _args("connection", "test"), env=NO_URL),
    Case("query", 0, lambda _sb, tmp: ["query", "invoices", "--limit", "1", "-o", str(tmp / "x")]),
    Case("query", 1, _args("query", "invoices", "--limit", "1"), env=WRONG_SECRET),
    Case("query", 2, _args("query", "invoces")),
    Case("query", 130, lambda _sb, tmp: ["query", "invoices", "-o", str(tmp / "x")], "sigint"),
    Case("create", 0, _good_supplier),
    Case("create", 1, lambda _sb, tmp: ["create", "suppliers", _suppliers({"number": "x"})(tmp)]),
    Case("create", 2, lambda _sb, tmp: ["create", "supliers", _suppliers({"number": "x"})(tmp)]),
    Case("create", 130, _slow_create, how="sigint"),
    Case(
        "update",
        0,
        lambda _sb, tmp: [
            "update",
            "suppliers",
            _suppliers({"id": 1, "name": "x"})(tmp),
            "--dry-run",
        ],
    ),
    Case("update", 1, lambda _sb, tmp: ["update", "suppliers", _suppliers(NO_SUCH_ID)(tmp)]),
    Case(
        "update",
        2,
        lambda _sb, tmp: ["update", "suppliers", _suppliers(NO_SUCH_ID)(tmp), "--key", "numbr"],
    ),
    Case(
        "update",
        130,
        lambda _sb, tmp: ["update", "suppliers", _suppliers(NO_SUCH_ID)(tmp)],
        how="sigint",
    ),
    Case(
        "upsert",
        0,
        lambda sb, tmp: [*_new_upsert(sb, tmp), "--dry-run"],
    ),
    Case(
        "upsert",
        1,
        lambda _sb, tmp: [
            "upsert",
            "suppliers",
            _suppliers({"name": "no number"})(tmp),
            "--key",
            "number",
        ],
    ),
    Case(
        "upsert",
        2,
        lambda _sb, tmp: ["upsert", "suppliers", _suppliers({"id": 1})(tmp), "--key", "id"],
    ),
    Case(
        "upsert",
        130,
        _new_upsert,
        how="sigint",
    ),
    Case("action", 0, _args("action", "invoices", "submit", "--id", "1", "--dry-run")),
    Case("action", 1, _args("action", "invoices", "submit", "--id", "1")),
    Case("action", 2, _args("action", "invoices", "frobnicate", "--id", "1")),
    Case("action", 130, _args("action", "invoices", "submit", "--id", "1"), how="sigint"),
    Case("run", 0, lambda _sb, tmp: ["run", _ops(tmp, "{type: file, path: out.jsonl}")]),
    Case(
        "run",
        1,  # a row that is not UTF-8 is rejected; the rest is written: partial
        lambda _sb, tmp: [
            "run",
            _ops(tmp, "{type: file, path: out.jsonl}", "number,name\n1,M\xfcller\n2,B\n"),
        ],
    ),
    Case("run", 2, lambda _sb, tmp: ["run", _ops(tmp, "{type: nowhere}")]),
    Case(
        "run",
        130,
        lambda _sb, tmp: ["run", _ops(tmp, "{type: coupa.create, object: suppliers}")],
        how="sigint",
    ),
    Case("validate", 0, lambda _sb, tmp: ["validate", _ops(tmp, "{type: file, path: o.jsonl}")]),
    Case("validate", 2, lambda _sb, tmp: ["validate", _ops(tmp, "{type: nowhere}")]),
    Case("logs", 0, lambda _sb, tmp: ["logs", "--log-db", str(tmp / "log.sqlite")]),
    Case("logs", 2, lambda _sb, tmp: ["logs", "7", "--log-db", str(tmp / "log.sqlite")]),
    Case(
        "console",
        0,
        lambda _sb, tmp: ["console", "--port", "0", "--log-db", str(tmp / "log.sqlite")],
        how="server",
    ),
    Case("console", 2, _args("console", "--port", "not-a-port")),
    Case("attachments", 0, _args("attachments", "list", "invoices", "1")),
    Case(
        "attachments",
        1,
        lambda _sb, tmp: ["attachments", "download", "invoices", "--id", "999999", "-o", str(tmp)],
    ),
    Case("attachments", 2, _args("attachments", "list", "invoces", "1")),
    Case("discover", 0, _args("discover", "--objects", "suppliers", "--sample", "5")),
    Case("discover", 1, _args("discover", "--objects", "suppliers"), env=WRONG_SECRET),
    Case("discover", 2, _args("discover", "--objects", "suppliers"), env=NO_URL),
    Case("runs", 0, _args("runs", "NIGHTLY")),
    Case("runs", 1, _args("runs", "NIGHTLY"), env=WRONG_SECRET),
    Case("runs", 2, _args("runs", "NIGHTLY"), env=NO_URL),
    Case("demo", 0, lambda _sb, tmp: ["demo", "--out", str(tmp / "demo")]),
    Case("demo", 2, _args("demo", "--seed-size", "many")),
    Case("demo", 130, lambda _sb, tmp: ["demo", "--out", str(tmp / "demo")], how="server"),
    Case("demo", 130, lambda _sb, tmp: ["demo", "--out", str(tmp / "demo")], how="early"),
]


def test_the_table_covers_every_command_and_every_code_is_tried() -> None:
    table = documented_codes()
    assert set(table) == set(COMMANDS)
    tried = {(c.command, c.code) for c in CASES}
    assert tried == {(cmd, code) for cmd, codes in table.items() for code in codes}


def _wait_for_request(sb: Sandbox, proc: subprocess.Popen[str], before: int) -> None:
    deadline = time.monotonic() + 60
    while sb.stats()["total"] == before:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no request reached the sandbox"
        time.sleep(0.02)
    time.sleep(0.3)  # in flight, held by the latency


def _run_case(case: Case, sb: Sandbox, tmp: Path) -> subprocess.CompletedProcess[str]:
    args = case.args(sb, tmp)
    env = cli_env(sb, **case.env, PYTHONUNBUFFERED="1")
    if case.how == "run":
        return coupa(args, env=env, cwd=tmp, timeout=180)
    if case.how == "sigint":
        sb.set_faults(latency_ms=HELD_MS)
    before = sb.stats()["total"]
    proc = subprocess.Popen(
        [*COUPA, *args], env=env, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        if case.how == "sigint":
            _wait_for_request(sb, proc, before)
        else:
            assert proc.stdout is not None
            first = proc.stdout.readline()  # it is serving (or working) now
            assert first, proc.communicate()
            if case.how != "early":
                time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        if case.how == "sigint":
            let_held_requests_end(HELD_MS)
        sb.clear_faults()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.command}-{c.code}-{c.how}" for c in CASES])
def test_exit_code(case: Case, sandbox: Sandbox, tmp_path: Path) -> None:
    assert case.code in documented_codes()[case.command]
    done = _run_case(case, sandbox, tmp_path)
    no_traceback(done)
    assert done.returncode == case.code, (done.stdout[-2000:], done.stderr[-2000:])
    if case.command == "objects" and case.code == 0:
        assert json.loads(done.stdout)
