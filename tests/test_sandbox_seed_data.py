"""Seed data that exercises what clients read: shipping terms, custom fields on every main
object, approvals linked to their documents, PO numbers on invoice lines."""

from __future__ import annotations

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
