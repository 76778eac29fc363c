"""Creates and updates on the sandbox over real HTTP: natural keys, validation messages,
uniqueness, nested lines, the exported flag, audit stamps, and bad bodies."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import time
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from _sandbox_api_support import Api, messages

_COUNTER = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}-{time.time_ns() % 10**10}-{next(_COUNTER)}"


# These tests change seeded records; later tests get the seed back as it was.
pytestmark = pytest.mark.usefixtures("pristine_data_afterwards")


@pytest.fixture
def supplier(api: Api) -> dict[str, Any]:
    return api.one("suppliers", {"status": "active", "fields": '["id","name","number"]'})


def invoice_body(supplier: dict[str, Any], **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "invoice-number": unique("T"),
        "invoice-date": "2025-05-01",
        "currency": {"code": "USD"},
        "supplier": {"number": supplier["number"]},
        "account-type": {"name": "US COA"},
        "bill-to-address": {"location-code": "LOC-0001"},
        "line-level-taxation": False,
        "invoice-lines": [
            {
                "description": "Toner",
                "quantity": "2",
                "price": "15.00",
                "uom": {"code": "EA"},
                "account": {"code": "100-FIN-6100", "account-type": {"name": "US COA"}},
            },
            {"description": "Paper", "quantity": 3, "price": 4.5},
        ],
    }
    body.update(extra)
    return body


def create_invoice(api: Api, supplier: dict[str, Any], **extra: Any) -> dict[str, Any]:
    response = api.post("/api/invoices", invoice_body(supplier, **extra))
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_create_resolves_natural_keys_and_starts_as_draft(
    api: Api, supplier: dict[str, Any]
) -> None:
    invoice = create_invoice(api, supplier)
    assert invoice["status"] == "draft" and invoice["exported"] is False
    assert invoice["supplier"]["id"] == supplier["id"]
    assert invoice["supplier"]["name"] == supplier["name"]
    assert invoice["currency"]["code"] == "USD"
    assert invoice["bill-to-address"]["location-code"] == "LOC-0001"
    first, second = invoice["invoice-lines"]
    assert first["account"]["code"] == "100-FIN-6100"
    assert first["account"]["account-type"]["name"] == "US COA"
    assert first["uom"]["code"] == "EA"
    assert (first["line-num"], second["line-num"]) == (1, 2)
    assert (first["total"], second["total"]) == ("30.00", "13.50")
    assert invoice["gross-total"] == "43.50"
    assert invoice["invoice-date"].startswith("2025-05-01T00:00:00")
    assert invoice["created-by"]["login"] == "coupa_admin"
    assert invoice["created-at"] == invoice["updated-at"]
    shown = api.get(f"/api/invoices/{invoice['id']}").json()
    assert shown == invoice


def test_create_in_xml_with_underscored_names(api: Api, supplier: dict[str, Any]) -> None:
    number = unique("X")
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<invoice-header>
  <invoice_number>{number}</invoice_number>
  <invoice-date type="datetime">2025-06-02</invoice-date>
  <line_level_taxation type="boolean">false</line_level_taxation>
  <supplier><name>{supplier["name"]}</name></supplier>
  <currency><code>EUR</code></currency>
  <account-type><id type="integer">2</id></account-type>
  <bill-to-address><name>Portland HQ</name></bill-to-address>
  <invoice-lines type="array">
    <invoice-line><description>Consulting</description><price type="decimal">100</price>
      <quantity type="decimal">1.5</quantity></invoice-line>
  </invoice-lines>
</invoice-header>"""
    response = api.post_xml("/api/invoices", xml)
    assert response.status_code == 201, response.text
    root = ET.fromstring(response.content)
    assert root.tag == "invoice-header"
    assert root.findtext("invoice-number") == number
    assert root.findtext("supplier/name") == supplier["name"]
    assert root.findtext("currency/code") == "EUR"
    lines = root.find("invoice-lines")
    assert lines is not None and lines.get("type") == "array"
    [line] = lines.findall("invoice-line")
    assert line.findtext("total") == "150.00"
    assert line.find("total").get("type") == "decimal"  # type: ignore[union-attr]


def test_single_line_xml_without_array_attribute(api: Api, supplier: dict[str, Any]) -> None:
    xml = f"""<invoice-header><invoice-number>{unique("S")}</invoice-number>
<invoice-date>2025-06-03</invoice-date><line-level-taxation>false</line-level-taxation>
<supplier><number>{supplier["number"]}</number></supplier><account-type><name>US COA</name>
</account-type><bill-to-address><location-code>LOC-0002</location-code></bill-to-address>
<invoice-lines><invoice-line><description>One</description><price>1</price></invoice-line>
</invoice-lines></invoice-header>"""
    response = api.post_xml("/api/invoices", xml)
    assert response.status_code == 201, response.text
    assert len(ET.fromstring(response.content).findall("invoice-lines/invoice-line")) == 1


def test_validation_reports_every_problem_in_rails_wording(api: Api) -> None:
    body = {
        "invoice-number": "",
        "supplier": {"name": "No Such Supplier Anywhere"},
        "currency": {"code": "XXX"},
        "invoice-date": "not a date",
        "invoice-lines": [{"price": "abc"}],
    }
    for fmt in ("json", "xml"):
        response = api.post("/api/invoices", body, fmt=fmt)
        assert response.status_code == 400
        found = messages(response)
        for expected in (
            "Invoice number can't be blank",
            "Supplier is invalid",
            "Currency is invalid",
            "Invoice date is not a valid date and time",
            "Invoice lines price is not a number",
            "Invoice lines description can't be blank",
            "Account type can't be blank",
            "Line level taxation can't be blank",
        ):
            assert expected in found, (fmt, found)
    json_errors = api.post("/api/invoices", body).json()["errors"]
    assert list(json_errors) == ["invoice_header"]


def test_a_refused_create_stores_nothing(api: Api, supplier: dict[str, Any]) -> None:
    number = unique("R")
    body = invoice_body(supplier, **{"invoice-number": number, "currency": {"code": "XXX"}})
    assert api.post("/api/invoices", body).status_code == 400
    assert api.get("/api/invoices", {"invoice-number": number}).json() == []


def test_uniqueness_messages(api: Api, supplier: dict[str, Any]) -> None:
    invoice = create_invoice(api, supplier)
    again = api.post(
        "/api/invoices", invoice_body(supplier, **{"invoice-number": invoice["invoice-number"]})
    )
    assert again.status_code == 400
    assert messages(again) == ["Invoice number has already been taken"]
    other = api.one("suppliers", {"id[not_eq]": supplier["id"], "fields": '["number"]'})
    elsewhere = invoice_body(
        other, **{"invoice-number": invoice["invoice-number"]}
    )  # unique per supplier only
    assert api.post("/api/invoices", elsewhere).status_code == 201
    login = unique("user")
    user = {"login": login, "email": f"{login}@example.com", "firstname": "A", "lastname": "B"}
    assert api.post("/api/users", user).status_code == 201
    twice = api.post("/api/users", user, fmt="xml")
    assert twice.status_code == 400
    assert messages(twice) == ["Login has already been taken", "Email has already been taken"]
    name_taken = api.post("/api/suppliers", {"name": supplier["name"]})
    assert messages(name_taken) == ["Name has already been taken"]


def test_supplier_defaults_and_partial_update(api: Api) -> None:
    name = unique("Supplier")
    created = api.post("/api/suppliers", {"name": name, "payment_term": {"code": "Net 30"}})
    assert created.status_code == 201, created.text
    supplier = created.json()
    assert supplier["status"] == "draft" and supplier["payment-method"] == "invoice"
    assert supplier["payment-term"]["code"] == "Net 30"
    time.sleep(1.05 - time.time() % 1)  # let the clock pass a whole second
    updated = api.put(
        f"/api/suppliers/{supplier['id']}",
        {"status": "active", "primary-contact": {"email": "x@example.com"}},
    )
    assert updated.status_code == 200, updated.text
    after = updated.json()
    assert after["status"] == "active" and after["name"] == name
    assert after["primary-contact"]["email"] == "x@example.com"
    assert after["payment-term"]["code"] == "Net 30"
    assert after["updated-at"] > supplier["updated-at"]
    assert after["created-at"] == supplier["created-at"]
    refused = api.put(f"/api/suppliers/{supplier['id']}", {"status": "sleeping"})
    assert refused.status_code == 400
    assert messages(refused) == ["Status is not included in the list"]


def test_unknown_reference_on_update_leaves_the_value(api: Api, supplier: dict[str, Any]) -> None:
    invoice = create_invoice(api, supplier)
    response = api.put(f"/api/invoices/{invoice['id']}", {"currency": {"code": "XXX"}})
    assert response.status_code == 200
    assert response.json()["currency"]["code"] == "USD"


def test_updated_at_moves_forward_on_every_write(api: Api, supplier: dict[str, Any]) -> None:
    invoice = create_invoice(api, supplier)
    stamps = [invoice["updated-at"]]
    for n in range(3):
        response = api.put(f"/api/invoices/{invoice['id']}", {"comments": f"change {n}"})
        assert response.status_code == 200
        stamps.append(response.json()["updated-at"])
    instants = [dt.datetime.fromisoformat(s) for s in stamps]
    assert instants == sorted(instants) and len(set(instants)) == len(instants)


def test_nested_lines_add_update_and_delete(api: Api, supplier: dict[str, Any]) -> None:
    invoice = create_invoice(api, supplier)
    first, second = invoice["invoice-lines"]
    body = {
        "invoice-lines": [
            {"id": first["id"], "price": "20.00"},
            {"id": second["id"], "_delete": True},
            {"description": "Added", "price": "1.25", "quantity": "4"},
        ]
    }
    response = api.put(f"/api/invoices/{invoice['id']}", body)
    assert response.status_code == 200, response.text
    lines = response.json()["invoice-lines"]
    assert [li["id"] for li in lines[:1]] == [first["id"]]
    assert lines[0]["price"] == "20.00" and lines[0]["total"] == "40.00"
    assert lines[0]["description"] == "Toner"
    # A new line takes the next number after the lines that remain.
    assert len(lines) == 2 and lines[1]["description"] == "Added" and lines[1]["line-num"] == 2
    assert response.json()["gross-total"] == "45.00"
    stranger = api.put(f"/api/invoices/{invoice['id']}", {"invoice-lines": [{"id": 1}]})
    assert stranger.status_code == 400


def test_xml_update_deletes_a_po_line_as_in_coupas_sample(api: Api) -> None:
    po = api.one("purchase_orders", {"status": "issued", "fields": '["id",{"order-lines":["id"]}]'})
    line_id = po["order-lines"][0]["id"]
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?><order-header><order-lines><order-line>'
        f"<id>{line_id}</id><_delete>true</_delete></order-line></order-lines></order-header>"
    )
    response = api.put_xml(f"/api/purchase_orders/{po['id']}", xml)
    assert response.status_code == 200, response.text
    ids = [
        int(e.text or 0)
        for e in ET.fromstring(response.content).findall("order-lines/order-line/id")
    ]
    assert line_id not in ids
    version = ET.fromstring(response.content).findtext("version")
    assert version is not None and int(version) >= 2
    assert api.get(f"/api/purchase_order_lines/{line_id}").status_code == 404


def test_exported_flag_without_a_body(api: Api, supplier: dict[str, Any]) -> None:
    invoice = create_invoice(api, supplier)
    response = api.put(
        f"/api/invoices/{invoice['id']}",
        params={"exported": "true", "fields": '["id","exported","last-exported-at"]'},
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "exported", "last-exported-at"} and body["exported"] is True
    assert body["last-exported-at"] is not None
    found = api.ids("invoices", {"exported": "true", "id": invoice["id"]})
    assert found == [invoice["id"]]
    for word in ("maybe", "", "truee"):
        refused = api.put(f"/api/invoices/{invoice['id']}", params={"exported": word})
        assert refused.status_code == 400
        assert messages(refused) == [f"Exported is not a boolean (true or false): {word!r}"]
    assert api.get(f"/api/invoices/{invoice['id']}").json()["exported"] is True
    undone = api.put(f"/api/invoices/{invoice['id']}", params={"exported": "false"})
    assert undone.json()["exported"] is False
    # Un-marking keeps the time of the last export.
    assert undone.json()["last-exported-at"] == body["last-exported-at"]


def test_receipts_change_only_through_the_exported_flag(api: Api) -> None:
    receipt = api.one("receiving_transactions", {"status": "created"})
    refused = api.put(f"/api/receiving_transactions/{receipt['id']}", {"quantity": "9"})
    assert refused.status_code == 400
    marked = api.put(
        f"/api/receiving_transactions/{receipt['id']}",
        params={"exported": "true", "fields": '["id","exported"]'},
        content=b"<inventory-transaction><exported>true</exported></inventory-transaction>",
        headers={"Content-Type": "application/xml"},
    )
    assert marked.status_code == 200 and marked.json() == {"id": receipt["id"], "exported": True}


def test_return_object_none_answers_200_with_an_empty_body(
    api: Api, supplier: dict[str, Any]
) -> None:
    response = api.post("/api/invoices", invoice_body(supplier), {"return_object": "none"})
    assert response.status_code == 200 and response.content == b""
    limited = api.post("/api/invoices", invoice_body(supplier), {"return_object": "limited"})
    assert limited.status_code == 201 and set(limited.json()) == {"id"}


def test_account_code_is_derived_from_segments(api: Api) -> None:
    seg = unique("S")[-6:]
    body = {
        "account-type": {"name": "US COA"},
        "segment-1": "900",
        "segment-2": seg,
        "name": f"Test {seg}",
    }
    response = api.post("/api/accounts", body)
    assert response.status_code == 201, response.text
    assert response.json()["code"] == f"900-{seg}"
    found = api.ids("accounts", {"code": f"900-{seg}", "account-type[name]": "US COA"})
    assert found == [response.json()["id"]]


def test_an_account_code_in_two_charts_is_never_picked_silently(
    api: Api, supplier: dict[str, Any]
) -> None:
    seg = unique("S")[-6:]
    ids = {}
    for chart in ("US COA", "EU COA"):
        body = {"account-type": {"name": chart}, "segment-1": "901", "segment-2": seg}
        created = api.post("/api/accounts", {**body, "name": f"{chart} {seg}"})
        assert created.status_code == 201, created.text
        ids[chart] = created.json()["id"]
    code = f"901-{seg}"
    line = {"description": "Audit", "price": "5", "quantity": "1", "account": {"code": code}}
    # The line's account is in its invoice's chart, wherever the header names it in the body.
    invoice = create_invoice(api, supplier, **{"invoice-lines": [line]})
    assert invoice["invoice-lines"][0]["account"]["id"] == ids["US COA"]
    header = invoice_body(supplier, **{"account-type": {"name": "EU COA"}})
    del header["invoice-lines"]
    body = {"invoice-lines": [line], **header}
    eu = api.post("/api/invoices", body)
    assert eu.status_code == 201, eu.text
    assert eu.json()["invoice-lines"][0]["account"]["id"] == ids["EU COA"]
    # A requisition has no chart of its own: the code alone names two accounts.
    user = api.one("users", {"active": "true", "fields": '["login"]'})
    requisition = {
        "requester": {"login": user["login"]},
        "ship-to-address": {"name": "Portland HQ"},
        "requisition-lines": [{"description": "Chair", "quantity": "1", "unit-price": "80"}],
    }
    ambiguous = {**requisition["requisition-lines"][0], "account": {"code": code}}
    refused = api.post("/api/requisitions", {**requisition, "requisition-lines": [ambiguous]})
    assert refused.status_code == 400
    assert messages(refused) == [
        "Requisition lines account is ambiguous: 2 accounts match; "
        "identify it by id or by code and account type"
    ]
    created = api.post("/api/requisitions", requisition)
    assert created.status_code == 201, created.text
    req = created.json()
    # On update too, where an unknown reference would leave the value unchanged.
    edit = {
        "requisition-lines": [{"id": req["requisition-lines"][0]["id"], "account": {"code": code}}]
    }
    changed = api.put(f"/api/requisitions/{req['id']}", edit)
    assert changed.status_code == 400 and "ambiguous" in messages(changed)[0]


def test_requisition_needs_lines_and_a_requester(api: Api) -> None:
    refused = api.post("/api/requisitions", {"ship-to-address": {"name": "Portland HQ"}})
    assert refused.status_code == 400
    assert "Requester can't be blank" in messages(refused)
    assert "Requisition lines can't be blank" in messages(refused)
    user = api.one("users", {"active": "true", "fields": '["login","email"]'})
    ok = api.post(
        "/api/requisitions",
        {
            "requester": {"email": user["email"]},
            "ship-to-address": {"name": "Portland HQ"},
            "requisition-lines": [{"description": "Chair", "quantity": "2", "unit-price": "80"}],
        },
    )
    assert ok.status_code == 201, ok.text
    req = ok.json()
    assert req["status"] == "draft" and req["requested-by"]["login"] == user["login"]
    assert req["total"] == "160.00"


def test_requisition_lines_with_a_duplicate_line_num_are_ignored(api: Api) -> None:
    user = api.one("users", {"active": "true", "fields": '["login"]'})

    def line(num: int, description: str, price: str) -> dict[str, Any]:
        return {"line-num": num, "description": description, "quantity": "1", "unit-price": price}

    body = {
        "requester": {"login": user["login"]},
        "ship-to-address": {"name": "Portland HQ"},
        "requisition-lines": [
            line(1, "Desk", "300"),
            line(2, "Chair", "80"),
            line(2, "Lamp", "20"),
        ],
    }
    created = api.post("/api/requisitions", body)
    assert created.status_code == 201, created.text
    req = created.json()
    lines = req["requisition-lines"]
    assert [(x["line-num"], x["description"]) for x in lines] == [(1, "Desk"), (2, "Chair")]
    assert req["total"] == "380.00"
    # On update: a new line repeating a kept line's number is ignored, a new number is added,
    # and an edit that would give a line another line's number is ignored whole.
    chair = lines[1]["id"]
    edit = {
        "requisition-lines": [
            line(1, "Pen", "5"),
            line(3, "Shelf", "40"),
            {"id": chair, "line-num": 1, "description": "Stool"},
        ]
    }
    changed = api.put(f"/api/requisitions/{req['id']}", edit)
    assert changed.status_code == 200, changed.text
    shown = api.get(f"/api/requisitions/{req['id']}").json()
    assert [(x["line-num"], x["description"]) for x in shown["requisition-lines"]] == [
        (1, "Desk"),
        (2, "Chair"),
        (3, "Shelf"),
    ]
    # A line keeping its own number is no duplicate.
    own = {"requisition-lines": [{"id": chair, "line-num": 2, "description": "Stool"}]}
    assert (
        api.put(f"/api/requisitions/{req['id']}", own).json()["requisition-lines"][1]["description"]
        == "Stool"
    )


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b'{"invoice-number": ', "application/json", 400),
        (b"[1, 2, 3]", "application/json", 400),
        (b"<invoice-header><oops></invoice-header>", "application/xml", 400),
        (b"<supplier><payment-term><id>5<id></payment-term></supplier>", "application/xml", 400),
        (b"<wrong-root/>", "application/xml", 400),
        (b"invoice-number=1", "application/x-www-form-urlencoded", 415),
        (b"\x00\x01\x02", "application/octet-stream", 415),
        (
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;">]>'
            b"<invoice-header><invoice-number>&b;</invoice-number></invoice-header>",
            "application/xml",
            400,
        ),
        (b"[" * 5000 + b"]" * 5000, "application/json", 400),
        (b'{"a":' * 100 + b"1" + b"}" * 100, "application/json", 400),
        (b"<a>" * 200 + b"</a>" * 200, "application/xml", 400),
    ],
)
def test_bad_bodies_are_clean_4xx(api: Api, content: bytes, content_type: str, status: int) -> None:
    response = api.http.post(
        "/api/invoices",
        content=content,
        headers={"Content-Type": content_type, "Accept": "application/json"},
    )
    assert response.status_code == status, response.text
    assert response.json()["errors"]["invoice_header"]


def test_huge_bodies_are_refused(api: Api) -> None:
    big = b'{"comments": "' + b"x" * (11 * 1024 * 1024) + b'"}'
    response = api.http.post(
        "/api/invoices", content=big, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413


def test_wrong_types_in_json_are_400s(api: Api, supplier: dict[str, Any]) -> None:
    body = invoice_body(
        supplier, **{"line-level-taxation": {"nested": True}, "invoice-lines": "not a list"}
    )
    response = api.post("/api/invoices", body)
    assert response.status_code == 400
    found = messages(response)
    assert "Line level taxation must be a single value" in found
    assert any("Invoice lines must be a list" in m for m in found)


def test_fields_and_return_object_apply_to_update_answers(
    api: Api, supplier: dict[str, Any]
) -> None:
    invoice = create_invoice(api, supplier)
    response = api.put(
        f"/api/invoices/{invoice['id']}",
        {"comments": "hello"},
        params={"fields": json.dumps(["id", "comments"])},
    )
    assert response.json() == {"id": invoice["id"], "comments": "hello"}


def test_delete_only_where_coupa_lists_it(api: Api) -> None:
    item = api.one("supplier_items", {"fields": '["id"]'})
    deleted = api.http.delete(f"/api/supplier_items/{item['id']}")
    assert deleted.status_code == 200
    assert api.get(f"/api/supplier_items/{item['id']}").status_code == 404
    invoice = api.one("invoices", {"fields": '["id"]'})
    refused = api.http.delete(f"/api/invoices/{invoice['id']}")
    assert refused.status_code == 405 and "inactivate" in messages(refused)[0]


def test_exported_flag_only_on_objects_that_have_it(api: Api) -> None:
    supplier = api.one("suppliers", {"fields": '["id"]'})
    response = api.put(f"/api/suppliers/{supplier['id']}", params={"exported": "true"})
    assert response.status_code == 400 and "no exported flag" in messages(response)[0]


def test_xml_output_stays_well_formed_with_characters_xml_cannot_carry(
    api: Api, supplier: dict[str, Any]
) -> None:
    invoice = create_invoice(api, supplier)
    text = "bell\u0007 and <&> \ufffe end"
    changed = api.put(
        f"/api/invoices/{invoice['id']}",
        {"comments": text, "custom-fields": {"project-code": "P\u001b1"}},
    )
    assert changed.status_code == 200 and changed.json()["comments"] == text  # JSON keeps it
    record = api.get(f"/api/invoices/{invoice['id']}", fmt="xml")
    root = ET.fromstring(record.content)
    assert root.findtext("comments") == "bell\ufffd and <&> \ufffd end"
    assert root.findtext("custom-fields/project-code") == "P\ufffd1"
    page = api.get("/api/invoices", {"id": invoice["id"]}, fmt="xml")
    [listed] = ET.fromstring(page.content).findall("invoice-header")
    assert listed.findtext("comments") == "bell\ufffd and <&> \ufffd end"
    bad_name = api.put(f"/api/invoices/{invoice['id']}", {"custom-fields": {"a <b>": "x"}})
    assert bad_name.status_code == 400
    assert messages(bad_name) == ["Custom fields 'a <b>' is not a valid custom field name"]
    missing = api.get("/api/bell%07", fmt="xml")
    assert missing.status_code == 404
    assert messages(missing) == ["No such resource: /api/bell\ufffd"]


def test_finished_documents_refuse_updates(api: Api) -> None:
    voided = api.one("invoices", {"status": "voided"})
    refused = api.put(f"/api/invoices/{voided['id']}", {"invoice-number": unique("CHANGED")})
    assert refused.status_code == 400
    assert messages(refused) == [
        f"Invoice header {voided['id']} cannot be updated while its status is voided"
    ]
    assert api.get(f"/api/invoices/{voided['id']}").json() == voided
    marked = api.put(f"/api/invoices/{voided['id']}", params={"exported": "true"})
    assert marked.status_code == 200 and marked.json()["exported"] is True

    cancelled = api.one("purchase_orders", {"status": "cancelled"})
    line = cancelled["order-lines"][0]
    edit = {"order-lines": [{"id": line["id"], "quantity": "99"}]}
    refused = api.put(f"/api/purchase_orders/{cancelled['id']}", edit)
    assert refused.status_code == 400 and "status is cancelled" in messages(refused)[0]


def test_po_updates_change_only_custom_fields_and_lines(api: Api) -> None:
    po = api.one("purchase_orders", {"status": "issued"})
    path = f"/api/purchase_orders/{po['id']}"
    other = api.one("suppliers", {"status": "active", "id[not_eq]": po["supplier"]["id"]})
    refused = api.put(path, {"po-number": "NEWNUM", "supplier": {"name": other["name"]}})
    assert refused.status_code == 400
    assert messages(refused) == [
        "Po number cannot be changed through the API",
        "Supplier cannot be changed through the API",
    ]
    assert api.get(path).json()["po-number"] == po["po-number"]
    # Sent back as it is, a header field is no change.
    same = {"po-number": po["po-number"], "supplier": {"id": po["supplier"]["id"]}}
    line = po["order-lines"][0]
    edit = {
        **same,
        "custom-fields": {"project-code": "PRJ-777"},
        "order-lines": [{"id": line["id"], "quantity": "7"}],
    }
    changed = api.put(path, edit)
    assert changed.status_code == 200, changed.text
    assert changed.json()["custom-fields"]["project-code"] == "PRJ-777"
    [edited] = [li for li in changed.json()["order-lines"] if li["id"] == line["id"]]
    assert float(edited["quantity"]) == 7


def test_a_new_po_version_is_to_be_exported_again(api: Api, supplier: dict[str, Any]) -> None:
    po = api.one("purchase_orders", {"status": "issued"})
    path = f"/api/purchase_orders/{po['id']}"
    marked = api.put(path, params={"exported": "true"}).json()
    assert marked["exported"] is True and marked["last-exported-at"]
    # No new supplier version: a custom field, or a line's description.
    line = po["order-lines"][0]
    quiet = {
        "custom-fields": {"project-code": "PRJ-778"},
        "order-lines": [{"id": line["id"], "description": "Renamed"}],
    }
    same = api.put(path, quiet).json()
    assert (same["version"], same["exported"]) == (marked["version"], True)
    # A quantity change resends the PO: exported goes back to false, the export time stays.
    resent = api.put(path, {"order-lines": [{"id": line["id"], "quantity": "9"}]}).json()
    assert resent["version"] == marked["version"] + 1
    assert resent["exported"] is False
    assert resent["last-exported-at"] == marked["last-exported-at"]
    assert po["id"] in api.ids("purchase_orders", {"exported": "false", "id": po["id"]})
    # API changes to invoices never reset it.
    invoice = create_invoice(api, supplier)
    ipath = f"/api/invoices/{invoice['id']}"
    api.put(ipath, params={"exported": "true"})
    lines = [{"id": invoice["invoice-lines"][0]["id"], "quantity": "3"}]
    edited = api.put(ipath, {"invoice-lines": lines}).json()
    assert edited["exported"] is True


def test_post_creates_external_purchase_orders_only(api: Api, supplier: dict[str, Any]) -> None:
    user = api.one("users", {"active": "true", "fields": '["login"]'})
    body = {
        "po-number": unique("EXT"),
        "supplier": {"number": supplier["number"]},
        "ship-to-user": {"login": user["login"]},
        "order-lines": [{"description": "Desk", "price": "100", "currency": {"code": "USD"}}],
    }
    native = api.post("/api/purchase_orders", {**body, "type": "OrderHeader"})
    assert native.status_code == 400
    assert messages(native) == ["Type must be ExternalOrderHeader on create"]
    for extra in ({}, {"type": "ExternalOrderHeader"}):
        created = api.post("/api/purchase_orders", {**body, **extra, "po-number": unique("EXT")})
        assert created.status_code == 201, created.text
        po = created.json()
        # ``type`` is input-only in Coupa's output; the status is the external PO's.
        assert (po["status"], po["version"]) == ("issued", 1)


def test_text_operators_ignore_case_beyond_ascii(api: Api) -> None:
    tag = unique("U")[-8:]
    name = f"Ärger Öl Straße GmbH {tag}"
    created = api.post("/api/suppliers", {"name": name, "number": f"UNI-{tag}"})
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    for op, value in [
        ("contains", "ärger öl"),
        ("contains", "STRASSE"),
        ("starts_with", "ÄRGER"),
        ("ends_with", f"gmbh {tag}"),
    ]:
        assert api.ids("suppliers", {f"name[{op}]": value, "number": f"UNI-{tag}"}) == [rid], op
    assert api.ids("suppliers", {"name[contains]": "a%rger", "number": f"UNI-{tag}"}) == []
