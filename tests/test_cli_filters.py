"""Contradictory filters are refused before anything is sent, naming both conditions."""

from __future__ import annotations

from pathlib import Path

import pytest

from _cli_process import coupa, no_traceback
from coupa_connector.activities.query import build_query
from coupa_connector.catalog import load_catalog
from coupa_connector.errors import QueryError
from coupa_connector.sandbox import Sandbox

pytestmark = pytest.mark.usefixtures("pristine_data_afterwards")  # one invoice is marked


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["query", "invoices", "--where", "exported=true", "--mark-exported", "-o", "x.jsonl"],
            "--mark-exported queries exported=false itself",
        ),
        (
            ["query", "invoices", "-w", "status=approved", "-w", "status=voided"],
            "Contradictory conditions: status=approved and status=voided cannot both hold",
        ),
        (
            ["action", "invoices", "mark_exported", "--where", "exported=true",
             "--where", "exported=false"],
            "Contradictory conditions: exported=true and exported=false",
        ),
    ],
)  # fmt: skip
def test_contradictions_are_refused_before_a_request(
    sandbox: Sandbox, tmp_path: Path, args: list[str], message: str
) -> None:
    proc = coupa(["--log-level", "DEBUG", *args], sandbox, cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 2
    assert message in " ".join(proc.stderr.split())
    assert "/api/" not in proc.stderr and "/oauth2/" not in proc.stderr  # nothing sent
    assert list(tmp_path.iterdir()) == []


def test_what_can_hold_together_is_left_alone(sandbox: Sandbox, tmp_path: Path) -> None:
    catalog = load_catalog()
    invoices = catalog.get("invoices")
    # The same value twice, a range, and two lines of one invoice: all can hold.
    build_query(catalog, invoices, where=["status=approved", "status=approved"])
    build_query(catalog, invoices, where=["id>5", "id<9"])
    build_query(
        catalog, invoices, where=["invoice-lines.description=a", "invoice-lines.description=b"]
    )
    with pytest.raises(QueryError, match="Contradictory"):
        build_query(catalog, invoices, where={"status": "approved", "status[eq]": "voided"})
    out = tmp_path / "x.jsonl"
    proc = coupa(
        ["query", "invoices", "-w", "exported=false", "--mark-exported", "--limit", "1",
         "-o", str(out)],
        sandbox,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
