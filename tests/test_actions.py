"""Actions against the sandbox: ids, id files, queries, mark-exported, refused transitions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _write_support import (
    FAST,
    call,
    find,
    invoice,
    invoice_refs,
    invoke_cli,
    json_summary,
    run_writes,
    tag,
)
from coupa_connector.activities.write._results import WriteOutcome
from coupa_connector.activities.write.actions import action, action_names
from coupa_connector.activities.write.create import create
from coupa_connector.catalog import load_catalog
from coupa_connector.errors import ConfigurationError
from coupa_connector.sandbox import Sandbox


def _draft_invoices(sandbox: Sandbox, n: int) -> list[int]:
    refs = invoice_refs(sandbox)
    t = tag()
    results, summary = run_writes(
        sandbox,
        lambda conn: create(
            conn,
            "invoices",
            [invoice(refs, f"INV-ACT-{t}-{i}", 1) for i in range(n)],
            options=FAST,
        ),
    )
    assert summary.created == n
    return [r.id for r in results if r.id is not None]


def test_submit_then_invalid_transition_is_a_per_record_failure(sandbox: Sandbox) -> None:
    ids = _draft_invoices(sandbox, 3)
    results, summary = run_writes(
        sandbox, lambda conn: action(conn, "invoices", "submit", ids[:2], options=FAST)
    )
    assert summary.actioned == 2
    assert all(r.outcome is WriteOutcome.ACTIONED for r in results)
    assert call(sandbox, "GET", f"/api/invoices/{ids[0]}")["status"] == "pending_approval"

    # Submitting again is refused by Coupa's state rules; the fresh draft still goes.
    results, summary = run_writes(
        sandbox, lambda conn: action(conn, "invoices", "submit", [ids[0], ids[2]], options=FAST)
    )
    assert [r.outcome for r in results] == [WriteOutcome.FAILED, WriteOutcome.ACTIONED]
    refused = results[0]
    assert refused.status == 400 and refused.id == ids[0]
    assert any("pending_approval" in m or "submit" in m.lower() for m in refused.messages)


def test_void_and_approval_actions(sandbox: Sandbox) -> None:
    ids = _draft_invoices(sandbox, 2)
    _, summary = run_writes(
        sandbox, lambda conn: action(conn, "invoices", "void", [str(ids[0])], options=FAST)
    )
    assert summary.actioned == 1
    assert call(sandbox, "GET", f"/api/invoices/{ids[0]}")["status"] == "voided"

    run_writes(sandbox, lambda conn: action(conn, "invoices", "submit", [ids[1]], options=FAST))
    pending = find(sandbox, "approvals", status="pending_approval", **{"approvable-id": ids[1]})
    assert pending, "submitting an invoice opens an approval"
    results, summary = run_writes(
        sandbox,
        lambda conn: action(
            conn,
            "approvals",
            "reject",
            [pending[0]["id"]],
            params={"reason": "wrong"},
            options=FAST,
        ),
    )
    assert summary.actioned == 1, results[0].messages
    assert call(sandbox, "GET", f"/api/approvals/{pending[0]['id']}")["status"] == "rejected"


def test_mark_exported_by_query_from_the_cli(sandbox: Sandbox, tmp_path: Path) -> None:
    ids = _draft_invoices(sandbox, 3)
    t_number = call(sandbox, "GET", f"/api/invoices/{ids[0]}")["invoice-number"]
    prefix = t_number.rsplit("-", 1)[0]
    results = tmp_path / "results.jsonl"

    outcome = invoke_cli(
        sandbox,
        [
            "action",
            "invoices",
            "mark_exported",
            "--where",
            f"invoice-number^={prefix}-",
            "--where",
            "exported=false",
            "--results",
            str(results),
            "--summary",
            "json",
        ],
    )

    assert outcome.exit_code == 0, outcome.output
    rows = [json.loads(x) for x in results.read_text().splitlines()]
    assert sorted(r["id"] for r in rows) == sorted(ids)
    for rid in ids:
        stored = call(sandbox, "GET", f"/api/invoices/{rid}")
        assert stored["exported"] is True and stored["last-exported-at"]


def test_ids_file_and_natural_key_targets(sandbox: Sandbox, tmp_path: Path) -> None:
    ids = _draft_invoices(sandbox, 3)
    ids_txt = tmp_path / "ids.txt"
    ids_txt.write_text(f"# invoices to abandon\n{ids[0]}\n\nnot-an-id\n", encoding="utf-8")
    outcome = invoke_cli(
        sandbox, ["action", "invoices", "abandon", "--ids-file", str(ids_txt), "--summary", "json"]
    )
    assert outcome.exit_code == 1
    summary = json_summary(outcome)
    assert (summary["actioned"], summary["rejected"]) == (1, 1)
    assert call(sandbox, "GET", f"/api/invoices/{ids[0]}")["status"] == "abandoned"

    stored = [call(sandbox, "GET", f"/api/invoices/{rid}") for rid in ids[1:]]
    targets = tmp_path / "targets.jsonl"
    targets.write_text(
        "".join(
            json.dumps(
                {
                    "invoice-number": s["invoice-number"],
                    "supplier": {"number": s["supplier"]["number"]},
                }
            )
            + "\n"
            for s in stored
        ),
        encoding="utf-8",
    )
    outcome = invoke_cli(
        sandbox,
        [
            "action",
            "invoices",
            "submit",
            "--ids-file",
            str(targets),
            "--key",
            "invoice-number,supplier.number",
        ],
    )
    assert outcome.exit_code == 0, outcome.output
    for rid in ids[1:]:
        assert call(sandbox, "GET", f"/api/invoices/{rid}")["status"] == "pending_approval"


def test_unknown_and_unsuitable_actions_are_refused_up_front(sandbox: Sandbox) -> None:
    with pytest.raises(ConfigurationError, match="no action 'approve'") as info:
        action(None, "invoices", "approve", [1])  # type: ignore[arg-type]
    assert all(name in str(info.value) for name in ("submit", "void", "mark_exported"))
    with pytest.raises(ConfigurationError, match="create/update"):
        action(None, "invoices", "update", [1])  # type: ignore[arg-type]
    assert "cancel" in action_names(load_catalog().get("purchase_orders"))
    outcome = invoke_cli(sandbox, ["action", "invoices", "submit"])
    assert outcome.exit_code == 2 and "exactly one of --id" in outcome.output


def test_purchase_order_cancel_and_receipt_void(sandbox: Sandbox) -> None:
    po = find(sandbox, "purchase_orders", status="issued", fields='["id"]')[0]["id"]
    receipts = find(sandbox, "receiving_transactions", status="created", fields='["id"]')
    _, summary = run_writes(
        sandbox, lambda conn: action(conn, "purchase_orders", "cancel", [po], options=FAST)
    )
    assert summary.actioned == 1
    assert call(sandbox, "GET", f"/api/purchase_orders/{po}")["status"] == "cancelled"
    assert receipts, "the seed has receipts in status created"
    rid = receipts[-1]["id"]
    results, summary = run_writes(
        sandbox,
        lambda conn: action(conn, "receiving_transactions", "void", [rid, rid], options=FAST),
    )
    # The same id twice runs one after the other: the second void finds it voided.
    assert [r.outcome for r in results] == [WriteOutcome.ACTIONED, WriteOutcome.FAILED]


def test_ids_file_rejects_are_an_ids_file_that_can_be_fed_back(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    [rid] = _draft_invoices(sandbox, 1)
    ids_txt = tmp_path / "ids.txt"
    ids_txt.write_text(f"{rid}\nabc\n999999999\n", encoding="utf-8")
    rejects, results = tmp_path / "rji.txt", tmp_path / "res.jsonl"
    args = ["action", "invoices", "mark_exported", "--ids-file"]
    files = ["--rejects", str(rejects), "--results", str(results)]

    outcome = invoke_cli(sandbox, [*args, str(ids_txt), *files])

    assert outcome.exit_code == 1
    rows = [json.loads(x) for x in results.read_text().splitlines()]
    assert rows[1]["outcome"] == "rejected"
    assert rows[1]["messages"] == ["line 2: 'abc' is not a Coupa id"]
    lines = rejects.read_text().splitlines()
    assert lines[0] == "# rejected: line 2: 'abc' is not a Coupa id" and lines[1] == "abc"
    assert lines[2].startswith("# failed: ") and lines[3] == "999999999"
    # Fed back as it is, the comments are skipped and the same two are refused again.
    again = invoke_cli(sandbox, [*args, str(rejects), "--summary", "json"])
    summary = json_summary(again)
    assert (summary["read"], summary["rejected"], summary["failed"]) == (2, 1, 1)
