"""One convention for positions: the first record is 1, in ``--results`` and in ``coupa logs``
alike, with the record's line in a CSV (or JSON lines) input beside it."""

from __future__ import annotations

import json
from pathlib import Path

from _cli_process import cli_env, coupa, no_traceback
from coupa_connector.sandbox import Sandbox

# Line 3 is blank and the second record's name spans lines 4 and 5: positions and lines differ.
CSV = 'number,amount\nA,1\n\n"B\nb",x\nC,2\n'


def test_results_count_from_one_with_the_csv_line(sandbox: Sandbox, tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("name,number\nFine,P-1\n\n,P-2\n")
    results = tmp_path / "results.jsonl"
    proc = coupa(
        ["create", "suppliers", str(path), "--dry-run", "--results", str(results)], sandbox
    )
    no_traceback(proc)
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    assert [(r["position"], r["line"], r["outcome"]) for r in rows] == [
        (1, 2, "valid"),
        (2, 4, "rejected"),
    ]


def test_logs_count_from_one_with_the_csv_line(sandbox: Sandbox, tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_text(CSV)
    ops = tmp_path / "ops.yaml"
    ops.write_text(
        "operations:\n"
        "  load:\n"
        "    source: {type: file, path: in.csv}\n"
        "    transform:\n"
        "      mapping:\n"
        "        number: number\n"
        "        amount: \"if(amount == 'x', fail('amount must be a number'), amount)\"\n"
        "    target: {type: file, path: out.jsonl}\n"
    )
    log_db = str(tmp_path / "log.sqlite")
    ran = coupa(["run", str(ops), "--log-db", log_db, "--format", "json"], sandbox, cwd=tmp_path)
    [result] = json.loads(ran.stdout)
    assert result["rejected"] == 1, ran.stdout + ran.stderr
    shown = coupa(["logs", str(result["run_id"]), "--log-db", log_db, "--format", "json"])
    no_traceback(shown)
    [failure] = json.loads(shown.stdout)["failures"]
    assert (failure["position"], failure["line"]) == (2, 4)
    table = coupa(["logs", str(result["run_id"]), "--log-db", log_db], env=cli_env(COLUMNS="200"))
    header = next(line for line in table.stdout.splitlines() if "position" in line)
    assert [c.strip() for c in header.split("┃")[1:3]] == ["position", "line"]
    row = next(line for line in table.stdout.splitlines() if line.startswith("│ "))
    assert [c.strip() for c in row.split("│")[1:3]] == ["2", "4"]
