"""Update against the sandbox: by id, by natural key (none, one, several), nested lines."""

from __future__ import annotations

import json
from pathlib import Path

from _write_support import FAST, call, invoice, invoice_refs, invoke_cli, run_writes, supplier, tag
from coupa_connector.activities.write._results import WriteOutcome
from coupa_connector.activities.write.create import create
from coupa_connector.activities.write.update import update
from coupa_connector.sandbox import Sandbox


def _make_suppliers(sandbox: Sandbox, t: str, n: int, **extra: str) -> list[int]:
    results, summary = run_writes(
        sandbox,
        lambda conn: create(
            conn,
            "suppliers",
            [supplier(f"Upd {t} {i}", f"UP-{t}-{i}", **extra) for i in range(n)],
            options=FAST,
        ),
    )
    assert summary.created == n
    return [r.id for r in results if r.id is not None]


def test_update_by_id(sandbox: Sandbox) -> None:
    t = tag()
    ids = _make_suppliers(sandbox, t, 3)
    changes = [{"id": rid, "display-name": f"Renamed {rid}"} for rid in ids]
    changes.append({"id": 999_999_999, "display-name": "nobody"})

    results, summary = run_writes(
        sandbox, lambda conn: update(conn, "suppliers", changes, options=FAST)
    )

    assert (summary.updated, summary.failed, summary.read) == (3, 1, 4)
    for rid in ids:
        assert call(sandbox, "GET", f"/api/suppliers/{rid}")["display-name"] == f"Renamed {rid}"
    missing = results[3]
    assert missing.outcome is WriteOutcome.FAILED and missing.status == 404
    assert "999999999" in missing.messages[0]


def test_update_by_natural_key_none_one_several(sandbox: Sandbox) -> None:
    t = tag()
    ids = _make_suppliers(sandbox, t, 2, **{"display-name": f"Twin {t}"})
    single = _make_suppliers(sandbox, t + "s", 1)
    changes = [
        {"number": f"UP-{t}s-0", "website": "https://one.example.com"},  # one match
        {"number": f"NOPE-{t}", "website": "https://none.example.com"},  # no match
    ]
    results, summary = run_writes(
        sandbox, lambda conn: update(conn, "suppliers", changes, key="number", options=FAST)
    )
    assert [r.outcome for r in results] == [WriteOutcome.UPDATED, WriteOutcome.FAILED]
    assert results[0].id == single[0]
    assert f"no suppliers record matches number='NOPE-{t}'" in results[1].messages[0]
    stored = call(sandbox, "GET", f"/api/suppliers/{single[0]}")
    assert stored["website"] == "https://one.example.com"

    several = [{"display-name": f"Twin {t}", "website": "https://twin.example.com"}]
    results, summary = run_writes(
        sandbox,
        lambda conn: update(conn, "suppliers", several, key="display-name", options=FAST),
    )
    assert summary.failed == 1
    message = results[0].messages[0]
    assert "2 suppliers records match" in message
    assert all(str(i) in message for i in ids)
    for rid in ids:  # neither was touched
        assert (
            call(sandbox, "GET", f"/api/suppliers/{rid}")["website"] != "https://twin.example.com"
        )


def test_update_by_key_batches_lookups(sandbox: Sandbox) -> None:
    t = tag()
    _make_suppliers(sandbox, t, 60)
    changes = [{"number": f"UP-{t}-{i}", "account-number": f"AC{i}"} for i in range(60)]
    sandbox.reset_stats()
    _, summary = run_writes(
        sandbox, lambda conn: update(conn, "suppliers", changes, key="number", options=FAST)
    )
    assert summary.updated == 60
    routes = sandbox.stats()["by_route"]
    lookups = sum(v["total"] for k, v in routes.items() if k.startswith("GET /api/suppliers"))
    puts = sum(v["total"] for k, v in routes.items() if k.startswith("PUT /api/suppliers"))
    assert puts == 60
    assert lookups <= 3  # chunks of 50 values, not one query per record


def test_update_invoice_by_composite_key_and_nested_lines(sandbox: Sandbox) -> None:
    refs = invoice_refs(sandbox)
    t = tag()
    number = f"INV-UPD-{t}"
    results, _ = run_writes(
        sandbox, lambda conn: create(conn, "invoices", [invoice(refs, number, 3)], options=FAST)
    )
    invoice_id = results[0].id
    lines = call(sandbox, "GET", f"/api/invoices/{invoice_id}")["invoice-lines"]
    assert len(lines) == 3
    change = {
        "invoice-number": number,
        "supplier": refs["supplier"],
        "supplier-note": "lines changed",
        "invoice-lines": [
            {"id": lines[0]["id"], "price": "99.00"},  # update
            {"id": lines[1]["id"], "_delete": True},  # remove
            {  # add
                "line-num": 4,
                "type": "InvoiceQuantityLine",
                "description": "Added line",
                "quantity": "1",
                "price": "5.00",
                "account": refs["account"],
            },
        ],
    }

    results, summary = run_writes(
        sandbox,
        lambda conn: update(
            conn, "invoices", [change], key="invoice-number,supplier.number", options=FAST
        ),
    )

    assert summary.updated == 1, results[0].messages
    assert results[0].id == invoice_id
    stored = call(sandbox, "GET", f"/api/invoices/{invoice_id}")
    assert stored["supplier-note"] == "lines changed"
    by_id = {ln["id"]: ln for ln in stored["invoice-lines"]}
    assert by_id[lines[0]["id"]]["price"] == "99.00"
    assert lines[1]["id"] not in by_id
    assert lines[2]["id"] in by_id
    assert any(ln["description"] == "Added line" for ln in stored["invoice-lines"])
    assert len(stored["invoice-lines"]) == 3


def test_update_rejects_records_without_id_or_key(sandbox: Sandbox, tmp_path: Path) -> None:
    path = tmp_path / "changes.jsonl"
    path.write_text(
        json.dumps({"website": "https://x.example.com"})
        + "\n"
        + json.dumps({"id": "abc", "website": "https://x.example.com"})
        + "\n",
        encoding="utf-8",
    )
    outcome = invoke_cli(
        sandbox, ["update", "suppliers", str(path), "--results", str(tmp_path / "r.jsonl")]
    )
    assert outcome.exit_code == 1
    rows = [json.loads(x) for x in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert [r["outcome"] for r in rows] == ["rejected", "rejected"]
    assert "id" in rows[0]["messages"][0]
    assert "'abc'" in " ".join(rows[1]["messages"])


def test_update_cli_by_key_with_csv(sandbox: Sandbox, tmp_path: Path) -> None:
    t = tag()
    ids = _make_suppliers(sandbox, t, 2)
    path = tmp_path / "changes.csv"
    path.write_text(f"number,display-name\nUP-{t}-0,CSV zero\nUP-{t}-1,CSV one\n", encoding="utf-8")
    outcome = invoke_cli(sandbox, ["update", "suppliers", str(path), "--key", "number"])
    assert outcome.exit_code == 0, outcome.output
    assert "updated" in outcome.output
    assert call(sandbox, "GET", f"/api/suppliers/{ids[1]}")["display-name"] == "CSV one"


def test_update_without_key_uses_the_catalogs_natural_key(sandbox: Sandbox) -> None:
    t = tag()
    ids = _make_suppliers(sandbox, t, 1)
    results, summary = run_writes(
        sandbox,
        lambda conn: update(
            conn, "suppliers", [{"number": f"UP-{t}-0", "display-name": "by number"}], options=FAST
        ),
    )
    assert summary.updated == 1 and results[0].id == ids[0]
    assert call(sandbox, "GET", f"/api/suppliers/{ids[0]}")["display-name"] == "by number"
