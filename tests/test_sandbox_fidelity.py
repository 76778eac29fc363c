"""Coupa's documented example payloads, compared with what the sandbox says and accepts.

For each sample response, the sandbox's XML for the same object must have the sample's
element names, nesting and type attributes (values differ: the data is the sandbox's own).
Sample request bodies are sent as they are and must be accepted.
"""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET

import pytest

from _sandbox_api_support import Api, messages
from _shared_docs import SAMPLES, needs_shared

pytestmark = [needs_shared(SAMPLES), pytest.mark.usefixtures("pristine_data_afterwards")]


def sample(name: str) -> str:
    [path] = list(SAMPLES.glob(name))
    return path.read_text()


def shape(element: ET.Element, path: str = "") -> dict[str, str | None]:
    """Every element path in a document with its type attribute (None when untyped or nil)."""
    found: dict[str, str | None] = {}
    for child in element:
        here = f"{path}/{child.tag}"
        typed = None if child.get("nil") == "true" else child.get("type")
        if here not in found or found[here] is None:
            found[here] = typed
        found.update({k: v for k, v in shape(child, here).items() if found.get(k) is None})
    return found


def assert_same_shape(sample_xml: str, ours: bytes) -> None:
    theirs_root = ET.fromstring(sample_xml.encode())
    our_root = ET.fromstring(ours)
    assert our_root.tag == theirs_root.tag
    assert our_root.get("type") == theirs_root.get("type")
    theirs, mine = shape(theirs_root), shape(our_root)
    missing = sorted(set(theirs) - set(mine))
    assert not missing, f"elements in Coupa's sample that the sandbox lacks: {missing}"
    for path, kind in theirs.items():
        if kind is not None and mine[path] is not None:
            assert mine[path] == kind, f"{path}: Coupa says type={kind!r}, sandbox {mine[path]!r}"


def ours(api: Api, resource: str, params: dict[str, str]) -> bytes:
    response = api.get(f"/api/{resource}", {**params, "limit": "1"}, fmt="xml")
    assert response.status_code == 200, response.text
    return response.content


def test_supplier_list_matches_coupas_sample(api: Api) -> None:
    params = {"payment-term[code]": "2/10 Net 30", "primary-contact[email][blank]": "false"}
    assert_same_shape(sample("0081-*/08.xml"), ours(api, "suppliers", params))


def test_approval_matches_coupas_sample(api: Api) -> None:
    approval_id = api.one("approvals", {"status": "approved"})["id"]
    response = api.get(f"/api/approvals/{approval_id}", fmt="xml")
    assert_same_shape(sample("0132-*/03.xml"), response.content)


def test_exchange_rates_match_coupas_sample(api: Api) -> None:
    assert_same_shape(sample("0055-*/08.xml"), ours(api, "exchange_rates", {}))


@pytest.mark.parametrize("name", ["05.xml", "07.xml", "11.xml"])
def test_addresses_match_coupas_samples(api: Api, name: str) -> None:
    theirs = sample(f"0035-*/{name}")
    if not theirs.lstrip().startswith("<?xml"):
        pytest.skip("not an XML response sample")
    response = ours(api, "addresses", {})
    if "<addresses" not in theirs:
        response = api.get(f"/api/addresses/{api.one('addresses')['id']}", fmt="xml").content
    assert_same_shape(theirs, response)


def test_list_roots_are_coupas(api: Api) -> None:
    roots = {
        "suppliers": "suppliers",
        "purchase_orders": "order-headers",
        "requisitions": "requisition-headers",
        "users": "users",
        "exchange_rates": "exchange-rates",
        "invoices": "invoice-headers",
        "receiving_transactions": "inventory-transactions",
        "expense_reports": "expense-reports",
    }
    for resource, root in roots.items():
        document = ET.fromstring(ours(api, resource, {}))
        assert (document.tag, document.get("type")) == (root, "array"), resource


def test_datetimes_use_the_samples_spelling_and_an_offset(api: Api) -> None:
    document = ET.fromstring(ours(api, "invoices", {}))
    created = document.find("invoice-header/created-at")
    assert created is not None and created.get("type") == "datetime"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", created.text or "")
    assert document.find("invoice-header/invoice-lines").get("type") == "array"  # type: ignore[union-attr]
    assert document.find("invoice-header/gross-total").get("type") == "decimal"  # type: ignore[union-attr]


def test_user_reference_block_matches_coupas(api: Api) -> None:
    approval = api.one("approvals")
    block = approval["created-by"]
    for key in (
        "id",
        "login",
        "email",
        "employee-number",
        "firstname",
        "lastname",
        "salesforce-id",
    ):
        assert key in block


def test_json_types_follow_coupa(api: Api) -> None:
    invoice = api.one("invoices")
    assert isinstance(invoice["id"], int)
    assert isinstance(invoice["gross-total"], str) and "." in invoice["gross-total"]
    assert isinstance(invoice["exported"], bool)
    assert isinstance(invoice["invoice-lines"], list)
    assert isinstance(invoice["invoice-lines"][0]["line-num"], int)
    term = api.one("payment_terms", {"code": "2/10 Net 30"})
    assert term["discount-rate"] == 2.0 and isinstance(term["days-for-net-payment"], int)


def _unique_sample(text: str, old: str) -> str:
    return text.replace(old, f"{old} {time.time_ns() % 10**9}", 1)


def test_coupas_supplier_create_sample_is_accepted(api: Api) -> None:
    body = _unique_sample(sample("0081-*/10.xml"), "<name>CDW")
    body = body.replace("<number>cdw2323", f"<number>cdw{time.time_ns() % 10**9}")
    response = api.post_xml("/api/suppliers", body)
    assert response.status_code == 201, response.text
    created = ET.fromstring(response.content)
    assert created.findtext("status") == "active"
    assert created.findtext("payment-term/code") == "Net 30"
    assert created.findtext("primary-address/postal-code") == "93325"
    assert created.findtext("primary-contact/phone-work/area-code") == "650"
    minimal = _unique_sample(sample("0081-*/12.xml"), "<name>CDW")
    drafted = api.post_xml("/api/suppliers", minimal)
    assert (
        drafted.status_code == 201 and ET.fromstring(drafted.content).findtext("status") == "draft"
    )


def test_coupas_supplier_update_samples_are_accepted(api: Api) -> None:
    created = api.post("/api/suppliers", {"name": f"Fidelity {time.time_ns()}"})
    assert created.status_code == 201, created.text
    supplier_id = created.json()["id"]
    for name in ("15.xml", "17.xml", "19.xml", "24.xml", "25.xml", "27.xml"):
        body = sample(f"0081-*/{name}")
        if "<name>" in body:
            body = _unique_sample(body, "<name>Petra (US)")
            body = body.replace("<number>1-112", f"<number>P-{time.time_ns() % 10**9}")
        response = api.put_xml(f"/api/suppliers/{supplier_id}", body)
        assert response.status_code == 200, (name, response.text)
    final = ET.fromstring(api.get(f"/api/suppliers/{supplier_id}", fmt="xml").content)
    assert final.findtext("po-method") == "prompt" and final.findtext("status") == "inactive"
    assert final.findtext("primary-contact/email") == "test@test.com"
    assert final.findtext("primary-contact/name-family") == "Donovan"


def test_coupas_malformed_sample_is_a_clean_400(api: Api) -> None:
    supplier_id = api.one("suppliers")["id"]
    response = api.put_xml(f"/api/suppliers/{supplier_id}", sample("0081-*/21.xml"))
    assert response.status_code == 400
    assert messages(response)[0].startswith("Malformed XML body")


def test_coupas_exchange_rate_and_address_create_samples(api: Api) -> None:
    rate = api.post_xml("/api/exchange_rates", sample("0055-*/10.xml"))
    assert rate.status_code == 201, rate.text
    created = ET.fromstring(rate.content)
    assert created.findtext("from-currency/code") == "EUR"
    assert created.findtext("rate") == "42.247599959"
    assert (created.findtext("rate-date") or "").startswith("2009-12-30T00:00:00")
    address = api.post_xml("/api/addresses", sample("0035-*/09.xml"))
    assert address.status_code == 201, address.text
    assert ET.fromstring(address.content).findtext("country/code") == "US"


def test_coupas_address_update_samples(api: Api) -> None:
    created = api.post_xml("/api/addresses", sample("0035-*/09.xml"))
    assert created.status_code == 201, created.text
    address_id = int(ET.fromstring(created.content).findtext("id") or 0)
    for name in ("16.xml", "18.xml"):
        response = api.put_xml(f"/api/addresses/{address_id}", sample(f"0035-*/{name}"))
        assert response.status_code == 200, response.text
    final = api.get(f"/api/addresses/{address_id}").json()
    assert final["street2"] == "Suite 200" and final["active"] is False
