"""The demo: ``coupa demo`` against its embedded sandbox, and the shipped example files."""

from __future__ import annotations

import csv
import filecmp
import functools
import socket
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

import coupa_connector.sandbox
from coupa_connector.cli._demo_cmd import DEMO_OPERATIONS, examples_dir
from coupa_connector.cli._main import cli
from coupa_connector.operations import OpLog
from coupa_connector.sandbox import Sandbox

ROOT = Path(__file__).resolve().parent.parent


def test_demo_runs_the_examples_and_says_where_everything_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both demos get the same port, so the second sandbox has the first one's URL.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setattr(coupa_connector.sandbox, "Sandbox", functools.partial(Sandbox, port=port))
    out = tmp_path / "demo"
    result = CliRunner().invoke(cli, ["demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    with OpLog(out / "oplog.sqlite") as log:
        runs = {r["operation"]: r for r in log.runs()}
    assert {k: v["status"] for k, v in runs.items()} == {
        "invoices-to-erp": "success",
        "suppliers-in": "partial",
        "purchase-orders-to-erp": "success",
    }
    for run in runs.values():
        assert run["read"] == run["written"] + run["rejected"] + run["failed"]

    [invoices_csv] = out.glob("invoices-*.csv")
    with open(invoices_csv, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == runs["invoices-to-erp"]["written"] > 0
    assert f"{len(rows)} records marked exported" in result.output

    [rejects] = (out / "rejects").glob("suppliers-in-*.csv")
    with open(rejects, newline="") as fh:
        rejected = list(csv.DictReader(fh))
    assert len(rejected) == runs["suppliers-in"]["rejected"] == 3
    assert all(r["_errors"] for r in rejected)

    con = sqlite3.connect(out / "erp.sqlite")
    count = con.execute("SELECT count(*) FROM erp_purchase_orders").fetchone()[0]
    assert count == runs["purchase-orders-to-erp"]["written"] > 0

    assert str(out / "oplog.sqlite") in result.output
    assert "COUPA_URL" in result.output and "COUPA_CLIENT_SECRET" in result.output

    # The same demo again, in the same folder with its operation log: the same results.
    again = CliRunner().invoke(cli, ["demo", "--out", str(out)])
    assert again.exit_code == 0, again.output
    with OpLog(out / "oplog.sqlite") as log:
        latest = log.runs(limit=len(runs))
    assert {r["operation"]: _counts(r) for r in latest} == {
        name: _counts(run) for name, run in runs.items()
    }


def _counts(run: dict[str, object]) -> tuple[object, ...]:
    return tuple(run[k] for k in ("status", "read", "written", "rejected", "failed"))


def test_examples_are_shipped_inside_the_package_unchanged() -> None:
    repo = ROOT / "examples"
    shipped = ROOT / "src" / "coupa_connector" / "examples"
    names = sorted(p.name for p in repo.iterdir() if p.is_file())
    assert names == sorted(p.name for p in shipped.iterdir() if p.is_file())
    _match, mismatch, errors = filecmp.cmpfiles(repo, shipped, names, shallow=False)
    assert (mismatch, errors) == ([], []), "copy examples/ to src/coupa_connector/examples/"
    assert examples_dir() == repo
    for name, _title in DEMO_OPERATIONS:
        assert (shipped / name).is_file()
