"""The coupa-csv format where files are read: an operation file's file endpoint and
``coupa create --input-format coupa-csv``."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from _operations_support import config_for
from _write_support import find, invoice, invoice_refs, invoke_cli, json_summary, supplier, tag
from coupa_connector.operations import OperationFileError, load_operation_file, run_operations
from coupa_connector.operations.files.coupa_csv import read_coupa_csv, write_coupa_csv
from coupa_connector.sandbox import Sandbox

KILL_AT = Path(__file__).parent / "_kill_at.py"


def _opfile(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "ops.yaml"
    path.write_text(textwrap.dedent(body).lstrip(), encoding="utf-8")
    return path


def _run(ops: Path, sandbox: Sandbox | None = None) -> Any:
    """The operation file's one operation run, against the sandbox when given."""
    connection = config_for(sandbox) if sandbox is not None else None
    [result] = run_operations(ops, log_db=ops.parent / "log.sqlite", connection=connection)
    return result


def test_an_operation_reads_a_coupa_invoice_export(sandbox: Sandbox, tmp_path: Path) -> None:
    invoices = find(sandbox, "invoices", status="approved")[:20]
    [export] = write_coupa_csv("invoices", invoices, tmp_path, direction="export")
    ops = _opfile(
        tmp_path,
        f"""
        operations:
          invoices-from-file:
            source: {{type: file, path: {export.name}, format: coupa-csv, object: invoices}}
            target: {{type: file, path: {tmp_path / "out.jsonl"}}}
        """,
    )
    result = _run(ops, sandbox)
    assert result.status == "success"
    assert result.counts.read == result.counts.written == len(invoices)
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert _ids(out) == _ids(invoices)


def _ids(invoices: list[dict[str, Any]]) -> list[tuple[int, list[int]]]:
    """Each invoice's id with its lines' ids, in order."""
    return [(i["id"], [line["id"] for line in i.get("invoice-lines", [])]) for i in invoices]


def test_an_operation_creates_suppliers_from_a_coupa_import_file(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    t = tag()
    good = [supplier(f"Flat op {t} {n}", f"FO-{t}-{n}") for n in range(3)]
    [path] = write_coupa_csv("suppliers", good, tmp_path)
    # A row Coupa would refuse, added by hand: no name.
    with path.open("a", encoding="utf-8", newline="") as fh:
        fh.write(f'"","","FO-{t}-bad"\r\n')
    ops = _opfile(
        tmp_path,
        f"""
        connection: {{env: true}}
        operations:
          suppliers-in:
            source:
              type: file
              path: {path.name}
              format: coupa-csv
              object: suppliers
              direction: import
            target: {{type: coupa.create, object: suppliers}}
            rejects: {tmp_path / "rejects.jsonl"}
        """,
    )
    result = _run(ops, sandbox)
    assert (result.counts.read, result.counts.written, result.counts.rejected) == (4, 3, 1)
    created = {
        s["number"] for s in find(sandbox, "suppliers", **{"number[starts_with]": f"FO-{t}"})
    }
    assert created == {f"FO-{t}-{n}" for n in range(3)}
    [reject] = [json.loads(x) for x in (tmp_path / "rejects.jsonl").read_text().splitlines()]
    assert reject["number"] == f"FO-{t}-bad" and "name" in json.dumps(reject)


def test_the_operation_file_check_names_what_coupa_csv_needs(tmp_path: Path) -> None:
    ops = _opfile(
        tmp_path,
        """
        operations:
          a:
            source: {type: file, path: in.csv, format: coupa-csv}
            target: {type: file, path: out.jsonl}
          b:
            source: {type: file, path: in.csv, format: coupa-csv, object: contracts}
            target: {type: file, path: out2.jsonl}
          c:
            source: {type: file, path: in.jsonl}
            target: {type: file, path: out3, format: coupa-csv, object: suppliers, direction: up}
          d:
            source: {type: file, path: in.jsonl, object: suppliers}
            target: {type: file, path: out4, format: coupa-csv, validate: sometimes}
        """,
    )
    with pytest.raises(OperationFileError) as info:
        load_operation_file(ops)
    messages = [(p.line, p.message) for p in info.value.problems]
    assert (3, "a: source: format coupa-csv needs object: NAME") in messages
    assert any(line == 6 and "no CSV flat file for 'contracts'" in m for line, m in messages)
    assert (10, "c: target: direction is import or export") in messages
    assert (12, "d: source: object applies to format coupa-csv only") in messages
    assert any(line == 13 and "validate must be one of" in m for line, m in messages)


def test_coupa_create_reads_a_coupa_csv_file(sandbox: Sandbox, tmp_path: Path) -> None:
    t = tag()
    records = [supplier(f"Flat cli {t} {n}", f"FC-{t}-{n}") for n in range(4)]
    [path] = write_coupa_csv("suppliers", records, tmp_path)
    with path.open("a", encoding="utf-8", newline="") as fh:
        fh.write(f'"","","FC-{t}-bad"\r\n')
    rejects = tmp_path / "rejects.jsonl"
    result = invoke_cli(
        sandbox,
        [
            "create",
            "suppliers",
            str(path),
            "--input-format",
            "coupa-csv",
            "--rejects",
            str(rejects),
            "--summary",
            "json",
        ],
    )
    summary = json_summary(result)
    assert (summary["read"], summary["written"], summary["rejected"]) == (5, 4, 1), result.output
    numbers = {
        s["number"] for s in find(sandbox, "suppliers", **{"number[starts_with]": f"FC-{t}"})
    }
    assert numbers == {f"FC-{t}-{n}" for n in range(4)}
    [reject] = [json.loads(x) for x in rejects.read_text().splitlines()]
    assert reject["number"] == f"FC-{t}-bad"


def _suppliers_out(tmp_path: Path, records: list[dict[str, Any]], more: str) -> Path:
    """An operation from a JSON lines file of ``records`` to Coupa CSV files in outbox/."""
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    outbox = tmp_path / "outbox"
    return _opfile(
        tmp_path,
        f"""
        operations:
          suppliers-out:
            source: {{type: file, path: in.jsonl}}
            target: {{type: file, path: {outbox}, format: coupa-csv, object: suppliers}}
            {more}
        """,
    )


def test_an_operation_writes_coupa_import_files_and_rejects_what_coupa_would_refuse(
    tmp_path: Path,
) -> None:
    t = tag()
    rows = [supplier(f"Out {t} {n}", f"OUT-{t}-{n}") for n in range(5)]
    rows.insert(2, {"number": f"OUT-{t}-nameless", "status": "active", "po-method": "email"})
    ops = _suppliers_out(tmp_path, rows, f"rejects: {tmp_path / 'rejects.jsonl'}")
    result = _run(ops)
    assert (result.counts.read, result.counts.written, result.counts.rejected) == (6, 5, 1)
    [path] = result.outputs
    assert re.fullmatch(r"suppliers_\d{8}_\d{6}Z\.csv", Path(path).name)
    assert sorted(p.name for p in (tmp_path / "outbox").iterdir()) == [Path(path).name]
    back = list(read_coupa_csv("suppliers", path, direction="import"))
    assert [r["number"] for r in back] == [f"OUT-{t}-{n}" for n in range(5)]
    [reject] = [json.loads(x) for x in (tmp_path / "rejects.jsonl").read_text().splitlines()]
    assert reject["number"] == f"OUT-{t}-nameless" and "[required]" in json.dumps(reject)


def test_a_killed_run_resumes_into_the_same_files_with_each_record_once(tmp_path: Path) -> None:
    records = [supplier(f"Resume {n}", f"R-{n}") for n in range(300)]
    ops = _suppliers_out(tmp_path, records, "batch_size: 50")
    log_db = tmp_path / "log.sqlite"
    run = ["run", str(ops), "--log-db", str(log_db), "--format", "json"]
    env = {**os.environ, "KILL_AT": json.dumps({"at": "batch", "op": "suppliers-out", "read": 100})}
    killed = subprocess.run(
        [sys.executable, str(KILL_AT), *run], env=env, capture_output=True, timeout=120
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert list((tmp_path / "outbox").glob("*.csv")) == []  # nothing landed yet
    done = subprocess.run(
        [sys.executable, "-m", "coupa_connector", *run, "--resume"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    [path] = (tmp_path / "outbox").glob("*.csv")
    back = list(read_coupa_csv("suppliers", path, direction="import"))
    assert [r["number"] for r in back] == [f"R-{n}" for n in range(300)]
    assert [p.name for p in (tmp_path / "outbox").iterdir()] == [path.name]  # no spool left


def test_coupa_create_reads_invoices_with_their_lines_from_an_import_file(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    t = tag()
    refs = {k: v for k, v in invoice_refs(sandbox).items() if k != "supplier_id"}
    invoices = [invoice(refs, f"FLAT-CLI-{t}-{n}", lines=n + 1) for n in range(3)]
    [path] = write_coupa_csv("invoices", invoices, tmp_path)
    result = invoke_cli(
        sandbox,
        ["create", "invoices", str(path), "--input-format", "coupa-csv", "--summary", "json"],
    )
    summary = json_summary(result)
    assert (summary["read"], summary["written"]) == (3, 3), result.output
    stored = find(sandbox, "invoices", **{"invoice-number[starts_with]": f"FLAT-CLI-{t}"})
    lines = {i["invoice-number"]: len(i["invoice-lines"]) for i in stored}
    assert lines == {f"FLAT-CLI-{t}-{n}": n + 1 for n in range(3)}


def test_an_operation_exports_sandbox_invoices_as_coupa_csv_that_read_back(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    outbox = tmp_path / "exports"
    ops = _opfile(
        tmp_path,
        f"""
        connection: {{env: true}}
        operations:
          invoices-out:
            source: {{type: coupa.query, object: invoices, where: status=approved}}
            target: {{type: file, path: {outbox}, format: coupa-csv, direction: export}}
        """,
    )
    result = _run(ops, sandbox)
    sent = find(sandbox, "invoices", status="approved")
    assert result.status == "success" and result.counts.written == len(sent) > 0
    [path] = result.outputs
    assert re.fullmatch(r"invoices_\d{8}_\d{6}Z\.csv", Path(path).name)
    back = list(read_coupa_csv("invoices", path))
    assert sorted(_ids(back)) == sorted(_ids(sent))
    numbers = {r["id"]: r["invoice-number"] for r in sent}
    assert all(r["invoice-number"] == numbers[r["id"]] for r in back)
