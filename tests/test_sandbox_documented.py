"""What the sandbox does for Coupa's documented example calls beyond accepting them
(``test_conformance.py`` sends every one): the records they name, the routes only Coupa's
tables list, and the writes they make (a reason insight on an order, a picked amount, a
sourcing event's default type)."""

from __future__ import annotations

import pytest

from _sandbox_api_support import Api, messages

pytestmark = pytest.mark.usefixtures("pristine_data_afterwards")


def test_the_records_the_examples_name_are_seeded(api: Api) -> None:
    # <item><id>1</id><name>Turkey</name></item>: Coupa matches a reference on every key.
    assert api.get("/api/items/1").json()["name"] == "Turkey"
    [supplier] = api.get("/api/suppliers", {"number": "DC05"}).json()
    [contract] = api.get("/api/contracts", {"name": "Saladino's OG 15"}).json()
    assert contract["supplier"]["id"] == supplier["id"]
    user = api.one("users")
    addresses = api.get(f"/api/users/{user['id']}/addresses").json()
    assert addresses and all(a["location-code"] == f"USR-{user['id']:04d}" for a in addresses)
    for resource in ("quote_requests", "cycle_counts", "pick_lists"):
        assert api.ids(resource), resource
    count = api.one("cycle_counts")
    lines = api.get(f"/api/cycle_counts/{count['id']}/cycle_count_lines").json()
    assert lines and all(line["cycle-count-id"] == count["id"] for line in lines)


def test_a_remit_to_address_under_both_names(api: Api) -> None:
    supplier = api.one("suppliers")
    created = api.post(
        f"/api/suppliers/{supplier['id']}/remit_to_addresses",
        {
            "remit-to-code": "R-1",
            "street1": "1 Main St",
            "city": "Springfield",
            "postal-code": "12345",
            "country": {"code": "US"},
        },
    )
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    for name in ("addresses", "remit_to_addresses"):
        answer = api.get(f"/api/suppliers/{supplier['id']}/{name}/{rid}")
        assert answer.status_code == 200 and answer.json()["remit-to-code"] == "R-1", name
    changed = api.put(
        f"/api/suppliers/{supplier['id']}/remit_to_addresses/{rid}", {"active": False}
    )
    assert changed.status_code == 200 and changed.json()["active"] is False


def test_tasks_of_a_sourcing_event(api: Api) -> None:
    event = api.one("quote_requests")
    path = f"/api/quote_requests/{event['id']}/tasks"
    created = api.post(path, {"title": "Choose supplier", "percentage": 0})
    assert created.status_code == 201, created.text
    task = created.json()
    assert (task["linkable-type"], task["linkable-id"]) == ("QuoteRequest", event["id"])
    assert [t["id"] for t in api.get(path).json()] == [task["id"]]


def test_a_sourcing_event_defaults_to_an_rfi(api: Api) -> None:
    # "Include the <event-type> element or else Coupa will default to an RFI."
    created = api.post("/api/quote_requests", {"description": "Without a type"})
    assert created.status_code == 201, created.text
    assert (created.json()["event-type"], created.json()["state"]) == ("rfi", "draft")
    typed = api.post("/api/quote_requests", {"description": "Typed", "event-type": "rfq"})
    assert typed.json()["event-type"] == "rfq"


def test_a_reason_insight_on_an_order_is_recorded_as_an_event(api: Api) -> None:
    po = api.one("purchase_orders", {"status[not_in]": "cancelled,closed,soft_closed"})
    path = f"/api/purchase_orders/{po['id']}"
    before = po.get("reason-insight-events") or []
    answer = api.put_xml(
        path,
        "<order-header><reason-insight-code>LATE</reason-insight-code>"
        "<reason-insight-event-comment>Supplier was late</reason-insight-event-comment>"
        "</order-header>",
    )
    assert answer.status_code == 200, answer.text
    events = api.get(path).json()["reason-insight-events"]
    assert len(events) == len(before) + 1
    event = events[-1]
    assert event["reason-insight"]["code"] == "LATE"
    assert (event["comment"], event["eventable-type"], event["eventable-id"]) == (
        "Supplier was late",
        "OrderHeader",
        po["id"],
    )
    assert "reason-insight-code" not in api.get(path).json()
    # A comment without the reason it explains is refused, and changes nothing.
    alone = api.put(path, {"reason-insight-event-comment": "No reason"})
    assert (alone.status_code, messages(alone)) == (400, ["Reason insight can't be blank"])
    assert len(api.get(path).json()["reason-insight-events"]) == len(events)
    # The order's other header fields stay closed to updates.
    other = api.put(path, {"ship-to-attention": "Someone"})
    assert other.status_code == 400


def test_update_fulfillments_names_the_reservation_in_the_body(api: Api) -> None:
    reservation = api.one("pick_lists")
    path = "/api/pick_lists/update_fulfillments"
    answer = api.post(path, {"id": reservation["id"], "qty-pick-amt": "2"})
    assert answer.status_code == 201, answer.text
    assert answer.json()["id"] == reservation["id"]
    assert float(answer.json()["qty-pick-amt"]) == 2
    missing = api.post(path, {"id": 999999, "qty-pick-amt": "2"})
    assert (missing.status_code, messages(missing)) == (404, ["No pick-list with id 999999."])
    no_id = api.post(path, {"qty-pick-amt": "2"})
    assert (no_id.status_code, messages(no_id)) == (400, ["Pick list id can't be blank"])
