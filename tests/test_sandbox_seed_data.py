"""Seed data that exercises what clients read: shipping terms, custom fields on every main
object, approvals linked to their documents, PO numbers on invoice lines, and the documented
fields of invoices and suppliers with values that agree with the records they follow from."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import pytest

from _sandbox_api_support import Api
from coupa_connector.sandbox import Sandbox
from coupa_connector.sandbox._objects import SEEDED_CUSTOM_FIELDS as CUSTOM_FIELDS


def test_shipping_terms_are_seeded_and_used(api: Api) -> None:
    terms = api.all("shipping_terms")
    assert len(terms) >= 3 and all(t["code"] and t["active"] for t in terms)
    po = api.one("purchase_orders")
    assert po["shipping-term"]["code"] in {t["code"] for t in terms}
    code = po["shipping-term"]["code"]
    assert po["id"] in api.ids("purchase_orders", {"shipping-term[code]": code, "id": po["id"]})


@pytest.mark.parametrize("resource", sorted(CUSTOM_FIELDS))
def test_main_objects_carry_custom_fields(api: Api, resource: str) -> None:
    record = api.one(resource)
    custom = record["custom-fields"]
    assert set(CUSTOM_FIELDS[resource]) <= set(custom), (resource, custom)
    name = CUSTOM_FIELDS[resource][0]
    value = custom[name]
    # Queryable by bare name, as Coupa allows for custom fields.
    assert record["id"] in api.ids(resource, {name: value, "id": record["id"]})


def test_every_approval_names_a_document_that_lists_it(api: Api, sandbox: Sandbox) -> None:
    sandbox.reset()  # the seed's own approvals, whatever other tests wrote
    documents = {
        "InvoiceHeader": "invoices",
        "RequisitionHeader": "requisitions",
        "ExpenseReport": "expense_reports",
    }
    for approval in api.all("approvals")[:60]:
        res = documents[approval["approvable-type"]]
        answer = api.get(f"/api/{res}/{approval['approvable-id']}")
        assert answer.status_code == 200, (approval, answer.text)
        doc = answer.json()
        assert approval["id"] in [a["id"] for a in doc["approvals"]]


def _money(value: object) -> Decimal:
    return Decimal(str(value))


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), ROUND_HALF_UP)


def _discount(net: object, tax: object, percent: object) -> Decimal:
    return _cents(_money(net) * _money(percent) / 100) + _cents(_money(tax) * _money(percent) / 100)


def test_invoice_amounts_add_up_and_follow_the_payment_term(api: Api) -> None:
    invoices = api.all("invoices")[:120]
    discounted = [i for i in invoices if i["payment-term"]["discount-rate"]]
    assert discounted and len(discounted) < len(invoices)
    for inv in invoices:
        net, tax, gross = (
            _money(inv[k]) for k in ("gross-total", "tax-amount", "total-with-taxes")
        )
        discount = _money(inv["discount-amount"])
        assert _money(inv["gross-total-less-discount"]) == gross - discount, inv["id"]
        less = _money(inv["net-total-less-discount"]) + _money(inv["total-taxes-less-discount"])
        assert less == gross - discount, inv["id"]
        rate = _money(inv["exchange-rate"])
        assert _money(inv["origin-currency-gross"]) == _cents(gross * rate)
        assert inv["tax-amount-engine"] == inv["tax-amount"] and inv["supplier-total"] == str(gross)
        assert inv["customer-account-number"] == inv["supplier"]["account-number"]
        assert inv["supplier-remit-to"]["supplier-name"] == inv["supplier"]["name"]
        term = inv["payment-term"]
        if term["discount-rate"]:
            assert float(inv["discount-percent"]) == float(term["discount-rate"])
            assert discount == _discount(net, tax, term["discount-rate"])
            days = dt.datetime.fromisoformat(inv["discount-due-date"]) - dt.datetime.fromisoformat(
                inv["invoice-date"]
            )
            assert days.days == term["days-for-discount-payment"]
        else:
            assert discount == 0 and inv["discount-due-date"] is None


def test_invoice_references_resolve_to_related_records(api: Api) -> None:
    invoices = api.all("invoices")[:120]
    contracts = {c["id"]: c for c in api.all("contracts")}
    with_contract = [i for i in invoices if i["contract"]]
    assert with_contract
    for inv in with_contract:
        assert contracts[inv["contract"]["id"]]["supplier"]["id"] == inv["supplier"]["id"]
    backed = [i for i in invoices if i["invoice-lines"] and i["invoice-lines"][0]["po-number"]]
    assert backed
    for inv in backed[:20]:
        number = inv["invoice-lines"][0]["po-number"]
        [po] = api.get("/api/purchase_orders", {"po-number": number}).json()
        assert inv["shipping-term"]["id"] == po["shipping-term"]["id"]


def test_country_fields_only_on_invoices_issued_under_a_countrys_rules(api: Api) -> None:
    invoices = api.all("invoices")[:110]
    mexican = [i for i in invoices if i["origin-country"] and i["origin-country"]["code"] == "MX"]
    domestic = [i for i in invoices if i["origin-country"] is None]
    assert mexican and domestic
    assert all(i["transaction-uuid"] and i["series"] == "A" for i in mexican)
    assert all(
        i["transaction-uuid"] is None and i["invoice-from-address"] is None for i in domestic
    )
    brazilian = [i for i in invoices if i["verification-code"]]
    assert brazilian and all(len(i["verification-code"]) == 44 for i in brazilian)


def test_image_scan_fields_name_the_stored_scan(api: Api) -> None:
    inv = api.one("invoices", {"image-scan[blank]": "false"})
    answer = api.get(inv["image-scan-url"])
    assert answer.status_code == 200
    assert inv["image-scan-file-name"] in answer.headers["content-disposition"]
    assert answer.headers["content-type"].startswith(inv["image-scan-content-type"])


def test_supplier_fields_follow_their_settings(api: Api) -> None:
    suppliers = api.all("suppliers")
    ids = {s["id"] for s in suppliers}
    cxml = [s for s in suppliers if s["po-method"] == "cxml"]
    assert cxml and all(s["cxml-url"] and s["cxml-supplier-identity"] == s["duns"] for s in cxml)
    assert all(s["cxml-url"] is None for s in suppliers if s["po-method"] != "cxml")
    assert all(s["cxml-secret"] is None and s["coupa-connect-secret"] is None for s in suppliers)
    children = [s for s in suppliers if s["parent"]]
    assert children and all(s["parent"]["id"] in ids for s in children)
    seeded = [s for s in suppliers if s["commodity"]]
    assert all(s["preferred-commodities"] == s["commodity"]["name"] for s in seeded)
    assert all(s["payment-terms"] == s["payment-term"]["code"] for s in seeded)


@pytest.mark.usefixtures("pristine_data_afterwards")
def test_changed_lines_rederive_the_discounted_amounts(api: Api) -> None:
    inv = next(
        i
        for i in api.all("invoices", {"status": "draft"})
        if i["payment-term"]["discount-rate"] and i["invoice-lines"]
    )
    line = inv["invoice-lines"][0]
    answer = api.put(
        f"/api/invoices/{inv['id']}",
        {"invoice-lines": [{"id": line["id"], "quantity": "10", "price": "100.00"}]},
    )
    assert answer.status_code == 200, answer.text
    after = answer.json()
    assert after["gross-total"] != inv["gross-total"]
    gross, discount = _money(after["total-with-taxes"]), _money(after["discount-amount"])
    assert _money(after["gross-total-less-discount"]) == gross - discount
    assert discount == _discount(after["gross-total"], after["tax-amount"], inv["discount-percent"])
