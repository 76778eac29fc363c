"""Why records were not written reaches the terminal: the first reasons, grouped with counts,
and where the full list is."""

from __future__ import annotations

from pathlib import Path

from _cli_process import coupa, no_traceback
from _write_support import supplier, tag, write_jsonl
from coupa_connector.sandbox import Sandbox


def test_create_prints_grouped_reasons_and_where_the_full_list_is(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    t = tag()
    taken = [supplier(f"Taken {t} {n}", f"TK-{t}-{n}") for n in range(2)]
    first = coupa(["create", "suppliers", str(write_jsonl(tmp_path / "a.jsonl", taken))], sandbox)
    assert first.returncode == 0, first.stderr
    nameless = [{"number": f"NN-{t}-{n}", "status": "active"} for n in range(5)]
    again = [supplier(r["name"], f"TK2-{t}-{n}") for n, r in enumerate(taken)]  # names taken
    path = write_jsonl(tmp_path / "b.jsonl", [*nameless, *again])
    proc = coupa(["create", "suppliers", str(path)], sandbox)
    no_traceback(proc)
    assert proc.returncode == 1
    assert "7 records not written:" in proc.stderr
    assert "  5 x rejected: name is required" in proc.stderr
    assert "  2 x failed: Name has already been taken" in proc.stderr
    assert "--rejects FILE" in proc.stderr

    rejects = tmp_path / "rejects.jsonl"
    proc = coupa(["create", "suppliers", str(path), "--rejects", str(rejects)], sandbox)
    assert f"every record with its reasons: rejects {rejects}" in proc.stderr


def test_at_most_ten_reasons_then_how_many_more(sandbox: Sandbox, tmp_path: Path) -> None:
    # Twelve different lengths over the limit: twelve different reasons.
    records = [{"name": "x" * (101 + n), "number": f"L-{n}"} for n in range(12)]
    path = write_jsonl(tmp_path / "long.jsonl", records)
    proc = coupa(["create", "suppliers", str(path), "--dry-run"], sandbox)
    no_traceback(proc)
    lines = [line for line in proc.stderr.splitlines() if " x rejected: " in line]
    assert len(lines) == 10, proc.stderr
    assert "... and 2+ other reasons" in proc.stderr


def test_action_failure_shows_coupas_reason(sandbox: Sandbox) -> None:
    proc = coupa(["action", "invoices", "submit", "--id", "1"], sandbox)
    no_traceback(proc)
    assert proc.returncode == 1
    assert "1 record not written:" in proc.stderr
    assert "  1 x failed: " in proc.stderr and "cannot be submitted" in proc.stderr
