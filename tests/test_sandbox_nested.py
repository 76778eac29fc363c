"""Routes under a parent record, from the catalog's Swagger paths: comments, addresses,
remit-to addresses, supplier sites, supplier items, expense lines, and every other nested
route of the served objects (none is a 404)."""

from __future__ import annotations

import re

import pytest

from _sandbox_api_support import Api, messages
from coupa_connector.catalog import load_catalog
from coupa_connector.sandbox._nested import NestedRoutes
from coupa_connector.sandbox._objects import default_views

pytestmark = pytest.mark.usefixtures("pristine_data_afterwards")


def test_an_items_supplier_items(api: Api) -> None:
    supplier_item = api.one("supplier_items")
    item_id = supplier_item["item"]["id"]
    listed = api.get(f"/api/items/{item_id}/supplier_items").json()
    assert supplier_item["id"] in [s["id"] for s in listed]
    assert all(s["item"]["id"] == item_id for s in listed)
    one = api.get(f"/api/items/{item_id}/supplier_items/{supplier_item['id']}")
    assert one.status_code == 200 and one.json()["id"] == supplier_item["id"]
    other_item = api.one("items", {"id[not_eq]": item_id})["id"]
    wrong = api.get(f"/api/items/{other_item}/supplier_items/{supplier_item['id']}")
    assert wrong.status_code == 404


def test_supplier_items_created_under_an_item_belong_to_it(api: Api) -> None:
    item = api.one("items")
    supplier = api.one("suppliers")
    response = api.post(
        f"/api/items/{item['id']}/supplier_items",
        {"supplier": {"id": supplier["id"]}, "price": "12.50", "supplier-part-num": "NEST-1"},
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["item"]["id"] == item["id"]
    changed = api.put(f"/api/items/{item['id']}/supplier_items/{created['id']}", {"price": "13.00"})
    assert changed.status_code == 200 and changed.json()["price"] == "13.00"
    gone = api.http.delete(f"/api/items/{item['id']}/supplier_items/{created['id']}")
    assert gone.status_code == 200
    assert api.get(f"/api/items/{item['id']}/supplier_items/{created['id']}").status_code == 404


def test_comments_on_documents(api: Api) -> None:
    invoice = api.one("invoices")
    path = f"/api/invoices/{invoice['id']}/comments"
    assert api.get(path).json() == []
    xml_empty = api.get(path, fmt="xml")
    assert xml_empty.status_code == 404  # Coupa's empty XML list
    response = api.post(path, {"comments": "Please check the quantity"})
    assert response.status_code == 201, response.text
    comment = response.json()
    assert comment["commentable-type"] == "InvoiceHeader"
    assert comment["commentable-id"] == invoice["id"]
    assert [c["id"] for c in api.get(path).json()] == [comment["id"]]
    assert api.get(f"{path}/{comment['id']}").json()["comments"] == "Please check the quantity"
    po = api.one("purchase_orders")
    assert api.get(f"/api/purchase_orders/{po['id']}/comments").json() == []


def test_a_users_addresses(api: Api) -> None:
    user = api.one("users")
    path = f"/api/users/{user['id']}/addresses"
    # The seed gives the first users an address of their own (Coupa's Addresses examples
    # update one); a new one is added to them.
    seeded = [a["id"] for a in api.get(path).json()]
    assert seeded
    response = api.post(
        path,
        {
            "name": "Home office",
            "street1": "1 Main St",
            "city": "Springfield",
            "postal-code": "12345",
            "country": {"code": "US"},
        },
    )
    assert response.status_code == 201, response.text
    address = response.json()
    assert "@parent" not in address
    assert [a["id"] for a in api.get(path).json()] == [*seeded, address["id"]]
    other = api.one("users", {"id[not_eq]": user["id"]})
    theirs = [a["id"] for a in api.get(f"/api/users/{other['id']}/addresses").json()]
    assert not {*seeded, address["id"]} & set(theirs)
    updated = api.put(f"{path}/{address['id']}", {"city": "Shelbyville"})
    assert updated.status_code == 200 and updated.json()["city"] == "Shelbyville"


def test_remit_to_addresses_and_supplier_sites(api: Api) -> None:
    supplier = api.one("suppliers")
    for child in ("addresses", "supplier_sites"):
        response = api.get(f"/api/suppliers/{supplier['id']}/{child}")
        assert response.status_code == 200, (child, response.text)
        assert isinstance(response.json(), list)
    created = api.post(
        f"/api/suppliers/{supplier['id']}/addresses",
        {
            "name": "Remit",
            "street1": "2 Pay Rd",
            "city": "Austin",
            "postal-code": "73301",
            "country": {"code": "US"},
            "remit-to-code": "R-1",
        },
    )
    assert created.status_code == 201, created.text
    listed = api.get(f"/api/suppliers/{supplier['id']}/addresses").json()
    assert created.json()["id"] in [a["id"] for a in listed]


def test_expense_lines_of_a_report(api: Api) -> None:
    report = api.one("expense_reports", {"status": "draft"})
    path = f"/api/expense_reports/{report['id']}/expense_lines"
    lines = api.get(path).json()
    assert [ln["id"] for ln in lines] == [ln["id"] for ln in report["expense-lines"]]
    assert all(ln["expense-report-id"] == report["id"] for ln in lines)
    one = api.get(f"{path}/{lines[0]['id']}")
    assert one.status_code == 200 and one.json()["description"] == lines[0]["description"]
    # Writes go through the report, which stays the one record of its lines.
    body = {"description": "Parking", "amount": "12.00", "expense-category": {"name": "Taxi"}}
    added = api.post(path, body)
    assert added.status_code == 201, added.text
    after = api.get(f"/api/expense_reports/{report['id']}").json()
    assert added.json()["id"] in [ln["id"] for ln in after["expense-lines"]]
    changed = api.put(f"{path}/{added.json()['id']}", {"amount": "15.00"})
    assert changed.status_code == 200 and changed.json()["amount"] == "15.00"
    removed = api.http.delete(f"{path}/{added.json()['id']}")
    assert removed.status_code == 200
    assert added.json()["id"] not in [ln["id"] for ln in api.get(path).json()]


def test_an_unknown_parent_is_a_404_naming_it(api: Api) -> None:
    response = api.get("/api/items/999999999/supplier_items")
    assert response.status_code == 404
    assert any("999999999" in m for m in messages(response))


def test_a_verb_the_route_lacks_is_a_405(api: Api) -> None:
    item = api.one("items")
    response = api.http.patch(f"/api/items/{item['id']}/supplier_items", json={})
    assert response.status_code == 405


def _example(path: str) -> str:
    return re.sub(r":[a-z_]+", "1", path)


def test_every_documented_nested_route_is_answered(api: Api) -> None:
    routes = NestedRoutes(default_views()).templates()
    assert len(routes) >= 200
    statuses: dict[int, int] = {}
    for route in routes:
        response = api.http.request(
            route.verb,
            _example(route.path),
            headers={"Accept": "application/json", "Content-Type": "application/json"},
            content=b"{}" if route.verb in ("POST", "PUT", "PATCH") else None,
        )
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        if response.status_code == 404:
            # Only for a parent or child record that does not exist, never for the route.
            assert not any("No route matches" in m for m in messages(response)), route.path
        assert response.status_code < 500, (route.path, response.text)
    print(f"\n  nested routes: {len(routes)} answered, by status: {dict(sorted(statuses.items()))}")


def test_every_catalog_nested_route_is_compiled() -> None:
    catalog = load_catalog()
    documented = {
        (r.verb, r.path) for o in catalog for r in o.routes if r.nested and r.path.count(":") >= 1
    }
    compiled = {(r.verb, r.path) for r in NestedRoutes(default_views()).templates()}
    assert documented <= compiled
    # The rest come from the reference tables: an action's own path, or a documented route
    # under the other name the tables give its collection (remit_to_addresses).
    actions = {(a.verb, a.path) for o in catalog for a in o.actions}
    shapes = {(v, tuple(p.split("/")[:4]), tuple(p.split("/")[5:])) for v, p in documented}
    extra = compiled - documented
    assert extra
    for verb, path in extra:
        parts = path.split("/")
        assert (verb, path) in actions or (verb, tuple(parts[:4]), tuple(parts[5:])) in shapes
    assert ("POST", "/api/quote_requests/:quote_request_id/tasks") in extra
    assert ("PUT", "/api/suppliers/:supplier_id/remit_to_addresses/:id") in extra


def test_a_handler_registered_for_one_child_serves_only_its_routes() -> None:
    import asyncio

    from starlette.requests import Request
    from starlette.responses import Response

    from coupa_connector.sandbox._app import CoupaApi
    from coupa_connector.sandbox._nested import NestedMatch, NestedRoute
    from coupa_connector.sandbox._query import RequestError
    from coupa_connector.sandbox._store import Store
    from coupa_connector.sandbox.seed import seed_store

    api = CoupaApi(Store(seed_size=3, seeder=seed_store))
    calls: list[str] = []

    async def upload(request: Request, route: NestedRoute, match: NestedMatch) -> Response:
        calls.append(route.path)
        return Response(b"stored", status_code=201)

    api.nested.register("nested-upload", upload, child="attachments")

    def post(path: str) -> Response:
        match = api.nested.routes.match(path)
        assert match is not None
        scope = {"type": "http", "method": "POST", "path": path, "headers": [], "query_string": b""}
        return asyncio.run(api.nested.dispatch(Request(scope), match))

    assert post("/api/invoices/1/attachments").status_code == 201
    assert calls == ["/api/invoices/:invoice_id/attachments"]
    # Another child's route is untouched: an artifact's image takes GET only.
    with pytest.raises(RequestError) as refused:
        post("/api/expense_lines/1/expense_artifacts/1/image")
    assert refused.value.status == 405
