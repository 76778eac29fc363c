"""Named API filters (``filter=NAME``), deleted PO lines on request, and bulk supplier
creates."""

from __future__ import annotations

import uuid

import pytest

from _sandbox_api_support import Api, messages
from coupa_connector.sandbox import Sandbox
from coupa_connector.sandbox._filters import ApiFilter, FilterError, default_filters

pytestmark = pytest.mark.usefixtures("pristine_data_afterwards")


def test_one_filter_is_seeded_per_main_object() -> None:
    names = {f.name for f in default_filters()}
    for resource in ("invoices", "purchase_orders", "requisitions", "users", "expense_reports"):
        assert f"default_{resource}_filter" in names


def test_a_named_filter_picks_its_fields_and_conditions(api: Api) -> None:
    response = api.get("/api/purchase_orders", {"filter": "default_purchase_orders_filter"})
    assert response.status_code == 200, response.text
    records = response.json()
    assert records and all(r["status"] != "draft" for r in records)
    [defined] = [f for f in default_filters() if f.name == "default_purchase_orders_filter"]
    names = {f if isinstance(f, str) else next(iter(f)) for f in defined.fields}
    assert set(records[0]) == names and "ship-to-address" not in names
    assert set(records[0]["supplier"]) == {"id", "name", "number"}
    xml = api.get(
        "/api/purchase_orders", {"filter": "default_purchase_orders_filter", "limit": 1}, "xml"
    )
    assert xml.status_code == 200 and b"<po-number>" in xml.content
    assert b"<ship-to-address" not in xml.content


def test_a_named_filter_combines_with_the_query(api: Api) -> None:
    params = {"filter": "default_users_filter", "fields": '["id","active"]', "limit": 5}
    users = api.get("/api/users", params).json()
    assert users and all(list(u) == ["id", "active"] and u["active"] for u in users)
    one = api.get(f"/api/users/{users[0]['id']}", {"filter": "default_users_filter"}).json()
    assert "login" in one and "default-address" not in one


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_an_unknown_filter_name_is_refused(api: Api, fmt: str) -> None:
    response = api.get("/api/invoices", {"filter": "no_such_filter"}, fmt=fmt)
    assert response.status_code == 400
    assert any("API filter 'no_such_filter' does not exist" in m for m in messages(response))
    other = api.get("/api/invoices", {"filter": "default_users_filter"}, fmt=fmt)
    assert other.status_code == 400
    assert any("does not apply to invoices" in m for m in messages(other))


def test_filters_are_configurable(sandbox: Sandbox, api: Api) -> None:
    name = f"ap_export_{uuid.uuid4().hex[:6]}"
    definition = {
        "resources": ["invoices"],
        "fields": ["id", "invoice-number"],
        "conditions": {"status": "approved"},
    }
    put = sandbox.admin("PUT", f"api-filters/{name}", definition)
    assert put["name"] == name
    records = api.get("/api/invoices", {"filter": name, "limit": 3}).json()
    assert records and all(list(r) == ["id", "invoice-number"] for r in records)
    assert set(api.ids("invoices", {"status": "approved", "id": records[0]["id"]})) == {
        records[0]["id"]
    }
    listed = sandbox.admin("GET", "api-filters")
    assert name in [f["name"] for f in listed["filters"]]
    sandbox.admin("DELETE", f"api-filters/{name}")
    assert api.get("/api/invoices", {"filter": name}).status_code == 400


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"resources": []}, "resources"),
        ({"resources": ["invoices"], "fields": "id"}, "fields"),
        ({"resources": ["invoices"], "conditions": {"a": 1}}, "conditions"),
    ],
)
def test_a_bad_filter_definition_names_its_part(data: dict[str, object], field: str) -> None:
    with pytest.raises(FilterError, match=f"^{field}:"):
        ApiFilter.from_dict({"name": "x", **data})


def test_show_deleted_lines_shows_deleted_po_lines(api: Api) -> None:
    po = next(
        p for p in api.all("purchase_orders", {"status": "issued"}) if len(p["order-lines"]) >= 2
    )
    gone = po["order-lines"][-1]["id"]
    response = api.put(
        f"/api/purchase_orders/{po['id']}", {"order-lines": [{"id": gone, "_delete": True}]}
    )
    assert response.status_code == 200, response.text
    plain = api.get(f"/api/purchase_orders/{po['id']}").json()
    assert gone not in [ln["id"] for ln in plain["order-lines"]]
    shown = api.get(f"/api/purchase_orders/{po['id']}", {"show_deleted_lines": "true"}).json()
    assert gone in [ln["id"] for ln in shown["order-lines"]]
    [listed] = api.get(
        "/api/purchase_orders", {"id": po["id"], "show_deleted_lines": "true"}
    ).json()
    assert gone in [ln["id"] for ln in listed["order-lines"]]
    bad = api.get("/api/purchase_orders", {"show_deleted_lines": "perhaps"})
    assert bad.status_code == 400


def _supplier_xml(name: str) -> str:
    return f"<supplier><name>{name}</name><number>{name[-6:]}</number></supplier>"


def test_bulk_supplier_creates_work(api: Api) -> None:
    tag = uuid.uuid4().hex[:6]
    names = [f"Bulk {tag} {n}" for n in range(3)]
    xml = '<suppliers type="array">' + "".join(_supplier_xml(n) for n in names) + "</suppliers>"
    response = api.post_xml("/api/suppliers", xml, params={"bulk": "1"})
    assert response.status_code == 201, response.text
    assert response.content.count(b"<supplier>") == 3
    for name in names:
        assert api.get("/api/suppliers", {"name": name}).json()
    json_bulk = api.post("/api/suppliers", [{"name": f"Bulk {tag} json"}])
    assert json_bulk.status_code == 201 and json_bulk.json()[0]["name"] == f"Bulk {tag} json"


def test_a_refused_bulk_create_stores_nothing_and_names_the_record(api: Api) -> None:
    tag = uuid.uuid4().hex[:6]
    xml = (
        "<suppliers>"
        + _supplier_xml(f"Bulk {tag} ok")
        + "<supplier><number>NONAME</number></supplier>"
        + "</suppliers>"
    )
    response = api.post_xml("/api/suppliers", xml)
    assert response.status_code == 400
    assert any(m.startswith("Supplier 2: Name can't be blank") for m in messages(response))
    assert api.get("/api/suppliers", {"name": f"Bulk {tag} ok"}).json() == []
