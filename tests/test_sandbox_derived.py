"""Fields Coupa derives, and records as full as Coupa's: approver ids, account-type ids, PO
numbers on invoice lines, documents' approvals and current approval, booleans never null,
embedded records with every key of their object."""

from __future__ import annotations

import json

import pytest

from _sandbox_api_support import Api
from coupa_connector.catalog import load_catalog

pytestmark = pytest.mark.usefixtures("pristine_data_afterwards")


def test_approvals_carry_approver_id_and_type(api: Api) -> None:
    approvals = api.all("approvals")
    assert approvals
    for approval in approvals:
        assert approval["approver-id"] == approval["approver"]["id"]
        assert approval["approver-type"] == "User"
    one = approvals[0]
    found = api.ids("approvals", {"approver-id": one["approver-id"]})
    assert one["id"] in found


def test_accounts_carry_their_account_type_id(api: Api) -> None:
    for account in api.all("accounts"):
        assert account["account-type-id"] == account["account-type"]["id"]
    account_type = api.one("account_types")
    assert api.ids("accounts", {"account-type-id": account_type["id"]})


def test_po_backed_invoice_lines_carry_the_order_numbers(api: Api) -> None:
    invoices = api.all("invoices", {"invoice-lines[order-line-id][blank]": "false"})
    assert invoices
    checked = 0
    for invoice in invoices[:10]:
        for line in invoice["invoice-lines"]:
            if line["order-line-id"] is None:
                continue
            order_line = api.get(f"/api/purchase_order_lines/{line['order-line-id']}").json()
            po = api.get(f"/api/purchase_orders/{order_line['order-header-id']}").json()
            assert line["order-header-num"] == po["po-number"] == line["po-number"]
            assert line["order-line-num"] == str(order_line["line-num"])
            checked += 1
    assert checked
    number = invoices[0]["invoice-lines"][0]["order-header-num"]
    found = api.ids("invoices", {"invoice-lines[order-header-num]": number})
    assert invoices[0]["id"] in found


def test_an_invoice_created_against_an_order_line_gets_its_numbers(api: Api) -> None:
    order_line = api.one("purchase_order_lines")
    po = api.get(f"/api/purchase_orders/{order_line['order-header-id']}").json()
    body = {
        "invoice-number": f"DER-{order_line['id']}",
        "invoice-date": "2025-06-01",
        "supplier": {"id": po["supplier"]["id"]},
        "currency": {"code": "USD"},
        "account-type": {"name": "US COA"},
        "bill-to-address": {"id": api.one("addresses")["id"]},
        "line-level-taxation": False,
        "invoice-lines": [
            {
                "line-num": 1,
                "description": "billed",
                "quantity": "1",
                "price": "10.00",
                "order-line-id": order_line["id"],
            }
        ],
    }
    response = api.post("/api/invoices", body)
    assert response.status_code == 201, response.text
    [line] = response.json()["invoice-lines"]
    assert line["po-number"] == line["order-header-num"] == po["po-number"]
    assert line["order-line-num"] == str(order_line["line-num"])


def test_documents_embed_their_approvals(api: Api) -> None:
    invoice = api.one("invoices", {"status": "pending_approval"})
    [approval] = invoice["approvals"]
    assert approval["status"] == "pending_approval"
    assert approval["approvable-id"] == invoice["id"]
    assert approval["approver"]["login"]
    fields = json.dumps(["id", {"approvals": ["id", "status", "approver-id"]}])
    [projected] = api.get("/api/invoices", {"id": invoice["id"], "fields": fields}).json()
    assert projected["approvals"] == [
        {"id": approval["id"], "status": "pending_approval", "approver-id": approval["approver-id"]}
    ]


def test_pending_requisitions_name_their_current_approval(api: Api) -> None:
    requisition = api.one("requisitions", {"status": "pending_approval"})
    current = requisition["current-approval"]
    assert current is not None and current["status"] == "pending_approval"
    assert [a["id"] for a in requisition["approvals"]] == [current["id"]]
    assert api.one("requisitions", {"status": "ordered"})["current-approval"] is None
    # Approving it moves the requisition on and leaves no current approval.
    response = api.put(f"/api/approvals/{current['id']}/approve")
    assert response.status_code == 200, response.text
    after = api.get(f"/api/requisitions/{requisition['id']}").json()
    assert after["status"] == "approved"
    assert after["current-approval"] is None
    assert after["approvals"][0]["status"] == "approved"


def test_submitting_an_invoice_lists_the_new_approval(api: Api) -> None:
    invoice = api.one("invoices", {"status": "draft"})
    response = api.put(f"/api/invoices/{invoice['id']}/submit")
    assert response.status_code == 200, response.text
    submitted = response.json()
    assert submitted["status"] == "pending_approval"
    assert [a["status"] for a in submitted["approvals"]][-1] == "pending_approval"
    assert api.get(f"/api/invoices/{invoice['id']}").json()["approvals"] == submitted["approvals"]


@pytest.mark.parametrize(
    "resource",
    ["invoices", "purchase_orders", "requisitions", "suppliers", "users", "approvals"],
)
def test_booleans_are_never_null(api: Api, resource: str) -> None:
    obj = load_catalog().get(resource)
    booleans = [n for n, f in obj.fields.items() if f.kind == "boolean" and f.readable]
    for record in api.get(f"/api/{resource}", {"limit": 20}).json():
        nulls = [n for n in booleans if n in record and record[n] is None]
        assert not nulls, (resource, record["id"], nulls)


def _sample_keys(element: str) -> set[str]:
    """Every child element Coupa's samples show under ``element``."""
    import xml.etree.ElementTree as ET

    from _shared_docs import SAMPLES

    keys: set[str] = set()
    for path in SAMPLES.glob("*/*.xml"):
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError:
            continue
        for found in root.iter(element):
            keys.update(child.tag for child in found)
    return keys


def test_embedded_records_have_every_key_of_their_object(api: Api) -> None:
    catalog = load_catalog()
    supplier = api.one("suppliers", {"primary-contact[email][blank]": "false"})
    for field, obj in (
        ("primary-contact", "supplier-contact"),
        ("primary-address", "supplier-address"),
    ):
        keys = [n for n, f in catalog.get(obj).fields.items() if f.readable and "?" not in n]
        missing = [k for k in keys if k not in supplier[field]]
        assert not missing, (field, missing)
    contact = supplier["primary-contact"]
    assert contact["created-at"] == supplier["created-at"]
    assert contact["created-by"]["login"] == supplier["created-by"]["login"]
    assert contact["active"] is True
    assert contact["purposes"] == []


def test_embedded_records_have_the_keys_of_coupas_samples(api: Api) -> None:
    import xml.etree.ElementTree as ET

    from _shared_docs import SAMPLES, require

    require(SAMPLES)
    supplier = api.one("suppliers", {"primary-contact[email][blank]": "false"})
    root = ET.fromstring(api.get(f"/api/suppliers/{supplier['id']}", fmt="xml").content)
    for element in ("primary-contact", "primary-address"):
        ours = {child.tag for child in root.find(element)}  # type: ignore[union-attr]
        # postal_code: a typo for postal-code in one sample.
        missing = sorted(_sample_keys(element) - ours - {"postal_code"})
        assert not missing, (element, missing)
