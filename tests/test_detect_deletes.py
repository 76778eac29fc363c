"""Delete detection against the sandbox: ``coupa query --detect-deletes --state FILE``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from _operations_support import config_for
from _write_support import env_for
from coupa_connector import Connection
from coupa_connector.cli import cli
from coupa_connector.sandbox import Sandbox


@pytest.fixture
def sb(sandbox: Sandbox) -> Iterator[Sandbox]:
    """The sandbox, reseeded afterwards: these tests delete records."""
    yield sandbox
    sandbox.reset()


def _query(sandbox: Sandbox, *args: str) -> Any:
    result = CliRunner().invoke(cli, ["query", *args], env=env_for(sandbox))
    return result


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _delete(sandbox: Sandbox, resource: str, ids: list[int]) -> None:
    with Connection(config_for(sandbox)) as conn:
        for rid in ids:
            conn.request("DELETE", f"/api/{resource}/{rid}")


def test_deleting_37_records_between_two_runs_gives_37_tombstones(
    sb: Sandbox, tmp_path: Path
) -> None:
    state = tmp_path / "requisitions.state.json"
    first = tmp_path / "first.jsonl"
    args = ["requisitions", "--fields", "id,status", "--state", str(state), "--detect-deletes"]
    ran = _query(sb, *args, "-o", str(first))
    assert ran.exit_code == 0, ran.output
    delivered = _records(first)
    assert len(delivered) >= 37 and not any("_deleted" in r for r in delivered)
    assert "0 deleted" in ran.stderr
    # The ids are kept compactly next to the state file: 8 bytes an id.
    ids_file = Path(f"{state}.ids")
    assert ids_file.stat().st_size < 100 + 8 * len(delivered)
    gone = sorted(r["id"] for r in delivered)[3:40]
    _delete(sb, "requisitions", gone)
    second = tmp_path / "second.jsonl"
    ran = _query(sb, *args, "-o", str(second))
    assert ran.exit_code == 0, ran.output
    stones = [r for r in _records(second) if r.get("_deleted") is True]
    assert sorted(s["id"] for s in stones) == gone
    assert all(set(s) == {"id", "_deleted", "_deleted_detected_at"} for s in stones)
    assert "37 deleted" in ran.stderr
    # Told once: the next run finds nothing more gone.
    third = tmp_path / "third.jsonl"
    ran = _query(sb, *args, "-o", str(third))
    assert ran.exit_code == 0, ran.output
    assert [r for r in _records(third) if r.get("_deleted")] == []


def test_a_failed_run_finds_the_same_tombstones_again(sb: Sandbox, tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    args = ["requisitions", "--fields", "id", "--state", str(state), "--detect-deletes"]
    assert _query(sb, *args, "-o", str(tmp_path / "a.jsonl")).exit_code == 0
    first = _records(tmp_path / "a.jsonl")
    _delete(sb, "requisitions", [first[0]["id"]])
    # A run that fails (Coupa answers 500s) writes nothing and keeps the ids of the run before.
    sb.set_faults(error_count=20, error_statuses=[500], path="^/api/requisitions", methods=["GET"])
    env = {**env_for(sb), "COUPA_MAX_RETRIES": "0"}
    failed = CliRunner().invoke(cli, ["query", *args, "-o", str(tmp_path / "b.jsonl")], env=env)
    assert failed.exit_code != 0
    assert not (tmp_path / "b.jsonl").exists()
    sb.clear_faults()
    assert _query(sb, *args, "-o", str(tmp_path / "c.jsonl")).exit_code == 0
    stones = [r for r in _records(tmp_path / "c.jsonl") if r.get("_deleted")]
    assert [s["id"] for s in stones] == [first[0]["id"]]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ((), "give --state"),
        (("--state", "s.json", "--mark-exported"), "cannot go with --mark-exported"),
        (("--state", "s.json", "--limit", "5"), "drop the limit"),
    ],
)
def test_impossible_combinations_are_refused_before_any_request(
    sandbox: Sandbox, tmp_path: Path, extra: tuple[str, ...], message: str
) -> None:
    out = tmp_path / "out.jsonl"
    ran = _query(sandbox, "requisitions", "--detect-deletes", *extra, "-o", str(out))
    assert ran.exit_code == 2
    assert message in ran.output
    assert not out.exists()


def test_show_deleted_lines_is_a_purchase_order_parameter(sandbox: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    ran = _query(sandbox, "invoices", "--show-deleted-lines", "-o", str(out))
    assert ran.exit_code == 2
    assert "show_deleted_lines is a parameter of purchase_orders queries" in ran.output
    assert not out.exists()


def test_show_deleted_lines_is_sent_by_the_query_and_by_an_operation(
    sandbox: Sandbox,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from coupa_connector.operations import run_operations

    monkeypatch.chdir(tmp_path)  # the operation's output and rejects land here

    caplog.set_level("INFO", logger="coupa_connector.transport")
    out = tmp_path / "pos.jsonl"
    ran = _query(sandbox, "purchase_orders", "--show-deleted-lines", "-f", "id", "-o", str(out))
    assert ran.exit_code == 0, ran.output
    ops = tmp_path / "ops.yaml"
    ops.write_text(
        "connection: {env: true}\n"
        "operations:\n"
        "  pos:\n"
        "    source: {type: coupa.query, object: purchase_orders, show_deleted_lines: true}\n"
        "    target: {type: file, path: out.jsonl}\n"
    )
    [result] = run_operations(ops, log_db=tmp_path / "log.sqlite", connection=config_for(sandbox))
    assert result.status == "success"
    pages = [
        r.getMessage() for r in caplog.records if "GET /api/purchase_orders?" in r.getMessage()
    ]
    assert pages and all("show_deleted_lines=true" in m for m in pages)
    bad = tmp_path / "bad.yaml"
    bad.write_text(ops.read_text().replace("purchase_orders", "invoices"))
    from coupa_connector.operations.opfile._yaml import OperationFileError

    with pytest.raises(OperationFileError, match="show_deleted_lines is a parameter of"):
        run_operations(bad, log_db=tmp_path / "log.sqlite", dry_run=True)
