"""Action endpoints and their state rules, and the scopes they need, over real HTTP."""

from __future__ import annotations

import itertools
import time
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from _sandbox_api_support import Api, messages, mint_token
from coupa_connector.sandbox import Sandbox

_COUNTER = itertools.count(1)


# These tests change seeded records; later tests get the seed back as it was.
pytestmark = pytest.mark.usefixtures("pristine_data_afterwards")


def new_invoice(api: Api) -> dict[str, Any]:
    supplier = api.one("suppliers", {"status": "active", "fields": '["number"]'})
    body = {
        "invoice-number": f"A-{time.time_ns() % 10**10}-{next(_COUNTER)}",
        "invoice-date": "2025-07-01",
        "supplier": {"number": supplier["number"]},
        "account-type": {"name": "US COA"},
        "bill-to-address": {"location-code": "LOC-0001"},
        "line-level-taxation": False,
        "invoice-lines": [{"description": "Widget", "price": "10", "quantity": "1"}],
    }
    response = api.post("/api/invoices", body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def act(api: Api, resource: str, rid: int, action: str, **params: Any) -> Any:
    return api.put(f"/api/{resource}/{rid}/{action}", params=params or None)


def approvals_of(api: Api, kind: str, rid: int) -> list[dict[str, Any]]:
    response = api.get("/api/approvals", {"approvable-type": kind, "approvable-id": rid})
    return list(response.json())


def test_invoice_submit_then_approval_approves_it(api: Api) -> None:
    invoice = new_invoice(api)
    submitted = act(api, "invoices", invoice["id"], "submit")
    assert submitted.status_code == 200 and submitted.json()["status"] == "pending_approval"
    [approval] = approvals_of(api, "InvoiceHeader", invoice["id"])
    assert approval["status"] == "pending_approval" and approval["approver"]["login"]
    approved = act(api, "approvals", approval["id"], "approve")
    assert approved.status_code == 200
    assert approved.json()["status"] == "approved" and approved.json()["approval-date"]
    shown = api.get(f"/api/invoices/{invoice['id']}").json()
    assert shown["status"] == "approved"
    assert shown["updated-at"] >= submitted.json()["updated-at"]
    again = act(api, "invoices", invoice["id"], "submit")
    assert again.status_code == 400
    assert "cannot be submitted while its status is approved" in messages(again)[0]


def test_voiding_a_paid_invoice_is_refused(api: Api) -> None:
    paid = api.one("invoices", {"paid": "true", "status": "approved"})
    for fmt in ("json", "xml"):
        response = api.put(f"/api/invoices/{paid['id']}/void", fmt=fmt)
        assert response.status_code == 400
        assert messages(response) == ["A paid invoice cannot be voided"]
    assert api.get(f"/api/invoices/{paid['id']}").json()["status"] == "approved"


def test_void_abandon_dispute_and_withdraw(api: Api) -> None:
    invoice = new_invoice(api)
    abandoned = act(api, "invoices", invoice["id"], "abandon")
    assert abandoned.json()["status"] == "abandoned"
    assert act(api, "invoices", invoice["id"], "void").status_code == 400

    unpaid = api.one("invoices", {"paid": "false", "status": "approved"})
    disputed = api.put(
        f"/api/invoices/{unpaid['id']}/dispute", {"dispute-reason": {"code": "INCORRECT_PRICE"}}
    )
    assert disputed.status_code == 200 and disputed.json()["status"] == "disputed"
    [reason] = disputed.json()["dispute-reasons"]
    assert (reason["code"], reason["description"]) == ("INCORRECT_PRICE", "Incorrect price")
    withdrawn = act(api, "invoices", unpaid["id"], "withdraw_dispute")
    assert withdrawn.json()["status"] == "pending_approval"
    # Back in approval: not voidable until approved again (BUYER_VOIDABLE_STATUSES).
    refused = act(api, "invoices", unpaid["id"], "void")
    assert refused.status_code == 400 and "status is pending_approval" in messages(refused)[0]
    [approval] = [
        a for a in approvals_of(api, "InvoiceHeader", unpaid["id"]) if a["status"] != "approved"
    ]
    assert approval["status"] == "pending_approval"
    assert act(api, "approvals", approval["id"], "approve").status_code == 200
    voided = act(api, "invoices", unpaid["id"], "void", fields='["id","status"]')
    assert voided.json() == {"id": unpaid["id"], "status": "voided"}
    assert act(api, "invoices", unpaid["id"], "void").status_code == 400


@pytest.mark.parametrize("status", ["pending_approval", "disputed"])
def test_invoices_void_only_from_the_buyer_voidable_statuses(api: Api, status: str) -> None:
    invoice = api.one("invoices", {"status": status, "paid": "false"})
    refused = act(api, "invoices", invoice["id"], "void")
    assert refused.status_code == 400
    assert messages(refused) == [
        f"Invoice header {invoice['id']} cannot be voided while its status is {status} "
        "(allowed: approved, draft, pending_receipt)"
    ]
    assert api.get(f"/api/invoices/{invoice['id']}").json()["status"] == status


def test_leaving_approval_withdraws_the_open_approvals(api: Api) -> None:
    disputed = new_invoice(api)
    act(api, "invoices", disputed["id"], "submit")
    assert (
        act(api, "invoices", disputed["id"], "dispute", dispute_reason="NOT_RECEIVED").json()[
            "status"
        ]
        == "disputed"
    )
    [closed] = approvals_of(api, "InvoiceHeader", disputed["id"])
    assert closed["status"] == "withdrawn"
    assert act(api, "approvals", closed["id"], "approve").status_code == 400

    again = new_invoice(api)
    act(api, "invoices", again["id"], "submit")
    act(api, "invoices", again["id"], "dispute", dispute_reason="NOT_RECEIVED")
    act(api, "invoices", again["id"], "withdraw_dispute")
    [old, new] = approvals_of(api, "InvoiceHeader", again["id"])
    assert (old["status"], new["status"]) == ("withdrawn", "pending_approval")
    assert act(api, "approvals", new["id"], "hold").json()["status"] == "on_hold"
    act(api, "invoices", again["id"], "dispute", dispute_reason="NOT_RECEIVED")
    statuses = [a["status"] for a in approvals_of(api, "InvoiceHeader", again["id"])]
    assert statuses == ["withdrawn", "withdrawn"]


def test_dispute_needs_an_active_dispute_reason(api: Api) -> None:
    invoice = api.one("invoices", {"status": "approved", "paid": "false"})
    path = f"/api/invoices/{invoice['id']}/dispute"
    for body, message in [
        (None, "Dispute reason can't be blank"),
        ({"dispute-reason": {"code": "NO_SUCH_REASON"}}, "Dispute reason is invalid"),
        ({"dispute-reason": {"code": "OTHER"}}, "Dispute reason is invalid"),  # inactive
        (
            {"dispute-reason": {"description": "Incorrect quantity"}},
            "Dispute reason can't be blank",
        ),
    ]:
        refused = api.put(path, body)
        assert refused.status_code == 400 and messages(refused) == [message], body
    assert api.get(f"/api/invoices/{invoice['id']}").json()["status"] == "approved"
    xml = (
        "<invoice-header><dispute-reason><code>INCORRECT_QUANTITY</code></dispute-reason>"
        "<comment>Two boxes, not three</comment></invoice-header>"
    )
    disputed = api.put_xml(path, xml)
    assert disputed.status_code == 200, disputed.text
    root = ET.fromstring(disputed.content)
    assert root.findtext("status") == "disputed"
    assert root.findtext("dispute-reasons/dispute-reason/code") == "INCORRECT_QUANTITY"
    assert root.findtext("dispute-reasons/dispute-reason/description") == "Incorrect quantity"
    seeded = api.one("invoices", {"status": "disputed"})
    assert [r["code"] for r in seeded["dispute-reasons"]] != []


def test_purchase_order_state_machine(api: Api) -> None:
    draft = api.one("purchase_orders", {"status": "draft"})
    assert act(api, "purchase_orders", draft["id"], "close").status_code == 400
    issued = act(api, "purchase_orders", draft["id"], "issue")
    assert issued.json()["status"] == "issued"
    assert act(api, "purchase_orders", draft["id"], "issue").status_code == 400
    closed = act(api, "purchase_orders", draft["id"], "close")
    assert closed.json()["status"] == "closed"
    refused = act(api, "purchase_orders", draft["id"], "reopen")
    assert refused.status_code == 400 and "soft_closed" in messages(refused)[0]

    soft = api.one("purchase_orders", {"status": "soft_closed"})
    assert act(api, "purchase_orders", soft["id"], "reopen").json()["status"] == "issued"
    assert act(api, "purchase_orders", soft["id"], "cancel").json()["status"] == "cancelled"
    assert act(api, "purchase_orders", soft["id"], "cancel").status_code == 400


def test_po_cancel_through_the_header_command(api: Api) -> None:
    po = api.one("purchase_orders", {"status": "issued"})
    xml = "<order-header><_cancel>true</_cancel></order-header>"
    response = api.put_xml(f"/api/purchase_orders/{po['id']}", xml)
    assert response.status_code == 200, response.text
    assert ET.fromstring(response.content).findtext("status") == "cancelled"
    again = api.put_xml(f"/api/purchase_orders/{po['id']}", xml)
    assert again.status_code == 400


def test_approvals_act_only_while_pending(api: Api) -> None:
    pending = api.all("approvals", {"status": "pending_approval"}, ["id"])
    assert len(pending) >= 2
    rejected = act(api, "approvals", pending[0]["id"], "reject", reason="Over budget")
    assert rejected.status_code == 200
    assert rejected.json()["status"] == "rejected" and rejected.json()["note"] == "Over budget"
    held = act(api, "approvals", pending[1]["id"], "hold")
    assert held.json()["status"] == "on_hold"
    for rid in (pending[0]["id"], pending[1]["id"]):
        response = act(api, "approvals", rid, "approve")
        assert response.status_code == 400 and "pending_approval" in messages(response)[0]


def test_requisition_submit_for_approval_creates_and_submits(api: Api) -> None:
    user = api.one("users", {"active": "true", "fields": '["login"]'})
    body = {
        "requester": {"login": user["login"]},
        "ship-to-address": {"location-code": "LOC-0002"},
        "requisition-lines": [{"description": "Desk", "quantity": 1, "unit-price": "300"}],
    }
    response = api.post("/api/requisitions/submit_for_approval", body)
    assert response.status_code == 201, response.text
    req = response.json()
    assert req["status"] == "pending_approval" and req["submitted-at"]
    assert [a["status"] for a in approvals_of(api, "RequisitionHeader", req["id"])] == [
        "pending_approval"
    ]
    refused = api.post("/api/requisitions/submit_for_approval", {"requisition-lines": []})
    assert refused.status_code == 400


def test_receipt_void_and_expense_report_submit(api: Api) -> None:
    receipt = api.one("receiving_transactions", {"status": "created"})
    voided = act(api, "receiving_transactions", receipt["id"], "void")
    assert voided.json()["status"] == "voided"
    assert act(api, "receiving_transactions", receipt["id"], "void").status_code == 400

    report = api.one("expense_reports", {"status": "draft"})
    submitted = act(api, "expense_reports", report["id"], "submit")
    assert submitted.json()["status"] == "pending_approval"
    assert submitted.json()["submitted-by"]["login"]
    assert act(api, "expense_reports", report["id"], "submit").status_code == 400


def test_unknown_unemulated_and_misused_actions(api: Api) -> None:
    invoice = api.one("invoices")
    assert act(api, "invoices", invoice["id"], "teleport").status_code == 404
    assert act(api, "invoices", invoice["id"], "approve").status_code == 404
    unemulated = act(api, "invoices", invoice["id"], "revalidate_tolerances")
    assert unemulated.status_code == 400 and "does not emulate" in messages(unemulated)[0]
    wrong_verb = api.http.post(f"/api/invoices/{invoice['id']}/void")
    assert wrong_verb.status_code == 405
    assert act(api, "invoices", 99999999, "void").status_code == 404


def test_scopes_are_checked_per_action(sandbox: Sandbox) -> None:
    client_id = f"reader-{next(_COUNTER)}-{time.time_ns() % 10**8}"
    sandbox.add_client(client_id, "reader-secret", ["core.invoice.read", "core.invoice.write"])
    limited = Api(sandbox, mint_token(sandbox, client_id, "reader-secret"))
    try:
        invoice = limited.one("invoices", {"status": "approved", "paid": "false"})
        refused = limited.put(f"/api/invoices/{invoice['id']}/void")
        assert refused.status_code == 403
        assert "core.invoice.delete" in messages(refused)[0]
        assert limited.get("/api/suppliers").status_code == 403
        assert limited.post("/api/invoices", {"invoice-number": "x"}).status_code == 403
        marked = limited.put(f"/api/invoices/{invoice['id']}", params={"exported": "false"})
        assert marked.status_code == 200
    finally:
        limited.close()
        sandbox.remove_client(client_id)
