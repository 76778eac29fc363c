"""Catalog corrections as the sandbox serves them, over real HTTP.

The sandbox takes every object's shape from the catalog, so a corrected kind or reference
changes what it renders and accepts: these tests check the corrections end to end.
"""

from __future__ import annotations

import uuid

import pytest
from tests._sandbox_api_support import Api, messages

from _client_sandbox import sandbox_config
from coupa_connector import Connection, QueryError
from coupa_connector.sandbox import Sandbox


def _tag() -> str:
    return uuid.uuid4().hex[:8]


def test_supplier_commodity_is_a_commodity_record(api: Api) -> None:
    supplier = api.one("suppliers", {"commodity[name][blank]": "false"})
    commodity = supplier["commodity"]
    assert isinstance(commodity, dict) and isinstance(commodity["id"], int)
    stored = api.get(f"/api/commodities/{commodity['id']}").json()
    assert commodity["name"] == stored["name"]
    # Filtering through the association finds the supplier.
    found = api.ids("suppliers", {"commodity[name]": stored["name"], "id": supplier["id"]})
    assert found == [supplier["id"]]


def test_supplier_commodity_is_looked_up_by_name_on_create(api: Api) -> None:
    name = api.one("commodities")["name"]
    created = api.post(
        "/api/suppliers", {"name": f"Commodity {_tag()}", "commodity": {"name": name}}
    )
    assert created.status_code == 201, created.text
    assert created.json()["commodity"]["name"] == name
    refused = api.post(
        "/api/suppliers", {"name": f"Commodity {_tag()}", "commodity": {"name": "No such"}}
    )
    assert refused.status_code == 400, refused.text
    assert messages(refused) == ["Commodity is invalid"]


def test_supplier_primary_address_is_a_plain_address(api: Api) -> None:
    # The body of Coupa's supplier example (0081, file 19), in XML as Coupa sends it.
    name = f"Address {_tag()}"
    xml = (
        f"<supplier><name>{name}</name><primary-address>"
        "<street1>425 Market Street # 2250</street1><street2 /><city>San Francisco</city>"
        "<state>CA</state><postal_code>94105</postal_code><country><code>US</code></country>"
        "</primary-address></supplier>"
    )
    created = api.post_xml("/api/suppliers", xml)
    assert created.status_code == 201, created.text
    record = api.get(f"/api/suppliers/{api.one('suppliers', {'name': name})['id']}").json()
    address = record["primary-address"]
    assert (address["street1"], address["city"], address["postal-code"]) == (
        "425 Market Street # 2250",
        "San Francisco",
        "94105",
    )
    assert address["country"]["code"] == "US"


def test_requisition_currency_is_a_currency_record(api: Api) -> None:
    requisition = api.one("requisitions")
    currency = requisition["currency"]
    assert isinstance(currency, dict) and currency["code"] == "USD"
    assert isinstance(currency["id"], int)


def test_order_line_received_is_a_number(api: Api) -> None:
    line = api.one("purchase_order_lines", {"received[gt]": "0"})
    assert float(line["received"]) > 0


def test_exchange_rate_date_is_unique_per_currency_pair_only(api: Api) -> None:
    day = int(_tag(), 16) % 28 + 1
    month = int(_tag(), 16) % 12 + 1
    rate_date = f"2037-{month:02d}-{day:02d}T00:00:00Z"
    existing = api.ids("exchange_rates", {"rate-date": rate_date})
    if existing:
        pytest.skip("the random date is taken; another run will pick another")

    def rate(source: str) -> dict[str, object]:
        return {
            "from-currency": {"code": source},
            "to-currency": {"code": "USD"},
            "rate": "1.1",
            "rate-date": rate_date,
        }

    assert api.post("/api/exchange_rates", rate("EUR")).status_code == 201
    # Another pair on the same date is a valid record.
    assert api.post("/api/exchange_rates", rate("GBP")).status_code == 201
    # The same pair on the same date is not.
    again = api.post("/api/exchange_rates", rate("EUR"))
    assert again.status_code == 400, again.text
    assert messages(again) == ["Rate date has already been taken"]


def test_users_status_parameter_filters_on_active(api: Api) -> None:
    # Coupa documents ?status=active for users, whose records carry the boolean active.
    user = api.one("users", {"active": "true"})
    assert api.put(f"/api/users/{user['id']}", {"active": False}).status_code == 200
    try:
        assert api.ids("users", {"status": "active"}) == api.ids("users", {"active": "true"})
        inactive = api.ids("users", {"status": "inactive"})
        assert user["id"] in inactive and inactive == api.ids("users", {"active": "false"})
        both = api.ids("users", {"status[in]": "active,inactive"})
        assert both == api.ids("users")
        refused = api.get("/api/users", {"status": "retired"})
        assert refused.status_code == 400
        assert "not one of active, inactive" in messages(refused)[0]
    finally:
        api.put(f"/api/users/{user['id']}", {"active": True})
    record = api.get(f"/api/users/{user['id']}").json()
    assert "status" not in record  # a query parameter, never a field of the record


def test_client_query_accepts_the_users_status_parameter(sandbox: Sandbox) -> None:
    with Connection(sandbox_config(sandbox)) as conn:
        by_status = [u["id"] for u in conn.query("users", where="status=active")]
        by_flag = [u["id"] for u in conn.query("users", where="active=true")]
        assert by_status == by_flag and by_status
        with pytest.raises(QueryError, match="not one of active, inactive"):
            list(conn.query("users", where="status=retired"))


def test_objects_only_swagger_knows_are_served(api: Api) -> None:
    # A real Coupa serves /api/invoice_emails; the catalog knows it from Coupa's Swagger only,
    # and the sandbox serves every object of the merged catalog.
    from coupa_connector.catalog import load_catalog

    assert load_catalog().get("invoice_emails").swagger_only
    response = api.get("/api/invoice_emails")
    assert response.status_code == 200, response.text
    assert response.json() == []


def test_records_keep_the_tables_shape_without_swagger_only_fields(api: Api) -> None:
    from coupa_connector.catalog import load_catalog

    users = load_catalog().get("users")
    assert users.fields["api-user?"].swagger_only  # a Rails name, not an XML element name
    record = api.one("users")
    assert "api-user?" not in record and "login" in record
    xml = api.get(f"/api/users/{record['id']}", fmt="xml")
    assert xml.status_code == 200 and b"api-user?" not in xml.content
